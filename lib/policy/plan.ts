/** A pool decision's input and output, and what runs now of a variant. */
import type { Config } from '../config/schema.js';
import type { VariantObservation } from '../metrics/observation.js';
import type { DecisionRecord } from './decisionRecord.js';
import type { PolicyMemory } from './memory.js';
import type { AcceleratorCapacity, CapacityIntent } from './capacity.js';
import type { DeploymentView } from './ports.js';
import type { SeasonState } from './seasonal.js';

export interface PoolInput {
  readonly pool: string;
  readonly config: Config;
  /** by variant key (`namespace/name`) */
  readonly observations: ReadonlyMap<string, VariantObservation>;
  readonly deployments: readonly DeploymentView[];
  /** what the pool's capacity provider reports per accelerator type (empty: not managed) */
  readonly capacity: readonly AcceleratorCapacity[];
  readonly memory: PolicyMemory;
  /** each variant's learnt season of demand, by key (policy.forecast.seasonal; absent: none yet) */
  readonly seasons?: ReadonlyMap<string, SeasonState>;
  /** epoch seconds */
  readonly now: number;
}

export interface PoolOutput {
  readonly decisions: DecisionRecord[];
  /** the pool's one capacity decision of this evaluation */
  readonly capacity: CapacityIntent;
  readonly memory: PolicyMemory;
  /** the seasons updated by this evaluation's measurements, to be saved */
  readonly seasons: Map<string, SeasonState>;
}

export interface CurrentState {
  /** the accelerator serving now ('' when none has replicas) */
  readonly accelerator: string;
  readonly desired: number;
  readonly ready: number;
  readonly byAccelerator: ReadonlyMap<string, DeploymentView>;
}
