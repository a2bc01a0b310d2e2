/**
 * The ports of the evaluate → decide → queue → apply loop. The core depends only on these;
 * AWS, Kubernetes, Prometheus and the simulation each implement them in their own adapter.
 */
import type { VariantConfig } from '../config/schema.js';
import { variantKey } from '../config/variantKey.js';
import type { VariantObservation } from '../metrics/observation.js';
import type { DecisionRecord } from './decisionRecord.js';
import type { PolicyMemory } from './memory.js';

export interface MetricsQuery {
  /** `namespace/name` */
  readonly variant: string;
  readonly namespace: string;
  /** the model_name label its servers report */
  readonly modelName: string;
  readonly podPattern?: string;
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
}

export interface Cluster {
  /** The Deployments behind the given variants; a Deployment that does not exist is absent. */
  deployments(
    targets: readonly { namespace: string; deployment: string; variant: string; accelerator: string }[],
  ): Promise<DeploymentView[]>;
  scale(namespace: string, deployment: string, replicas: number): Promise<void>;
}

export interface NodeGroupView {
  readonly name: string;
  readonly acceleratorType: string;
  readonly gpusPerNode: number;
  readonly minSize: number;
  readonly maxSize: number;
  readonly desiredSize: number;
  readonly readyNodes: number;
}

export interface NodeGroups {
  describe(names: readonly string[]): Promise<NodeGroupView[]>;
  setDesiredSize(name: string, desiredSize: number): Promise<void>;
}

export interface DecisionQueue {
  send(decisions: readonly DecisionRecord[]): Promise<void>;
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

/** What the consumer knows of a variant's decisions: the newest it took on, and whether it finished applying it. */
export interface AppliedMark {
  readonly sequence: number;
  readonly applied: boolean;
}

/** Memory across stateless invocations. Writes are conditional where two consumers could race. */
export interface DecisionState {
  loadPolicy(pool: string): Promise<PolicyMemory>;
  savePolicy(pool: string, memory: PolicyMemory): Promise<void>;
  lastApplied(variant: string): Promise<AppliedMark>;
  /**
   * Takes on a decision before acting, unless a newer one is already taken (false). The same
   * sequence may be claimed again while not applied, so a retry after a crash still acts.
   */
  claim(variant: string, sequence: number): Promise<boolean>;
  markApplied(variant: string, sequence: number): Promise<void>;
  /** Takes on a node-group size from a pool evaluation unless a newer evaluation's size was taken. */
  claimNodeGroup(name: string, poolSequence: number): Promise<boolean>;
  /** Running value of inferno_replica_scaling_total for a label set, kept across invocations. */
  incrementScalingCounter(labels: Readonly<Record<string, string>>): Promise<number>;
}

export interface Clock {
  /** epoch seconds */
  now(): number;
}
