/**
 * The share of requests whose inter-token latency misses its target on a vLLM V1 engine that
 * interleaves prefill chunks with decoding under a token budget (docs/SIZING.md, "ITL by the
 * distribution"). The queue model's ITL is a mean at the mean request; the target is judged per
 * request, on the mean gap between its own tokens. A short answer decoded while a long prompt is
 * prefilled in chunks sees most of its gaps stretched by a chunk and misses, whatever the means
 * say. This module follows the engine's rules instead:
 *
 * - a step decodes every running request (alpha + beta d) and, when prefill work is pending,
 *   carries one chunk of up to `budget` tokens on top (gamma + delta c);
 * - a prompt of I tokens becomes floor(I / budget) full chunks and one remainder chunk;
 * - while a request decodes, the engine is busy, so per second it runs H = lambda E[chunks]
 *   steps with a chunk and fills the rest of the second with decode-only steps;
 * - a request with O output tokens has O - 1 gaps; each carries a chunk with probability h (the
 *   share of steps with one), independently; it misses when the chunks' extra time spread over
 *   its gaps pushes the mean gap over the target.
 *
 * The chunks of several prompts in one step are counted as separate steps (more steps stretched,
 * each by less): on the side of caution for short answers.
 *
 * With several replicas behind a router that sends each arrival to the replica with the fewest
 * outstanding requests (the simulator's, and the gateway's endpoint picker in spirit), a replica
 * decoding a request is not sent new prompts at the fleet's average rate per replica: an arrival
 * joins it only when no replica is idle. The prompts overlapping a request's decoding are thinned
 * by that share (`routedShare`). Rates are req/s, times ms.
 */
import type { ServiceProfile } from './replicaModel.js';

/** Token counts with their probabilities (weights sum to 1). */
export interface TokenDistribution {
  readonly values: readonly number[];
  readonly weights: readonly number[];
}

export interface ChunkedEngine {
  readonly profile: ServiceProfile;
  /** tokens per step, decodes and prefill chunks together (vLLM max_num_batched_tokens) */
  readonly budget: number;
}

export interface ItlShareInput {
  readonly engine: ChunkedEngine;
  readonly input: TokenDistribution;
  readonly output: TokenDistribution;
  /** ms; the target each request's mean gap is held to */
  readonly itlTargetMs: number;
}

/**
 * The share of the per-replica arrival rate that reaches a replica while it serves a given
 * request, over `replicas` replicas behind a least-outstanding router. Decoding is batched, so a
 * request's time in the engine hardly depends on its neighbours: the fleet's requests in flight
 * are Poisson with mean replicas x `occupancy` (an infinite-server queue), whatever the routing.
 * The router keeps the replicas level, taken as perfectly level (the cautious side: a real fleet
 * is sometimes lopsided, and then an arrival finds an idle replica more often): an arrival joins
 * a busy replica only when no replica is idle, i.e. when the other requests in flight are at
 * least replicas - 1, and then each replica at the lowest count is as likely. So the share is
 * P(Poisson(replicas x occupancy) >= replicas - 1), interpolated between whole replica counts;
 * one replica: 1 (every arrival comes to it).
 */
export function routedShare(replicas: number, occupancy: number): number {
  const n = Math.max(replicas, 1);
  if (n <= 1) return 1;
  const mean = n * Math.max(occupancy, 0);
  const atLeast = (k: number) => {
    // P(Poisson(mean) >= k)
    let term = Math.exp(-mean);
    let below = 0;
    for (let j = 0; j < k; j++) {
      below += term;
      term *= mean / (j + 1);
    }
    return Math.min(Math.max(1 - below, 0), 1);
  };
  const k = n - 1;
  const lo = Math.floor(k);
  const frac = k - lo;
  return (1 - frac) * atLeast(lo) + frac * atLeast(lo + 1);
}

export interface ItlShare {
  /** share of requests whose mean gap exceeds the target */
  readonly missShare: number;
  /** share of decode steps carrying a prefill chunk */
  readonly chunkStepShare: number;
  /** requests decoding together */
  readonly batch: number;
  /** mean gap over all steps (ms) */
  readonly meanGapMs: number;
  /** the share missing among requests of each output length, aligned with the output distribution's values */
  readonly missByOutput: readonly number[];
}

const mean = (d: TokenDistribution) => d.values.reduce((a, v, i) => a + v * d.weights[i]!, 0);

/** How many chunks a prompt makes, and the moments of the extra time a chunk adds to a step. */
interface ChunkExtra {
  readonly chunksPerRequest: number;
  readonly mean: number;
  readonly variance: number;
}

/** Sums over up to this many prompts are convolved exactly; more are taken as normal. */
const EXACT_SUMS = 2;
const BINS = 96;
/** points of a request's decoding at which an arriving prompt is placed */
const POSITIONS = 8;

function chunkExtra(engine: ChunkedEngine, input: TokenDistribution): ChunkExtra {
  const { gamma, delta } = engine.profile;
  const budget = Math.max(engine.budget, 1);
  const sizes: number[] = [];
  const weights: number[] = [];
  input.values.forEach((tokens, i) => {
    const w = input.weights[i]!;
    if (!(w > 0) || !(tokens > 0)) return;
    const full = Math.floor(tokens / budget);
    const rest = tokens - full * budget;
    if (full > 0) {
      sizes.push(budget);
      weights.push(w * full);
    }
    if (rest > 0) {
      sizes.push(rest);
      weights.push(w);
    }
  });
  const chunksPerRequest = weights.reduce((a, w) => a + w, 0);
  if (!(chunksPerRequest > 0)) {
    return { chunksPerRequest: 0, mean: 0, variance: 0 };
  }
  const extras = sizes.map((c) => gamma + delta * c);
  const p = weights.map((w) => w / chunksPerRequest);
  const m = extras.reduce((a, e, i) => a + e * p[i]!, 0);
  const variance = extras.reduce((a, e, i) => a + (e - m) ** 2 * p[i]!, 0);
  return { chunksPerRequest, mean: m, variance };
}

/** P(N(0,1) > z), Abramowitz-Stegun 7.1.26 (error < 1.5e-7). */
function normalTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) *
    Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/**
 * What a request with `gaps` gaps can see of one prompt's prefill: at most `gaps` of its chunks
 * (the prompt's chunks run in consecutive steps), as the tail of the sum over one and two such
 * prompts, and the moments for more.
 */
interface VisiblePrefill {
  readonly mean: number;
  readonly second: number;
  readonly binMs: number;
  readonly tails: readonly Float64Array[];
}

function visiblePrefill(
  engine: ChunkedEngine,
  input: TokenDistribution,
  gaps: number,
  arrivingShare: number,
  leftover: number,
): VisiblePrefill {
  const { gamma, delta } = engine.profile;
  const budget = Math.max(engine.budget, 1);
  const extras: number[] = [];
  const weights: number[] = [];
  // A prompt arriving while the request decodes, at a uniform point of its gaps, runs its chunks
  // in the gaps left (sampled at up to POSITIONS points); one ahead of its first token runs them
  // from its first gap on.
  const positions = Math.min(gaps, POSITIONS);
  const seenExtra = (tokens: number, seen: number) => seen * gamma + delta * Math.min(tokens, seen * budget);
  input.values.forEach((tokens, i) => {
    const w = input.weights[i]!;
    if (!(w > 0) || !(tokens > 0)) return;
    const chunks = Math.ceil(tokens / budget);
    // One that came while the request was prefilling had its first tokens scheduled in the
    // budget the request's last chunk left over, before its first token.
    const rest = Math.max(tokens - leftover, 0);
    if (rest > 0) {
      extras.push(seenExtra(rest, Math.min(Math.ceil(rest / budget), gaps)));
      weights.push(w * (1 - arrivingShare));
    } else {
      extras.push(0);
      weights.push(w * (1 - arrivingShare));
    }
    for (let k = 1; k <= positions; k++) {
      const left = Math.floor(((k - 1) * gaps) / positions); // its step starts after the one it came in
      extras.push(seenExtra(tokens, Math.min(chunks, left)));
      weights.push((w * arrivingShare) / positions);
    }
  });
  const total = weights.reduce((a, w) => a + w, 0);
  if (!(total > 0)) return { mean: 0, second: 0, binMs: 1, tails: [] };
  const p = weights.map((w) => w / total);
  const m = extras.reduce((a, e, i) => a + e * p[i]!, 0);
  const second = extras.reduce((a, e, i) => a + e * e * p[i]!, 0);
  const binMs = Math.max(Math.max(...extras) / (BINS - 1), 1e-6);
  const pmf = new Float64Array(BINS);
  extras.forEach((e, i) => (pmf[Math.min(Math.round(e / binMs), BINS - 1)]! += p[i]!));
  const tails: Float64Array[] = [];
  let sum = pmf;
  for (let k = 1; k <= EXACT_SUMS; k++) {
    if (k > 1) {
      const next = new Float64Array(sum.length + BINS - 1);
      for (let a = 0; a < sum.length; a++) {
        if (sum[a] === 0) continue;
        for (let b = 0; b < BINS; b++) next[a + b]! += sum[a]! * pmf[b]!;
      }
      sum = next;
    }
    const tail = new Float64Array(sum.length);
    let acc = 0;
    for (let j = sum.length - 1; j >= 0; j--) {
      tail[j] = acc;
      acc += sum[j]!;
    }
    tails.push(tail);
  }
  return { mean: m, second, binMs, tails };
}

/** P(the prefill of k prompts, as a request sees it, exceeds x ms). */
function promptsTail(v: VisiblePrefill, k: number, x: number): number {
  if (x < 0) return 1;
  if (k === 0) return 0;
  if (k <= v.tails.length) {
    const tail = v.tails[k - 1]!;
    const j = Math.floor(x / v.binMs);
    return j >= tail.length ? 0 : tail[j]!;
  }
  const sd = Math.sqrt(k * Math.max(v.second - v.mean ** 2, 0));
  if (sd === 0) return k * v.mean > x ? 1 : 0;
  return normalTail((x - k * v.mean) / sd);
}

/**
 * The per-request ITL model, prepared once per engine and token distributions: the rate only
 * changes how many prompts overlap a request's decoding, so the sweep over rates is cheap.
 */
export class ItlShareModel {
  private readonly visible = new Map<number, VisiblePrefill>();
  private readonly chunksPerRequest: number;
  private readonly prefillMsPerRequest: number;
  private readonly meanOut: number;
  /** budget a prompt's last chunk leaves in its step, on average */
  private readonly leftover: number;

  constructor(private readonly input: ItlShareInput) {
    const extra = chunkExtra(input.engine, input.input);
    this.chunksPerRequest = extra.chunksPerRequest;
    this.prefillMsPerRequest = extra.chunksPerRequest * extra.mean;
    this.meanOut = Math.max(mean(input.output), 1);
    const budget = Math.max(input.engine.budget, 1);
    let last = 0;
    let mass = 0;
    input.input.values.forEach((tokens, i) => {
      const w = input.input.weights[i]!;
      if (!(w > 0) || !(tokens > 0)) return;
      last += w * (tokens - (Math.ceil(tokens / budget) - 1) * budget);
      mass += w;
    });
    this.leftover = mass > 0 ? Math.max(budget - last / mass, 0) : 0;
  }

  private visibleFor(gaps: number): VisiblePrefill {
    let v = this.visible.get(gaps);
    if (!v) {
      // the share of overlapping prompts that arrive during the decoding, at the unloaded step
      const { alpha, beta } = this.input.engine.profile;
      const decoding = gaps * (alpha + beta);
      const ahead = this.chunksPerRequest * (alpha + beta) + this.prefillMsPerRequest;
      v = visiblePrefill(
        this.input.engine,
        this.input.input,
        gaps,
        decoding / (decoding + ahead),
        this.leftover,
      );
      this.visible.set(gaps, v);
    }
    return v;
  }

  /**
   * A request with g gaps decodes for about g light steps. The prompts whose prefill overlaps
   * that time are those arriving during it or still prefilling when it starts: Poisson with mean
   * rate x (g light steps + one prompt's prefill time). Each stretches the request's gaps by the
   * chunks it runs in them (at most g). It misses when the stretch exceeds g x (target - light).
   */
  at(rate: number, replicas = 1): ItlShare {
    const { alpha, beta } = this.input.engine.profile;
    const chunkSteps = rate * this.chunksPerRequest;
    let batch = 1;
    let light = alpha + beta;
    let busy = 0;
    for (let round = 0; round < 20; round++) {
      light = alpha + beta * batch;
      busy = chunkSteps * light + rate * this.prefillMsPerRequest;
      if (busy >= 1000) {
        const all = this.input.output.values.map((tokens) => (Math.round(tokens) > 1 ? 1 : 0));
        return { missShare: 1, chunkStepShare: 1, batch, meanGapMs: Infinity, missByOutput: all };
      }
      const steps = chunkSteps + (1000 - busy) / light;
      const next = Math.max((rate * (this.meanOut - 1 + this.chunksPerRequest) * (1000 / steps)) / 1000, 1);
      const done = Math.abs(next - batch) < 1e-3;
      batch = next;
      if (done) break;
    }
    light = alpha + beta * batch;
    const lightSteps = (1000 - chunkSteps * light - rate * this.prefillMsPerRequest) / light;
    const h = chunkSteps / (chunkSteps + lightSteps);
    // requests in a replica at once (Little: rate x time in the engine, prefill and decode steps)
    const occupancy = (rate * (this.meanOut - 1 + this.chunksPerRequest)) / (chunkSteps + lightSteps);
    const routed = routedShare(replicas, occupancy);
    const slack = this.input.itlTargetMs - light;
    const { gamma, delta } = this.input.engine.profile;
    const maxStepExtra = gamma + delta * Math.max(this.input.engine.budget - batch, 0);
    const prefillMs = this.chunksPerRequest > 0 ? this.prefillMsPerRequest / this.chunksPerRequest : 0;
    const missByOutput = this.input.output.values.map((tokens) => {
      const gaps = Math.round(tokens) - 1;
      if (gaps < 1) return 0; // a single token has no gap to miss
      if (slack <= 0) return 1;
      const v = this.visibleFor(Math.min(gaps, 1 << 12));
      const overlapMs = gaps * light + this.chunksPerRequest * (light + prefillMs);
      const lambda = (routed * rate * overlapMs) / 1000;
      const x = slack * gaps;
      // A step carries at most one budget of prefill, whoever it belongs to: when even a chunk in
      // every gap fits the slack, no number of overlapping prompts can make the request miss.
      if (x >= gaps * maxStepExtra) return 0;
      let pk = Math.exp(-lambda);
      let cumulative = 0;
      let m = 0;
      for (let k = 0; k < 400; k++) {
        if (k > 0) pk *= lambda / k;
        cumulative += pk;
        m += pk * promptsTail(v, k, x);
        if (1 - cumulative < 1e-9) break;
      }
      return Math.min(m, 1);
    });
    const miss = missByOutput.reduce(
      (a, m, i) => a + (this.input.output.weights[i]! > 0 ? m * this.input.output.weights[i]! : 0),
      0,
    );
    return {
      missShare: Math.min(miss, 1),
      chunkStepShare: h,
      batch,
      meanGapMs: light + h * prefillMs,
      missByOutput,
    };
  }
}

/** The share of requests missing the ITL target on one replica at `rate` req/s, of `replicas` (default 1). */
export function itlMissShare(input: ItlShareInput, rate: number, replicas = 1): ItlShare {
  return new ItlShareModel(input).at(rate, replicas);
}

/**
 * The largest rate (req/s) per replica at which at most `maxMissShare` of requests miss the ITL
 * target, by bisection on a log scale (the miss share grows with the rate); 0 when even a trickle
 * (a millionth of `upper`) misses more, and `upper` when the rate the caller allows does not
 * reach it. With `demand` (req/s over the variant), the replicas at a rate are demand / rate, and
 * the router's thinning (routedShare) counts.
 */
export function maxRateForItlShare(
  input: ItlShareInput,
  maxMissShare: number,
  upper: number,
  demand?: number,
): number {
  const model = new ItlShareModel(input);
  const meets = (rate: number) =>
    model.at(rate, demand !== undefined ? Math.max(demand / rate, 1) : 1).missShare <= maxMissShare;
  if (meets(upper)) return upper;
  let lo = upper * 1e-6;
  if (!meets(lo)) return 0;
  let hi = upper;
  for (let i = 0; i < 60 && hi - lo > 1e-3 * hi; i++) {
    const mid = Math.sqrt(lo * hi);
    if (meets(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
