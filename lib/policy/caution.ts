/**
 * Caution learnt from the variant's own demand (docs/SIZING.md section 6): how far
 * demand has risen within one lead time (the time new capacity takes to serve) after any moment,
 * as the log of (the highest rate in the lead time that followed) / (the rate at that moment),
 * with exponentially weighted mean and variance. Capacity released now is back only a lead time
 * later, so a scale-down keeps what the rate now, times the rise beyond which the demand expected
 * is within the share of requests allowed to miss, needs. A smooth variant earns a small rise and gives capacity back soon; a bursty one
 * (rates that swing from nothing to dozens of requests a second within minutes) keeps it.
 */
export interface RiseStats {
  /** exponentially weighted mean and variance of log(rise) */
  readonly mean: number;
  readonly variance: number;
  /** seconds of lead times observed, decayed like the samples: how much the estimate rests on */
  readonly weight: number;
  /** time of the last sample taken */
  readonly t: number;
}

export interface RiseContext {
  readonly now: number;
  /** the rate measured now */
  readonly measured: number;
  readonly leadSeconds: number;
  /** the metrics window: a rate of one request per window is the resolution of the counts */
  readonly windowSeconds: number;
  /** samples lose half their weight over this time */
  readonly halfLifeSeconds: number;
}

/** The newest point of the history taken a whole lead time or more before now, if it reaches back that far. */
export function leadTimeAgo<P extends { t: number }>(
  history: readonly P[],
  now: number,
  leadSeconds: number,
): P | undefined {
  let origin: P | undefined;
  for (const p of history) if (p.t <= now - leadSeconds && (!origin || p.t > origin.t)) origin = p;
  return origin;
}

/** The highest rate measured after `since`: the history's after it, and the one measured now. */
export function highestSince(
  history: readonly { t: number; rate: number }[],
  since: number,
  measured: number,
): number {
  let highest = measured;
  for (const p of history) if (p.t > since && p.rate > highest) highest = p.rate;
  return highest;
}

/**
 * The statistics updated with the rise that followed the newest moment a whole lead time ago, or
 * the previous ones when the history does not reach that far back.
 */
export function updateRise(
  previous: RiseStats | undefined,
  history: readonly { t: number; rate: number }[],
  ctx: RiseContext,
): RiseStats | undefined {
  const origin = leadTimeAgo(history, ctx.now, ctx.leadSeconds);
  if (!origin || (previous && previous.t >= ctx.now)) return previous;
  const highest = highestSince(history, origin.t, ctx.measured);
  const resolution = 1 / ctx.windowSeconds;
  const x = Math.log((highest + resolution) / (origin.rate + resolution));
  if (!previous) return { mean: x, variance: 0, weight: 1, t: ctx.now };
  const decay = 0.5 ** ((ctx.now - previous.t) / ctx.halfLifeSeconds);
  const weight = previous.weight * decay + 1;
  const alpha = 1 / weight;
  const delta = x - previous.mean;
  const mean = previous.mean + alpha * delta;
  // West's weighted update of the variance
  const variance = (1 - alpha) * (previous.variance + alpha * delta * delta);
  return { mean, variance, weight, t: ctx.now };
}

/**
 * The rise (a factor >= 1) to keep capacity for: the smallest k for which the demand expected
 * above k (a share of all demand) is at most missShare, the rise taken as log-normal:
 * E[(R - k)+] / E[R] = Phi(d1) - k / E[R] Phi(d2), with d1 = (mu + sigma^2 - ln k) / sigma and
 * d2 = d1 - sigma. Not a quantile of the rise: a rise beyond k costs the requests above it, not
 * all of them. Undefined until the samples span one lead time (before, the configured window rules).
 */
export function cautiousRise(
  stats: RiseStats | undefined,
  missShare: number,
  samplesNeeded: number,
): number | undefined {
  if (!stats || stats.weight < samplesNeeded) return undefined;
  const mu = stats.mean;
  const sigma = Math.sqrt(Math.max(stats.variance, 0));
  if (sigma < 1e-9) return Math.max(Math.exp(mu), 1);
  const expected = Math.exp(mu + (sigma * sigma) / 2);
  const shareAbove = (k: number) => {
    const d1 = (mu + sigma * sigma - Math.log(k)) / sigma;
    return normalCdf(d1) - (k / expected) * normalCdf(d1 - sigma);
  };
  if (shareAbove(1) <= missShare) return 1;
  // shareAbove falls with k: bisect on log k between 1 and a k far in the tail
  let lo = 0;
  let hi = mu + 10 * sigma;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (shareAbove(Math.exp(mid)) > missShare) lo = mid;
    else hi = mid;
  }
  return Math.exp(hi);
}

/** The standard normal distribution function (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}
