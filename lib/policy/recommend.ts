/** The optimizer's answer for one variant, turned into an accelerator and a replica count. */
import type { Allocation } from '../optimizer/index.js';
import type { ScalingReason } from './decisionRecord.js';
import type { VariantMemory } from './memory.js';
import type { Plan, PoolInput } from './plan.js';
import { acceleratorType, devicesPerReplica } from './variantPlan.js';

/** The optimizer's recommendation for a variant, kept on its current accelerator until a move is due. */
export function recommend(
  plan: Plan,
  memory: VariantMemory,
  allocation: Allocation | undefined,
  candidates: readonly Allocation[],
  input: PoolInput,
  free: Map<string, number> | undefined,
): { accelerator: string; replicas: number; reason: ScalingReason; message: string } {
  const { v, current } = plan;
  const switchAfter = input.config.policy.acceleratorSwitchSeconds;
  const onCurrent = candidates.find((c) => c.accelerator === current.accelerator);
  const driver = plan.demand!.driver;
  const sized = (a: Allocation, message: string) => ({
    accelerator: a.accelerator || current.accelerator,
    replicas: a.numReplicas,
    reason: driver as ScalingReason,
    message,
  });
  if (!allocation && plan.demand!.rate === 0) {
    // Idle: limited mode leaves out an idle variant with no minimum; it needs nothing.
    return {
      accelerator: current.accelerator,
      replicas: v.minReplicas,
      reason: 'load',
      message: 'no demand',
    };
  }
  if (!allocation) {
    // No candidate meets the targets within maxReplicas and capacity: run as many replicas as
    // allowed and free on the current accelerator, the best chance to serve meanwhile.
    const accelerator = (onCurrent ?? candidates[0])?.accelerator || current.accelerator;
    const type = acceleratorType(input.config, accelerator);
    const per = devicesPerReplica(input.config, v, accelerator);
    const fits = free && type ? Math.max(Math.floor((free.get(type) ?? 0) / per), 0) : Infinity;
    const limit = Math.min(v.maxReplicas ?? Infinity, fits);
    const replicas = Number.isFinite(limit) ? limit : Math.max(current.desired, v.minReplicas);
    if (free && type) free.set(type, (free.get(type) ?? 0) - replicas * per);
    const bound = fits < (v.maxReplicas ?? Infinity) ? 'free capacity' : `maxReplicas ${v.maxReplicas}`;
    return {
      accelerator,
      replicas,
      reason: fits < (v.maxReplicas ?? Infinity) ? 'capacity' : 'max-replicas',
      message: `targets cannot be met within ${bound}: running ${replicas} on ${accelerator}`,
    };
  }
  const preferred = allocation.accelerator || current.accelerator;
  if (current.accelerator === '' || preferred === current.accelerator || current.desired === 0) {
    return sized(allocation, `sized for ${plan.demand!.rate.toFixed(3)} req/s on ${preferred}`);
  }
  const since =
    memory.otherAccelerator?.accelerator === preferred ? memory.otherAccelerator.since : input.now;
  if (input.now - since >= switchAfter || !onCurrent) {
    return {
      ...sized(
        allocation,
        `moving from ${current.accelerator} to ${preferred}: cheaper for ${plan.demand!.rate.toFixed(3)} req/s`,
      ),
      reason: 'migration',
    };
  }
  return sized(
    onCurrent,
    `sized on ${current.accelerator}; ${preferred} preferred for ${Math.round(input.now - since)} s of ${switchAfter} s`,
  );
}
