/**
 * Stationary solution of one replica's birth-death chain on states 0..N+Q: arrivals at rate
 * lambda, service at rate mu(k) for k <= N and mu(N) above (docs/SIZING.md section 2).
 *
 * States above N share one service rate, so their probabilities form a geometric series
 * p_N * r^j with r = lambda / mu(N). Summing that tail in closed form makes a solve cost O(N)
 * instead of O(N + Q) = O(11 N), which is most of the optimizer's run time.
 */

/** Inverse service rates 1/mu(k) in ms per request, k = 1..N, at index k - 1. */
export type InverseServiceRates = Float64Array;

export interface ChainSolution {
  /** mean number of requests in the replica (queued + in service) */
  readonly numInSystem: number;
  /** mean number of requests in service (in the batch) */
  readonly numInService: number;
  /** probability that the replica is full and turns an arrival away */
  readonly blockingProbability: number;
  /** probability that the replica is empty */
  readonly idleProbability: number;
}

// Rescale running products before they overflow; 1e200 leaves ample headroom for one more factor.
const RESCALE_ABOVE = 1e200;
const RESCALE_BY = 1e-200;

/** A remainder below this share of the sums is dropped: past double precision, it cannot change them. */
const NEGLIGIBLE = 1e-17;

/**
 * Solves the chain for arrival rate `lambda` (requests per ms).
 * `maxQueue` is Q, the number of waiting places above the batch. `invMu` must be
 * non-increasing (a batch serves each request at least as fast per request as a smaller one
 * serves it in total, which S(n)/n of our profiles always is): then once the ratio
 * lambda/mu(k) is below 1, every later term shrinks at least geometrically, and the loop stops
 * as soon as what is left is negligible — at light load after a handful of states.
 */
export function solveChain(invMu: InverseServiceRates, maxQueue: number, lambda: number): ChainSolution {
  const batch = invMu.length;
  // Unnormalised probabilities with p_0 = 1; s0 = sum p_k, s1 = sum k p_k over k = 0..N.
  let p = 1;
  let p0 = 1;
  let s0 = 1;
  let s1 = 0;
  const maxState = batch + maxQueue;
  for (let k = 1; k <= batch; k++) {
    p *= lambda * invMu[k - 1]!;
    s0 += p;
    s1 += k * p;
    if (p > RESCALE_ABOVE) {
      p *= RESCALE_BY;
      s0 *= RESCALE_BY;
      s1 *= RESCALE_BY;
      p0 *= RESCALE_BY;
    }
    const next = k < batch ? lambda * invMu[k]! : 1;
    if (next < 1) {
      const rest = (p * next) / (1 - next);
      if (rest < NEGLIGIBLE * s0 && rest * maxState < NEGLIGIBLE * s1) {
        return {
          numInSystem: s1 / s0,
          numInService: s1 / s0,
          blockingProbability: 0,
          idleProbability: p0 / s0,
        };
      }
    }
  }
  const pN = p;
  const r = lambda * invMu[batch - 1]!;
  // Tail k = N + j, j = 1..Q: p_k = pN r^j.
  const g0 = geometricSum(r, maxQueue);
  const g1 = geometricWeightedSum(r, maxQueue);
  const rQ = Math.pow(r, maxQueue);
  const tail0 = pN * g0;
  const tail1 = pN * (batch * g0 + g1);
  const total = s0 + tail0;
  return {
    numInSystem: (s1 + tail1) / total,
    numInService: (s1 + batch * tail0) / total,
    blockingProbability: (pN * rQ) / total,
    idleProbability: p0 / total,
  };
}

/**
 * sum_{j=1..q} r^j and sum_{j=1..q} j r^j, for 0 < r. The closed forms lose precision when
 * q * |ln r| is small (their numerators cancel), so that case is summed term by term; it only
 * arises for short queues or rates next to mu(N).
 */
function closedFormUnsafe(r: number, q: number): boolean {
  return q <= 64 || Math.abs(q * Math.log(r)) < 4;
}

function geometricSum(r: number, q: number): number {
  if (q <= 0) return 0;
  if (closedFormUnsafe(r, q)) {
    let term = 1;
    let sum = 0;
    for (let j = 1; j <= q; j++) sum += term *= r;
    return sum;
  }
  return (r * -Math.expm1(q * Math.log(r))) / -Math.expm1(Math.log(r));
}

function geometricWeightedSum(r: number, q: number): number {
  if (q <= 0) return 0;
  if (closedFormUnsafe(r, q)) {
    let term = 1;
    let sum = 0;
    for (let j = 1; j <= q; j++) sum += j * (term *= r);
    return sum;
  }
  const rQ = Math.pow(r, q);
  const oneMinusR = -Math.expm1(Math.log(r));
  return (r * (1 - (q + 1) * rQ + q * rQ * r)) / (oneMinusR * oneMinusR);
}
