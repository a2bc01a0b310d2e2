/**
 * The metrics one simulated replica exposes, named, labelled and bucketed as vLLM's V1 engine
 * does (docs/METRICS.md), so that the collector reads the simulation exactly as it would read a
 * real fleet.
 */
import type { MetricSample, MetricType } from './prometheusText.js';
import { formatPrometheusNumber } from './prometheusText.js';

export const TTFT_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640,
  2560,
]);
export const ITL_BUCKETS: readonly number[] = Object.freeze([
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
]);
export const REQUEST_LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680,
]);

/** KV transfer time buckets of vLLM's NIXL connector stats (s). */
export const NIXL_XFER_TIME_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 5,
]);
/** KV bytes per transfer: 1 MiB to 64 GiB by powers of 4. */
export const NIXL_BYTES_BUCKETS: readonly number[] = Object.freeze(
  Array.from({ length: 9 }, (_, i) => 2 ** (20 + 2 * i)),
);

/** vLLM's build_1_2_5_buckets: 1, 2, 5, 10, 20, 50, ... up to and including `max`. */
export function oneTwoFiveBuckets(max: number): number[] {
  const buckets: number[] = [];
  for (let exponent = 1; ; exponent *= 10) {
    for (const mantissa of [1, 2, 5]) {
      const bound = mantissa * exponent;
      if (bound > max) return buckets;
      buckets.push(bound);
    }
  }
}

/** A Prometheus histogram: per-bucket (not cumulative) counts plus one overflow slot for +Inf. */
export class Histogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Records `weight` observations of `value` at once (all tokens of one iteration share a gap). */
  observe(value: number, weight = 1): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]! += weight;
    this.sum += value * weight;
    this.count += weight;
  }
}

export type FinishedReason = 'stop' | 'length' | 'abort';
const FINISHED_REASONS: readonly FinishedReason[] = ['stop', 'length', 'abort'];

/** Counters and histograms of one engine; gauges are read from the replica at scrape time. */
export class VllmEngineMetrics {
  promptTokens = 0;
  generationTokens = 0;
  preemptions = 0;
  readonly success: Record<FinishedReason, number> = { stop: 0, length: 0, abort: 0 };
  readonly promptTokensPerRequest: Histogram;
  readonly generationTokensPerRequest: Histogram;
  readonly timeToFirstToken = new Histogram(TTFT_BUCKETS);
  readonly interTokenLatency = new Histogram(ITL_BUCKETS);
  readonly e2eLatency = new Histogram(REQUEST_LATENCY_BUCKETS);
  readonly queueTime = new Histogram(REQUEST_LATENCY_BUCKETS);
  readonly inferenceTime = new Histogram(REQUEST_LATENCY_BUCKETS);
  readonly prefillTime = new Histogram(REQUEST_LATENCY_BUCKETS);
  readonly decodeTime = new Histogram(REQUEST_LATENCY_BUCKETS);
  /** the KV connector's statistics, on an engine that receives KV (a decode pod); else null */
  readonly nixl: NixlMetrics | null;
  /**
   * vLLM 0.13's per-request time per output token (decode time over its tokens): the per-token
   * time also under speculative decoding, where an ITL observation is a step of several tokens.
   * Exposed only when set (the emulator's 0.13 servers); the simulation leaves it out.
   */
  requestTimePerOutputToken: Histogram | undefined;

  constructor(maxModelLen: number, kvConnector = false) {
    this.nixl = kvConnector ? new NixlMetrics() : null;
    // frozen: bounds never change, so forks of the simulation share them (fork.ts)
    const tokenBuckets = Object.freeze(oneTwoFiveBuckets(maxModelLen));
    this.promptTokensPerRequest = new Histogram(tokenBuckets);
    this.generationTokensPerRequest = new Histogram(tokenBuckets);
  }
}

/** vLLM's NIXL connector statistics (docs/METRICS.md): per transfer, recorded by the receiving engine. */
export class NixlMetrics {
  readonly xferTime = new Histogram(NIXL_XFER_TIME_BUCKETS);
  readonly bytesTransferred = new Histogram(NIXL_BYTES_BUCKETS);
  failedTransfers = 0;
}

/** What a scrape reads from one replica that serves /metrics. */
export interface VllmScrapeTarget {
  /** `model_name`, `pod`, `namespace`; `engine="0"` is added */
  readonly labels: Readonly<Record<string, string>>;
  readonly metrics: VllmEngineMetrics;
  readonly running: number;
  readonly waiting: number;
  /** 0..1 */
  readonly kvCacheUsage: number;
  readonly blockSize: number;
  readonly numGpuBlocks: number;
}

type Emit = (name: string, labels: Record<string, string>, value: number) => void;

interface FamilySpec {
  readonly family: string;
  readonly type: MetricType;
  readonly write: (
    target: VllmScrapeTarget,
    base: Record<string, string>,
    emit: Emit,
    buckets: boolean,
  ) => void;
}

function histogram(family: string, pick: (m: VllmEngineMetrics) => Histogram | undefined): FamilySpec {
  return {
    family,
    type: 'histogram',
    write: (target, base, emit, buckets) => {
      const h = pick(target.metrics);
      if (!h) return;
      if (buckets) {
        let cumulative = 0;
        for (let i = 0; i < h.bounds.length; i++) {
          cumulative += h.counts[i]!;
          emit(`${family}_bucket`, { ...base, le: formatPrometheusNumber(h.bounds[i]!) }, cumulative);
        }
        emit(`${family}_bucket`, { ...base, le: '+Inf' }, h.count);
      }
      emit(`${family}_sum`, base, h.sum);
      emit(`${family}_count`, base, h.count);
    },
  };
}

/** A NIXL histogram: only engines with a KV connector expose it. */
function nixlHistogram(family: string, pick: (n: NixlMetrics) => Histogram): FamilySpec {
  const all = histogram(family, (m) => pick(m.nixl!));
  return {
    ...all,
    write: (target, base, emit, buckets) => target.metrics.nixl && all.write(target, base, emit, buckets),
  };
}

function scalar(family: string, type: MetricType, read: (t: VllmScrapeTarget) => number): FamilySpec {
  return { family, type, write: (target, base, emit) => emit(family, base, read(target)) };
}

// Family order follows vLLM's PrometheusStatLogger, which is the order a real scrape lists them in.
const FAMILIES: readonly FamilySpec[] = [
  scalar('vllm:num_requests_running', 'gauge', (t) => t.running),
  scalar('vllm:num_requests_waiting', 'gauge', (t) => t.waiting),
  scalar('vllm:kv_cache_usage_perc', 'gauge', (t) => t.kvCacheUsage),
  scalar('vllm:num_preemptions_total', 'counter', (t) => t.metrics.preemptions),
  scalar('vllm:prompt_tokens_total', 'counter', (t) => t.metrics.promptTokens),
  scalar('vllm:generation_tokens_total', 'counter', (t) => t.metrics.generationTokens),
  {
    family: 'vllm:request_success_total',
    type: 'counter',
    write: (target, base, emit) => {
      for (const reason of FINISHED_REASONS) {
        emit(
          'vllm:request_success_total',
          { ...base, finished_reason: reason },
          target.metrics.success[reason],
        );
      }
    },
  },
  histogram('vllm:request_prompt_tokens', (m) => m.promptTokensPerRequest),
  histogram('vllm:request_generation_tokens', (m) => m.generationTokensPerRequest),
  histogram('vllm:time_to_first_token_seconds', (m) => m.timeToFirstToken),
  histogram('vllm:inter_token_latency_seconds', (m) => m.interTokenLatency),
  histogram('vllm:request_time_per_output_token_seconds', (m) => m.requestTimePerOutputToken),
  histogram('vllm:e2e_request_latency_seconds', (m) => m.e2eLatency),
  histogram('vllm:request_queue_time_seconds', (m) => m.queueTime),
  histogram('vllm:request_inference_time_seconds', (m) => m.inferenceTime),
  histogram('vllm:request_prefill_time_seconds', (m) => m.prefillTime),
  histogram('vllm:request_decode_time_seconds', (m) => m.decodeTime),
  nixlHistogram('vllm:nixl_xfer_time_seconds', (n) => n.xferTime),
  nixlHistogram('vllm:nixl_bytes_transferred', (n) => n.bytesTransferred),
  {
    family: 'vllm:nixl_num_failed_transfers',
    type: 'counter',
    write: (target, base, emit) => {
      const nixl = target.metrics.nixl;
      if (nixl) emit('vllm:nixl_num_failed_transfers', base, nixl.failedTransfers);
    },
  },
  {
    family: 'vllm:cache_config_info',
    type: 'gauge',
    write: (target, base, emit) =>
      emit(
        'vllm:cache_config_info',
        { ...base, block_size: String(target.blockSize), num_gpu_blocks: String(target.numGpuBlocks) },
        1,
      ),
  },
];

/**
 * Samples of all targets, family by family (text exposition needs each family contiguous).
 * Without `buckets` (or for families not listed in it), histograms give only _sum and _count (most
 * of a scrape's samples are buckets).
 */
export function vllmSamples(
  targets: readonly VllmScrapeTarget[],
  withBuckets: boolean | readonly string[] = true,
): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const spec of FAMILIES) {
    const buckets = typeof withBuckets === 'boolean' ? withBuckets : withBuckets.includes(spec.family);
    const emit: Emit = (name, labels, value) =>
      samples.push({ name, labels, value, family: spec.family, type: spec.type });
    for (const target of targets) spec.write(target, { ...target.labels, engine: '0' }, emit, buckets);
  }
  return samples;
}
