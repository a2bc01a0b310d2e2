import { solveChain } from '../../lib/analyzer/birthDeathChain.js';

/** Straightforward O(K) solution with log-space products, to check the closed-form tail against. */
function bruteForce(invMu: Float64Array, q: number, lambda: number) {
  const n = invMu.length;
  const k = n + q;
  const logP = [0];
  for (let i = 1; i <= k; i++) logP.push(logP[i - 1]! + Math.log(lambda * invMu[Math.min(i, n) - 1]!));
  const top = Math.max(...logP);
  const p = logP.map((l) => Math.exp(l - top));
  const z = p.reduce((a, b) => a + b, 0);
  let numInSystem = 0;
  let inServiceSum = 0;
  let probUpToN = 0;
  p.forEach((pi, i) => {
    numInSystem += (i * pi) / z;
    if (i <= n) {
      inServiceSum += (i * pi) / z;
      probUpToN += pi / z;
    }
  });
  return {
    numInSystem,
    numInService: inServiceSum + n * (1 - probUpToN),
    blockingProbability: p[k]! / z,
    idleProbability: p[0]! / z,
  };
}

function serviceRates(n: number, alpha: number, beta: number, prefill: number, out: number): Float64Array {
  const inv = new Float64Array(n);
  for (let k = 1; k <= n; k++) inv[k - 1] = (prefill + (out - 1) * (alpha + beta * k)) / k;
  return inv;
}

function expectClose(actual: number, expected: number, rel = 1e-9) {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(Math.abs(expected), 1e-12));
}

describe('solveChain', () => {
  it('matches M/M/1/K closed forms for a single server', () => {
    // N = 1, Q = 9: K = 10, rho = 0.8; p_k proportional to rho^k.
    const mu = 2;
    const rho = 0.8;
    const sol = solveChain(new Float64Array([1 / mu]), 9, rho * mu);
    const norm = (1 - rho ** 11) / (1 - rho);
    expectClose(sol.idleProbability, 1 / norm);
    expectClose(sol.blockingProbability, rho ** 10 / norm);
    expectClose(sol.numInService, 1 - 1 / norm);
  });

  it.each([
    [1, 0, 0.5],
    [4, 40, 0.3],
    [19, 190, 0.97],
    [64, 640, 0.999],
    [300, 3000, 0.5],
    [2000, 20000, 0.9],
    [5, 3, 0.7],
  ])('agrees with a brute-force solve (N=%i, Q=%i, load %f of mu(N))', (n, q, load) => {
    const inv = serviceRates(n, 20, 0.4, 150, 512);
    const lambda = (load * 1) / inv[n - 1]!;
    const fast = solveChain(inv, q, lambda);
    const slow = bruteForce(inv, q, lambda);
    expectClose(fast.numInSystem, slow.numInSystem, 1e-8);
    expectClose(fast.numInService, slow.numInService, 1e-8);
    expectClose(fast.blockingProbability, slow.blockingProbability, 1e-7);
    expect(Number.isFinite(fast.numInSystem)).toBe(true);
  });

  it('stays finite when the unnormalised probabilities would overflow', () => {
    // mu(1) is tiny next to mu(N): the products p_k reach far beyond 1e308 before normalising.
    const inv = serviceRates(3000, 10, 0.001, 0, 2000);
    const lambda = 0.99 / inv[2999]!;
    const sol = solveChain(inv, 30000, lambda);
    expect(Number.isFinite(sol.numInSystem)).toBe(true);
    expect(sol.numInService).toBeGreaterThan(0);
    expect(sol.numInService).toBeLessThanOrEqual(3000);
    const slow = bruteForce(inv, 30000, lambda);
    expectClose(sol.numInSystem, slow.numInSystem, 1e-7);
  });
});
