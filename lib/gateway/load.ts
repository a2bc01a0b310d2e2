/**
 * What the gateway's events say of a variant's load (the state `ingest` keeps), and the pure
 * estimation of a variant's observation from it: arrivals and token lengths over the rate
 * window, the per-engine counters summed, and output length by input-length bucket over a
 * longer window (docs/GATEWAY.md).
 */
import type { Estimate, OutputByInputBucket } from '../metrics/observation.js';
import type { BucketCounts } from './aggregate.js';

/** One engine's counters as stored, and when an event last changed them. */
export interface EngineCounters {
  readonly engine: string;
  readonly inFlight: number;
  readonly inPrefill: number;
  readonly promptTokensInPrefill: number;
  /** the newest event behind them, epoch seconds */
  readonly updatedAt: number;
}

export interface SlotCounts {
  readonly slotStart: number;
  readonly buckets: ReadonlyMap<number, BucketCounts>;
  /** the newest event counted in the slot, epoch seconds */
  readonly updatedAt: number;
}

export interface GatewayLoad {
  readonly variant: string;
  readonly engines: readonly EngineCounters[];
  readonly slots: readonly SlotCounts[];
}

export interface GatewayEstimateOptions {
  readonly now: number;
  /** the rate window, seconds (policy.metricsWindowSeconds) */
  readonly windowSeconds: number;
  /** the window output lengths per input bucket are learned over, seconds */
  readonly statsWindowSeconds: number;
  readonly slotSeconds: number;
  /** counters or slots whose newest event is older are not trusted (policy.metricsMaxAgeSeconds) */
  readonly maxAgeSeconds: number;
}

export interface GatewayEstimates {
  readonly arrivalRate?: Estimate;
  readonly avgInputTokens?: Estimate;
  readonly avgOutputTokens?: Estimate;
  /** requests with no first token yet (queued in the engine or in prefill) */
  readonly waiting?: Estimate;
  /** requests producing tokens */
  readonly running?: Estimate;
  readonly promptTokensInPrefill?: Estimate;
  readonly outputByInputBucket?: OutputByInputBucket;
  /** engines whose counters were trusted, and those left out as too old */
  readonly freshEngines: readonly EngineCounters[];
  readonly staleEngines: readonly string[];
}

const SOURCE = 'gateway-events';

/** How many completions' worth of the overall mean each bucket's mean starts from. */
export const PRIOR_COMPLETIONS = 20;

function sumBuckets(slots: readonly SlotCounts[]): Map<number, BucketCounts> {
  const out = new Map<number, BucketCounts>();
  for (const s of slots)
    for (const [b, c] of s.buckets) {
      const o = out.get(b) ?? { arrivals: 0, inputTokens: 0, completions: 0, outputTokens: 0 };
      out.set(b, {
        arrivals: o.arrivals + c.arrivals,
        inputTokens: o.inputTokens + c.inputTokens,
        completions: o.completions + c.completions,
        outputTokens: o.outputTokens + c.outputTokens,
      });
    }
  return out;
}

const total = (m: ReadonlyMap<number, BucketCounts>, k: keyof BucketCounts) =>
  [...m.values()].reduce((a, c) => a + c[k], 0);

/**
 * Output length expected per input bucket: each bucket's mean over the longer window, or the
 * overall mean where a bucket has no completion yet; weighted by the rate window's arrivals.
 */
export function outputByInputBucket(
  recent: ReadonlyMap<number, BucketCounts>,
  learned: ReadonlyMap<number, BucketCounts>,
): OutputByInputBucket | undefined {
  const completions = total(learned, 'completions');
  if (completions === 0) return undefined;
  const overall = total(learned, 'outputTokens') / completions;
  const buckets = [...new Set([...recent.keys(), ...learned.keys()])]
    .sort((a, b) => a - b)
    .map((bucket) => {
      const l = learned.get(bucket);
      return {
        bucket,
        arrivals: recent.get(bucket)?.arrivals ?? 0,
        // shrunk toward the overall mean: a bucket of few completions says little on its own
        meanOutputTokens:
          ((l?.outputTokens ?? 0) + PRIOR_COMPLETIONS * overall) /
          ((l?.completions ?? 0) + PRIOR_COMPLETIONS),
        completions: l?.completions ?? 0,
      };
    });
  const arrivals = buckets.reduce((a, b) => a + b.arrivals, 0);
  const expected =
    arrivals > 0 ? buckets.reduce((a, b) => a + b.arrivals * b.meanOutputTokens, 0) / arrivals : overall;
  return { buckets, overallMeanOutputTokens: overall, expectedOutputTokens: expected };
}

export function gatewayEstimates(load: GatewayLoad, o: GatewayEstimateOptions): GatewayEstimates {
  const windowFrom = Math.floor((o.now - o.windowSeconds) / o.slotSeconds) * o.slotSeconds;
  const statsFrom = o.now - o.statsWindowSeconds;
  const inStats = load.slots.filter((s) => s.slotStart + o.slotSeconds > statsFrom && s.slotStart <= o.now);
  const inWindow = inStats.filter((s) => s.slotStart >= windowFrom);
  const newest = Math.max(-Infinity, ...inStats.map((s) => s.updatedAt));
  // Events flow for this variant (some within the age limit): a window without one is a measured zero.
  const flowing = o.now - newest <= o.maxAgeSeconds;
  const recent = sumBuckets(inWindow);
  const learned = sumBuckets(inStats);
  const arrivals = total(recent, 'arrivals');
  const completions = total(recent, 'completions');
  const at = (value: number, what: string, timestamp: number): Estimate => ({
    value,
    source: `${SOURCE}:${what}`,
    timestamp,
  });

  const fresh = load.engines.filter((e) => o.now - e.updatedAt <= o.maxAgeSeconds);
  const staleEngines = load.engines.filter((e) => !fresh.includes(e)).map((e) => e.engine);
  const engineAt = Math.max(-Infinity, ...fresh.map((e) => e.updatedAt));
  // A lost event can leave a counter below zero until it is reconciled: never report one.
  const sum = (f: (e: EngineCounters) => number) => fresh.reduce((a, e) => a + Math.max(f(e), 0), 0);
  const byBucket = flowing ? outputByInputBucket(recent, learned) : undefined;

  return {
    ...(flowing
      ? {
          arrivalRate: at(arrivals / Math.max(o.now - windowFrom, 1), 'arrivals', newest),
          ...(arrivals > 0
            ? { avgInputTokens: at(total(recent, 'inputTokens') / arrivals, 'prompt_tokens', newest) }
            : {}),
          ...(completions > 0
            ? { avgOutputTokens: at(total(recent, 'outputTokens') / completions, 'output_tokens', newest) }
            : {}),
          ...(byBucket ? { outputByInputBucket: byBucket } : {}),
        }
      : {}),
    ...(fresh.length > 0
      ? {
          waiting: at(
            sum((e) => e.inPrefill),
            'in_prefill',
            engineAt,
          ),
          running: at(
            sum((e) => e.inFlight - Math.max(e.inPrefill, 0)),
            'in_flight_decoding',
            engineAt,
          ),
          promptTokensInPrefill: at(
            sum((e) => e.promptTokensInPrefill),
            'prompt_tokens_in_prefill',
            engineAt,
          ),
        }
      : {}),
    freshEngines: fresh,
    staleEngines,
  };
}
