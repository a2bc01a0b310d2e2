/**
 * The ports of the evaluate → decide → queue → apply loop. The core depends only on these;
 * AWS, Kubernetes, Prometheus and the simulation each implement them in their own adapter.
 */
import type { VariantConfig } from '../config/schema.js';
import { variantKey } from '../config/variantKey.js';
import type { VariantObservation } from '../metrics/observation.js';
import type { PoolMessage } from './messages.js';
import type { PolicyMemory } from './memory.js';
import type { SeasonState } from './seasonal.js';

export interface MetricsQuery {
  /** `namespace/name` */
  readonly variant: string;
  readonly namespace: string;
  /** the model_name label its servers report */
  readonly modelName: string;
  readonly podPattern?: string;
  /** only pods with these label values: a disaggregated variant's role (`llm_d_ai_role`) */
  readonly labels?: Readonly<Record<string, string>>;
  readonly gateway: boolean;
}

/** What the metrics source is asked about a variant. */
export function metricsQuery(v: VariantConfig): MetricsQuery {
  return {
    variant: variantKey(v),
    namespace: v.namespace,
    modelName: v.metrics.modelName ?? v.model,
    podPattern: v.metrics.podPattern,
    gateway: v.metrics.gateway,
  };
}

export interface MetricsSource {
  /** Observations for every query, one each, in order; failures are reported inside them, never thrown. */
  collect(queries: readonly MetricsQuery[], now: number): Promise<VariantObservation[]>;
}

/** One Deployment of a variant, pinned to one accelerator. */
export interface DeploymentView {
  readonly variant: string;
  readonly namespace: string;
  readonly deployment: string;
  readonly accelerator: string;
  /** spec.replicas */
  readonly desired: number;
  /** ready replicas */
  readonly ready: number;
  /** annotated `sva.autoscaler/paused: "true"`: apply leaves it alone (absent: not paused) */
  readonly paused?: boolean;
  /** the version read (the Deployment's, which its scale subresource shares), when the store has one */
  readonly resourceVersion?: string;
}

/** What a read of a Deployment just returned, for a scale that follows it (Cluster.scale). */
export interface SeenReplicas {
  readonly desired: number;
  readonly resourceVersion: string;
}

/** The annotation that pauses sva on one Deployment, without a config change or a redeploy. */
export const PAUSED_ANNOTATION = 'sva.autoscaler/paused';

/** Another autoscaler that sets a Deployment's replicas: an HPA or a KEDA ScaledObject. */
export interface OtherAutoscaler {
  readonly kind: 'HorizontalPodAutoscaler' | 'ScaledObject';
  /** the API version it was read with, e.g. autoscaling/v2beta2 */
  readonly apiVersion: string;
  readonly namespace: string;
  readonly name: string;
  /** the Deployment its scaleTargetRef names */
  readonly deployment: string;
  /** what it scales on, as its spec says (empty when that could not be read: see `unread`) */
  readonly scalesOn: readonly ScaledOn[];
  /** why its metrics or triggers could not be read (a malformed spec): said, never guessed */
  readonly unread?: string;
}

/**
 * One metric an HPA scales on, or one trigger of a ScaledObject. HPA: `type` is External,
 * Object, Pods, Resource or ContainerResource, and `name` the metric's (cpu or memory for the
 * resources). ScaledObject: `type` is the trigger's (prometheus, cpu, kafka, ...), `query` a
 * prometheus trigger's query.
 */
export interface ScaledOn {
  readonly source: 'metric' | 'trigger';
  readonly type: string;
  readonly name?: string;
  readonly query?: string;
  /** an External metric's selector: the labels its series must have (empty: none, every series) */
  readonly selector?: readonly LabelMatcher[];
  /** the series a prometheus trigger's query reads, when the query could be read */
  readonly series?: readonly SeriesSelector[];
  /** why a prometheus trigger's query could not be read (its series then unknown) */
  readonly queryUnread?: string;
}

/**
 * One condition on a label of the series: PromQL's `=`, `!=`, `=~` and `!~` (a regular
 * expression that must match the whole value), or a Kubernetes label selector's (`matchLabels`
 * as `=`; In, NotIn, Exists, DoesNotExist). `values` holds the one value or pattern, In's and
 * NotIn's set, nothing for Exists and DoesNotExist.
 */
export interface LabelMatcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~' | 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values: readonly string[];
}

/** A vector selector of a query: the metric it names (empty when none) and its label matchers. */
export interface SeriesSelector {
  readonly name: string;
  readonly matchers: readonly LabelMatcher[];
}

/** A pod of a Deployment and its pod-deletion-cost: the ReplicaSet removes the lowest first. */
export interface DeletionCost {
  readonly pod: string;
  readonly cost: number;
}

export interface Cluster {
  /** The Deployments behind the given variants; a Deployment that does not exist is absent. */
  deployments(
    targets: readonly { namespace: string; deployment: string; variant: string; accelerator: string }[],
  ): Promise<DeploymentView[]>;
  /**
   * Sets spec.replicas, never over a change it has not seen: with `seen` (a read just made) the
   * first try writes against that version instead of reading again; a conflict re-reads.
   */
  scale(namespace: string, deployment: string, replicas: number, seen?: SeenReplicas): Promise<void>;
  /**
   * The HPAs and KEDA ScaledObjects of a namespace that target Deployments (apply refuses to
   * fight them). Read once per namespace for a batch of decisions, not once per decision.
   */
  otherAutoscalers(namespace: string): Promise<OtherAutoscaler[]>;
  /**
   * Sets controller.kubernetes.io/pod-deletion-cost on those of the given pods that belong to
   * the Deployment (its selector's labels), so a scale-down removes the least busy; returns the
   * pods annotated. A pod that is gone or not the Deployment's is skipped, never written.
   */
  setDeletionCosts(namespace: string, deployment: string, costs: readonly DeletionCost[]): Promise<string[]>;
}

/** GPU capacity: see capacity.ts (the port, its intents and outcomes). */
export type { CapacityProvider } from './capacity.js';

/** What a pool evaluation queues: one decision per variant and the pool's capacity intent. */
export interface DecisionQueue {
  send(messages: readonly PoolMessage[]): Promise<void>;
}

/**
 * Where apply puts a message it will not act on (rejected, or ended by a permanent error): the
 * body as received, on its own message group, with the reason beside it.
 */
export interface DeadLetters {
  send(message: { body: string; groupId: string; deduplicationId: string; reason: string }): Promise<void>;
}

export interface TelemetryPoint {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** epoch milliseconds */
  readonly timestamp: number;
}

export interface TelemetrySink {
  publish(points: readonly TelemetryPoint[]): Promise<void>;
}

/**
 * What the consumer knows of a variant's decisions: the newest it took on, and whether it
 * finished applying it. Sequences are compared only within one generation of the policy
 * memory (PolicyMemory.generation); absent: generation 0, the records from before generations.
 */
export interface AppliedMark {
  readonly sequence: number;
  readonly applied: boolean;
  readonly generation?: number;
}

/** The newest capacity intent apply took on for a pool: its generation and pool sequence. */
export interface CapacityMark {
  readonly generation: number;
  readonly poolSequence: number;
}

/**
 * Each variant's learnt daily season of demand (lib/policy/seasonal.ts), one item per variant
 * beside the pool's policy memory: a day of five-minute indices for a hundred variants would not
 * fit the memory's one item. A variant without one starts without history.
 */
export interface SeasonStore {
  /** the states of those variants (by key) that have one */
  load(variants: readonly string[]): Promise<Map<string, SeasonState>>;
  save(states: ReadonlyMap<string, SeasonState>): Promise<void>;
}

/** Memory across stateless invocations. Writes are conditional where two consumers could race. */
export interface DecisionState {
  loadPolicy(pool: string): Promise<PolicyMemory>;
  savePolicy(pool: string, memory: PolicyMemory): Promise<void>;
  lastApplied(variant: string): Promise<AppliedMark>;
  /**
   * Takes on a decision before acting, unless a newer one is already taken: a newer generation
   * always is newer; within one generation, a higher sequence. The same sequence may be claimed
   * again while not applied, so a retry after a crash still acts. When it is not taken, the
   * mark that stood in its way comes back with the answer (one round trip, not a read first).
   */
  claim(variant: string, sequence: number, generation?: number): Promise<Claim>;
  /**
   * Records, in one write, that a variant is done with its decision of a pool evaluation:
   * the pool sequence it has reached (kept at the highest within a generation; a newer
   * generation starts it again), whatever became of the decision; when it was applied, the
   * decision as applied (only while it is still the one claimed); and, when it scaled, one more
   * in inferno_replica_scaling_total for `count`'s labels, kept across invocations.
   */
  markDone(variant: string, done: Done): Promise<DoneAnswer>;
  /**
   * The pool sequence each variant has reached in this generation: 0 when none or only in an
   * older one, Infinity when it has gone on to a newer generation. Read together: the
   * capacity intent asks for every variant of its pool at once.
   */
  poolsReached(variants: readonly string[], generation?: number): Promise<Map<string, number>>;
  /** Takes on a pool's capacity intent unless a newer evaluation's (or generation's) intent was taken. */
  claimCapacity(pool: string, poolSequence: number, generation?: number): Promise<boolean>;
  /** The newest capacity intent taken on for a pool: evaluate tells a restored policy memory by it. */
  capacityMark(pool: string): Promise<CapacityMark | undefined>;
  /** Running value of another counter of the consumer's (inferno_decisions_dropped_total), kept across invocations. */
  incrementCounter(metric: string, labels: Readonly<Record<string, string>>): Promise<number>;
}

/** A claim's answer: taken on, or not and the newer (or applied) mark in its way. */
export type Claim = { readonly claimed: true } | { readonly claimed: false; readonly last: AppliedMark };

/** What markDone records (see there). */
export interface Done {
  readonly poolSequence: number;
  readonly generation?: number;
  /** the decision's sequence, when it was applied */
  readonly appliedSequence?: number;
  /** the labels of inferno_replica_scaling_total to count one more in, when it scaled */
  readonly count?: Readonly<Record<string, string>>;
}

export interface DoneAnswer {
  /** the counter's running value after this one, when `count` was given */
  readonly count?: number;
}

export interface Clock {
  /** epoch seconds */
  now(): number;
}
