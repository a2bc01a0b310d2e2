/**
 * What the stabilisation window holds, less the rate's sampling noise (policy.windowNoise,
 * docs/SIZING.md section 6). Each evaluation sizes on the arrival rate counted over one metrics
 * window: a Poisson count of n requests is off by about sqrt(n), so the rate by sqrt(n) / window.
 * The window holds the highest of its recommendations, and the highest of N noisy rates lies, on
 * steady demand, about the expected largest of N standard normals above the rate itself (some two
 * standard errors over a two-lead-time window of one-minute rates): replicas for noise, not for
 * demand. So each earlier recommendation is held sized on its measured rate less that much; the
 * recommendation of the moment is not lowered (a scale-up still follows the count as measured).
 */
import { probit } from 'simple-statistics';
import type { Demand } from './demand.js';

/**
 * The expected largest of n independent standard normals (Blom's approximation of the top order
 * statistic, within 0.01 for n up to a few hundred); zero for one sample or fewer.
 */
export function expectedLargestNormal(n: number): number {
  if (!(n > 1)) return 0;
  return Math.max(probit((n - 0.375) / (n + 0.25)), 0);
}

/** The standard error of a rate counted over `windowSeconds` (Poisson: sqrt(count) / window). */
export function rateStandardError(rate: number, windowSeconds: number): number {
  if (!(rate > 0) || !(windowSeconds > 0)) return 0;
  return Math.sqrt(rate * windowSeconds) / windowSeconds;
}

export interface NoiseWindow {
  /** the window the rate was counted over (the observation's, seconds) */
  readonly rateWindowSeconds: number;
  /** the stabilisation window the recommendations are held over (seconds) */
  readonly holdSeconds: number;
}

/**
 * How far the window's highest count is expected above the rate on steady demand, in standard
 * errors: rates counted over windows that do not overlap are independent, so the window holds the
 * largest of holdSeconds / rateWindowSeconds of them.
 */
export function noiseStandardErrors(w: NoiseWindow): number {
  if (!(w.rateWindowSeconds > 0)) return 0;
  return expectedLargestNormal(w.holdSeconds / w.rateWindowSeconds);
}

/**
 * How far the sampling noise raises the window's highest rate (req/s). On steady demand all the
 * spread of the counted rates is noise, and the highest lies z standard errors above the rate.
 * Where demand itself varies within the window (spread sigma_D), the highest count is the
 * highest of demand plus noise: about z * sqrt(sigma_D^2 + sigma_N^2), of which z * sigma_D is
 * demand's, so the noise adds only z * (sigma_T - sigma_D), sigma_T being the spread the rates
 * show. `variation: 'poisson'` takes off z * sigma_N whatever the spread; `'measured'` estimates
 * sigma_T from the rates the window measured (this one included; nothing before three of them)
 * and sigma_N from their mean.
 */
export function noiseInHighest(
  rate: number,
  /** the arrival rates measured over the window, this evaluation's included */
  rates: readonly number[],
  w: NoiseWindow,
  variation: 'poisson' | 'measured',
): number {
  const z = noiseStandardErrors(w);
  if (variation === 'poisson') return z * rateStandardError(rate, w.rateWindowSeconds);
  const n = rates.length;
  if (n < 3) return 0;
  const mean = rates.reduce((a, x) => a + x, 0) / n;
  const total = Math.sqrt(rates.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const noise = rateStandardError(mean, w.rateWindowSeconds);
  const demand = Math.sqrt(Math.max(total * total - noise * noise, 0));
  return z * (total - demand);
}

export interface LessNoise {
  /** the replicas of the recommendation the window holds */
  readonly replicas: number;
  /** the measured rate less the noise (req/s) */
  readonly rate: number;
  /** the noise taken off the measured rate (req/s) */
  readonly noise: number;
}

/**
 * The replicas of a recommendation the window holds: as many fewer as taking the sampling noise
 * off the measured rate needs fewer at the rate one replica sustains (backlog and forecast kept as
 * they are), but no fewer than that rate still needs, and never below the minimum. The recommendation itself where nothing was measured or the
 * rate per replica is unknown.
 */
export function replicasLessNoise(
  demand: Demand,
  replicas: number,
  ratePerReplica: number | undefined,
  minReplicas: number,
  /** what the noise adds to the window's highest rate (noiseInHighest, req/s) */
  noise: number,
): LessNoise {
  const rate = Math.max(demand.measured - noise, 0);
  if (!ratePerReplica || !(noise > 0) || !(demand.measured > 0))
    return { replicas, rate: demand.measured, noise: 0 };
  const extra = demand.backlogRate + demand.forecastRate;
  const need = (r: number) => Math.ceil((r + extra) / ratePerReplica - 1e-9);
  const fewer = need(demand.measured) - need(rate);
  // A recommendation below the rate's need (bounded elsewhere) keeps what the rate less its noise
  // still needs of it; one above it (the optimizer's own reasons) only loses the noise's replicas.
  const held = Math.max(replicas - fewer, Math.min(replicas, need(rate)));
  return {
    replicas: Math.min(replicas, Math.max(held, minReplicas)),
    rate,
    noise,
  };
}

/** Why the window holds less than the recommendations asked, for the decision's message. */
export function describeLessNoise(w: NoiseWindow, variation: 'poisson' | 'measured'): string {
  const n = w.holdSeconds / w.rateWindowSeconds;
  const z = noiseStandardErrors(w).toFixed(2);
  const what =
    variation === 'poisson'
      ? `${z} standard errors of its count`
      : `what the count's noise adds to the highest of rates spread as the window's (up to ${z} standard errors)`;
  return `earlier recommendations held on their arrival rate less ${what} (the expected largest of ${n.toFixed(0)} ${Math.round(w.rateWindowSeconds)} s rates)`;
}
