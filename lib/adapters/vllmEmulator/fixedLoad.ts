/**
 * Replicas serving a known, steady load: each completes `requestRate` requests per second with
 * fixed token counts and latencies, so its counters and histograms grow exactly as that load
 * implies over time (whole requests, as vLLM counts them) and a collector's estimates can be
 * checked against the load. Gauges (running, waiting, KV usage) are the given constants.
 */
import type { MetricSample } from '../../fleetSimulator/prometheusText.js';
import {
  Histogram,
  ITL_BUCKETS,
  vllmSamples,
  VllmEngineMetrics,
  type VllmScrapeTarget,
} from '../../fleetSimulator/vllmMetrics.js';
import { applyNaming, type EmulatedNaming } from './namings.js';

export interface FixedLoad {
  /** requests completed (and arriving) per second on one replica */
  readonly requestRate: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly ttftSeconds: number;
  readonly itlSeconds: number;
  readonly running: number;
  readonly waiting: number;
  /** 0..1; NaN to emulate a server that reports NaN */
  readonly kvCacheUsage: number;
  /**
   * tokens an engine step emits per request with speculative decoding (default 1): each ITL
   * observation is then a step of that many tokens, `itlSeconds` times as long, and only
   * `vllm:request_time_per_output_token_seconds` shows the time per token
   */
  readonly tokensPerStep?: number;
}

export interface FixedLoadVariantOptions {
  readonly model: string;
  readonly namespace: string;
  /** pod names, or how many (named `<model>-<i>`) */
  readonly pods: readonly string[] | number;
  readonly naming: EmulatedNaming;
  readonly load: FixedLoad;
  /** families left out of the exposition, e.g. to emulate a server without TTFT */
  readonly omitFamilies?: readonly string[];
  readonly blockSize?: number;
  readonly numGpuBlocks?: number;
  readonly maxModelLen?: number;
  /** epoch seconds the counters start from (default: now) */
  readonly startSeconds?: number;
}

class FixedLoadReplica {
  readonly metrics: VllmEngineMetrics;
  private accumulated = 0;
  private counted = 0;
  frozen = false;

  constructor(
    readonly pod: string,
    public load: FixedLoad,
    private lastSeconds: number,
    maxModelLen: number,
  ) {
    this.metrics = new VllmEngineMetrics(maxModelLen);
    this.metrics.requestTimePerOutputToken = new Histogram(ITL_BUCKETS);
  }

  /** Completes the requests due by `t`, observing each in the counters and histograms. */
  advance(t: number): void {
    if (t <= this.lastSeconds) return;
    if (!this.frozen) this.accumulated += this.load.requestRate * (t - this.lastSeconds);
    this.lastSeconds = t;
    const n = Math.floor(this.accumulated + 1e-9) - this.counted;
    if (n <= 0) return;
    this.counted += n;
    const { inputTokens, outputTokens, ttftSeconds, itlSeconds } = this.load;
    const m = this.metrics;
    const decode = itlSeconds * Math.max(outputTokens - 1, 0);
    m.success.stop += n;
    m.promptTokens += n * inputTokens;
    m.generationTokens += n * outputTokens;
    m.promptTokensPerRequest.observe(inputTokens, n);
    m.generationTokensPerRequest.observe(outputTokens, n);
    m.timeToFirstToken.observe(ttftSeconds, n);
    // one inter-token gap per engine step after the first token, as vLLM records them: a step
    // per token, or per `tokensPerStep` tokens with speculative decoding
    const perStep = this.load.tokensPerStep ?? 1;
    if (outputTokens > 1) {
      m.interTokenLatency.observe(itlSeconds * perStep, Math.round((n * (outputTokens - 1)) / perStep));
      m.requestTimePerOutputToken?.observe(itlSeconds, n);
    }
    m.e2eLatency.observe(ttftSeconds + decode, n);
    m.queueTime.observe(0, n);
    m.prefillTime.observe(ttftSeconds, n);
    m.decodeTime.observe(decode, n);
    m.inferenceTime.observe(ttftSeconds + decode, n);
  }
}

export class FixedLoadVariant {
  private readonly replicas = new Map<string, FixedLoadReplica>();
  private readonly blockSize: number;
  private readonly numGpuBlocks: number;

  constructor(readonly options: FixedLoadVariantOptions) {
    const start = options.startSeconds ?? Date.now() / 1000;
    const pods =
      typeof options.pods === 'number'
        ? Array.from({ length: options.pods }, (_, i) => `${options.model}-${i}`)
        : options.pods;
    for (const pod of pods) {
      this.replicas.set(pod, new FixedLoadReplica(pod, options.load, start, options.maxModelLen ?? 8192));
    }
    this.blockSize = options.blockSize ?? 16;
    this.numGpuBlocks = options.numGpuBlocks ?? 2048;
  }

  get pods(): string[] {
    return [...this.replicas.keys()];
  }

  /** KV-cache capacity of one replica in tokens, as `vllm:cache_config_info` describes it. */
  get kvCapacityTokens(): number {
    return this.blockSize * this.numGpuBlocks;
  }

  /** Samples of every replica (or of one pod) at epoch second `t`, named for the emulated server. */
  samples(t: number, pod?: string): MetricSample[] {
    const targets: VllmScrapeTarget[] = [];
    for (const r of this.replicas.values()) {
      if (pod !== undefined && r.pod !== pod) continue;
      r.advance(t);
      targets.push({
        labels: { model_name: this.options.model, namespace: this.options.namespace, pod: r.pod },
        metrics: r.metrics,
        running: r.load.running,
        waiting: r.load.waiting,
        kvCacheUsage: r.load.kvCacheUsage,
        blockSize: this.blockSize,
        numGpuBlocks: this.numGpuBlocks,
      });
    }
    const omit = new Set(this.options.omitFamilies ?? []);
    return applyNaming(vllmSamples(targets), this.options.naming).filter((s) => !omit.has(s.family));
  }

  /** A scrape source for all replicas (one target with a pod label each). */
  source(): (t: number) => MetricSample[] {
    return (t) => this.samples(t);
  }

  /** A scrape source for one replica, for serving each replica as its own target. */
  podSource(pod: string): (t: number) => MetricSample[] {
    if (!this.replicas.has(pod)) throw new Error(`no replica ${pod}`);
    return (t) => this.samples(t, pod);
  }

  /** Changes the load from time `t` on (requests due until then are counted at the old rate). */
  setLoad(load: FixedLoad, t: number, pod?: string): void {
    for (const r of this.replicas.values()) {
      if (pod !== undefined && r.pod !== pod) continue;
      r.advance(t);
      r.load = load;
    }
  }

  /** Stops (or resumes) completing requests: the counters stay where they are, the gauges as set. */
  freeze(t: number, frozen = true, pod?: string): void {
    for (const r of this.replicas.values()) {
      if (pod !== undefined && r.pod !== pod) continue;
      r.advance(t);
      r.frozen = frozen;
    }
  }

  /** Removes a replica: its series disappear from the next scrape, as when a pod goes away. */
  removeReplica(pod: string): void {
    this.replicas.delete(pod);
  }
}
