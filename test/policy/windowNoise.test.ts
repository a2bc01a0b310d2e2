/**
 * The window's recommendations less the rate's sampling noise (policy.windowNoise): the expected
 * largest of N standard normals, the Poisson standard error of a counted rate, and the replicas a
 * recommendation is held at once that much is taken off its measured rate.
 */
import type { Demand } from '../../lib/policy/demand.js';
import {
  describeLessNoise,
  expectedLargestNormal,
  noiseStandardErrors,
  rateStandardError,
  replicasLessNoise,
} from '../../lib/policy/windowNoise.js';

const demand = (measured: number, extra: Partial<Demand> = {}): Demand => ({
  rate: measured + (extra.backlogRate ?? 0) + (extra.forecastRate ?? 0),
  measured,
  backlogRate: 0,
  forecastRate: 0,
  leadSeconds: 120,
  inputTokens: 512,
  outputTokens: 128,
  driver: 'load',
  ...extra,
});
// a 1,620-s window of 60-s rates: 27 of them
const WINDOW = { rateWindowSeconds: 60, holdSeconds: 1620 };

describe('the expected largest of n standard normals', () => {
  it("is within 0.02 of the tabulated means of the top order statistic (Harter's tables)", () => {
    const tabulated: [number, number][] = [
      [5, 1.16296],
      [10, 1.53875],
      [20, 1.86748],
      [30, 2.04276],
      [100, 2.50759],
    ];
    for (const [n, mean] of tabulated) expect(Math.abs(expectedLargestNormal(n) - mean)).toBeLessThan(0.02);
  });

  it('is zero for one sample or fewer (the largest of one is the sample)', () => {
    expect(expectedLargestNormal(1)).toBe(0);
    expect(expectedLargestNormal(0.5)).toBe(0);
    expect(expectedLargestNormal(Number.NaN)).toBe(0);
  });

  it('grows with n, about as sqrt(2 ln n) from below', () => {
    const xs = [2, 5, 27, 60, 200].map(expectedLargestNormal);
    for (let i = 1; i < xs.length; i++) expect(xs[i]!).toBeGreaterThan(xs[i - 1]!);
    for (const n of [27, 60, 200]) expect(expectedLargestNormal(n)).toBeLessThan(Math.sqrt(2 * Math.log(n)));
  });
});

describe("a counted rate's noise", () => {
  it('is sqrt(count) / window', () => {
    // 300 requests in 60 s: 5 req/s, off by sqrt(300) / 60
    expect(rateStandardError(5, 60)).toBeCloseTo(Math.sqrt(300) / 60, 12);
    expect(rateStandardError(0, 60)).toBe(0);
    expect(rateStandardError(5, 0)).toBe(0);
  });

  it('is taken off as the largest of the windows the stabilisation window holds', () => {
    expect(noiseStandardErrors(WINDOW)).toBeCloseTo(expectedLargestNormal(27), 12);
    // a window no longer than one rate window holds one count: nothing to take off
    expect(noiseStandardErrors({ rateWindowSeconds: 60, holdSeconds: 60 })).toBe(0);
    expect(noiseStandardErrors({ rateWindowSeconds: 0, holdSeconds: 600 })).toBe(0);
  });
});

describe('the replicas a recommendation is held at', () => {
  const z = expectedLargestNormal(27);

  it('one fewer where the count less its noise needs one fewer at the rate per replica', () => {
    // 3.2 req/s at 1 req/s per replica: 4 replicas; less ~2 standard errors (0.23 each) it needs 3
    const held = replicasLessNoise(demand(3.2), 4, 1, 1, WINDOW);
    expect(held.replicas).toBe(3);
    expect(held.rate).toBeCloseTo(3.2 - z * Math.sqrt(3.2 / 60), 12);
    expect(held.standardErrors).toBeCloseTo(z, 12);
  });

  it('all of it where the count stands out of its noise', () => {
    // 3.9 req/s less its noise is still above 3
    expect(replicasLessNoise(demand(3.9), 4, 1, 1, WINDOW).replicas).toBe(4);
  });

  it('keeps the backlog and the forecast as they were', () => {
    // 3.2 + 1 forecast: 5 replicas; 2.74 + 1: 4
    expect(replicasLessNoise(demand(3.2, { forecastRate: 1 }), 5, 1, 1, WINDOW).replicas).toBe(4);
    expect(replicasLessNoise(demand(3.2, { backlogRate: 0.85 }), 5, 1, 1, WINDOW).replicas).toBe(4);
  });

  it('takes off only the replicas the noise asked for, where the optimizer asked more than the rate alone', () => {
    expect(replicasLessNoise(demand(3.2), 6, 1, 1, WINDOW).replicas).toBe(5);
  });

  it('never below the minimum, never above the recommendation', () => {
    expect(replicasLessNoise(demand(0.5), 1, 1, 1, WINDOW).replicas).toBe(1);
    expect(replicasLessNoise(demand(3.2), 4, 1, 4, WINDOW).replicas).toBe(4);
    // a recommendation below the rate's need (capped elsewhere) is not raised
    expect(replicasLessNoise(demand(3.2), 2, 1, 1, WINDOW).replicas).toBe(2);
  });

  it('all of it where the rate per replica is unknown or nothing was counted', () => {
    expect(replicasLessNoise(demand(3.2), 4, undefined, 1, WINDOW)).toEqual({
      replicas: 4,
      rate: 3.2,
      standardErrors: 0,
    });
    expect(replicasLessNoise(demand(0), 1, 1, 0, WINDOW).replicas).toBe(1);
    expect(replicasLessNoise(demand(3.2), 4, 1, 1, { rateWindowSeconds: 60, holdSeconds: 60 }).replicas).toBe(
      4,
    );
  });

  it('says what it takes off', () => {
    expect(describeLessNoise(WINDOW)).toBe(
      `earlier recommendations held on their arrival rate less ${z.toFixed(2)} standard errors of its count (the expected largest of 27 60 s rates)`,
    );
  });
});
