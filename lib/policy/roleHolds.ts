/**
 * What a role's stabilisation window holds of each earlier plan, for the roles of a disaggregated
 * variant: the forecast's pods as expected (policy.forecastCapacity.roles), and the plan less the
 * arrival rate's sampling noise (policy.windowNoise, lib/policy/windowNoise.ts).
 *
 * Capacity for demand expected when it arrives, for the roles of a disaggregated variant
 * (policy.forecastCapacity with its `roles` flag; lib/policy/forecastCapacity.ts for the
 * single-Deployment variants, docs/SIZING.md section 6). The trend's forecast extrapolates a
 * rise over the variant's lead time (a new node, then the slower role's cold start: about 15
 * minutes on a 70B model), and one evaluation's jump of the measured rate is enough for it; the
 * roles' window then holds the pods it bought for two lead times. So, as for any variant: the
 * rises are learnt from the variant's own arrivals (the prefill role's), the forecast is bought
 * only as far as the rise learnt expects, and each role's window holds the forecast's pods until
 * the time they were forecast for, then only as far as the demand expected within a lead time
 * (the measured rate times the rise learnt) needs of that role.
 */
import type { Config } from '../config/schema.js';
import { updateRise, type RiseStats } from './caution.js';
import type { Demand } from './demand.js';
import {
  expectedRise,
  forecastAsExpected,
  heldByEntry,
  learnsRises,
  rateExpected,
  type ForecastHold,
} from './forecastCapacity.js';
import type { Recommendation, VariantMemory } from './memory.js';
import { noiseInHighest, type NoiseWindow } from './windowNoise.js';

/** Whether the roles of a disaggregated variant learn rises and buy and hold forecasts by them. */
export const rolesForecastAsExpected = (config: Config): boolean =>
  config.policy.forecastCapacity.roles && learnsRises(config.policy);

/** How long the variant keeps its measured rates: the trend's history, and a lead time of it for the rises. */
export function roleDemandHistorySeconds(config: Config, leadSeconds: number): number {
  const p = config.policy;
  return rolesForecastAsExpected(config)
    ? Math.max(p.forecast.horizonSeconds, leadSeconds + p.intervalSeconds)
    : p.forecast.horizonSeconds;
}

export interface RoleForecast {
  /** the demand to size for: the trend's forecast cut to the rise learnt (buyAsExpected) */
  readonly demand: Demand;
  /** the rises learnt so far (undefined until a lead time of history) */
  readonly rise: RiseStats | undefined;
  /** the rise expected within a lead time (a factor >= 1); undefined until enough is seen */
  readonly expected: number | undefined;
  /** one request per metrics window: the resolution the rates are counted with */
  readonly resolution: number;
}

/** The variant's rises learnt one evaluation further and the demand bought by them. */
export function roleForecast(
  config: Config,
  previous: VariantMemory,
  trended: Demand,
  ctx: { now: number; windowSeconds: number },
): RoleForecast {
  const resolution = 1 / ctx.windowSeconds;
  if (!rolesForecastAsExpected(config))
    return { demand: trended, rise: previous.rise, expected: undefined, resolution };
  const policy = config.policy;
  const rise = updateRise(previous.rise, previous.demand, {
    now: ctx.now,
    measured: trended.measured,
    leadSeconds: trended.leadSeconds,
    windowSeconds: ctx.windowSeconds,
    halfLifeSeconds: policy.caution.halfLifeSeconds,
  });
  const expected = expectedRise(policy, rise, trended.leadSeconds);
  const demand = policy.forecastCapacity.buyAsExpected
    ? forecastAsExpected(trended, expected, resolution)
    : trended;
  return { demand, rise, expected, resolution };
}

/**
 * The rates a role's window entry is judged at: what measured demand and backlog ask for
 * (without the forecast) and what the demand expected within a lead time asks for (measured
 * times the rise learnt, with the backlog); undefined when the hold is off or nothing is forecast.
 */
export function roleHoldRates(
  config: Config,
  f: RoleForecast,
): { measured: number; expected: number | undefined } | undefined {
  if (!rolesForecastAsExpected(config) || !config.policy.forecastCapacity.holdAsExpected) return undefined;
  const d = f.demand;
  return {
    measured: d.measured + d.backlogRate,
    expected:
      f.expected === undefined
        ? undefined
        : rateExpected(d.measured, f.expected, f.resolution) + d.backlogRate,
  };
}

/**
 * A role's window entry with the replicas it needs at each of those rates, shifted by whatever
 * the plan's other terms added (its burst sizing): only the rate's part is judged.
 */
export function roleEntry(
  entry: Recommendation,
  /** the role's replicas as the optimizer sized them at the demand's rate, before any burst sizing */
  sized: number,
  at: { measured?: number; expected?: number; lessNoise?: number },
  /** the arrival rate measured (windowNoise's 'measured' variation reads the window's spread) */
  arrivals?: number,
): Recommendation {
  const shifted = (x: number | undefined) =>
    x === undefined ? undefined : Math.max(entry.replicas + x - sized, 0);
  const measured = shifted(at.measured);
  const expected = shifted(at.expected);
  const lessNoise = shifted(at.lessNoise);
  return {
    ...entry,
    ...(measured !== undefined && measured < entry.replicas ? { measured } : {}),
    ...(expected !== undefined ? { expected } : {}),
    ...(lessNoise !== undefined && lessNoise < entry.replicas ? { lessNoise } : {}),
    ...(arrivals !== undefined ? { arrivals } : {}),
  };
}

/**
 * What each earlier entry of a role's window holds: less the rate's noise (windowNoise), then
 * the forecast's part as expected (heldByEntry), the expected replicas the most of those
 * estimated over the last lead time (a release cannot be undone sooner). Undefined when neither
 * is on: all each entry asked for.
 */
export function roleHeldBy(
  history: readonly Recommendation[],
  now: number,
  leadSeconds: number,
  on: { forecast: boolean; noise: boolean },
  expectedNow: number | undefined,
): ((r: Recommendation) => number) | undefined {
  if (!on.forecast && !on.noise) return undefined;
  const less = (r: Recommendation): Recommendation => {
    if (!on.noise) return r;
    const replicas = Math.min(r.lessNoise ?? r.replicas, r.replicas);
    return {
      ...r,
      replicas,
      ...(r.measured !== undefined ? { measured: Math.min(r.measured, replicas) } : {}),
    };
  };
  if (!on.forecast) return (r) => less(r).replicas;
  const recent = history
    .filter((r) => r.t > now - leadSeconds && r.expected !== undefined)
    .map((r) => r.expected!);
  const hold: ForecastHold =
    expectedNow === undefined
      ? { now, leadSeconds }
      : { now, leadSeconds, expectedReplicas: Math.max(expectedNow, ...recent) };
  return (r) => heldByEntry(less(r), hold);
}

/**
 * The measured rate less what its sampling noise adds to the highest of the window's rates
 * (policy.windowNoise); undefined when off or nothing was measured.
 */
export function rateLessNoise(
  config: Config,
  measured: number,
  /** the arrival rates of the window's earlier entries */
  earlier: readonly number[],
  w: NoiseWindow,
): number | undefined {
  const settings = config.policy.windowNoise;
  if (!settings.enabled || !(measured > 0)) return undefined;
  const noise = noiseInHighest(measured, [...earlier, measured], w, settings.variation);
  return noise > 0 ? Math.max(measured - noise, 0) : undefined;
}
