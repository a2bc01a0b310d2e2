/**
 * The share of requests whose TTFT misses its target on a disaggregated variant's prefill pods,
 * from the prompts' distribution rather than their mean (docs/SIZING.md section 7). Pure.
 *
 * The mean model (lib/optimizer/disaggregated.ts) sizes the mean prompt for a fraction of the
 * target (the policy's margin). With prompts as spread as long-context chat's (coefficient of
 * variation above 1), the requests that miss are the long prompts, whose own prefill and KV
 * transfer leave little of the target for waiting, and the ones queued behind them. So:
 *
 * - The prefill pods are one M/G/c queue (the router sends each prompt to the pod with the fewest
 *   outstanding requests, close to one shared queue), a prompt of I tokens taking
 *   s(I) = ceil(I / B) gamma + delta I alone on a pod (prompts longer than the step budget B do
 *   not share a step).
 * - The wait: P(W > t) = C(c, a) exp(-t (c - a) / E[S] * 2 / (1 + cv^2)), Erlang C's probability
 *   of waiting with the exponential tail of the heavy-traffic approximation, its rate scaled by
 *   the service times' variability (Kingman; exact for exponential service).
 * - A request of I tokens misses when W > target - s(I) - transfer(I) - the decode's part.
 *   Requests that miss even without waiting (hopeless: no replica count helps them) count
 *   towards the share allowed, as they count against the attainment asked for (missShare 1%:
 *   99% of all requests within the target); the pods are sized for the rest of the share.
 *   When the hopeless alone are the share or more, the attainment asked for cannot be reached:
 *   the pods are then sized for the share of the requests that can meet the target, a bound
 *   that stays reachable, and missBudget says so (the plan's notes).
 */
import type { TokenDistribution } from '../analyzer/chunkedItl.js';

/** Erlang C: the probability that an arrival waits in an M/M/c queue with offered load a < c. */
export function erlangC(c: number, a: number): number {
  if (!(a > 0)) return 0;
  if (a >= c) return 1;
  // Erlang B by its recursion, then C from B
  let b = 1;
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  const rho = a / c;
  return b / (1 - rho + rho * b);
}

export interface PrefillTailInput {
  /** requests per second */
  readonly rate: number;
  readonly replicas: number;
  readonly input: TokenDistribution;
  /** ms one prompt of `tokens` takes alone on a prefill pod */
  readonly serviceMs: (tokens: number) => number;
  /** ms its KV takes to reach the decode pod, and the decode's wait and first step */
  readonly afterMs: (tokens: number) => number;
  /** the TTFT target as asked (no margin), ms */
  readonly ttftMs: number;
}

export interface PrefillTail {
  /** share of requests missing the target */
  readonly missShare: number;
  /** share that misses even without waiting */
  readonly hopelessShare: number;
}

/** The service times' moments over the distribution, and each prompt's slack. */
function servicePoints(p: Pick<PrefillTailInput, 'input' | 'serviceMs'>) {
  const total = p.input.weights.reduce((a, w) => a + w, 0);
  const points = p.input.values.map((tokens, i) => ({
    tokens,
    w: total > 0 ? p.input.weights[i]! / total : 0,
    service: p.serviceMs(tokens),
  }));
  const mean = points.reduce((a, x) => a + x.w * x.service, 0);
  const square = points.reduce((a, x) => a + x.w * x.service * x.service, 0);
  const cv2 = mean > 0 ? Math.max(square / (mean * mean) - 1, 0) : 0;
  return { points, mean, cv2 };
}

/** The shares of the file comment; every request misses when the pods cannot keep up. */
export function prefillTail(p: PrefillTailInput): PrefillTail {
  const { points, mean, cv2 } = servicePoints(p);
  const slack = (x: (typeof points)[number]) => p.ttftMs - x.service - p.afterMs(x.tokens);
  const hopelessShare = points.reduce((a, x) => a + (slack(x) < 0 ? x.w : 0), 0);
  const a = (p.rate / 1000) * mean;
  if (!(mean > 0) || a >= p.replicas) return { missShare: 1, hopelessShare };
  const waits = erlangC(p.replicas, a);
  const decay = ((p.replicas - a) / mean) * (2 / (1 + cv2));
  const missShare = points.reduce((acc, x) => {
    const s = slack(x);
    return acc + x.w * (s < 0 ? 1 : waits * Math.exp(-decay * s));
  }, 0);
  return { missShare, hopelessShare };
}

/**
 * The requests the prefill pods hold waiting on average at a rate they keep up with: the M/G/c
 * queue's length (Allen-Cunneen: Erlang C's, times (1 + cv^2) / 2). Prompts served one at a time
 * queue even when nothing is amiss; only what waits beyond this is a backlog. Infinity when the
 * pods cannot keep up.
 */
export function expectedWaiting(
  p: Pick<PrefillTailInput, 'rate' | 'replicas' | 'input' | 'serviceMs'>,
): number {
  const { mean, cv2 } = servicePoints(p);
  const a = (p.rate / 1000) * mean;
  if (!(a > 0)) return 0;
  if (a >= p.replicas) return Infinity;
  return ((erlangC(p.replicas, a) * a) / (p.replicas - a)) * ((1 + cv2) / 2);
}

/** The share of all requests the sizing lets miss, and whether it is the share asked for. */
export interface MissBudget {
  readonly share: number;
  /** false: the hopeless requests alone are `allowed` or more, the share is the fallback's */
  readonly reachable: boolean;
}

/**
 * The misses allowed with `allowed` asked for (see the file comment): `allowed` of all requests,
 * the hopeless included; when the hopeless alone are that many, the hopeless and `allowed` of
 * the others. Near that edge the queueing misses left to allow shrink towards none and the pods
 * asked for grow (up to the role's maxReplicas); past it they fall back.
 */
export function missBudget(tail: PrefillTail, allowed: number): MissBudget {
  if (tail.hopelessShare < allowed) return { share: allowed, reachable: true };
  return { share: tail.hopelessShare + allowed * (1 - tail.hopelessShare), reachable: false };
}

/** Whether the misses stay within the budget allowed (missBudget). */
export function tailWithin(tail: PrefillTail, allowed: number): boolean {
  return tail.missShare <= missBudget(tail, allowed).share + 1e-12;
}
