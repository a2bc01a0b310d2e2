/**
 * Sizing by the distribution (issue 14, item 2): the most requests per second one replica may
 * take on each accelerator so that no more than the allowed share of requests miss the ITL
 * target, from the token histograms vLLM exposes (vllm:request_prompt_tokens and
 * vllm:request_generation_tokens) and the engine's chunked-prefill rules
 * (lib/analyzer/chunkedItl.ts). The queue model sizes the mean request; this cap is what the
 * short answers decoded next to long prompts need. Without histograms there is no cap: the
 * averages are all that is known, and the decision says so.
 */
import { maxRateForItlShare, type ItlShareInput, type TokenDistribution } from '../analyzer/chunkedItl.js';
import type { ServiceProfile } from '../analyzer/index.js';
import type { TokenBuckets, VariantObservation } from '../metrics/observation.js';
import type { VariantMemory } from './memory.js';

/** vLLM's default max_num_batched_tokens with chunked prefill (V1). */
const DEFAULT_STEP_BUDGET = 2048;

/**
 * A histogram's mass spread evenly over the lowest, middle and highest count of each bucket (the
 * lowest first: fewer output tokens is the harder case for ITL). The open last bucket takes twice
 * its lower bound, or the count the mean implies when that is larger.
 */
export function bucketsToDistribution(b: TokenBuckets, mean?: number): TokenDistribution | undefined {
  const total = b.counts.reduce((a, c) => a + c, 0);
  if (!(total > 0)) return undefined;
  const values: number[] = [];
  const weights: number[] = [];
  let lower = 0;
  let knownSum = 0;
  b.bounds.forEach((le, i) => {
    const w = b.counts[i]! / total;
    if (Number.isFinite(le)) {
      if (w > 0) {
        const points = [Math.max(lower + 1, 1), (Math.max(lower + 1, 1) + le) / 2, le];
        for (const v of points) {
          values.push(v);
          weights.push(w / 3);
          knownSum += (v * w) / 3;
        }
      }
      lower = le;
    } else if (w > 0) {
      const implied = mean !== undefined ? (mean - knownSum) / w : 0;
      values.push(Math.max(2 * lower, implied, lower + 1));
      weights.push(w);
    }
  });
  return { values, weights };
}

/**
 * The share of requests whose prompt and output together exceed `tokens` (a replica's KV cache:
 * vLLM rejects such a request up front), input and output taken as independent.
 */
export function shareBeyond(input: TokenDistribution, output: TokenDistribution, tokens: number): number {
  let share = 0;
  input.values.forEach((i, a) => {
    output.values.forEach((o, b) => {
      if (i + o > tokens) share += input.weights[a]! * output.weights[b]!;
    });
  });
  return share;
}

export interface ItlCapInput {
  readonly profile: ServiceProfile;
  readonly stepBudget?: number;
  readonly input: TokenDistribution;
  readonly output: TokenDistribution;
  readonly itlTargetMs: number;
  /** share of requests allowed to miss the ITL target */
  readonly missShare: number;
  /** the rate above which the cap does not matter (the queue model's own bound) */
  readonly upperRate: number;
  /**
   * req/s over the variant: the replicas at a rate are demand / rate, and a least-outstanding
   * router sends a busy replica fewer prompts the more replicas there are (routedShare)
   */
  readonly demand?: number;
}

/** The chunked-ITL model's input for a replica of this profile and these token distributions. */
export function itlShareInput(
  c: Pick<ItlCapInput, 'profile' | 'stepBudget' | 'input' | 'output' | 'itlTargetMs'>,
): ItlShareInput {
  return {
    engine: { profile: c.profile, budget: c.stepBudget ?? DEFAULT_STEP_BUDGET },
    input: c.input,
    output: c.output,
    itlTargetMs: c.itlTargetMs,
  };
}

/** req/s per replica; the upper rate when the distribution never binds. */
export function itlRateCap(c: ItlCapInput): number {
  return maxRateForItlShare(itlShareInput(c), c.missShare, c.upperRate, c.demand);
}

export type TokenHistogram = NonNullable<VariantMemory['tokenHistogram']>;

/**
 * The remembered histograms advanced by this window's: older counts decay with the half-life,
 * so a minute's few hundred requests do not swing the sizing and a change of traffic still shows
 * within the half-life. vLLM builds its token buckets (1, 2, 5, 10, ...) up to the engine's
 * maximum model length, which differs between accelerators (their KV caches): where one window's
 * bounds are the other's first ones, both are re-binned onto the shorter (each of its buckets is a
 * union of the longer's), so a variant moving to another accelerator, or running on two, keeps
 * the mix it learnt (forgetting it left the ITL sizing without histograms for ten minutes on
 * the held-out day at x0.5, bench/RESULTS.md). A window with other bounds (another vLLM version's
 * buckets) starts afresh.
 */
export function updateTokenHistogram(
  previous: TokenHistogram | undefined,
  obs: VariantObservation | undefined,
  now: number,
  halfLifeSeconds: number,
): TokenHistogram | undefined {
  const input = obs?.inputTokenBuckets;
  const output = obs?.outputTokenBuckets;
  if (!input || !output) return previous;
  const bounds = input.bounds.filter(Number.isFinite);
  const sameBounds = (b: readonly number[]) =>
    b.length === bounds.length + 1 &&
    b.slice(0, -1).every((x, i) => x === bounds[i]) &&
    !Number.isFinite(b.at(-1)!);
  if (!sameBounds(input.bounds) || !sameBounds(output.bounds)) return previous;
  const common = previous && sharedPrefix(previous.bounds, bounds);
  const keep = common ? Math.pow(0.5, Math.max(now - previous.t, 0) / halfLifeSeconds) : 0;
  const onto = common ?? bounds;
  const merge = (old: readonly number[] | undefined, fresh: readonly number[]) => {
    const mine = rebin(fresh, onto);
    const theirs = old ? rebin(old, onto) : undefined;
    return mine.map((c, i) => c + keep * (theirs?.[i] ?? 0));
  };
  return {
    t: now,
    bounds: [...onto],
    input: merge(keep > 0 ? previous!.input : undefined, input.counts),
    output: merge(keep > 0 ? previous!.output : undefined, output.counts),
  };
}

/** The shorter of two finite bound lists where it is the longer's beginning; undefined otherwise. */
function sharedPrefix(a: readonly number[], b: readonly number[]): readonly number[] | undefined {
  const [shorter, longer] = a.length <= b.length ? [a, b] : [b, a];
  return shorter.length > 0 && shorter.every((x, i) => x === longer[i]) ? shorter : undefined;
}

/**
 * Counts (the overflow last) onto the first `onto` of their bounds: the buckets above the last of
 * them join its overflow.
 */
function rebin(counts: readonly number[], onto: readonly number[]): number[] {
  const out = new Array<number>(onto.length + 1).fill(0);
  counts.forEach((c, i) => {
    const j = Math.min(i, onto.length);
    out[j] = out[j]! + c;
  });
  return out;
}

/** The remembered histograms as distributions; undefined before any was seen. */
export function tokenDistributions(
  h: TokenHistogram | undefined,
  means: { input?: number; output?: number },
): { input: TokenDistribution; output: TokenDistribution } | undefined {
  if (!h) return undefined;
  const bounds = [...h.bounds, Infinity];
  const input = bucketsToDistribution({ bounds, counts: h.input }, means.input);
  const output = bucketsToDistribution({ bounds, counts: h.output }, means.output);
  return input && output ? { input, output } : undefined;
}

/** misses the histogram must be large enough to expect before its tail is trusted */
export const MIN_EXPECTED_MISSES = 10;

/**
 * The remembered histograms as distributions once they are large enough to show a share of
 * `missShare`: ten expected misses. Before that (a new variant, the first minutes, when mostly
 * the short requests have completed) undefined: the averages size.
 */
export function trustedDistributions(
  h: TokenHistogram | undefined,
  means: { input?: number; output?: number },
  missShare: number,
): { input: TokenDistribution; output: TokenDistribution } | undefined {
  return trustedHistogram(h, missShare) ? tokenDistributions(h, means) : undefined;
}

/** The remembered histograms, once large enough to show a share of `missShare`; else undefined. */
export function trustedHistogram(
  h: TokenHistogram | undefined,
  missShare: number,
): TokenHistogram | undefined {
  const seen = h?.output.reduce((a, c) => a + c, 0) ?? 0;
  return seen >= MIN_EXPECTED_MISSES / missShare ? h : undefined;
}

/**
 * The share of a histogram's requests above `limit` tokens: whole buckets above it, and of the
 * bucket it falls in the part above it, the bucket's counts taken as spread evenly between its
 * bounds. The open last bucket is taken to end at twice its lower bound (the wide bucket vLLM's
 * 1-2-5 bounds leave there). `bounds` are the finite bounds; `counts` has the overflow last.
 */
export function shareAbove(bounds: readonly number[], counts: readonly number[], limit: number): number {
  const total = counts.reduce((a, c) => a + c, 0);
  if (!(total > 0)) return 0;
  let above = 0;
  counts.forEach((c, i) => {
    const lower = i === 0 ? 0 : bounds[i - 1]!;
    const upper = i < bounds.length ? bounds[i]! : 2 * lower;
    if (limit <= lower) above += c;
    else if (limit < upper) above += (c * (upper - limit)) / (upper - lower);
  });
  return above / total;
}
