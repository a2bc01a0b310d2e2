/**
 * The decision policy for one capacity pool: observations and cluster state in, one decision
 * per variant and the updated memory out. Pure: no clock, no network (docs/ARCHITECTURE.md).
 *
 * Each stage is a function of the previous one's values, per variant unless it needs the pool:
 *   observe   what runs and what was measured;
 *   demand    the rate to size for (or a hold on stale or missing metrics), and the model's error;
 *   size      the optimizer across the whole pool, within capacity; moves only after the
 *             optimizer has preferred another accelerator for a while; more replicas, on devices
 *             left free, where the recent past's arrivals per step would have waited beyond the
 *             TTFT target (policy.burstSizing);
 *   guards    idle, min/max, stabilisation and its adaptive window, make-before-break;
 *   yields    replicas held only by a window, released where a neighbour's recommendation
 *             does not fit on a type at its limit (policy.windowYields);
 *   spill     the shortfall the chosen accelerator cannot hold, on another (policy.spill);
 *   capacity  the devices every replica asked for needs per accelerator type: one intent per pool;
 *   record    the memory for the next evaluation and the decision records.
 */
import { configCapacity } from '../config/toSystem.js';
import { sizingCapacity } from './capacityPlan.js';
import type { PolicyMemory } from './memory.js';
import type { PoolInput, PoolOutput } from './plan.js';
import { modeOf } from '../config/resolved.js';
import { planCapacity } from './stages/capacity.js';
import { assessDemand } from './stages/demand.js';
import { guard } from './stages/guards.js';
import { observe } from './stages/observe.js';
import { decisionRecord, remember } from './stages/record.js';
import { size } from './stages/size.js';
import { placeShortfalls } from './spill.js';
import { yieldWindowHolds } from './windowYields.js';
import { acceleratorType, devicesPerReplica } from '../config/resolved.js';
import { disaggregatedVariants } from '../config/roles.js';
import { freeAfter } from '../config/toDisaggregated.js';
import { variantKey } from '../config/variantKey.js';
import {
  decideDisaggregated,
  roleObservationKey,
  roleState,
  type DisaggregatedDecision,
} from './disaggregated.js';
import type { ReplicasAsked } from './stages/capacity.js';

export type { PoolInput, PoolOutput } from './plan.js';

export function decidePool(input: PoolInput): PoolOutput {
  const { config, now } = input;
  const assessed = observe(input).map((o) => assessDemand(o, config, now));
  // Capacity the provider cannot deliver (out of stock, at its limit) is not sized on.
  const devices = sizingCapacity(configCapacity(config), input.capacity);
  const short = new Set(input.capacity.filter((c) => c.insufficient).map((c) => c.acceleratorType));
  const guarded = placeShortfalls(
    yieldWindowHolds(
      size(assessed, config, now, devices, short).map((s) => guard(s, config, now)),
      { config, devices },
    ),
    { config, devices, capacity: input.capacity, now },
  );

  const memory: PolicyMemory = {
    // a memory without one is fresh (or from before generations): it starts a generation now
    generation: input.memory.generation ?? Math.round(now * 1000),
    poolSequence: input.memory.poolSequence + 1,
    variants: { ...input.memory.variants },
  };
  for (const g of guarded) memory.variants[g.key] = remember(g, config, now);
  const context = {
    pool: input.pool,
    poolSequence: memory.poolSequence,
    generation: memory.generation,
    config,
    now,
  };
  const decisions = guarded.map((g) => decisionRecord(g, memory.variants[g.key]!.sequence, context));
  // Disaggregated variants take what the single-Deployment variants left (docs/SIZING.md section 7).
  const used = guarded.flatMap((g) =>
    [...g.deployments].map(([acc, n]) => ({
      type: acceleratorType(config, acc) ?? acc,
      devices: n * devicesPerReplica(config, g.v, acc),
    })),
  );
  const split = disaggregatedVariants(config).map((v) =>
    decideDisaggregated(
      v,
      {
        prefill: input.observations.get(roleObservationKey(variantKey(v), 'prefill')),
        decode: input.observations.get(roleObservationKey(variantKey(v), 'decode')),
      },
      {
        prefill: roleState(config, v, 'prefill', input.deployments),
        decode: roleState(config, v, 'decode', input.deployments),
      },
      input.memory,
      { ...context, freeDevices: freeAfter(devices, used) },
    ),
  );
  for (const d of split) {
    memory.variants[d.key] = d.memory;
    decisions.push(d.record);
  }
  const capacity = planCapacity(
    config,
    capacityAsked(input, [...guarded, ...split.map(replicasAsked)]),
    context,
  );
  const seasons = new Map(guarded.flatMap((g) => (g.season && g.demand ? [[g.key, g.season] as const] : [])));
  return { decisions, capacity, memory, seasons };
}

/** Both roles' replicas, by accelerator, as capacity counts them. */
function replicasAsked(d: DisaggregatedDecision): ReplicasAsked {
  const deployments = new Map<string, number>();
  for (const r of Object.values(d.roles)) {
    if (r.accelerator !== '')
      deployments.set(r.accelerator, (deployments.get(r.accelerator) ?? 0) + r.target);
  }
  return { key: d.key, v: d.v, deployments };
}

/**
 * What each variant asks of the pool's capacity: its decision, unless apply will not act on it
 * (shadow mode, or paused by the config or a Deployment's annotation): then what runs, so that
 * a variant being watched neither grows nodes it will not use nor loses the ones it runs on.
 * A variant in advise mode asks for its decision: the user's HPA or KEDA scales to it.
 * Disaggregated variants likewise (their `mode` counts as a single-Deployment variant's does).
 */
function capacityAsked(input: PoolInput, guarded: readonly ReplicasAsked[]): ReplicasAsked[] {
  return guarded.map((g) => {
    const views = input.deployments.filter((d) => d.variant === g.key);
    const held = modeOf(input.config, g.v) === 'shadow' || g.v.paused || views.some((d) => d.paused);
    if (!held) return g;
    // a disaggregated variant's two roles may run on one accelerator: their replicas add up
    const running = new Map<string, number>();
    for (const d of views) running.set(d.accelerator, (running.get(d.accelerator) ?? 0) + d.desired);
    return { ...g, deployments: running };
  });
}
