/**
 * Synthetic traces from seeded arrival processes. Rates are requests per second; every
 * generator is a (possibly non-homogeneous) Poisson process over [0, duration), sampled by
 * thinning, so the same options and seed always give the same trace.
 */
import { exponential, geometric, randomStream, type Random } from './random.js';
import { TraceError, type Trace, type TraceRequest } from './traces.js';

/**
 * Tokens per request: a fixed count, or a distribution with that mean. `exp` draws from the
 * geometric distribution on 1, 2, ... (the integer counterpart of the exponential; mean >= 1).
 */
export type TokenSize = number | { readonly mean: number; readonly dist: 'exp' | 'fixed' };

export interface SyntheticOptions {
  /** seconds */
  readonly duration: number;
  readonly inputTokens: TokenSize;
  readonly outputTokens: TokenSize;
  /** default 1 */
  readonly seed?: number;
  readonly name?: string;
}

export interface PoissonOptions extends SyntheticOptions {
  readonly rate: number;
}

/** rate(t) = base + (peak - base) * (1 - cos(2 pi t / period)) / 2: base at t = 0, peak at period / 2 */
export interface DiurnalOptions extends SyntheticOptions {
  readonly baseRate: number;
  readonly peakRate: number;
  /** seconds */
  readonly period: number;
}

/** baseRate, except burstRate during [k * burstEvery, k * burstEvery + burstLength) for k = 1, 2, ... */
export interface BurstOptions extends SyntheticOptions {
  readonly baseRate: number;
  readonly burstRate: number;
  readonly burstEvery: number;
  readonly burstLength: number;
}

/** rateBefore until `at`, rateAfter from then on */
export interface StepOptions extends SyntheticOptions {
  readonly rateBefore: number;
  readonly rateAfter: number;
  readonly at: number;
}

export function poisson(options: PoissonOptions): Trace {
  const { rate } = options;
  checkRates({ rate });
  return generate(options, `poisson-${rate}`, () => rate, rate);
}

export function diurnal(options: DiurnalOptions): Trace {
  const { baseRate, peakRate, period } = options;
  checkRates({ baseRate, peakRate });
  checkPositive({ period });
  const rate = (t: number) =>
    baseRate + ((peakRate - baseRate) * (1 - Math.cos((2 * Math.PI * t) / period))) / 2;
  return generate(options, `diurnal-${baseRate}-${peakRate}`, rate, Math.max(baseRate, peakRate));
}

export function bursts(options: BurstOptions): Trace {
  const { baseRate, burstRate, burstEvery, burstLength } = options;
  checkRates({ baseRate, burstRate });
  checkPositive({ burstEvery, burstLength });
  const rate = (t: number) => (t >= burstEvery && t % burstEvery < burstLength ? burstRate : baseRate);
  return generate(options, `bursts-${baseRate}-${burstRate}`, rate, Math.max(baseRate, burstRate));
}

export function step(options: StepOptions): Trace {
  const { rateBefore, rateAfter, at } = options;
  checkRates({ rateBefore, rateAfter });
  if (!(at >= 0)) throw new TraceError(`at must be >= 0, got ${at}`);
  const rate = (t: number) => (t < at ? rateBefore : rateAfter);
  return generate(options, `step-${rateBefore}-${rateAfter}`, rate, Math.max(rateBefore, rateAfter));
}

function generate(
  options: SyntheticOptions,
  defaultName: string,
  rate: (t: number) => number,
  maxRate: number,
): Trace {
  const { duration, seed = 1 } = options;
  if (!(duration >= 0) || !Number.isFinite(duration))
    throw new TraceError(`duration must be >= 0, got ${duration}`);
  // Separate streams: the arrival times do not change when only the token sizes change.
  const arrivals = randomStream(seed, 0);
  const input = tokenSampler(options.inputTokens, randomStream(seed, 2), 'inputTokens');
  const output = tokenSampler(options.outputTokens, randomStream(seed, 3), 'outputTokens');
  const requests: TraceRequest[] = [];
  if (maxRate > 0) {
    for (let t = exponential(arrivals, 1 / maxRate); t < duration; t += exponential(arrivals, 1 / maxRate)) {
      if (arrivals() * maxRate < rate(t))
        requests.push({ arrival: t, inputTokens: input(), outputTokens: output() });
    }
  }
  return { name: options.name ?? defaultName, requests, duration };
}

function tokenSampler(size: TokenSize, random: Random, field: string): () => number {
  const { mean, dist } = typeof size === 'number' ? { mean: size, dist: 'fixed' as const } : size;
  if (dist === 'fixed') {
    if (!Number.isInteger(mean) || mean < 0)
      throw new TraceError(`${field} must be an integer >= 0, got ${mean}`);
    return () => mean;
  }
  if (!(mean >= 1) || !Number.isFinite(mean)) throw new TraceError(`${field} mean must be >= 1, got ${mean}`);
  return () => geometric(random, mean);
}

function checkRates(rates: Record<string, number>): void {
  for (const [name, value] of Object.entries(rates)) {
    if (!(value >= 0) || !Number.isFinite(value)) throw new TraceError(`${name} must be >= 0, got ${value}`);
  }
}

function checkPositive(values: Record<string, number>): void {
  for (const [name, value] of Object.entries(values)) {
    if (!(value > 0) || !Number.isFinite(value)) throw new TraceError(`${name} must be > 0, got ${value}`);
  }
}
