/**
 * A learnt headroom on the burst sizing's peak (policy.burstSizing.headroom, docs/SIZING.md
 * "Bursts beyond the look-back"). The burst replay sizes for the bursts the look-back saw, but the
 * capacity decided now serves the bursts of the next lead time. Here each variant learns, online,
 * how far the busiest step of the lead time after a look-back went beyond that look-back's busiest
 * step: at evaluations at least a look-back apart (non-overlapping look-backs, so that successive
 * samples do not share their bursts) the look-back's peak is recorded; once its lead time has passed,
 * the sample is (the lead time's peak) / (the look-back's peak), with the lead time's busiest step's
 * share of its arrivals. The headroom is a quantile of the recent samples (at least 1). Pure.
 */
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import type { ArrivalSteps } from '../metrics/observation.js';
import { peakRate } from './burstSizing.js';

/** A look-back recorded whose lead time has not passed yet, and what that lead time has shown so far. */
export interface PendingBurst {
  /** end of the look-back's newest step, epoch seconds */
  readonly t: number;
  /** the look-back's busiest step, req/s */
  readonly peak: number;
  /** when its lead time ends */
  readonly until: number;
  /** the end of the newest step folded in so far */
  readonly seen: number;
  /** the busiest step within the lead time so far (req/s), and the arrivals it counted */
  readonly next: number;
  readonly arrivals: number;
}

/** One matured sample: the lead time's peak over the look-back's; its busiest step's arrivals and all of its arrivals. */
export interface BurstSample {
  readonly ratio: number;
  readonly peakArrivals: number;
  readonly arrivals: number;
}

export interface BurstHistory {
  /** when the last look-back was recorded (epoch seconds): the next is at least a look-back later */
  readonly recordedAt?: number;
  readonly pending: readonly PendingBurst[];
  /** the newest `samples` samples, oldest first */
  readonly samples: readonly BurstSample[];
}

const nonNegative = z.number().nonnegative().finite();
/** The memory item's shape: a corrupted one is dropped (learning starts again), never sized on. */
export const burstHistorySchema = z
  .object({
    recordedAt: z.number().finite().optional(),
    pending: z
      .array(
        z
          .object({
            t: z.number().finite(),
            peak: z.number().positive().finite(),
            until: z.number().finite(),
            seen: z.number().finite(),
            next: nonNegative,
            arrivals: nonNegative,
          })
          .strict(),
      )
      .max(64),
    samples: z
      .array(z.object({ ratio: nonNegative, peakArrivals: nonNegative, arrivals: nonNegative }).strict())
      .max(1024),
  })
  .strict();

export interface HeadroomSettings {
  /** the ring's length: the newest this many samples are kept */
  readonly samples: number;
  /** fewer samples than this: no headroom yet */
  readonly minSamples: number;
}

export interface LearnContext extends HeadroomSettings {
  /**
   * a look-back whose busiest step holds fewer requests is not recorded: its peak is the Poisson
   * noise of a few requests (a ratio to it from a near-idle look-back would be tens)
   */
  readonly minPeakRequests: number;
  readonly lookbackSeconds: number;
  /** the time new capacity takes to serve (a node and a replica starting) */
  readonly leadSeconds: number;
}

/** The history as stored, when it is one; undefined (start again) when absent or corrupted. */
export function storedHistory(stored: unknown): BurstHistory | undefined {
  if (stored === undefined) return undefined;
  const parsed = burstHistorySchema.safeParse(stored);
  return parsed.success ? parsed.data : undefined;
}

/** Keeps a number short in JSON: four significant digits are more than a rate or ratio carries. */
const short = (x: number) => Number(x.toPrecision(4));

/**
 * The history after this evaluation's steps: each pending look-back's lead time extended by the
 * steps past what it has seen (dropped when the steps leave a gap: its peak would be unknown), the
 * matured ones moved to the samples, and this look-back recorded when it is a whole look-back, at
 * least a look-back after the last one recorded, whose busiest step holds at least
 * `minPeakRequests`. No steps: nothing learnt.
 */
export function learnBursts(
  previous: BurstHistory | undefined,
  steps: ArrivalSteps | undefined,
  ctx: LearnContext,
): BurstHistory | undefined {
  if (!steps || steps.counts.length === 0 || !(steps.stepSeconds > 0)) return previous;
  const step = steps.stepSeconds;
  const n = steps.counts.length;
  const endOf = (k: number) => steps.timestamp - (n - 1 - k) * step;
  const firstStart = endOf(0) - step;
  const samples = [...(previous?.samples ?? [])];
  const pending: PendingBurst[] = [];
  for (const p of previous?.pending ?? []) {
    // the steps begin after what it has seen: the lead time's peak is unknown, learn nothing from it
    if (firstStart > p.seen + step / 2) continue;
    let { next, arrivals, seen } = p;
    for (let k = 0; k < n; k++) {
      const end = endOf(k);
      // half a step of slack: the step grid moves with the evaluation's scrape
      if (end <= p.seen + step / 2 || end > p.until + step / 2) continue;
      const count = steps.counts[k]!;
      next = Math.max(next, count / step);
      arrivals += count;
      seen = Math.max(seen, end);
    }
    if (seen + step / 2 >= p.until) {
      samples.push({
        ratio: short(next / p.peak),
        peakArrivals: short(next * step),
        arrivals: short(arrivals),
      });
    } else pending.push({ ...p, next: short(next), arrivals: short(arrivals), seen });
  }
  let recordedAt = previous?.recordedAt;
  const whole = n * step >= ctx.lookbackSeconds - step / 2;
  const busiest = steps.counts.reduce((a, c) => Math.max(a, c), 0);
  const peak = busiest / step;
  if (
    whole &&
    busiest > 0 &&
    busiest >= ctx.minPeakRequests &&
    (recordedAt === undefined || steps.timestamp >= recordedAt + ctx.lookbackSeconds)
  ) {
    recordedAt = steps.timestamp;
    pending.push({
      t: steps.timestamp,
      peak: short(peak),
      until: steps.timestamp + ctx.leadSeconds,
      seen: steps.timestamp,
      next: 0,
      arrivals: 0,
    });
  }
  return {
    ...(recordedAt !== undefined ? { recordedAt } : {}),
    pending,
    samples: samples.slice(-ctx.samples),
  };
}

/** The headroom on the look-back's peak, and what it rests on (for the decision record). */
export interface Headroom {
  /** the factor on the look-back's busiest step (1: none) */
  readonly factor: number;
  readonly samples: number;
  /** the share of lead times whose peak it covers (undefined: no history yet) */
  readonly confidence?: number;
  /** the lead times' busiest steps' share of their arrivals, pooled */
  readonly peakShare?: number;
}

/**
 * The smallest sample ratio at or above which `confidence` of the samples lie (the empirical
 * quantile, the inverse of their distribution function), at least 1. The confidence follows from
 * the attainment goal: a lead time whose peak goes beyond the headroom loses at most its busiest
 * step's arrivals (those beyond the capacity; fewer in fact), a share `peakShare` of its arrivals,
 * so lead times beyond it in a share `missShare / peakShare` of them cost at most missShare of
 * all requests. A variant whose busiest steps hold less than missShare of their lead times'
 * arrivals needs no headroom.
 */
export function burstHeadroom(
  history: BurstHistory | undefined,
  settings: HeadroomSettings,
  missShare: number,
): Headroom {
  const samples = history?.samples ?? [];
  if (samples.length < settings.minSamples || samples.length === 0)
    return { factor: 1, samples: samples.length };
  const arrivals = samples.reduce((a, s) => a + s.arrivals, 0);
  const peakShare = arrivals > 0 ? samples.reduce((a, s) => a + s.peakArrivals, 0) / arrivals : 1;
  const confidence = Math.min(Math.max(1 - missShare / peakShare, 0), 1);
  return {
    factor: Math.max(
      quantile(
        samples.map((s) => s.ratio),
        confidence,
      ),
      1,
    ),
    samples: samples.length,
    confidence,
    peakShare,
  };
}

/** The empirical quantile: the ceil(q n)-th smallest value (the smallest for q = 0). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const k = Math.min(Math.max(Math.ceil(q * sorted.length) - 1, 0), sorted.length - 1);
  return sorted[k]!;
}

/** The steps with the busiest one raised to `factor` times its count: the peak the next lead time is expected to bring. */
export function withHeadroom(counts: readonly number[], factor: number): readonly number[] {
  if (!(factor > 1) || counts.length === 0) return counts;
  let busiest = 0;
  for (let k = 1; k < counts.length; k++) if (counts[k]! > counts[busiest]!) busiest = k;
  return counts.map((c, k) => (k === busiest ? c * factor : c));
}

/** The headroom applied, with the look-back's own peak before it (the replay's peak is the raised one). */
export interface BurstHeadroom extends Headroom {
  readonly lookbackPeakRate: number;
  /** the samples needed before any headroom */
  readonly minSamples: number;
  /** the stored history did not validate: dropped, learning again */
  readonly dropped?: boolean;
}

/** The headroom a variant's stored burst history gives (policy.burstSizing.headroom), for these steps. */
export function learntHeadroom(
  stored: unknown,
  config: Config,
  steps: { readonly counts: readonly number[]; readonly stepSeconds: number },
): BurstHeadroom {
  const settings = config.policy.burstSizing.headroom;
  const history = storedHistory(stored);
  return {
    ...burstHeadroom(history, settings, config.policy.itlDistribution.missShare),
    lookbackPeakRate: peakRate(steps.counts, steps.stepSeconds),
    minSamples: settings.minSamples,
    ...(stored !== undefined && !history ? { dropped: true } : {}),
  };
}

/**
 * The stored burst history advanced by this evaluation's steps (policy.burstSizing.headroom):
 * none when the headroom is off; a corrupted one starts again.
 */
export function nextBurstHistory(
  stored: unknown,
  steps: ArrivalSteps | undefined,
  config: Config,
  leadSeconds: number,
): BurstHistory | undefined {
  const settings = config.policy.burstSizing;
  if (!settings.headroom.enabled) return undefined;
  return learnBursts(storedHistory(stored), steps, {
    ...settings.headroom,
    lookbackSeconds: settings.lookbackSeconds,
    leadSeconds,
  });
}
