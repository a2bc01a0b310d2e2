import { bursts, diurnal, mulberry32, poisson, step } from '../../lib/fleetSimulator/index.js';

const tokens = { inputTokens: 100, outputTokens: { mean: 50, dist: 'exp' as const } };

function countIn(arrivals: readonly { arrival: number }[], from: number, to: number): number {
  return arrivals.filter((r) => r.arrival >= from && r.arrival < to).length;
}

describe('synthetic traces', () => {
  test('mulberry32 is deterministic and uniform-looking', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.49);
    expect(mean).toBeLessThan(0.51);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });

  test('poisson: count near rate x duration, sorted, same seed same trace', () => {
    const trace = poisson({ rate: 10, duration: 1000, seed: 3, ...tokens });
    const n = trace.requests.length;
    expect(Math.abs(n - 10_000)).toBeLessThan(5 * Math.sqrt(10_000));
    const arrivals = trace.requests.map((r) => r.arrival);
    expect(arrivals).toEqual([...arrivals].sort((x, y) => x - y));
    expect(arrivals.every((t) => t >= 0 && t < 1000)).toBe(true);
    expect(poisson({ rate: 10, duration: 1000, seed: 3, ...tokens })).toEqual(trace);
    expect(poisson({ rate: 10, duration: 1000, seed: 4, ...tokens }).requests[0]).not.toEqual(
      trace.requests[0],
    );
    const meanOutput = trace.requests.reduce((s, r) => s + r.outputTokens, 0) / n;
    expect(Math.abs(meanOutput - 50)).toBeLessThan(2);
    expect(trace.requests.every((r) => r.inputTokens === 100 && r.outputTokens >= 1)).toBe(true);
  });

  test('token sizes do not shift arrival times', () => {
    const a = poisson({ rate: 5, duration: 100, seed: 9, inputTokens: 1, outputTokens: 1 });
    const b = poisson({ rate: 5, duration: 100, seed: 9, ...tokens });
    expect(b.requests.map((r) => r.arrival)).toEqual(a.requests.map((r) => r.arrival));
  });

  test('step changes the rate at `at`', () => {
    const trace = step({ rateBefore: 2, rateAfter: 20, at: 500, duration: 1000, seed: 1, ...tokens });
    const before = countIn(trace.requests, 0, 500);
    const after = countIn(trace.requests, 500, 1000);
    expect(Math.abs(before - 1000)).toBeLessThan(5 * Math.sqrt(1000));
    expect(Math.abs(after - 10_000)).toBeLessThan(5 * Math.sqrt(10_000));
  });

  test('bursts come every burstEvery seconds for burstLength seconds', () => {
    const trace = bursts({
      baseRate: 1,
      burstRate: 50,
      burstEvery: 100,
      burstLength: 10,
      duration: 1000,
      seed: 2,
      ...tokens,
    });
    const inBursts = [100, 200, 300, 400, 500, 600, 700, 800, 900].reduce(
      (s, t) => s + countIn(trace.requests, t, t + 10),
      0,
    );
    expect(Math.abs(inBursts - 9 * 10 * 50)).toBeLessThan(5 * Math.sqrt(4500));
    expect(countIn(trace.requests, 0, 100)).toBeLessThan(100 + 5 * 10);
  });

  test('diurnal starts at the base rate and peaks at half the period', () => {
    const trace = diurnal({ baseRate: 1, peakRate: 21, period: 2000, duration: 2000, seed: 5, ...tokens });
    const early = countIn(trace.requests, 0, 100); // mean rate about 1.3
    const peak = countIn(trace.requests, 950, 1050); // about 21
    expect(early).toBeLessThan(250);
    expect(peak).toBeGreaterThan(1800);
    // integral of the rate over one period: (base + peak) / 2 * period
    expect(Math.abs(trace.requests.length - 22_000)).toBeLessThan(5 * Math.sqrt(22_000));
  });

  test('invalid options are rejected', () => {
    expect(() => poisson({ rate: -1, duration: 10, ...tokens })).toThrow(/rate must be >= 0/);
    expect(() => poisson({ rate: 1, duration: 10, inputTokens: 1.5, outputTokens: 1 })).toThrow(
      /inputTokens/,
    );
    expect(() =>
      poisson({ rate: 1, duration: 10, inputTokens: 1, outputTokens: { mean: 0.5, dist: 'exp' } }),
    ).toThrow(/outputTokens mean must be >= 1/);
  });
});
