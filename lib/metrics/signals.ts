/**
 * Raw windowed signals of one variant, as a metrics backend returns them (increases of
 * counters over the window, gauges now and at the window's start), and the pure estimation
 * that turns them into a VariantObservation. Prometheus and the embedded simulation both
 * produce RawSignals, so both go through the same estimation code.
 */
import type { ArrivalSteps, Estimate, TokenBuckets, VariantObservation } from './observation.js';

export interface Signal {
  readonly value: number;
  /** newest sample behind the value, epoch seconds */
  readonly timestamp: number;
  readonly series: string;
}

export interface HistogramIncrease {
  readonly sum: Signal;
  readonly count: Signal;
}

/** A histogram bucket's increase over the window: observations at or below `le` (cumulative). */
export interface BucketIncrease {
  readonly le: number;
  readonly count: number;
}

export interface RawSignals {
  readonly variant: string;
  readonly model: string;
  readonly windowSeconds: number;
  /** increase of the success counter over the window */
  readonly completions?: Signal;
  /** increase of the gateway's request counter over the window, when a gateway is configured */
  readonly gatewayRequests?: Signal;
  /** requests the gateway holds in its flow-control queue now (no endpoint could take them), when read */
  readonly gatewayQueued?: Signal;
  /** running + waiting requests, summed over replicas, now and one window ago */
  readonly inFlightNow?: Signal;
  readonly inFlightBefore?: Signal;
  readonly promptTokens?: HistogramIncrease;
  readonly generationTokens?: HistogramIncrease;
  /** per-request token histograms by bucket, when the backend exposes them */
  readonly promptTokenBuckets?: readonly BucketIncrease[];
  readonly generationTokenBuckets?: readonly BucketIncrease[];
  readonly ttftSeconds?: HistogramIncrease;
  readonly itlSeconds?: HistogramIncrease;
  /** vllm:request_decode_time_seconds: with generationTokens, the mean time per output token */
  readonly decodeSeconds?: HistogramIncrease;
  /** vllm:request_time_per_output_token_seconds by bucket (s), when the servers expose it (vLLM >= 0.13) */
  readonly requestTpotBuckets?: readonly BucketIncrease[];
  /** vllm:time_to_first_token_seconds by bucket (s) */
  readonly requestTtftBuckets?: readonly BucketIncrease[];
  readonly running?: Signal;
  readonly waiting?: Signal;
  readonly kvCacheUsage?: Signal;
  readonly readyReplicas?: Signal;
  readonly vllmNaming?: string;
  /** KV transfers of a disaggregated variant's decode pods: time per transfer, and failures */
  readonly kvTransferSeconds?: HistogramIncrease;
  readonly kvTransferFailures?: Signal;
  /**
   * arrivals per step over the look-back (the same counter as the arrival rate: the gateway's, or
   * completions plus the growth of what is in flight), when asked for
   */
  readonly arrivalSteps?: ArrivalSteps;
  /** series asked for and not found at all */
  readonly absent?: readonly string[];
}

export interface EstimationOptions {
  /** epoch seconds */
  readonly now: number;
  /** a value whose newest sample is older than this is stale */
  readonly maxAgeSeconds: number;
}

const estimate = (value: number, s: Signal, source = s.series): Estimate => ({
  value,
  source,
  timestamp: s.timestamp,
});

/** Mean of a histogram over the window; undefined when nothing was observed (0/0 is idle, not NaN). */
function histogramMean(h: HistogramIncrease | undefined, scale = 1): Estimate | undefined {
  if (!h || !(h.count.value > 0) || !Number.isFinite(h.sum.value)) return undefined;
  return {
    value: (h.sum.value / h.count.value) * scale,
    source: h.sum.series.replace(/_sum$/, ''),
    timestamp: Math.min(h.sum.timestamp, h.count.timestamp),
  };
}

export function estimateObservation(raw: RawSignals, opts: EstimationOptions): VariantObservation {
  const w = raw.windowSeconds;
  const missing = new Set(raw.absent ?? []);
  const stale = new Set<string>();
  const fresh = (s: Signal | undefined): Signal | undefined => {
    if (!s) return undefined;
    if (!Number.isFinite(s.value)) {
      missing.add(s.series);
      return undefined;
    }
    if (opts.now - s.timestamp > opts.maxAgeSeconds) {
      stale.add(s.series);
      return undefined;
    }
    return s;
  };

  const completions = fresh(raw.completions);
  const gateway = fresh(raw.gatewayRequests);
  const inNow = fresh(raw.inFlightNow);
  const inBefore = fresh(raw.inFlightBefore);
  let arrivalRate: Estimate | undefined;
  if (gateway) {
    arrivalRate = estimate(Math.max(gateway.value, 0) / w, gateway);
  } else if (completions && inNow && inBefore) {
    // Arrivals = completions + growth of what is in flight; completions alone under-count overload.
    const value = Math.max(completions.value + inNow.value - inBefore.value, 0) / w;
    arrivalRate = {
      value,
      source: `${completions.series} + d(${inNow.series})/dt`,
      timestamp: Math.min(completions.timestamp, inNow.timestamp),
    };
  }
  const running = fresh(raw.running);
  const waiting = fresh(raw.waiting);
  const kv = fresh(raw.kvCacheUsage);
  const ready = fresh(raw.readyReplicas);
  const histogram = (h: HistogramIncrease | undefined, scale = 1) => {
    if (!h) return undefined;
    // Both parts are checked, so a stale histogram is reported as a whole.
    const sum = fresh(h.sum);
    const count = fresh(h.count);
    return sum && count ? histogramMean(h, scale) : undefined;
  };

  const arrivalSteps = freshSteps(raw.arrivalSteps, opts);
  return {
    variant: raw.variant,
    model: raw.model,
    at: opts.now,
    windowSeconds: w,
    arrivalRate,
    completionRate: completions ? estimate(Math.max(completions.value, 0) / w, completions) : undefined,
    ...(arrivalSteps ? { arrivalSteps } : {}),
    avgInputTokens: histogram(raw.promptTokens),
    avgOutputTokens: histogram(raw.generationTokens),
    inputTokenBuckets: tokenBuckets(raw.promptTokenBuckets),
    outputTokenBuckets: tokenBuckets(raw.generationTokenBuckets),
    requestTpotBuckets: tokenBuckets(raw.requestTpotBuckets),
    requestTtftBuckets: tokenBuckets(raw.requestTtftBuckets),
    ttftMs: histogram(raw.ttftSeconds, 1000),
    itlMs: histogram(tokensDecoded(raw.decodeSeconds, raw.generationTokens) ?? raw.itlSeconds, 1000),
    waiting: waitingEstimate(waiting, fresh(raw.gatewayQueued)),
    running: running ? estimate(running.value, running) : undefined,
    kvCacheUsage: kv ? estimate(kv.value, kv) : undefined,
    readyReplicas: ready ? estimate(ready.value, ready) : undefined,
    kvTransferMs: histogram(raw.kvTransferSeconds, 1000),
    kvTransferFailures: raw.kvTransferFailures
      ? estimate(Math.max(raw.kvTransferFailures.value, 0), raw.kvTransferFailures)
      : undefined,
    vllmNaming: raw.vllmNaming,
    stale: [...stale].sort(),
    missing: [...missing].sort(),
  };
}

/**
 * The per-step arrivals when every count is a number and the newest step is recent; otherwise
 * none, and not named stale or missing: burst information only ever adds replicas, so its absence
 * must not hold a variant or refuse a scale-down as a missing rate does.
 */
function freshSteps(steps: ArrivalSteps | undefined, opts: EstimationOptions): ArrivalSteps | undefined {
  if (!steps || steps.counts.length === 0 || !(steps.stepSeconds > 0)) return undefined;
  if (!steps.counts.every(Number.isFinite)) return undefined;
  if (opts.now - steps.timestamp > opts.maxAgeSeconds) return undefined;
  return { ...steps, counts: steps.counts.map((c) => Math.max(c, 0)) };
}

/**
 * Requests waiting: in the engines' queues (vLLM's gauge) and in the gateway's flow-control queue,
 * which no engine has seen yet. A variant at zero replicas has only the latter: its demand.
 */
function waitingEstimate(engines: Signal | undefined, gateway: Signal | undefined): Estimate | undefined {
  if (!gateway) return engines && estimate(engines.value, engines);
  if (!engines) return estimate(Math.max(gateway.value, 0), gateway);
  return {
    value: engines.value + Math.max(gateway.value, 0),
    source: `${engines.series} + ${gateway.series}`,
    timestamp: Math.min(engines.timestamp, gateway.timestamp),
  };
}

/** Per-bucket counts (not cumulative) with their bounds; undefined when nothing was observed. */
function tokenBuckets(buckets: readonly BucketIncrease[] | undefined): TokenBuckets | undefined {
  if (!buckets || buckets.length === 0) return undefined;
  const bounds: number[] = [];
  const counts: number[] = [];
  let previous = 0;
  for (const b of buckets) {
    // counter resets between scrapes can make a cumulative count dip: never a negative bucket
    const count = Math.max(b.count - previous, 0);
    previous = Math.max(b.count, previous);
    bounds.push(b.le);
    counts.push(count);
  }
  return previous > 0 ? { bounds, counts } : undefined;
}

/**
 * The window's decode time over the tokens decoded in it (each request's tokens after its first),
 * as a histogram of per-token times: its mean is the engine's time per output token weighted by
 * tokens, which is what the latency model predicts and the correction compares it with. A
 * per-request histogram's mean (vllm:request_time_per_output_token_seconds) weighs each request
 * alike, so the few tokens of short answers interrupted by prefills would read as a slower engine.
 * Unlike the ITL histogram it holds with speculative decoding (a step of several tokens). Undefined
 * where either series is missing or nothing was decoded, and the ITL histogram stands.
 */
export function tokensDecoded(
  decode: HistogramIncrease | undefined,
  generation: HistogramIncrease | undefined,
): HistogramIncrease | undefined {
  if (!decode || !generation) return undefined;
  const tokens = generation.sum.value - generation.count.value;
  if (!(tokens > 0) || !Number.isFinite(decode.sum.value)) return undefined;
  const count: Signal = {
    value: tokens,
    timestamp: Math.min(generation.sum.timestamp, generation.count.timestamp),
    series: `${generation.sum.series} - ${generation.count.series}`,
  };
  return { sum: decode.sum, count };
}
