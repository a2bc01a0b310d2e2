/**
 * Stage 1 of a pool decision: what runs and what was measured, per variant. Nothing is decided
 * yet; the later stages read these facts and the memory of the last evaluation.
 */
import type { SeasonState } from '../seasonal.js';
import type { Config, VariantConfig } from '../../config/schema.js';
import { variantKey } from '../../config/toSystem.js';
import type { VariantObservation } from '../../metrics/observation.js';
import { variantMemory, type VariantMemory } from '../memory.js';
import type { CurrentState, PoolInput } from '../plan.js';
import type { DeploymentView } from '../ports.js';
import { allowedAccelerators } from '../../config/resolved.js';

export interface Observed {
  readonly v: VariantConfig;
  /** `namespace/name` */
  readonly key: string;
  readonly current: CurrentState;
  readonly observation?: VariantObservation;
  /** what the policy remembered of this variant after the last evaluation */
  readonly memory: VariantMemory;
  /** its learnt season of demand, from its own store (none yet: a new variant) */
  readonly season?: SeasonState;
}

/** One entry per configured variant, in config order. */
export function observe(input: PoolInput): Observed[] {
  return input.config.variants.map((v) => {
    const key = variantKey(v);
    const memory = variantMemory(input.memory, key);
    return {
      v,
      key,
      current: currentState(input.config, v, input.deployments, memory.spilledTo),
      observation: input.observations.get(key),
      memory,
      ...(input.seasons?.has(key) ? { season: input.seasons.get(key)! } : {}),
    };
  });
}

export function currentState(
  config: Config,
  v: VariantConfig,
  deployments: readonly DeploymentView[],
  /** the accelerator the last decision spilled onto (policy.spill), if any */
  spilledTo?: string,
): CurrentState {
  const key = variantKey(v);
  const mine = deployments.filter((d) => d.variant === key);
  const byAccelerator = new Map(mine.map((d) => [d.accelerator, d]));
  // The accelerator serving now is the one with the most ready replicas: during a move the new
  // Deployment may already ask for more, but the old one serves until the new one is ready. A
  // spill's replicas are the shortfall of the accelerator the variant was sized on, often more
  // of them on smaller devices: they do not make the spill's accelerator the variant's (sized on
  // it, the shortfall's replicas would be taken for a fleet).
  const candidates = mine.filter((d) => d.accelerator !== spilledTo && d.desired > 0);
  const serving = [...(candidates.length > 0 ? candidates : mine)].sort(
    (a, b) => b.ready - a.ready || b.desired - a.desired || (a.accelerator < b.accelerator ? -1 : 1),
  )[0];
  const accelerator =
    serving && serving.desired > 0
      ? serving.accelerator
      : (v.current?.accelerator ?? allowedAccelerators(config, v)[0] ?? '');
  const d = byAccelerator.get(accelerator);
  return { accelerator, desired: d?.desired ?? 0, ready: d?.ready ?? 0, byAccelerator };
}
