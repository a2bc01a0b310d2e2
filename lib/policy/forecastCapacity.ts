/**
 * Capacity for demand expected when it arrives (docs/SIZING.md section 6, `policy.forecastCapacity`).
 * New replicas serve a lead time after they are asked for. The trend's forecast buys replicas for
 * the rate it extrapolates over that lead time, but a short burst is over long before they serve,
 * and the stabilisation window then holds them for a whole window. The rise learnt from the
 * variant's own demand (lib/policy/caution.ts: how far demand rose within one lead time after any
 * moment) says how high demand a lead time later is to be expected: the forecast's replicas are
 * bought only as far as that, and held beyond the time they were forecast for only as long as
 * the measured rate, with that rise, still reaches them.
 */
import type { Config } from '../config/schema.js';
import { cautiousRise, type RiseStats } from './caution.js';
import { demandDriver, type Demand } from './demand.js';
import type { Recommendation as WindowEntry } from './memory.js';

type Policy = Config['policy'];

/** Whether the variant's rises are learnt: for the caution's scale-down or the forecast's capacity. */
export function learnsRises(policy: Policy): boolean {
  const f = policy.forecastCapacity;
  return policy.caution.enabled || f.buyAsExpected || f.holdAsExpected;
}

/**
 * The rise demand is expected to reach within one lead time (a factor >= 1), once a lead time's
 * worth of rises has been seen: the caution's (expected shortfall at itlDistribution.missShare).
 */
export function expectedRise(policy: Policy, stats: RiseStats | undefined, leadSeconds: number) {
  return cautiousRise(stats, policy.itlDistribution.missShare, leadSeconds / policy.intervalSeconds);
}

/**
 * The rate expected a lead time from now: the measured one times the rise, both counted with one
 * request per metrics window of resolution, as the rise was learnt (a rate of zero can rise).
 */
export function rateExpected(measured: number, rise: number, resolution: number): number {
  return Math.max((measured + resolution) * rise - resolution, measured);
}

/**
 * The demand with the trend's forecast cut to what the learnt rise expects a lead time later:
 * replicas beyond the ones running or starting are worth buying only for demand that will still
 * be there when they serve. Unchanged without a forecast or before the rise is learnt.
 */
export function forecastAsExpected(demand: Demand, rise: number | undefined, resolution: number): Demand {
  if (rise === undefined || demand.forecastRate <= 0) return demand;
  // The season's forecast already is what the days before brought a lead time later: only the
  // trend's extrapolation is cut to what the rises learnt expect, never the season's part of it.
  const seasonal =
    demand.seasonal?.kind === 'forecast' ? Math.max(demand.seasonal.rate - demand.measured, 0) : 0;
  const expected = Math.max(
    rateExpected(demand.measured, rise, resolution) - demand.measured,
    Math.min(seasonal, demand.forecastRate),
  );
  if (demand.forecastRate <= expected)
    return { ...demand, expected: { rise, forecastRate: demand.forecastRate } };
  const forecastRate = expected;
  return {
    ...demand,
    rate: demand.measured + demand.backlogRate + forecastRate,
    forecastRate,
    driver: demandDriver(demand.backlogRate, forecastRate),
    expected: { rise, forecastRate: demand.forecastRate },
  };
}

/**
 * The replicas of a recommendation that measured demand and backlog ask for, without the
 * forecast's part: the recommendation's own when nothing was forecast, else the measured rate at
 * the rate one replica sustains within the targets (never above the recommendation, never below
 * the minimum).
 */
export function replicasForMeasured(
  demand: Demand,
  replicas: number,
  ratePerReplica: number | undefined,
  minReplicas: number,
): number {
  if (demand.forecastRate <= 0 || !ratePerReplica) return replicas;
  const asked = Math.ceil((demand.measured + demand.backlogRate) / ratePerReplica - 1e-9);
  return Math.min(replicas, Math.max(asked, minReplicas));
}

export interface ForecastHold {
  readonly now: number;
  readonly leadSeconds: number;
  /**
   * replicas the demand expected within a lead time needs (the most estimated over the last lead
   * time); undefined: no rise learnt yet
   */
  readonly expectedReplicas?: number;
}

/**
 * What a window entry still holds: all it asked for until a lead time after it was asked (the
 * time its forecast was for), then what measured demand asked for, and the forecast's part only
 * as far as the demand expected a lead time from now needs it. Until a rise is learnt, all of it.
 */
export function heldByEntry(entry: WindowEntry, hold: ForecastHold): number {
  if (entry.measured === undefined || entry.measured >= entry.replicas) return entry.replicas;
  if (entry.t > hold.now - hold.leadSeconds || hold.expectedReplicas === undefined) return entry.replicas;
  return Math.min(entry.replicas, Math.max(entry.measured, hold.expectedReplicas));
}

/** Why the window holds what it holds, for the decision's message. */
export function describeHold(entries: readonly WindowEntry[], hold: ForecastHold, rise: number | undefined) {
  const recent = entries.filter((e) => e.t > hold.now - hold.leadSeconds);
  const forMeasured = Math.max(0, ...entries.map((e) => e.measured ?? e.replicas));
  const forecastInLead = Math.max(0, ...recent.map((e) => e.replicas));
  const expected =
    hold.expectedReplicas !== undefined && rise !== undefined
      ? `, as far as the demand expected within a lead time needs (${hold.expectedReplicas}, a rise of x${rise.toFixed(2)} now)`
      : ', all of them: no lead time of rises seen yet';
  return `the window holds ${forMeasured} for measured demand, forecasts' replicas for their ${Math.round(hold.leadSeconds)} s lead time (${forecastInLead}) and beyond it${expected}`;
}
