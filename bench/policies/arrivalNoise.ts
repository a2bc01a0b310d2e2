/**
 * How much of what the stabilisation window holds is the rate's sampling noise (issue 14, branch
 * w16d): the suite's traces at their scale, counted as the policy counts them (arrivals over the
 * metrics window, every evaluation interval), and for each the Poisson standard error of that
 * count, how far the one-minute counts spread beyond it (variance over mean against a centred
 * ten-minute level), and how far the highest rate of each stabilisation window lies above the
 * window's mean, against what Poisson counts at the same rate would give.
 * The CLI is noise.ts (`npm run bench:noise`).
 *
 * The noise's share of the window's highest rate (lib/policy/windowNoise.ts): z sigma_N on steady
 * demand ('poisson'), z (sigma_T - sigma_D) where demand spreads too ('measured').
 */
import { mulberry32 } from '../../lib/fleetSimulator/index.js';
import { noiseInHighest, rateStandardError } from '../../lib/policy/windowNoise.js';

export interface NoiseSettings {
  /** the metrics window the rate is counted over (s) */
  readonly rateWindowSeconds: number;
  /** the evaluation interval (s) */
  readonly intervalSeconds: number;
  /** the stabilisation window (s) */
  readonly holdSeconds: number;
}

export interface ArrivalNoise {
  readonly meanRate: number;
  /** the Poisson standard error of one count at the mean rate, as a share of it */
  readonly standardErrorShare: number;
  /** variance over mean of disjoint counts against the centred mean of the ten around them */
  readonly dispersion: number;
  /** medians over the windows: the highest rate above the window's mean, as a share of it and in standard errors */
  readonly highestAbove: { readonly share: number; readonly standardErrors: number };
  /** the same for Poisson counts at the trace's mean rate */
  readonly poissonHighestAbove: number;
  /** medians over the windows of what the noise adds to the highest, as a share of the mean */
  readonly noiseShare: { readonly poisson: number; readonly measured: number };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
};

/** Arrivals counted over the rate window, as rates, every interval from the first whole window. */
export function countedRates(arrivals: readonly number[], end: number, s: NoiseSettings): number[] {
  const rates: number[] = [];
  let lo = 0;
  let hi = 0;
  for (let t = s.rateWindowSeconds; t <= end; t += s.intervalSeconds) {
    while (hi < arrivals.length && arrivals[hi]! < t) hi++;
    while (lo < arrivals.length && arrivals[lo]! < t - s.rateWindowSeconds) lo++;
    rates.push((hi - lo) / s.rateWindowSeconds);
  }
  return rates;
}

/** Variance over mean of disjoint counts, each against the mean of the ten around it. */
export function localDispersion(counts: readonly number[]): number {
  let squares = 0;
  let means = 0;
  for (let i = 5; i + 5 < counts.length; i++) {
    let level = 0;
    for (let k = i - 5; k <= i + 5; k++) if (k !== i) level += counts[k]!;
    level /= 10;
    squares += (counts[i]! - level) ** 2;
    means += level;
  }
  return means > 0 ? squares / means : 0;
}

/** Arrival times of a Poisson process at `rate` over `seconds`. */
function poissonArrivals(rate: number, seconds: number, seed: number): number[] {
  const random = mulberry32(seed);
  const out: number[] = [];
  for (let t = -Math.log(1 - random()) / rate; t < seconds; t += -Math.log(1 - random()) / rate) out.push(t);
  return out;
}

export function arrivalNoise(arrivals: readonly number[], end: number, s: NoiseSettings): ArrivalNoise {
  const rates = countedRates(arrivals, end, s);
  const perWindow = Math.max(Math.round(s.holdSeconds / s.intervalSeconds), 1);
  const noise = { rateWindowSeconds: s.rateWindowSeconds, holdSeconds: s.holdSeconds };
  const shares: number[] = [];
  const errors: number[] = [];
  const poissonNoise: number[] = [];
  const measuredNoise: number[] = [];
  for (let i = perWindow; i <= rates.length; i += Math.max(Math.floor(perWindow / 5), 1)) {
    const w = rates.slice(i - perWindow, i);
    const mean = w.reduce((a, x) => a + x, 0) / w.length;
    if (!(mean > 0)) continue;
    const highest = Math.max(...w);
    shares.push(highest / mean - 1);
    errors.push((highest - mean) / rateStandardError(mean, s.rateWindowSeconds));
    poissonNoise.push(noiseInHighest(mean, w, noise, 'poisson') / mean);
    measuredNoise.push(noiseInHighest(mean, w, noise, 'measured') / mean);
  }
  const counts: number[] = [];
  for (let t = 0, k = 0; t + s.rateWindowSeconds <= end; t += s.rateWindowSeconds) {
    let n = 0;
    while (k < arrivals.length && arrivals[k]! < t + s.rateWindowSeconds) {
      if (arrivals[k]! >= t) n++;
      k++;
    }
    counts.push(n);
  }
  const meanRate = arrivals.length / end;
  // Poisson counts at the same mean rate over 200 windows, for comparison
  const poissonEnd = (s.holdSeconds + s.rateWindowSeconds) * 200;
  const poisson = arrivalNoiseHighest(
    countedRates(poissonArrivals(meanRate, poissonEnd, 1), poissonEnd, s),
    perWindow,
    s,
  );
  return {
    meanRate,
    standardErrorShare: rateStandardError(meanRate, s.rateWindowSeconds) / meanRate,
    dispersion: localDispersion(counts),
    highestAbove: { share: median(shares), standardErrors: median(errors) },
    poissonHighestAbove: poisson,
    noiseShare: { poisson: median(poissonNoise), measured: median(measuredNoise) },
  };
}

/** The median, over disjoint windows, of the highest rate above the window's mean in standard errors. */
function arrivalNoiseHighest(rates: readonly number[], perWindow: number, s: NoiseSettings): number {
  const out: number[] = [];
  for (let i = perWindow; i <= rates.length; i += perWindow) {
    const w = rates.slice(i - perWindow, i);
    const mean = w.reduce((a, x) => a + x, 0) / w.length;
    if (mean > 0) out.push((Math.max(...w) - mean) / rateStandardError(mean, s.rateWindowSeconds));
  }
  return median(out);
}
