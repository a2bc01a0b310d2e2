/**
 * Stationary solution of one replica's birth-death chain on states 0..N+Q: arrivals at rate
 * lambda, service at rate mu(k) for k <= N and mu(N) above (ALGORITHM.md section 2).
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

/**
 * Solves the chain for arrival rate `lambda` (requests per ms).
 * `maxQueue` is Q, the number of waiting places above the batch.
 */
export function solveChain(invMu: InverseServiceRates, maxQueue: number, lambda: number): ChainSolution {
  const batch = invMu.length;
  // Unnormalised probabilities with p_0 = 1; s0 = sum p_k, s1 = sum k p_k over k = 0..N.
  let p = 1;
  let p0 = 1;
  let s0 = 1;
  let s1 = 0;
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
  }
  const pN = p;
  const r = lambda * invMu[batch - 1]!;
  const { sum: g0, weightedSum: g1, last: rQ } = geometricTail(r, maxQueue);
  // Tail k = N + j, j = 1..Q: p_k = pN r^j.
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
 * sum_{j=1..q} r^j, sum_{j=1..q} j r^j and r^q, for 0 < r.
 * The closed forms lose precision when q * |ln r| is small (their numerators cancel), so
 * that case is summed term by term; it only arises for short queues or rates next to mu(N).
 */
function geometricTail(r: number, q: number): { sum: number; weightedSum: number; last: number } {
  if (q <= 0) return { sum: 0, weightedSum: 0, last: 1 };
  const logR = Math.log(r);
  if (q <= 64 || Math.abs(q * logR) < 4) {
    let term = 1;
    let sum = 0;
    let weightedSum = 0;
    for (let j = 1; j <= q; j++) {
      term *= r;
      sum += term;
      weightedSum += j * term;
    }
    return { sum, weightedSum, last: term };
  }
  const rQ = Math.exp(q * logR);
  const oneMinusR = -Math.expm1(logR);
  const sum = (r * (1 - rQ)) / oneMinusR;
  const weightedSum = (r * (1 - (q + 1) * rQ + q * rQ * r)) / (oneMinusR * oneMinusR);
  return { sum, weightedSum, last: rQ };
}
