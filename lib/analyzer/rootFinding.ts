/**
 * Largest x in [lo, hi] with g(x) <= 0, for g continuous and increasing with g(lo) < 0 < g(hi).
 *
 * The reference bisects 100 times in float32. The Illinois variant of regula falsi reaches
 * a 1e-10 relative bracket in a handful of evaluations on these smooth latency curves; a
 * bisection step is forced whenever the bracket stops halving, so it never does worse than
 * bisection, and the iteration count is bounded so it can never hang.
 */
export interface Crossing {
  readonly x: number;
  readonly evaluations: number;
}

const MAX_ITERATIONS = 200;

export function findCrossing(
  g: (x: number) => number,
  lo: number,
  glo: number,
  hi: number,
  ghi: number,
  relTolerance = 1e-10,
): Crossing {
  let evaluations = 0;
  let retained: -1 | 0 | 1 = 0;
  let slowSteps = 0;
  for (let i = 0; i < MAX_ITERATIONS && hi - lo > relTolerance * hi; i++) {
    const width = hi - lo;
    let x = slowSteps >= 2 ? 0.5 * (lo + hi) : (lo * ghi - hi * glo) / (ghi - glo);
    if (!(x > lo && x < hi)) x = 0.5 * (lo + hi);
    const gx = g(x);
    evaluations++;
    if (gx === 0) return { x, evaluations };
    if (gx < 0) {
      lo = x;
      glo = gx;
      if (retained === -1) ghi /= 2;
      retained = -1;
    } else {
      hi = x;
      ghi = gx;
      if (retained === 1) glo /= 2;
      retained = 1;
    }
    slowSteps = hi - lo > 0.5 * width ? slowSteps + 1 : 0;
  }
  return { x: lo, evaluations };
}
