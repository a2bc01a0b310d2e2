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
  // With policy.stayWithinCapacity, any type that cannot hold them: at its node groups' limit
  // (which no provider reports as insufficient: sizingCapacity bounds the devices by it) or
  // taken by the other variants' sizing.
  const within = config.policy.stayWithinCapacity.enabled;
  const shortOnCurrent =
    onCurrent !== undefined &&
    currentType !== undefined &&
    (within || shortTypes.has(currentType)) &&
    free !== undefined &&
    currentType !== undefined &&
    // free already holds this variant's allocation when the preferred one is of the same type
    (within || acceleratorType(config, preferred) !== currentType) &&
    onCurrent.numReplicas * devicesPerReplica(config, v, current.accelerator) >
      roomOnCurrent(config, v, free, allocation, currentType);
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
  const stay = sized(
    onCurrent,
    `sized on ${current.accelerator}; ${preferred} preferred for ${Math.round(now - since)} s of ${switchAfter} s`,
  );
  return within ? bookStay(config, v, free, allocation, stay) : stay;
}

/**
 * Devices of the current accelerator's type the variant may count on: what the free devices
 * hold, and its own allocation's when the preferred accelerator is of the same type (free
 * already took them).
 */
function roomOnCurrent(
  config: Config,
  v: Measured['v'],
  free: ReadonlyMap<string, number>,
  allocation: Allocation,
  currentType: string,
): number {
  const own =
    allocation.accelerator && acceleratorType(config, allocation.accelerator) === currentType
      ? allocation.numReplicas * devicesPerReplica(config, v, allocation.accelerator)
      : 0;
  return (free.get(currentType) ?? 0) + own;
}

/**
 * A variant that stays on its current accelerator while the optimizer prefers another
 * (policy.stayWithinCapacity; the type holds the replicas, or it would have moved): the free
 * devices gave the optimizer's allocation its devices, so they go back, and the replicas that
 * stay take theirs. Otherwise the burst sizing, counting the current type's devices as free,
 * raises the recommendation beyond what the type can hold: replicas that never start.
 */
export function bookStay(
  config: Config,
  v: Measured['v'],
  free: Map<string, number> | undefined,
  allocation: Allocation,
  stay: Recommendation,
): Recommendation {
  const type = acceleratorType(config, stay.accelerator);
  if (!free || !type) return stay;
  const preferredType = allocation.accelerator ? acceleratorType(config, allocation.accelerator) : undefined;
  if (preferredType) {
    const given = allocation.numReplicas * devicesPerReplica(config, v, allocation.accelerator);
    free.set(preferredType, (free.get(preferredType) ?? 0) + given);
  }
  free.set(type, (free.get(type) ?? 0) - stay.replicas * devicesPerReplica(config, v, stay.accelerator));
  return stay;
}
