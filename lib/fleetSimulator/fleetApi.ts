/**
 * The public shape of the fleet simulator (implementation in fleet.ts): the control surface an
 * autoscaler loop drives, and the plain snapshots it reads back.
 */
import type { MetricSample } from './prometheusText.js';
import type { RequestRecord, RequestStats } from './results.js';
import type { WindowBy, WindowStats } from './resultBook.js';
import type { NodeState } from './nodes.js';
import type { TraceRequest } from './traces.js';

export type Lifecycle = 'pending-node' | 'loading' | 'ready' | 'draining';

export interface ReplicaState {
  readonly id: string;
  readonly accelerator: string;
  readonly lifecycle: Lifecycle;
  readonly node: string | null;
  readonly running: number;
  readonly waiting: number;
}

export type LifecycleCounts = Record<Lifecycle, number>;

export interface VariantState {
  readonly name: string;
  readonly namespace: string;
  readonly model: string;
  /** requests waiting for a ready replica */
  readonly queued: number;
  readonly dropped: number;
  readonly rejected: number;
  readonly replicas: readonly ReplicaState[];
  /** replica counts per accelerator type that has or had replicas */
  readonly byAccelerator: Readonly<Record<string, LifecycleCounts>>;
}

export interface NodeGroupState {
  readonly name: string;
  readonly acceleratorType: string;
  readonly gpusPerNode: number;
  readonly minNodes: number;
  readonly maxNodes: number;
  readonly ready: number;
  readonly provisioning: number;
  /** free GPUs on ready nodes */
  readonly freeGpus: number;
  readonly nodes: readonly { id: string; state: NodeState; freeGpus: number; replicas: string[] }[];
}

export interface FleetState {
  readonly time: number;
  readonly variants: readonly VariantState[];
  readonly nodeGroups: readonly NodeGroupState[];
}

export interface FleetResults {
  readonly time: number;
  /** requests that have arrived, in arrival order: only with results.keepRecords */
  readonly records?: readonly RequestRecord[];
  /** latency summaries cover completed requests only */
  readonly overall: RequestStats;
  readonly byVariant: Readonly<Record<string, RequestStats>>;
}

export interface ScrapeOptions {
  /**
   * include histograms' _bucket series (most of a scrape): all (default true), none, or only
   * those of the families named
   */
  readonly histogramBuckets?: boolean | readonly string[];
}

export interface WindowQuery {
  /** default: every variant */
  readonly variant?: string;
  /** the bins (results.intervalSeconds wide, from results.origin) whose span starts in [from, to) */
  readonly from?: number;
  readonly to?: number;
  /** count requests by when they arrived (default) or when they finished */
  readonly by?: WindowBy;
}

export interface ReplicaUsage {
  readonly variant: string;
  readonly accelerator: string;
  /** replica-seconds spent in each lifecycle state, summed over the variant's replicas */
  readonly seconds: LifecycleCounts;
}

export interface FleetUsage {
  readonly time: number;
  /** per node group, from each node's launch (provisioning included) to its removal or now */
  readonly nodeSeconds: Readonly<Record<string, number>>;
  /** per accelerator type: node-seconds times GPUs per node */
  readonly gpuSeconds: Readonly<Record<string, number>>;
  readonly replicaSeconds: readonly ReplicaUsage[];
}

/**
 * What a gateway in front of the fleet sees of each request, as it happens: `queued` when it
 * waits in the gateway (or variant) queue, with the variant's ready replicas then; `dispatched`
 * to a replica; `completed` (finished, or rejected by the replica: then without a first token).
 * The first token is the request's `firstToken` field, set when the replica produces it.
 */
export interface RequestObserver {
  queued(request: SimRequestView, readyReplicas: number): void;
  dispatched(request: SimRequestView): void;
  completed(request: SimRequestView): void;
}

/** The fields of a simulated request an observer reads. */
export interface SimRequestView {
  readonly id: number;
  readonly variant: string;
  readonly arrival: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly status: string;
  readonly replica: string | undefined;
  readonly dispatched: number | undefined;
  readonly firstToken: number | undefined;
  readonly finished: number | undefined;
}

export interface FleetSim {
  /** Tells `observer` of every request's dispatch and completion from now on (null: no more). Forks do not. */
  observeRequests(observer: RequestObserver | null): void;
  /** current simulated time (s) */
  readonly now: number;
  /**
   * Schedules requests of a variant; each arrives at `arrival + offset` (default 0), which must not
   * be before `now`. May be called repeatedly, also while running (streams merge by arrival).
   */
  addArrivals(variant: string, requests: readonly TraceRequest[], offset?: number): void;
  /** Processes every event at times <= `time`, then sets `now` to `time`. */
  runUntil(time: number): void;
  /**
   * Sets the variant's replicas on `accelerator` (not counting draining ones) to `count`: more
   * creates pending replicas; fewer removes the newest non-ready ones first, then drains the
   * newest ready ones.
   */
  setReplicas(variant: string, accelerator: string, count: number): void;
  /**
   * Asks for `desired` nodes, clamped to [minNodes, maxNodes]. New nodes provision for
   * provisionSeconds; only empty nodes are removed (provisioning ones first, then the newest; with
   * the group's consolidateAfterSeconds, only Ready nodes empty that long, which the simulation
   * also removes on its own when their time comes), so the result may stay above the target.
   * Returns the resulting node count (ready + provisioning).
   */
  setNodeGroupSize(group: string, desired: number): number;
  state(): FleetState;
  /**
   * What a Prometheus scrape of every replica serving /metrics (ready or draining) returns now;
   * with `time`, runs until then first.
   */
  scrape(time?: number, options?: ScrapeOptions): MetricSample[];
  /** Counts and latency summaries of every request so far (and records with results.keepRecords). */
  results(): FleetResults;
  /**
   * Outcomes of the requests that arrived (or finished) in a span, counted per request against
   * the variant's targets (results.targets): exact counts, latency quantiles within 1%. Spans are
   * whole bins: align `from` and `to` with results.origin + k * results.intervalSeconds.
   */
  window(query?: WindowQuery): WindowStats;
  usage(): FleetUsage;
  /**
   * An independent deep copy of the whole simulation (events, replicas' engines and queues, nodes,
   * random state, metrics, results): the original and the fork, given the same calls, give the
   * same results, and neither affects the other. Costs O(live state: in-flight requests, replicas,
   * nodes), not O(requests served), as immutable parts (config, requests still to arrive) are
   * shared.
   */
  fork(): FleetSim;
  /**
   * From now on, keeps the requests arriving in [from, to) for `watched()` (replacing any earlier
   * window): one window's outcomes at a cost that grows with the window, not with the run.
   */
  watchArrivals(from: number, to: number): void;
  /** Records of the watched window's requests that have arrived so far, in arrival order. */
  watched(): RequestRecord[];
}
