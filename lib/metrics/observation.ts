/**
 * What the evaluator knows about one variant's traffic: estimates with their source series and
 * the time of their newest sample, plus the series that were stale or missing. A missing value
 * is never replaced by a zero; an idle variant is a measured zero.
 */

export interface Estimate {
  readonly value: number;
  /** the series (or expression) the value came from */
  readonly source: string;
  /** newest sample behind the value, epoch seconds */
  readonly timestamp: number;
}

/** A per-request token histogram over the window: counts per bucket (bounds ascending, +Inf last). */
export interface TokenBuckets {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
}

/**
 * Output length by log2 input-length bucket (the gateway's events): per bucket the arrivals of
 * the rate window and the mean output over a longer window, and what the mix of those arrivals
 * is expected to produce per request.
 */
export interface OutputByInputBucket {
  readonly buckets: readonly {
    readonly bucket: number;
    readonly arrivals: number;
    readonly meanOutputTokens: number;
    /** completions the mean was learned from (0: the overall mean stands in) */
    readonly completions: number;
  }[];
  readonly overallMeanOutputTokens: number;
  /** mean output tokens per request of the rate window's arrivals, bucket by bucket */
  readonly expectedOutputTokens: number;
}

/**
 * Arrivals per short step (the scrape interval) over a look-back, oldest first: what the rate
 * window averages away (docs/SIZING.md, "Bursts below the metrics window").
 */
export interface ArrivalSteps {
  readonly stepSeconds: number;
  /** requests arriving in each step, oldest first; the newest step ends at `timestamp` */
  readonly counts: readonly number[];
  /** the counter (or expression) the counts came from */
  readonly source: string;
  /** end of the newest step, epoch seconds */
  readonly timestamp: number;
}

export interface VariantObservation {
  /** `namespace/name` */
  readonly variant: string;
  readonly model: string;
  /** when the observation was taken, epoch seconds */
  readonly at: number;
  readonly windowSeconds: number;
  /** requests arriving per second (not completions) */
  readonly arrivalRate?: Estimate;
  readonly completionRate?: Estimate;
  /** arrivals per step over the look-back, from the counter the arrival rate uses; absent: no burst information */
  readonly arrivalSteps?: ArrivalSteps;
  /** mean tokens per request over the window; absent when nothing completed (idle) */
  readonly avgInputTokens?: Estimate;
  readonly avgOutputTokens?: Estimate;
  /** the windowed token histograms (vllm:request_prompt_tokens, _generation_tokens), when exposed */
  readonly inputTokenBuckets?: TokenBuckets;
  readonly outputTokenBuckets?: TokenBuckets;
  /**
   * each completed request's decode time over its tokens after the first (s), by bucket over the
   * window: vllm:request_time_per_output_token_seconds, when the servers expose it (vLLM >= 0.13).
   * What the ITL target judges per request: the share beyond it is the share missing ITL.
   */
  readonly requestTpotBuckets?: TokenBuckets;
  /**
   * each request's time to first token as the servers observe it (s), by bucket over the window:
   * vllm:time_to_first_token_seconds. A disaggregated variant's prefill pods observe their queue
   * and prefill: the share beyond their budget is the share they made late.
   */
  readonly requestTtftBuckets?: TokenBuckets;
  /** output length by input bucket, when the gateway's events are collected */
  readonly outputByInputBucket?: OutputByInputBucket;
  readonly ttftMs?: Estimate;
  readonly itlMs?: Estimate;
  readonly waiting?: Estimate;
  readonly running?: Estimate;
  readonly kvCacheUsage?: Estimate;
  readonly readyReplicas?: Estimate;
  /** a decode role's mean KV transfer time over the window (ms), from the NIXL connector's histogram */
  readonly kvTransferMs?: Estimate;
  /** a decode role's failed KV transfers over the window */
  readonly kvTransferFailures?: Estimate;
  /**
   * Running + waiting requests per pod now (the `pod` label of vLLM's series), when known:
   * what a scale-down's deletion costs are set from.
   */
  readonly podLoads?: readonly { readonly pod: string; readonly load: number }[];
  /**
   * When each pod's own gauges were last sampled, epoch seconds (Prometheus's `pod` label): a
   * pod's load compares with the gateway's counters of that pod only when sampled after its last
   * event (lib/adapters/gatewayEvents/gatewayMetricsSource.ts).
   */
  readonly podSampledAt?: Readonly<Record<string, number>>;
  /** which naming the servers use ("vllm>=0.11", "vllm<0.11", "llm-d-sim", ...) when known */
  readonly vllmNaming?: string;
  /** series whose newest sample is older than the allowed age */
  readonly stale: readonly string[];
  /** series that were absent */
  readonly missing: readonly string[];
}
