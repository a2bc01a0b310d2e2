/** The working state of a pool decision: inputs, each variant's plan, what runs now. */
import type { Config, VariantConfig } from '../config/schema.js';
import { variantKey } from '../config/toSystem.js';
import type { VariantObservation } from '../metrics/observation.js';
import type { Correction } from './correction.js';
import type { Demand } from './demand.js';
import type { DecisionRecord, ScalingReason } from './decisionRecord.js';
import type { PolicyMemory } from './memory.js';
import type { DeploymentView, NodeGroupView } from './ports.js';
import { allowedAccelerators } from './variantPlan.js';

export interface PoolInput {
  readonly pool: string;
  readonly config: Config;
  /** by variant key (`namespace/name`) */
  readonly observations: ReadonlyMap<string, VariantObservation>;
  readonly deployments: readonly DeploymentView[];
  readonly nodeGroups: readonly NodeGroupView[];
  readonly memory: PolicyMemory;
  /** epoch seconds */
  readonly now: number;
}

export interface PoolOutput {
  readonly decisions: DecisionRecord[];
  readonly memory: PolicyMemory;
}

export interface CurrentState {
  /** the accelerator serving now ('' when none has replicas) */
  readonly accelerator: string;
  readonly desired: number;
  readonly ready: number;
  readonly byAccelerator: ReadonlyMap<string, DeploymentView>;
}

export interface Plan {
  readonly v: VariantConfig;
  readonly key: string;
  readonly current: CurrentState;
  readonly observation?: VariantObservation;
  readonly demand?: Demand;
  readonly correction: Correction;
  accelerator: string;
  target: number;
  reason: ScalingReason;
  message: string;
  migrating: boolean;
  /** replicas per accelerator to ask for (includes an old accelerator kept during a move) */
  readonly deployments: Map<string, number>;
}

export function currentState(
  config: Config,
  v: VariantConfig,
  deployments: readonly DeploymentView[],
): CurrentState {
  const key = variantKey(v);
  const mine = deployments.filter((d) => d.variant === key);
  const byAccelerator = new Map(mine.map((d) => [d.accelerator, d]));
  // The accelerator serving now is the one with the most ready replicas: during a move the new
  // Deployment may already ask for more, but the old one serves until the new one is ready.
  const serving = [...mine].sort(
    (a, b) => b.ready - a.ready || b.desired - a.desired || (a.accelerator < b.accelerator ? -1 : 1),
  )[0];
  const accelerator =
    serving && serving.desired > 0
      ? serving.accelerator
      : (v.current?.accelerator ?? allowedAccelerators(config, v)[0] ?? '');
  const d = byAccelerator.get(accelerator);
  return { accelerator, desired: d?.desired ?? 0, ready: d?.ready ?? 0, byAccelerator };
}
