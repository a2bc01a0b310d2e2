/**
 * One vLLM replica as a queue (docs/SIZING.md sections 1-2): service times from the performance
 * profile, the birth-death chain, and the latency predictions derived from it.
 * Rates in this API are requests per second; times are milliseconds.
 */
import { solveChain, type InverseServiceRates } from './birthDeathChain.js';

/** Iteration-time parameters of a model on an accelerator (ms). */
export interface ServiceProfile {
  /** decode iteration base time */
  readonly alpha: number;
  /** decode iteration time per request in the batch */
  readonly beta: number;
  /** prefill base time */
  readonly gamma: number;
  /** prefill time per input token per request in the batch */
  readonly delta: number;
}

export interface RequestShape {
  readonly avgInputTokens: number;
  readonly avgOutputTokens: number;
}

/**
 * What the ITL prediction covers. 'decode' (the reference): one decode iteration at the
 * effective concurrency, D(n). 'interleaved': the mean gap between a request's tokens, which
 * also carries the prefills of the other requests in its batch, spread over its O - 1 gaps:
 * D(n) + (P(n) - P(1)) / (O - 1). The queue's service time already includes that prefill; only
 * the reference's ITL leaves it out, which under long prompts is far from what vLLM reports.
 */
export type ItlModel = 'decode' | 'interleaved';

export interface ReplicaQueueConfig {
  /** N: requests decoded together */
  readonly maxBatchSize: number;
  /** Q: requests that may wait above the batch */
  readonly maxQueueSize: number;
  /** default 'decode' */
  readonly itlModel?: ItlModel;
}

/** Stable range of arrival rates (req/s): 0.1% of mu(1) up to 99.9% of mu(N). */
export interface RateRange {
  readonly min: number;
  readonly max: number;
}

export interface ReplicaModel {
  readonly profile: ServiceProfile;
  readonly request: RequestShape;
  readonly config: ReplicaQueueConfig;
  readonly invMu: InverseServiceRates;
  readonly rateRange: RateRange;
}

export interface ReplicaMetrics {
  /** offered arrival rate (req/s) */
  readonly rate: number;
  /** accepted rate, arrivals minus those blocked by a full queue (req/s) */
  readonly throughput: number;
  /** mean time in the replica (ms) */
  readonly respTime: number;
  /** mean queueing time before joining the batch (ms) */
  readonly wait: number;
  /** mean requests in the batch */
  readonly numInService: number;
  /** predicted time to first token: wait + prefill at the effective concurrency (ms) */
  readonly ttft: number;
  /** predicted inter-token latency: decode iteration at the effective concurrency (ms) */
  readonly itl: number;
  /** batch occupancy, numInService / N, in [0, 1] */
  readonly rho: number;
}

export class AnalyzerError extends Error {}

const RANGE_EPSILON = 0.001;

export function prefillTime(profile: ServiceProfile, avgInputTokens: number, batch: number): number {
  return avgInputTokens === 0 ? 0 : profile.gamma + profile.delta * avgInputTokens * batch;
}

/**
 * The longest prompt whose prefill alone (a batch of one) takes at most `ms`: prefill is linear
 * in the prompt's tokens. 0 when even the fixed part takes longer; Infinity when it does not grow.
 * With chunked prefill (`chunkTokens` a step) an engine pays the fixed part once a chunk, so a
 * long prompt takes about gamma + T (delta + gamma / chunk): on L40S (12 ms + 0.08 ms a token,
 * 2,048-token steps) 93k tokens fit in 8 s, not the 100k of one fixed part (bench/RESULTS.md,
 * "Issue 14: where chat-8b's TTFT misses come from").
 */
export function promptTokensPrefilledWithin(
  profile: ServiceProfile,
  ms: number,
  chunkTokens?: number,
): number {
  const perToken =
    profile.delta + (chunkTokens !== undefined && chunkTokens > 0 ? profile.gamma / chunkTokens : 0);
  if (!(perToken > 0)) return ms >= profile.gamma ? Infinity : 0;
  return Math.max((ms - profile.gamma) / perToken, 0);
}

export function decodeTime(profile: ServiceProfile, batch: number): number {
  return profile.alpha + profile.beta * batch;
}

/** Service time of one request when `batch` requests share the batch: S(n) = P(n) + (O - 1) D(n). */
export function serviceTime(profile: ServiceProfile, request: RequestShape, batch: number): number {
  return (
    prefillTime(profile, request.avgInputTokens, batch) +
    (request.avgOutputTokens - 1) * decodeTime(profile, batch)
  );
}

/**
 * @param buffer reused for the service rates when it is long enough, so a caller building many
 *   models one after another (the optimizer) allocates nothing per model; the model is then valid
 *   only until the buffer is reused.
 */
export function buildReplicaModel(
  profile: ServiceProfile,
  request: RequestShape,
  config: ReplicaQueueConfig,
  buffer?: Float64Array,
): ReplicaModel {
  const { maxBatchSize: n, maxQueueSize: q } = config;
  if (!Number.isInteger(n) || n < 1)
    throw new AnalyzerError(`maxBatchSize must be an integer >= 1, got ${n}`);
  if (!Number.isInteger(q) || q < 0)
    throw new AnalyzerError(`maxQueueSize must be an integer >= 0, got ${q}`);
  if (!(request.avgInputTokens >= 0)) throw new AnalyzerError('avgInputTokens must be >= 0');
  if (!(request.avgOutputTokens >= 1)) throw new AnalyzerError('avgOutputTokens must be >= 1');
  for (const key of ['alpha', 'beta', 'gamma', 'delta'] as const) {
    if (!(profile[key] >= 0) || !Number.isFinite(profile[key])) {
      throw new AnalyzerError(`profile.${key} must be a finite number >= 0, got ${profile[key]}`);
    }
  }
  // A zero service time (no input tokens, one output token, or an all-zero profile) would make
  // the replica infinitely fast; the reference optimizer loops forever on it. S(n) grows with n,
  // so checking n = 1 suffices.
  if (!(serviceTime(profile, request, 1) > 0)) {
    throw new AnalyzerError(
      `service time is zero (avgInputTokens ${request.avgInputTokens}, ` +
        `avgOutputTokens ${request.avgOutputTokens}): nothing to size`,
    );
  }
  const invMu = buffer && buffer.length >= n ? buffer.subarray(0, n) : new Float64Array(n);
  // S(k) / k with S(k) = P(k) + (O - 1) D(k), written out: this loop runs once per sizing.
  const { alpha, beta, gamma, delta } = profile;
  const decodeSteps = request.avgOutputTokens - 1;
  const prefillBase = request.avgInputTokens === 0 ? 0 : gamma;
  const prefillPerRequest = request.avgInputTokens === 0 ? 0 : delta * request.avgInputTokens;
  const fixed = prefillBase + decodeSteps * alpha;
  const perRequest = prefillPerRequest + decodeSteps * beta;
  for (let k = 1; k <= n; k++) invMu[k - 1] = fixed / k + perRequest;
  const muOne = 1 / invMu[0]!;
  const muN = 1 / invMu[n - 1]!;
  const rateRange = { min: muOne * RANGE_EPSILON * 1000, max: muN * (1 - RANGE_EPSILON) * 1000 };
  return { profile, request, config, invMu, rateRange };
}

/** Effective concurrency: the n with P(n) + (O - 1) D(n) equal to the mean service time, in [0, N]. */
export function effectiveConcurrency(model: ReplicaModel, meanServiceTime: number): number {
  const { profile, request } = model;
  const tokens = request.avgOutputTokens - 1;
  // The documented closed form (docs/SIZING.md section 2), kept as written for conformance with
  // the reference, including its gamma term when there are no input tokens.
  const numerator = meanServiceTime - (profile.gamma + profile.alpha * tokens);
  const denominator = profile.delta * request.avgInputTokens + profile.beta * tokens;
  const n = denominator > 0 ? numerator / denominator : 0;
  return Math.min(Math.max(n, 0), model.config.maxBatchSize);
}

/** Predictions at an arrival rate (req/s) that the caller has checked is within the stable range. */
export function evaluateAt(model: ReplicaModel, rate: number): ReplicaMetrics {
  const lambda = rate / 1000;
  const chain = solveChain(model.invMu, model.config.maxQueueSize, lambda);
  const throughputPerMs = lambda * (1 - chain.blockingProbability);
  const respTime = chain.numInSystem / throughputPerMs;
  const meanServiceTime = chain.numInService / throughputPerMs;
  const wait = Math.max(respTime - meanServiceTime, 0);
  const nEff = effectiveConcurrency(model, meanServiceTime);
  const rho = Math.min(Math.max(chain.numInService / model.config.maxBatchSize, 0), 1);
  const { profile, request } = model;
  let itl = decodeTime(profile, nEff);
  if (model.config.itlModel === 'interleaved' && request.avgOutputTokens > 1) {
    const others =
      prefillTime(profile, request.avgInputTokens, nEff) - prefillTime(profile, request.avgInputTokens, 1);
    itl += Math.max(others, 0) / (request.avgOutputTokens - 1);
  }
  return {
    rate,
    throughput: throughputPerMs * 1000,
    respTime,
    wait,
    numInService: chain.numInService,
    ttft: wait + prefillTime(profile, request.avgInputTokens, nEff),
    itl,
    rho,
  };
}

/** Like evaluateAt, but rejects rates outside (0, rateRange.max] as the reference does. */
export function analyzeAt(model: ReplicaModel, rate: number): ReplicaMetrics {
  if (!(rate > 0)) throw new AnalyzerError(`rate must be > 0, got ${rate}`);
  if (rate > model.rateRange.max) {
    throw new AnalyzerError(
      `rate ${rate} req/s is above the replica's stable maximum ${model.rateRange.max}`,
    );
  }
  return evaluateAt(model, rate);
}
