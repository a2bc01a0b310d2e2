/**
 * The sizing core's view of a fleet: what the optimizer needs and nothing else. Config files
 * (ours or Inferno's) are translated into this shape by lib/config.
 */
import type { FlatTargetRule, ItlModel, ServiceProfile, Targets } from '../analyzer/index.js';

export interface AcceleratorSpec {
  /** configuration name, e.g. "4xA100" */
  readonly name: string;
  /** device type counted against capacity, e.g. "A100" */
  readonly type: string;
  /** devices of `type` in one unit of this configuration */
  readonly multiplicity: number;
  /** cost of one unit per hour (cents, or any consistent currency unit) */
  readonly cost: number;
  /**
   * When devices of this type are bought in whole nodes (a GPU node group), a candidate costs
   * the nodes its replicas need, not its devices: 4 replicas of one GPU on 8-GPU nodes pay for 8.
   * Each variant is charged as if alone on its nodes (pessimistic when variants share them).
   */
  readonly node?: { readonly devices: number; readonly cost: number };
}

export interface ModelProfile extends ServiceProfile {
  /** batch limit measured at `atTokens` output tokens */
  readonly maxBatchSize: number;
  readonly atTokens: number;
  /** tokens one replica's KV cache holds; with the load's kvTokensPerRequest it bounds the batch */
  readonly kvCacheTokens?: number;
  /** accelerator units one replica needs */
  readonly accCount: number;
}

export interface ModelSpec {
  readonly name: string;
  /** performance profile per accelerator configuration name */
  readonly profiles: ReadonlyMap<string, ModelProfile>;
}

export interface ServiceClassSpec {
  readonly name: string;
  /** 1 is the highest priority */
  readonly priority: number;
  /** targets per model name */
  readonly targets: ReadonlyMap<string, Targets>;
}

export interface ServerLoad {
  /** requests per minute, as in Inferno's input */
  readonly arrivalRate: number;
  readonly avgInTokens: number;
  readonly avgOutTokens: number;
  /**
   * mean KV tokens of a request in flight: the batch is then what the profile's KV cache holds
   * (lib/policy/kvBatch.ts) instead of maxBatchSize x atTokens / avgOutTokens. Inferno inputs never set it.
   */
  readonly kvTokensPerRequest?: number;
}

export interface CurrentAllocation {
  /** accelerator configuration name; "" when the server has none */
  readonly accelerator: string;
  readonly numReplicas: number;
  readonly cost: number;
}

/** A server (a variant): one model, one service class, one load. */
export interface ServerSpec {
  readonly name: string;
  readonly model: string;
  readonly serviceClass: string;
  readonly load: ServerLoad;
  readonly current: CurrentAllocation;
  readonly minReplicas: number;
  /** candidates needing more replicas than this are infeasible; undefined = no limit */
  readonly maxReplicas?: number;
  /** overrides the profile's batch limit when > 0 */
  readonly maxBatchSize?: number;
  /** restrict candidates to the current accelerator */
  readonly keepAccelerator: boolean;
  /** restrict candidates to these accelerator names; undefined = all */
  readonly allowedAccelerators?: readonly string[];
  /**
   * most requests per second one replica may take, per accelerator name, from a constraint
   * the queue model does not see (the policy's per-request ITL by the distribution); the lower
   * of this and the queue model's rate is sized for. Inferno inputs never set it.
   */
  readonly rateCaps?: ReadonlyMap<string, number>;
}

export const SATURATION_POLICIES = [
  'None',
  'PriorityExhaustive',
  'PriorityRoundRobin',
  'RoundRobin',
] as const;
export type SaturationPolicy = (typeof SATURATION_POLICIES)[number];

export interface OptimizerSettings {
  /** every server takes its best candidate, ignoring capacity */
  readonly unlimited: boolean;
  /** what servers whose targets cannot be met within capacity get */
  readonly saturationPolicy: SaturationPolicy;
  /** run best effort after all priority groups instead of after each */
  readonly delayedBestEffort: boolean;
  /** how a latency target is judged on a replica whose latency does not change with load */
  readonly flatTargetRule: FlatTargetRule;
  /** what an ITL prediction covers (see ItlModel); 'decode' as the reference */
  readonly itlModel: ItlModel;
}

export interface SystemSpec {
  readonly accelerators: readonly AcceleratorSpec[];
  readonly models: ReadonlyMap<string, ModelSpec>;
  readonly serviceClasses: ReadonlyMap<string, ServiceClassSpec>;
  readonly servers: readonly ServerSpec[];
  /** devices available per accelerator type (limited mode); a type absent here has none */
  readonly capacity: ReadonlyMap<string, number>;
  readonly optimizer: OptimizerSettings;
}

/** An allocation of one accelerator configuration to a server, with its predicted performance. */
export interface Allocation {
  /** "" for the empty allocation of an idle server with no minimum */
  readonly accelerator: string;
  readonly numReplicas: number;
  readonly maxBatch: number;
  readonly cost: number;
  /** ranking key: cost plus the penalty of moving from the current allocation */
  readonly value: number;
  readonly itlAverage: number;
  readonly ttftAverage: number;
  readonly rho: number;
  /** sustainable rate of one replica within the targets, r* (req/s) */
  readonly maxRatePerReplica: number;
}

export interface Solution {
  /** chosen allocation per server name; servers without one are absent */
  readonly allocations: ReadonlyMap<string, Allocation>;
  /** every feasible candidate per server, sorted by value then accelerator name */
  readonly candidates: ReadonlyMap<string, readonly Allocation[]>;
  /** why a server got no allocation, or why accelerators were not candidates */
  readonly notes: ReadonlyMap<string, readonly string[]>;
  /**
   * per server, r* of every accelerator that meets the targets at some rate, including those
   * that would need more than maxReplicas (a spill runs part of the demand there)
   */
  readonly ratesPerReplica: ReadonlyMap<string, ReadonlyMap<string, number>>;
  readonly stats: SolveStats;
}

export interface SolveStats {
  /** distinct replica sizings computed (cache misses) */
  readonly sizings: number;
  /** queue-model (birth-death chain) evaluations */
  readonly evaluations: number;
}
