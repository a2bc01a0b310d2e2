/** The optimizer's answer for one variant, turned into an accelerator and a replica count. */
import { acceleratorType, devicesPerReplica } from '../config/resolved.js';
import type { Config } from '../config/schema.js';
import type { Allocation } from '../optimizer/index.js';
import type { ScalingReason } from './decisionRecord.js';
import type { Measured } from './stages/demand.js';

/** An accelerator and a replica count for a variant, and why. */
export interface Recommendation {
  readonly accelerator: string;
  readonly replicas: number;
  readonly reason: ScalingReason;
  readonly message: string;
}

/** The optimizer's recommendation for a variant, kept on its current accelerator until a move is due. */
export function recommend(
  variant: Measured,
  allocation: Allocation | undefined,
  candidates: readonly Allocation[],
  config: Config,
  now: number,
  free: Map<string, number> | undefined,
  /** accelerator types whose asked-for capacity did not arrive (the provider's insufficient capacity) */
  shortTypes: ReadonlySet<string> = new Set(),
): Recommendation {
  const { v, current, demand, memory } = variant;
  const switchAfter = config.policy.acceleratorSwitchSeconds;
  const onCurrent = candidates.find((c) => c.accelerator === current.accelerator);
  const driver = demand.driver;
  const sized = (a: Allocation, message: string) => ({
    accelerator: a.accelerator || current.accelerator,
    replicas: a.numReplicas,
    reason: driver as ScalingReason,
    message,
  });
  if (!allocation && demand.rate === 0) {
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
    const type = acceleratorType(config, accelerator);
    const per = devicesPerReplica(config, v, accelerator);
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
  const last = memory.recommendations.at(-1)?.accelerator;
  const underWay =
    config.policy.spill.enabled &&
    last !== undefined &&
    last !== current.accelerator &&
    (current.byAccelerator.get(last)?.desired ?? 0) > 0
      ? candidates.find((c) => c.accelerator === last)
      : undefined;
  if (underWay && preferred !== last) {
    const since = memory.otherAccelerator?.accelerator === preferred ? memory.otherAccelerator.since : now;
    if (now - since < switchAfter) {
      return {
        ...sized(
          underWay,
          `moving from ${current.accelerator} to ${last}; ${preferred} preferred for ${Math.round(now - since)} s of ${switchAfter} s`,
        ),
        reason: 'migration',
      };
    }
  }
  if (current.accelerator === '' || preferred === current.accelerator || current.desired === 0) {
    return sized(allocation, `sized for ${demand.rate.toFixed(3)} req/s on ${preferred}`);
  }
  const since = memory.otherAccelerator?.accelerator === preferred ? memory.otherAccelerator.since : now;
  // Capacity on the current accelerator that cannot come (out of stock, at its limit) is no
  // reason to wait for the move: the replicas it needs would never start.
  const currentType = acceleratorType(config, current.accelerator);
  const shortOnCurrent =
    onCurrent !== undefined &&
    currentType !== undefined &&
    shortTypes.has(currentType) &&
    free !== undefined &&
    currentType !== undefined &&
    // free already holds this variant's allocation when the preferred one is of the same type
    acceleratorType(config, preferred) !== currentType &&
    onCurrent.numReplicas * devicesPerReplica(config, v, current.accelerator) > (free.get(currentType) ?? 0);
  if (shortOnCurrent) {
    return {
      ...sized(
        allocation,
        `moving from ${current.accelerator} to ${preferred}: ${current.accelerator} has not the capacity for ${onCurrent.numReplicas} replicas`,
      ),
      reason: 'migration',
    };
  }
  if (now - since >= switchAfter || !onCurrent) {
    return {
      ...sized(
        allocation,
        `moving from ${current.accelerator} to ${preferred}: cheaper for ${demand.rate.toFixed(3)} req/s`,
      ),
      reason: 'migration',
    };
  }
  return sized(
    onCurrent,
    `sized on ${current.accelerator}; ${preferred} preferred for ${Math.round(now - since)} s of ${switchAfter} s`,
  );
}
