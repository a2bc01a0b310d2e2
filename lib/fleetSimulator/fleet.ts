/**
 * Discrete-event simulation of a vLLM fleet: GPU node groups, replicas with lifecycles, a router
 * per variant, and continuously batching engines (rules in replica.ts). Simulated time only, in
 * seconds from 0; the same config, seed and calls give the same results.
 *
 * API (types and per-method contracts in fleetApi.ts):
 *   const sim = createFleetSim(config)          // FleetSimConfig, see config.ts
 *   sim.now                                     // current simulated time (s)
 *   sim.addArrivals(variant, requests, offset?) // TraceRequest[]; arrival + offset >= now
 *   sim.runUntil(t)                             // process every event at times <= t, then now = t
 *   sim.setReplicas(variant, accelerator, n)    // desired non-draining replicas on that accelerator
 *   sim.setNodeGroupSize(group, n)              // clamped to [min, max]; returns the new size
 *   sim.state()                                 // FleetState: replicas, queues, nodes right now
 *   sim.scrape(t?)                              // MetricSample[] of every replica serving /metrics
 *   sim.results()                               // FleetResults: counts and latency summaries
 *   sim.window({ variant?, from?, to?, by? })   // WindowStats: outcomes of requests in a span
 *   sim.fork()                                  // an independent copy of the whole simulation
 *   sim.usage()                                 // FleetUsage: node-, GPU- and replica-seconds
 *
 * Lifecycles. Replica: pending-node -> loading -> ready -> draining -> gone. A pending replica
 * is placed (FIFO by creation) as soon as a ready node of its accelerator type has
 * gpusPerReplica free GPUs, then loads: imagePullSeconds unless the node has run the model
 * before, then loadSeconds (framework start, weights, engine initialisation). Scaling down removes the newest
 * non-ready replicas first (they hold no requests), then drains the newest ready ones (or the
 * least busy: removalOrder 'least-busy', the order pod-deletion-cost gives): a
 * draining replica takes no new requests, serves everything it already accepted (running and
 * waiting), and is gone when empty, freeing its GPUs. Node: provisioning -> ready -> removed;
 * only empty nodes are removed (provisioning ones first), so a scale-down may stop short. A new
 * node takes provisionSeconds + initSeconds. Every phase is jittered on its own (delayJitter).
 *
 * Routing. With a gateway in the config, its endpoint picker routes and holds requests in its
 * flow-control queue while every ready replica is saturated (gateway.ts). Otherwise an arrival goes to the ready replica of its variant with the fewest outstanding
 * requests (running + waiting), ties to the oldest replica. With no ready replica it waits in a
 * variant queue (up to maxQueuedRequests, beyond which it is dropped) and is dispatched, in
 * arrival order, when a replica becomes ready. A request whose input + output exceeds the
 * chosen replica's KV cache or max model length is rejected, as vLLM rejects it up front.
 *
 * Metrics. Replicas in ready or draining state serve vLLM's metrics, labelled model_name,
 * engine="0", pod (replica id) and namespace. Their latencies count from dispatch to the replica,
 * as vLLM sees them; the results count from arrival at the variant.
 *
 * Results (resultBook.ts): per variant and time bin, exact counts (each request checked against
 * its variant's targets as it completes) and 1%-accurate latency sketches, so that memory grows
 * with the simulated span, not with the requests; per-request records only on request
 * (results.keepRecords). fork() (fork.ts) copies the whole state; immutable parts are shared.
 *
 * Same-instant ordering: node ready, then replica loaded, then arrivals, then iteration
 * boundaries, so that capacity appearing at t serves arrivals at t, and a request arriving at an
 * iteration boundary joins the next iteration.
 */
import {
  SimError,
  parseFleetSimConfig,
  type FleetSimConfig,
  type ParsedVariantConfig,
  type RemovalOrder,
} from './config.js';
import type { RequestObserver } from './fleetApi.js';
import { EventQueue } from './eventQueue.js';
import type {
  FleetResults,
  ScrapeOptions,
  WindowQuery,
  FleetSim,
  FleetState,
  FleetUsage,
  Lifecycle,
  LifecycleCounts,
  NodeGroupState,
  ReplicaUsage,
  VariantState,
} from './fleetApi.js';
import { eppSamples, pickEndpoint, type ParsedGatewayConfig } from './gateway.js';
import { NodeGroup, findNodeFor, type SimNode } from './nodes.js';
import type { MetricSample } from './prometheusText.js';
import { SeededRandom } from './random.js';
import { NO_UPCOMING, allocateUpcoming, mergeUpcoming, rest, type Upcoming } from './upcoming.js';
import { deepFreeze, forkGraph } from './fork.js';
import { KvLink } from './kvLink.js';
import { ReplicaEngine } from './replica.js';
import { toRecord, type RequestRecord, type RequestStats, type SimRequest } from './results.js';
import { VariantBook, summaryOf, windowStats, type WindowStats } from './resultBook.js';
import { QuantileSketch } from './sketch.js';
import type { TraceRequest } from './traces.js';
import { vllmSamples, type VllmScrapeTarget } from './vllmMetrics.js';

const LIFECYCLES: readonly (Lifecycle | 'gone')[] = ['pending-node', 'loading', 'ready', 'draining', 'gone'];

interface Replica {
  readonly id: string;
  readonly variant: Variant;
  readonly accelerator: string;
  readonly engine: ReplicaEngine;
  lifecycle: Lifecycle | 'gone';
  node: SimNode | null;
  stepScheduled: boolean;
  /** when each lifecycle state was entered */
  readonly entered: Partial<Record<Lifecycle | 'gone', number>>;
  /** a prefill pod's KV link, made at its first transfer */
  link: KvLink<SimRequest> | null;
}

interface Variant {
  readonly config: ParsedVariantConfig;
  /** live replicas in creation order (the router's tie-break order) */
  replicas: Replica[];
  /** lifecycle seconds of the replicas that are gone, per accelerator */
  readonly retiredSeconds: Map<string, LifecycleCounts>;
  nextReplicaIndex: number;
  /** requests waiting for a ready replica, from `queueHead` on */
  queue: SimRequest[];
  queueHead: number;
  /** requests not yet arrived, sorted by arrival, from `arrivalCursor` on; frozen (shared by forks) */
  upcoming: Upcoming;
  arrivalCursor: number;
  /** bumped when `upcoming` changes, to ignore arrival events scheduled before */
  arrivalVersion: number;
  /** what its requests achieved, binned by time */
  readonly book: VariantBook;
  dropped: number;
  rejected: number;
  /** a disaggregated variant's prefill role: where its requests decode, and how their KV gets there */
  readonly handoff: { readonly to: Variant; readonly config: ParsedHandoff } | null;
  /** a decode role: takes requests with their KV from a prefill role, not arrivals */
  readonly decodes: boolean;
}

type ParsedHandoff = NonNullable<ParsedVariantConfig['handoff']>;

type SimEvent =
  | { readonly kind: 'node-ready'; readonly node: SimNode }
  | { readonly kind: 'loaded'; readonly replica: Replica }
  | { readonly kind: 'arrival'; readonly variant: Variant; readonly version: number }
  | { readonly kind: 'kv-moved'; readonly replica: Replica; readonly version: number }
  | { readonly kind: 'kv-ready'; readonly request: SimRequest; readonly variant: Variant }
  | { readonly kind: 'step'; readonly replica: Replica }
  | { readonly kind: 'consolidate'; readonly node: SimNode };

const RANK: Record<SimEvent['kind'], number> = {
  'node-ready': 0,
  loaded: 1,
  arrival: 2,
  'kv-moved': 3,
  'kv-ready': 3,
  step: 4,
  // last at an instant: a replica placed on the node at the same time keeps it
  consolidate: 5,
};

export function createFleetSim(config: FleetSimConfig): FleetSim {
  return new FleetSimulation(config);
}

class FleetSimulation implements FleetSim {
  private time = 0;
  private readonly events = new EventQueue<SimEvent>();
  private readonly variants = new Map<string, Variant>();
  private readonly groups: NodeGroup[];
  /** replicas waiting for a node, in creation order */
  private pendingPlacement: Replica[] = [];
  /** every arrived request, only with results.keepRecords (else results are aggregates only) */
  private readonly records: SimRequest[] | null;
  private readonly books: VariantBook[] = [];
  /** the window of arrivals kept for watched() */
  private watch: { from: number; to: number; requests: SimRequest[] } | null = null;
  private nextRequestId = 0;
  private readonly delayRandom: SeededRandom;
  /** draws whether a KV transfer fails */
  private readonly transferRandom: SeededRandom;
  private readonly delayJitter: number;
  private readonly removalOrder: RemovalOrder;
  private readonly requestTimePerOutputToken: boolean;
  /** the endpoint picker in front of the variants, if the fleet has one (gateway.ts) */
  private readonly gateway: ParsedGatewayConfig | undefined;
  /** told of every request's dispatch and completion (the gateway's events), when set */
  private observer: RequestObserver | null = null;

  constructor(input: FleetSimConfig) {
    // Frozen: the parsed config is never mutated, so forks share it instead of copying it.
    const config = deepFreeze(parseFleetSimConfig(input));
    this.delayRandom = SeededRandom.stream(config.seed, 1);
    this.transferRandom = SeededRandom.stream(config.seed, 2);
    this.delayJitter = config.delayJitter;
    this.removalOrder = config.removalOrder;
    this.requestTimePerOutputToken = config.requestTimePerOutputToken;
    this.gateway = config.gateway;
    this.records = config.results.keepRecords ? [] : null;
    this.groups = config.nodeGroups.map((groupConfig) => {
      const group = new NodeGroup(groupConfig);
      for (let i = 0; i < groupConfig.initialNodes; i++) group.launch(0, true);
      return group;
    });
    // A decode role shares its prefill role's book: a request's outcome is the variant's.
    const prefillOf = new Map(
      config.variants.flatMap((v) => (v.handoff ? [[v.handoff.decodeVariant, v.name] as const] : [])),
    );
    const ordered = [
      ...config.variants.filter((v) => !prefillOf.has(v.name)),
      ...config.variants.filter((v) => prefillOf.has(v.name)),
    ];
    for (const variantConfig of ordered) {
      const partner = prefillOf.get(variantConfig.name);
      const shared = partner === undefined ? undefined : this.variants.get(partner)!.book;
      const variant: Variant = {
        config: variantConfig,
        replicas: [],
        retiredSeconds: new Map(),
        nextReplicaIndex: 0,
        queue: [],
        queueHead: 0,
        upcoming: NO_UPCOMING,
        arrivalCursor: 0,
        arrivalVersion: 0,
        book:
          shared ??
          new VariantBook(
            config.results.origin,
            config.results.intervalSeconds,
            config.results.targets[variantConfig.name] ?? { ttftMs: 0, itlMs: 0 },
          ),
        dropped: 0,
        rejected: 0,
        handoff: null,
        decodes: partner !== undefined,
      };
      this.variants.set(variantConfig.name, variant);
      if (shared === undefined) this.books.push(variant.book);
      if (variantConfig.initialReplicas > 0) this.checkPlaceable(variant, variantConfig.accelerator);
      for (let i = 0; i < variantConfig.initialReplicas; i++) {
        const replica = this.createReplica(variant, variantConfig.accelerator);
        // Initial replicas are warm: they skip loading when a node has room for them now.
        const node = findNodeFor(this.groups, replica.accelerator, replica.engine.profile.gpusPerReplica);
        if (node === null) {
          this.pendingPlacement.push(replica);
        } else {
          this.bind(replica, node);
          this.enter(replica, 'ready');
        }
      }
    }
    for (const group of this.groups) for (const node of group.nodes) this.scheduleConsolidation(node);
    for (const variant of this.variants.values()) {
      const handoff = variant.config.handoff;
      if (handoff === null) continue;
      const to = this.variants.get(handoff.decodeVariant)!;
      (variant as { handoff: Variant['handoff'] }).handoff = { to, config: handoff };
    }
  }

  /** The variants whose outcomes are their own (a decode role's are its prefill role's). */
  private get reporting(): Variant[] {
    return [...this.variants.values()].filter((v) => !v.decodes);
  }

  get now(): number {
    return this.time;
  }

  fork(): FleetSim {
    // A fork runs on its own: whoever observes this simulation does not observe the copy.
    const observer = this.observer;
    this.observer = null;
    try {
      return forkGraph(this);
    } finally {
      this.observer = observer;
    }
  }

  observeRequests(observer: RequestObserver | null): void {
    this.observer = observer;
  }

  // ---- control API ----

  addArrivals(variantName: string, requests: readonly TraceRequest[], offset = 0): void {
    const variant = this.variant(variantName);
    if (!Number.isFinite(offset)) throw new SimError(`offset must be finite, got ${offset}`);
    // Traces come sorted; others are sorted (stably) by index, without copying the requests.
    let order: number[] | null = null;
    for (let i = 1; i < requests.length; i++) {
      if (requests[i]!.arrival < requests[i - 1]!.arrival) {
        order = requests.map((_, index) => index).sort((a, b) => requests[a]!.arrival - requests[b]!.arrival);
        break;
      }
    }
    const incoming = allocateUpcoming(requests.length);
    for (let k = 0; k < requests.length; k++) {
      const index = order === null ? k : order[k]!;
      const request = requests[index]!;
      const arrival = request.arrival + offset;
      if (!(arrival >= this.time) || !Number.isFinite(arrival)) {
        throw new SimError(
          `request ${index} of ${variantName}: arrival ${arrival} is before now (${this.time})`,
        );
      }
      for (const field of ['inputTokens', 'outputTokens'] as const) {
        const value = request[field];
        if (!Number.isInteger(value) || value < 0) {
          throw new SimError(
            `request ${index} of ${variantName}: ${field} is not a non-negative integer: ${value}`,
          );
        }
      }
      incoming.arrival[k] = arrival;
      incoming.inputTokens[k] = request.inputTokens;
      incoming.outputTokens[k] = Math.max(1, request.outputTokens);
    }
    // ids in arrival order, assigned once the whole batch is valid
    for (let k = 0; k < requests.length; k++) incoming.id[k] = this.nextRequestId++;
    variant.upcoming = mergeUpcoming(variant.upcoming, variant.arrivalCursor, Object.freeze(incoming));
    variant.arrivalCursor = 0;
    variant.arrivalVersion++;
    this.scheduleNextArrival(variant);
  }

  runUntil(until: number): void {
    if (!(until >= this.time)) throw new SimError(`cannot run back to ${until}: now is ${this.time}`);
    for (;;) {
      const next = this.events.peek();
      if (next === undefined || next.time > until) break;
      this.events.pop();
      this.time = next.time;
      this.handle(next.payload);
    }
    this.time = until;
    for (const book of this.books) book.close(until);
  }

  setReplicas(variantName: string, accelerator: string, count: number): void {
    const variant = this.variant(variantName);
    if (!Number.isInteger(count) || count < 0)
      throw new SimError(`replica count must be an integer >= 0, got ${count}`);
    if (!(accelerator in variant.config.profileByAccelerator)) {
      throw new SimError(`variant ${variantName} has no profile for accelerator "${accelerator}"`);
    }
    const active = variant.replicas.filter(
      (r) => r.accelerator === accelerator && r.lifecycle !== 'draining',
    );
    if (count > active.length) {
      this.checkPlaceable(variant, accelerator);
      for (let i = active.length; i < count; i++)
        this.pendingPlacement.push(this.createReplica(variant, accelerator));
      this.placePending();
      return;
    }
    // Non-ready replicas first (they hold no requests), then the ready ones, newest first or,
    // as pod-deletion-cost orders them, the least busy first (stable: ties stay newest first).
    const ready = active.filter((r) => r.lifecycle === 'ready').reverse();
    if (this.removalOrder === 'least-busy') ready.sort((a, b) => a.engine.outstanding - b.engine.outstanding);
    const byRemovalOrder = [...active.filter((r) => r.lifecycle !== 'ready').reverse(), ...ready];
    for (const replica of byRemovalOrder.slice(0, active.length - count)) {
      if (replica.lifecycle === 'ready') {
        this.enter(replica, 'draining');
        if (!replica.stepScheduled && replica.engine.outstanding === 0) this.retire(replica);
      } else {
        this.retire(replica);
      }
    }
  }

  setNodeGroupSize(name: string, desired: number): number {
    const group = this.groups.find((g) => g.config.name === name);
    if (group === undefined) throw new SimError(`unknown node group "${name}"`);
    if (!Number.isInteger(desired)) throw new SimError(`node count must be an integer, got ${desired}`);
    const target = Math.min(Math.max(desired, group.config.minNodes), group.config.maxNodes);
    const live = group.live.length;
    if (target > live) {
      for (let i = live; i < target; i++) {
        const node = group.launch(this.time, false);
        const seconds = this.delay(group.config.provisionSeconds) + this.delay(group.config.initSeconds);
        this.schedule(this.time + seconds, { kind: 'node-ready', node });
      }
      return target;
    }
    return live - group.removeEmpty(live - target, this.time);
  }

  state(): FleetState {
    const variants = [...this.variants.values()].map((variant): VariantState => {
      const byAccelerator: Record<string, LifecycleCounts> = {};
      for (const accelerator of variant.retiredSeconds.keys()) byAccelerator[accelerator] = zeroCounts();
      for (const replica of variant.replicas) {
        byAccelerator[replica.accelerator] ??= zeroCounts();
        if (replica.lifecycle !== 'gone') byAccelerator[replica.accelerator]![replica.lifecycle]++;
      }
      return {
        name: variant.config.name,
        namespace: variant.config.namespace,
        model: variant.config.model,
        queued: variant.queue.length - variant.queueHead,
        dropped: variant.dropped,
        rejected: variant.rejected,
        replicas: variant.replicas.map((r) => ({
          id: r.id,
          accelerator: r.accelerator,
          lifecycle: r.lifecycle as Lifecycle,
          node: r.node?.id ?? null,
          running: r.engine.running,
          waiting: r.engine.waitingCount,
        })),
        byAccelerator,
      };
    });
    const nodeGroups = this.groups.map((group): NodeGroupState => {
      const live = group.live;
      const ready = live.filter((n) => n.state === 'ready');
      return {
        name: group.config.name,
        acceleratorType: group.config.acceleratorType,
        gpusPerNode: group.config.gpusPerNode,
        minNodes: group.config.minNodes,
        maxNodes: group.config.maxNodes,
        ready: ready.length,
        provisioning: live.length - ready.length,
        freeGpus: ready.reduce((sum, n) => sum + n.freeGpus, 0),
        nodes: live.map((n) => ({
          id: n.id,
          state: n.state,
          freeGpus: n.freeGpus,
          replicas: [...n.replicas],
        })),
      };
    });
    return { time: this.time, variants, nodeGroups };
  }

  scrape(time?: number, options: ScrapeOptions = {}): MetricSample[] {
    if (time !== undefined) this.runUntil(time);
    const targets: VllmScrapeTarget[] = [];
    for (const variant of this.variants.values()) {
      for (const replica of variant.replicas) {
        if (replica.lifecycle !== 'ready' && replica.lifecycle !== 'draining') continue;
        const { engine } = replica;
        const blockSize = engine.profile.blockSize ?? 16;
        targets.push({
          labels: {
            model_name: variant.config.model,
            pod: replica.id,
            namespace: variant.config.namespace,
            ...roleLabel(variant),
          },
          metrics: engine.metrics,
          running: engine.running,
          waiting: engine.waitingCount,
          kvCacheUsage: engine.kvCacheUsage,
          blockSize,
          numGpuBlocks: Math.floor(engine.profile.kvCacheTokens / blockSize),
        });
      }
    }
    const samples = vllmSamples(targets, options.histogramBuckets ?? true);
    if (this.gateway === undefined) return samples;
    // The gateway serves its own series: its flow-control queue and what it has in flight.
    for (const variant of this.variants.values()) {
      const inFlight = variant.replicas.reduce((n, r) => n + r.engine.outstanding, 0);
      const labels = { model_name: variant.config.model, namespace: variant.config.namespace };
      samples.push(...eppSamples(labels, variant.queue.length - variant.queueHead, inFlight));
    }
    return samples;
  }

  watchArrivals(from: number, to: number): void {
    this.watch = { from, to, requests: [] };
  }

  watched(): RequestRecord[] {
    return (this.watch?.requests ?? []).map(toRecord);
  }

  results(): FleetResults {
    const byVariant: Record<string, RequestStats> = {};
    for (const variant of this.reporting) byVariant[variant.config.name] = this.requestStats([variant]);
    const overall = this.requestStats(this.reporting);
    const records = this.records?.map(toRecord);
    return { time: this.time, overall, byVariant, ...(records && { records }) };
  }

  window(query: WindowQuery = {}): WindowStats {
    const variants = query.variant === undefined ? this.reporting : [this.variant(query.variant)];
    const books = variants.map((v) => v.book);
    return windowStats(books, query.by ?? 'arrival', query.from ?? -Infinity, query.to ?? Infinity);
  }

  private requestStats(variants: readonly Variant[]): RequestStats {
    const w = windowStats(
      variants.map((v) => v.book),
      'arrival',
      -Infinity,
      Infinity,
    );
    let queued = 0;
    const e2e = new QuantileSketch();
    const queueTime = new QuantileSketch();
    for (const v of variants) {
      queued += v.queue.length - v.queueHead;
      // requests whose KV waits for a decode replica are still queued
      if (v.handoff !== null) queued += v.handoff.to.queue.length - v.handoff.to.queueHead;
      e2e.merge(v.book.e2e);
      queueTime.merge(v.book.queueTime);
    }
    return {
      arrived: w.arrived,
      completed: w.completed,
      queued,
      inFlight: w.arrived - w.completed - w.dropped - w.rejected - queued,
      dropped: w.dropped,
      rejected: w.rejected,
      ttftMet: w.ttftMet,
      itlMet: w.itlMet,
      sloMet: w.sloMet,
      ttft: w.ttft,
      itl: w.itl,
      e2e: summaryOf(e2e),
      queueTime: summaryOf(queueTime),
    };
  }

  usage(): FleetUsage {
    const nodeSeconds: Record<string, number> = {};
    const gpuSeconds: Record<string, number> = {};
    for (const group of this.groups) {
      const seconds = group.nodeSeconds(this.time);
      nodeSeconds[group.config.name] = seconds;
      const type = group.config.acceleratorType;
      gpuSeconds[type] = (gpuSeconds[type] ?? 0) + seconds * group.config.gpusPerNode;
    }
    const replicaSeconds: ReplicaUsage[] = [];
    for (const variant of this.variants.values()) {
      const byAccelerator = new Map<string, LifecycleCounts>();
      for (const [accelerator, seconds] of variant.retiredSeconds)
        byAccelerator.set(accelerator, { ...seconds });
      for (const replica of variant.replicas) {
        let seconds = byAccelerator.get(replica.accelerator);
        if (seconds === undefined) {
          seconds = zeroCounts();
          byAccelerator.set(replica.accelerator, seconds);
        }
        addLifecycleSeconds(replica, this.time, seconds);
      }
      for (const [accelerator, seconds] of byAccelerator) {
        replicaSeconds.push({ variant: variant.config.name, accelerator, seconds });
      }
    }
    return { time: this.time, nodeSeconds, gpuSeconds, replicaSeconds };
  }

  // ---- events ----

  private handle(event: SimEvent): void {
    switch (event.kind) {
      case 'node-ready':
        if (event.node.state !== 'provisioning') return;
        event.node.state = 'ready';
        event.node.readyAt = this.time;
        this.placePending();
        this.scheduleConsolidation(event.node);
        return;
      case 'consolidate':
        event.node.group.consolidate(event.node, this.time);
        return;
      case 'loaded':
        if (event.replica.lifecycle !== 'loading') return;
        this.enter(event.replica, 'ready');
        this.dispatchQueued(event.replica.variant);
        return;
      case 'arrival':
        if (event.version === event.variant.arrivalVersion) this.arrive(event.variant);
        return;
      case 'kv-moved':
        this.kvMoved(event.replica, event.version);
        return;
      case 'kv-ready':
        this.handOver(event.request, event.variant);
        return;
      case 'step':
        this.step(event.replica);
        return;
    }
  }

  private arrive(variant: Variant): void {
    const { upcoming } = variant;
    while (variant.arrivalCursor < upcoming.length && upcoming.arrival[variant.arrivalCursor]! <= this.time) {
      const row = variant.arrivalCursor++;
      // every field set at once: one object shape for all requests keeps the engine's code fast
      const request: SimRequest = {
        id: upcoming.id[row]!,
        variant: variant.config.name,
        arrival: upcoming.arrival[row]!,
        inputTokens: upcoming.inputTokens[row]!,
        outputTokens: upcoming.outputTokens[row]!,
        status: 'queued',
        replica: undefined,
        accelerator: undefined,
        dispatched: undefined,
        scheduled: undefined,
        firstToken: undefined,
        finished: undefined,
        computedTokens: undefined,
        generatedTokens: undefined,
        decodeBase: undefined,
        lastTokenAt: undefined,
        nextFinishing: undefined,
        parent: undefined,
        handoff: undefined,
      };
      this.records?.push(request);
      variant.book.arrived(request);
      if (this.watch !== null && request.arrival >= this.watch.from && request.arrival < this.watch.to) {
        this.watch.requests.push(request);
      }
      // Behind a gateway, an arrival joins its flow-control queue while that holds anything.
      const held = this.gateway !== undefined && variant.queueHead < variant.queue.length;
      const replica = held ? null : this.route(variant);
      if (replica !== null) {
        this.dispatch(request, replica);
      } else if (variant.queue.length - variant.queueHead < variant.config.maxQueuedRequests) {
        variant.queue.push(request);
        if (this.observer !== null)
          this.observer.queued(request, variant.replicas.filter((r) => r.lifecycle === 'ready').length);
      } else {
        request.status = 'dropped';
        variant.dropped++;
        variant.book.dropped(request);
      }
    }
    if (variant.arrivalCursor > 4096 && variant.arrivalCursor * 2 > upcoming.length) {
      variant.upcoming = rest(upcoming, variant.arrivalCursor);
      variant.arrivalCursor = 0;
    }
    this.scheduleNextArrival(variant);
  }

  private step(replica: Replica): void {
    const end = replica.engine.step(this.time);
    const { book, handoff } = replica.variant;
    for (const request of replica.engine.takeCompleted()) {
      // a prefill leg done: its request's KV goes to the decode role
      if (handoff !== null) this.startTransfer(replica, request.parent!, handoff.config);
      else {
        book.completed(request);
        this.observer?.completed(request);
      }
    }
    if (end !== null) {
      this.schedule(end, { kind: 'step', replica });
    } else {
      replica.stepScheduled = false;
      if (replica.lifecycle === 'draining') this.retire(replica);
    }
    // An engine step may have freed a saturated replica: the gateway's queue moves on.
    const { variant } = replica;
    if (this.gateway !== undefined && variant.queueHead < variant.queue.length) this.dispatchQueued(variant);
  }

  // ---- routing ----

  private route(variant: Variant): Replica | null {
    if (this.gateway !== undefined) {
      const ready = variant.replicas.filter((r) => r.lifecycle === 'ready');
      const loads = ready.map((r) => ({
        waiting: r.engine.waitingCount,
        running: r.engine.running,
        kvCacheUsage: r.engine.kvCacheUsage,
      }));
      return ready[pickEndpoint(loads, this.gateway)] ?? null;
    }
    let best: Replica | null = null;
    for (const replica of variant.replicas) {
      if (replica.lifecycle !== 'ready') continue;
      if (best === null || replica.engine.outstanding < best.engine.outstanding) best = replica;
    }
    return best;
  }

  private dispatch(request: SimRequest, replica: Replica): void {
    const { handoff, decodes } = replica.variant;
    if (handoff !== null) {
      this.dispatchPrefill(request, replica, handoff.to);
      // the gateway dispatched it to a prefill pod; its decode leg is no new dispatch
      if (request.status !== 'rejected') this.observer?.dispatched(request);
      return;
    }
    if (!replica.engine.canServe(request)) {
      this.reject(request, replica);
      return;
    }
    if (decodes) {
      const { handoff: kv } = request;
      const nixl = replica.engine.metrics.nixl!;
      if (kv !== undefined) {
        nixl.xferTime.observe(kv.seconds);
        nixl.bytesTransferred.observe(kv.bytes);
        if (kv.failed) nixl.failedTransfers++;
      }
      // vLLM's KV connector loads all but the prompt's last token, which the decode recomputes
      // for its logits; a failed transfer leaves the whole prompt to recompute
      const received = kv === undefined || kv.failed ? 0 : Math.max(request.inputTokens - 1, 0);
      replica.engine.enqueue(request, this.time, received);
    } else {
      replica.engine.enqueue(request, this.time);
      this.observer?.dispatched(request);
    }
    this.kick(replica);
  }

  private kick(replica: Replica): void {
    if (!replica.stepScheduled) {
      replica.stepScheduled = true;
      this.schedule(this.time, { kind: 'step', replica });
    }
  }

  // ---- disaggregated prefill and decode ----

  /** A prefill pod computes the prompt as a one-token request; the request itself decodes later. */
  private dispatchPrefill(request: SimRequest, replica: Replica, decode: Variant): void {
    const leg: SimRequest = { ...request, outputTokens: 1, parent: request };
    // what no decode replica could hold is rejected up front, as the router would
    const decodeEngine = decode.replicas[0]?.engine;
    if (!replica.engine.canServe(leg) || (decodeEngine !== undefined && !decodeEngine.canServe(request))) {
      this.reject(request, replica);
      return;
    }
    request.status = 'waiting';
    request.replica = replica.id;
    request.accelerator = replica.accelerator;
    replica.engine.enqueue(leg, this.time);
    this.kick(replica);
  }

  private startTransfer(replica: Replica, request: SimRequest, handoff: ParsedHandoff): void {
    replica.link ??= new KvLink<SimRequest>(handoff.bandwidthBytesPerSecond);
    const next = replica.link.start(this.time, request, request.inputTokens * handoff.kvBytesPerToken);
    this.schedule(next, { kind: 'kv-moved', replica, version: replica.link.version });
  }

  private kvMoved(replica: Replica, version: number): void {
    const link = replica.link!;
    if (version !== link.version) return;
    const { done, next } = link.finish(this.time);
    const { handoff } = replica.variant;
    const { latencySeconds, failureProbability } = handoff!.config;
    for (const t of done) {
      const chance = failureProbability ?? 0;
      const failed = chance > 0 && this.transferRandom.next() < chance;
      t.item.handoff = { seconds: this.time - t.started + latencySeconds, bytes: t.bytes, failed };
      this.schedule(this.time + latencySeconds, { kind: 'kv-ready', request: t.item, variant: handoff!.to });
    }
    if (next !== undefined) this.schedule(next, { kind: 'kv-moved', replica, version: link.version });
  }

  /** The KV has arrived: the request joins a decode replica, or the decode role's queue. */
  private handOver(request: SimRequest, decode: Variant): void {
    const replica = this.route(decode);
    if (replica !== null) {
      this.dispatch(request, replica);
    } else if (decode.queue.length - decode.queueHead < decode.config.maxQueuedRequests) {
      request.status = 'queued';
      decode.queue.push(request);
    } else {
      request.status = 'dropped';
      decode.dropped++;
      decode.book.dropped(request);
    }
  }

  private reject(request: SimRequest, replica: Replica): void {
    request.status = 'rejected';
    request.replica = replica.id;
    request.accelerator = replica.accelerator;
    replica.variant.rejected++;
    replica.variant.book.rejected(request);
    if (this.observer !== null) {
      this.observer.dispatched(request);
      this.observer.completed(request);
    }
  }

  private dispatchQueued(variant: Variant): void {
    while (variant.queueHead < variant.queue.length) {
      const replica = this.route(variant);
      if (replica === null) break;
      this.dispatch(variant.queue[variant.queueHead++]!, replica);
    }
    if (variant.queueHead === variant.queue.length) {
      variant.queue = [];
      variant.queueHead = 0;
    }
  }

  // ---- replicas and nodes ----

  private createReplica(variant: Variant, accelerator: string): Replica {
    const id = `${variant.config.name}-${variant.nextReplicaIndex++}`;
    const profile = variant.config.profileByAccelerator[accelerator]!;
    const replica: Replica = {
      id,
      variant,
      accelerator,
      engine: new ReplicaEngine(id, accelerator, profile, this.requestTimePerOutputToken),
      lifecycle: 'pending-node',
      node: null,
      stepScheduled: false,
      entered: {},
      link: null,
    };
    this.enter(replica, 'pending-node');
    variant.replicas.push(replica);
    return replica;
  }

  /** A replica that fits no node group would wait forever; that is a configuration error. */
  private checkPlaceable(variant: Variant, accelerator: string): void {
    const gpus = variant.config.profileByAccelerator[accelerator]!.gpusPerReplica;
    const fits = this.groups.some(
      (g) =>
        g.config.acceleratorType === accelerator && g.config.gpusPerNode >= gpus && g.config.maxNodes > 0,
    );
    if (!fits) {
      throw new SimError(
        `no node group of accelerator type "${accelerator}" can hold a replica of ${variant.config.name} (${gpus} GPUs)`,
      );
    }
  }

  private placePending(): void {
    if (this.pendingPlacement.length === 0) return;
    const stillPending: Replica[] = [];
    for (const replica of this.pendingPlacement) {
      if (replica.lifecycle !== 'pending-node') continue;
      const node = findNodeFor(this.groups, replica.accelerator, replica.engine.profile.gpusPerReplica);
      if (node === null) {
        stillPending.push(replica);
        continue;
      }
      const { profile } = replica.engine;
      const pull = node.images.has(replica.variant.config.model) ? 0 : (profile.imagePullSeconds ?? 0);
      this.bind(replica, node);
      this.enter(replica, 'loading');
      const seconds = this.delay(pull) + this.delay(profile.loadSeconds);
      this.schedule(this.time + seconds, { kind: 'loaded', replica });
    }
    this.pendingPlacement = stillPending;
  }

  private bind(replica: Replica, node: SimNode): void {
    node.freeGpus -= replica.engine.profile.gpusPerReplica;
    node.replicas.add(replica.id);
    node.images.add(replica.variant.config.model);
    replica.node = node;
  }

  private retire(replica: Replica): void {
    const { variant, node } = replica;
    this.enter(replica, 'gone');
    variant.replicas = variant.replicas.filter((r) => r !== replica);
    // Only its lifecycle seconds outlive a gone replica: keeping whole replicas (engines and
    // metrics) would make state, and so every fork, grow with the day's scaling.
    let seconds = variant.retiredSeconds.get(replica.accelerator);
    if (seconds === undefined) {
      seconds = zeroCounts();
      variant.retiredSeconds.set(replica.accelerator, seconds);
    }
    addLifecycleSeconds(replica, this.time, seconds);
    if (node !== null) {
      node.freeGpus += replica.engine.profile.gpusPerReplica;
      node.replicas.delete(replica.id);
      if (node.replicas.size === 0) node.lastReplicaLeftAt = this.time;
      replica.node = null;
      this.placePending();
      this.scheduleConsolidation(node);
    }
  }

  private enter(replica: Replica, lifecycle: Lifecycle | 'gone'): void {
    replica.lifecycle = lifecycle;
    replica.entered[lifecycle] = this.time;
  }

  // ---- helpers ----

  private variant(name: string): Variant {
    const variant = this.variants.get(name);
    if (variant === undefined) throw new SimError(`unknown variant "${name}"`);
    return variant;
  }

  private schedule(time: number, event: SimEvent): void {
    this.events.push(time, RANK[event.kind], event);
  }

  /**
   * A Karpenter pool's node that is (still) empty: a check when its consolidateAfter runs out.
   * Karpenter removes it then on its own, not when the autoscaler's plan shrinks the pool.
   */
  private scheduleConsolidation(node: SimNode): void {
    const due = node.group.consolidationDue(node);
    if (due !== null) this.schedule(due, { kind: 'consolidate', node });
  }

  private scheduleNextArrival(variant: Variant): void {
    if (variant.arrivalCursor < variant.upcoming.length) {
      const arrival = variant.upcoming.arrival[variant.arrivalCursor]!;
      this.schedule(arrival, { kind: 'arrival', variant, version: variant.arrivalVersion });
    }
  }

  private delay(base: number): number {
    if (this.delayJitter === 0 || base === 0) return base;
    return base * (1 + this.delayJitter * (2 * this.delayRandom.next() - 1));
  }
}

/**
 * The pod label llm-d gives a disaggregated variant's pods (`llm-d.ai/role`), as Prometheus's
 * Kubernetes discovery maps pod labels to series labels (dots and slashes become underscores).
 */
export const ROLE_LABEL = 'llm_d_ai_role';

function roleLabel(variant: Variant): Record<string, string> {
  if (variant.handoff !== null) return { [ROLE_LABEL]: 'prefill' };
  return variant.decodes ? { [ROLE_LABEL]: 'decode' } : {};
}

const zeroCounts = (): LifecycleCounts => ({ 'pending-node': 0, loading: 0, ready: 0, draining: 0 });

/** Adds the time the replica spent in each state; a state ends when any later one is entered. */
function addLifecycleSeconds(replica: Replica, now: number, into: LifecycleCounts): void {
  for (let i = 0; i < LIFECYCLES.length - 1; i++) {
    const state = LIFECYCLES[i] as Lifecycle;
    const start = replica.entered[state];
    if (start === undefined) continue;
    let end = now;
    for (let k = i + 1; k < LIFECYCLES.length; k++) {
      const later = replica.entered[LIFECYCLES[k]!];
      if (later !== undefined) {
        end = later;
        break;
      }
    }
    into[state] += end - start;
  }
}
