/**
 * Online correction of the predicted ITL miss share (docs/SIZING.md, "Correcting the ITL miss
 * share from the replicas"): a factor on the share of requests the chunked-ITL model
 * (lib/analyzer/chunkedItl.ts) says miss the ITL target, learnt from the share the variant's own
 * replicas show in vllm:request_time_per_output_token_seconds (one observation per request: its
 * decode time over its tokens, what the target judges). The model takes arrivals as Poisson
 * within each 15-s step; arrivals that cluster within seconds stretch more requests' gaps than
 * it counts, and the factor carries that into the ITL cap (lib/policy/distribution.ts) and the
 * ITL sizing over steps (lib/policy/itlOverSteps.ts), which compare share x factor with the
 * allowed share (equivalently: the share against the allowed one / factor).
 *
 * Misses are rare (1% allowed): a minute's histogram shows a handful. The evidence is pooled
 * over evaluations with counts decaying by a half-life (requests, misses observed, misses the
 * model predicted at the load the replicas carried over the same windows), and the factor moves
 * only once the pool holds enough requests to expect ten misses at the allowed share. It then
 * takes a step in log space towards observed / predicted of the pool, as the latency correction
 * (lib/policy/correction.ts) does on its own gap: the prediction with the factor is factor x
 * share, so its response to the factor is exactly 1 and the step is the smoothing times the log
 * gap. The loop converges where the model's shape is right: more replicas lower the observed
 * and the predicted misses together, so their ratio does not chase the fleet.
 *
 * Nothing to learn from (the flag off, no histogram, no trusted token distributions, no replica
 * ready, an overloaded fleet): the factor stays as it was, and a factor is never learnt from
 * missing data. A change of the accelerator serving, its profile or the ITL target starts afresh:
 * the factor judged another model.
 */
import { ItlShareModel } from '../analyzer/chunkedItl.js';
import type { ServiceProfile } from '../analyzer/index.js';
import type { ArrivalSteps, TokenBuckets } from '../metrics/observation.js';
import { MIN_EXPECTED_MISSES } from './distribution.js';
import { itlShareOverSteps } from './itlOverSteps.js';

export interface ItlMissSettings {
  readonly enabled: boolean;
  /** share of the (log) gap between the pooled observed and predicted shares closed per evaluation */
  readonly smoothing: number;
  /** bounds of the factor */
  readonly min: number;
  readonly max: number;
  /** the pooled counts halve over this time */
  readonly halfLifeSeconds: number;
  /**
   * what the observed misses are compared with ('model' when absent): the model's share at the
   * load carried, or the allowed share over the factor in force (the outcome: windowBudgetShare)
   */
  readonly against?: 'model' | 'target';
  /** with 'target': Poisson standard deviations of the pool's count kept below the allowed misses */
  readonly marginSigmas?: number;
}

/** What the variant's memory keeps: the factor and the pooled evidence it was learnt from. */
export interface ItlMissMemory {
  readonly factor: number;
  /** when the pool was last advanced, epoch seconds */
  readonly t: number;
  /** requests, misses observed and misses predicted, decayed with the half-life */
  readonly requests: number;
  readonly misses: number;
  readonly predicted: number;
  /** the accelerator, profile and target the pool was learnt on: another starts afresh */
  readonly basis: string;
}

/** One metrics window's evidence: requests completed, those over the target, the model's share at the load carried. */
export interface ItlMissWindow {
  readonly requests: number;
  readonly misses: number;
  readonly predictedShare: number;
}

export const NO_ITL_MISS_FACTOR = 1;

/** The bucket holding the target strictly inside it (ms; the upper bound may be Infinity). */
export interface TargetBucket {
  readonly lowerMs: number;
  readonly upperMs: number;
}

/**
 * Requests in the histogram and those over the target (ms). The bucket holding the target is
 * split linearly between its bounds (as histogram_quantile interpolates): its part above the
 * target misses. Where the target lies beyond the last finite bound, the open bucket counts as
 * missing whole. Undefined when the histogram is empty. The bucket is returned so that the
 * model's share can be read through it the same way (readThroughBucket).
 */
export function requestsOverTarget(
  buckets: TokenBuckets,
  targetMs: number,
): { requests: number; misses: number; bucket?: TargetBucket } | undefined {
  const target = targetMs / 1000;
  let requests = 0;
  let misses = 0;
  let lower = 0;
  let bucket: TargetBucket | undefined;
  buckets.bounds.forEach((upper, i) => {
    const count = Math.max(buckets.counts[i] ?? 0, 0);
    requests += count;
    if (lower >= target) misses += count;
    else if (upper > target) {
      bucket = { lowerMs: lower * 1000, upperMs: upper * 1000 };
      misses += Number.isFinite(upper) ? (count * (upper - target)) / (upper - lower) : count;
    }
    lower = upper;
  });
  if (!(requests > 0)) return undefined;
  return { requests, misses, ...(bucket ? { bucket } : {}) };
}

/**
 * The model's share over the target read through the histogram's bucket as the observed one is:
 * interpolated linearly between its shares over the bucket's bounds, or its share over the lower
 * bound where the bucket is open. The interpolation misplaces requests within the bucket (with
 * vLLM's 50-75 ms bucket and a 60-ms target, requests at 52 ms count 60% missing); read the same
 * way, the model's share carries the same error and the ratio of the two does not.
 */
export function readThroughBucket(
  shareOver: (targetMs: number) => number,
  targetMs: number,
  bucket: TargetBucket | undefined,
): number {
  if (!bucket) return shareOver(targetMs);
  if (!Number.isFinite(bucket.upperMs)) return shareOver(bucket.lowerMs);
  const above = (bucket.upperMs - targetMs) / (bucket.upperMs - bucket.lowerMs);
  const atUpper = shareOver(bucket.upperMs);
  return atUpper + above * (shareOver(bucket.lowerMs) - atUpper);
}

/**
 * The model's miss share at the load the replicas carried over the window: each step's rate
 * through the model as the ITL sizing over steps takes it, or the window's mean rate where there
 * are no per-step counts.
 */
export function predictedMissShare(
  model: Pick<ItlShareModel, 'at'>,
  load: {
    readonly rate: number;
    readonly replicas: number;
    readonly windowSeconds: number;
    readonly steps?: ArrivalSteps;
  },
): number {
  const { steps, replicas } = load;
  if (steps && steps.counts.length > 0) {
    const k = Math.max(Math.round(load.windowSeconds / steps.stepSeconds), 1);
    return itlShareOverSteps(model, steps.counts.slice(-k), steps.stepSeconds, replicas);
  }
  return model.at(load.rate / replicas, replicas).missShare;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);

/**
 * How an outcome loop pools a window's counts: what was pooled `elapsedSeconds` ago keeps
 * `keep` of its weight (halved every half-life), and the window counts by `fresh`, the share of it
 * not already pooled (evaluations closer than the metrics window see overlapping windows; a window
 * of no length adds nothing). Also the concentration's loop (lib/policy/burstConcentration.ts).
 */
export function poolWeights(
  elapsedSeconds: number,
  halfLifeSeconds: number,
  windowSeconds: number,
): { keep: number; fresh: number } {
  return {
    keep: Math.pow(0.5, elapsedSeconds / halfLifeSeconds),
    fresh: windowSeconds > 0 ? Math.min(elapsedSeconds / windowSeconds, 1) : 0,
  };
}

/**
 * The memory advanced by this window's evidence, or left as it was when there is none. The
 * window's counts are weighted by the share of it not already pooled (evaluations closer than
 * the metrics window see overlapping windows).
 */
export function updateItlMiss(
  previous: ItlMissMemory | undefined,
  window: ItlMissWindow | undefined,
  ctx: {
    readonly now: number;
    readonly windowSeconds: number;
    readonly basis: string;
    /** the allowed share: the pool must hold enough requests to expect ten misses at it */
    readonly allowedShare: number;
  },
  settings: ItlMissSettings,
): ItlMissMemory | undefined {
  if (!settings.enabled) return previous;
  const same = previous && previous.basis === ctx.basis ? previous : undefined;
  if (
    !window ||
    !(window.requests > 0) ||
    !Number.isFinite(window.misses) ||
    !Number.isFinite(window.predictedShare)
  )
    return same; // another basis without evidence yet: no factor (1)
  // Against the outcome the first window on a basis only opens the pool: its requests were served
  // by a fleet sized before the ITL sizing could use the factor (the token distributions were not
  // trusted yet), and an integral loop would carry their misses for hours.
  if (settings.against === 'target' && !same)
    return { factor: NO_ITL_MISS_FACTOR, t: ctx.now, requests: 0, misses: 0, predicted: 0, basis: ctx.basis };
  // a pool on another basis is not carried: nothing kept, the whole window new
  const elapsed = same ? Math.max(ctx.now - same.t, 0) : Infinity;
  const { keep, fresh } = poolWeights(elapsed, settings.halfLifeSeconds, ctx.windowSeconds);
  const requests = keep * (same?.requests ?? 0) + fresh * window.requests;
  const misses = keep * (same?.misses ?? 0) + fresh * window.misses;
  const predicted =
    keep * (same?.predicted ?? 0) + fresh * window.requests * clamp(window.predictedShare, 0, 1);
  const factor = clamp(same?.factor ?? NO_ITL_MISS_FACTOR, settings.min, settings.max);
  const pooled = { t: ctx.now, requests, misses, predicted, basis: ctx.basis };
  if (requests < MIN_EXPECTED_MISSES / ctx.allowedShare || (misses <= 0 && predicted <= 0))
    return { ...pooled, factor };
  // against the outcome the loop aims below the allowed misses by the pool's own counting noise
  const allowedMisses = ctx.allowedShare * requests;
  const setpoint =
    settings.against === 'target'
      ? setpointMisses(allowedMisses, settings.marginSigmas ?? 0) / allowedMisses
      : 1;
  const aimed = predicted * setpoint;
  // a pool without a predicted (or an observed) miss says the model is off by at least the bound
  const gap = aimed > 0 ? clamp(misses / aimed, settings.min, settings.max) : settings.max;
  const next = factor * Math.exp(settings.smoothing * Math.log(gap / factor));
  return { ...pooled, factor: clamp(next, settings.min, settings.max) };
}

/**
 * The pooled misses the loop against the outcome holds (docs/SIZING.md, "A miss budget learnt
 * from the outcome"): m with m + z sd(m) = the allowed misses, sd(m) the Poisson noise of a pool
 * decayed exponentially (a stationary stream pooled with weights e^(-age/tau) has mean
 * rate x tau and variance rate x tau / 2, so sd = sqrt(m / 2)). Solved for sqrt(m), a quadratic.
 * Misses that cluster in bursts vary more than Poisson: the margin is a lower bound.
 */
export function setpointMisses(allowedMisses: number, sigmas: number): number {
  if (!(allowedMisses > 0) || !(sigmas > 0)) return Math.max(allowedMisses, 0);
  const c = sigmas / Math.SQRT2;
  const root = (-c + Math.sqrt(c * c + 4 * allowedMisses)) / 2;
  return root * root;
}

/**
 * The share the model's (uncorrected) prediction is compared with: the allowed one over the
 * factor. Against the outcome it is also what a window's requests were allowed to miss in the
 * model's terms with the factor in force: where the model's shape is right the fleet then misses
 * allowed / factor x (the factor it needs), so the observed misses pooled over these make the
 * factor the fleet needs, and the loop settles where the measured share is the allowed one (an
 * integral loop: the factor in force is carried in the evidence).
 */
export function allowedModelShare(allowedShare: number, factor: number | undefined): number {
  return allowedShare / (factor ?? NO_ITL_MISS_FACTOR);
}

/** What a factor was learnt on: the accelerator, its profile's step times and budget, and the ITL target. */
export function itlMissBasis(
  accelerator: string,
  profile: ServiceProfile & { readonly maxBatchedTokens?: number },
  itlTargetMs: number,
): string {
  const { alpha, beta, gamma, delta } = profile;
  return `${accelerator}|${[alpha, beta, gamma, delta, profile.maxBatchedTokens ?? ''].join(',')}|${itlTargetMs}`;
}
