/**
 * The window's recommendations less the rate's sampling noise (policy.windowNoise): the expected
 * largest of N standard normals, the Poisson standard error of a counted rate, and the replicas a
 * recommendation is held at once that much is taken off its measured rate.
 */
import type { Demand } from '../../lib/policy/demand.js';
import {
  describeLessNoise,
  expectedLargestNormal,
  noiseInHighest,
  noiseStandardErrors,
  rateStandardError,
  replicasLessNoise,
} from '../../lib/policy/windowNoise.js';
import { mulberry32 } from '../../lib/fleetSimulator/index.js';

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
  // the whole Poisson error of 3.2 req/s over 60 s, as the largest of 27 rates
  const N = z * rateStandardError(3.2, 60);

  it('one fewer where the count less its noise needs one fewer at the rate per replica', () => {
    // 3.2 req/s at 1 req/s per replica: 4 replicas; less ~2 standard errors (0.23 each) it needs 3
    const held = replicasLessNoise(demand(3.2), 4, 1, 1, N);
    expect(held.replicas).toBe(3);
    expect(held.rate).toBeCloseTo(3.2 - z * Math.sqrt(3.2 / 60), 12);
    expect(held.noise).toBeCloseTo(N, 12);
  });

  it('all of it where the count stands out of its noise', () => {
    // 3.9 req/s less its noise is still above 3
    expect(replicasLessNoise(demand(3.9), 4, 1, 1, z * rateStandardError(3.9, 60)).replicas).toBe(4);
  });

  it('keeps the backlog and the forecast as they were', () => {
    // 3.2 + 1 forecast: 5 replicas; 2.74 + 1: 4
    expect(replicasLessNoise(demand(3.2, { forecastRate: 1 }), 5, 1, 1, N).replicas).toBe(4);
    expect(replicasLessNoise(demand(3.2, { backlogRate: 0.85 }), 5, 1, 1, N).replicas).toBe(4);
  });

  it('takes off only the replicas the noise asked for, where the optimizer asked more than the rate alone', () => {
    expect(replicasLessNoise(demand(3.2), 6, 1, 1, N).replicas).toBe(5);
  });

  it('never below the minimum, never above the recommendation', () => {
    expect(replicasLessNoise(demand(0.5), 1, 1, 1, z * rateStandardError(0.5, 60)).replicas).toBe(1);
    expect(replicasLessNoise(demand(3.2), 4, 1, 4, N).replicas).toBe(4);
    // a recommendation below the rate's need (capped elsewhere) is not raised
    expect(replicasLessNoise(demand(3.2), 2, 1, 1, N).replicas).toBe(2);
  });

  it('all of it where the rate per replica is unknown or nothing was counted', () => {
    expect(replicasLessNoise(demand(3.2), 4, undefined, 1, N)).toEqual({ replicas: 4, rate: 3.2, noise: 0 });
    expect(replicasLessNoise(demand(0), 1, 1, 0, 0.3).replicas).toBe(1);
    expect(replicasLessNoise(demand(3.2), 4, 1, 1, 0).replicas).toBe(4);
  });

  it('says what it takes off', () => {
    expect(describeLessNoise(WINDOW, 'poisson')).toBe(
      `earlier recommendations held on their arrival rate less ${z.toFixed(2)} standard errors of its count (the expected largest of 27 60 s rates)`,
    );
    expect(describeLessNoise(WINDOW, 'measured')).toBe(
      `earlier recommendations held on their arrival rate less what the count's noise adds to the highest of rates spread as the window's (up to ${z.toFixed(2)} standard errors) (the expected largest of 27 60 s rates)`,
    );
  });
});

describe("what the noise adds to the window's highest rate", () => {
  const z = expectedLargestNormal(27);
  const poissonRates = (rate: (i: number) => number, n: number, seed = 7) => {
    // counts of a Poisson process over 60 s (by exponential gaps), as rates
    const random = mulberry32(seed);
    return Array.from({ length: n }, (_, i) => {
      let t = -Math.log(1 - random()) / rate(i);
      let count = 0;
      while (t < 60) {
        count++;
        t += -Math.log(1 - random()) / rate(i);
      }
      return count / 60;
    });
  };

  it('poisson: z standard errors of the rate, whatever the spread', () => {
    expect(noiseInHighest(5, [1, 9, 5], WINDOW, 'poisson')).toBeCloseTo(z * rateStandardError(5, 60), 12);
  });

  it('measured, on steady demand: about the whole of it (the spread is the noise)', () => {
    const rates = poissonRates(() => 5, 400);
    const noise = noiseInHighest(5, rates, WINDOW, 'measured');
    // the spread of 400 Poisson counts is their standard error within a few percent; the
    // demand's part estimated from it is small, so the noise is most of z standard errors
    expect(noise).toBeGreaterThan(0.6 * z * rateStandardError(5, 60));
    expect(noise).toBeLessThanOrEqual(z * rateStandardError(5, 60) * 1.1);
  });

  it('measured, on demand that swings: a small part, as z (sigma_T - sigma_D)', () => {
    // demand alternating between 2 and 8 req/s each minute: the spread is mostly demand's
    const rates = poissonRates((i) => (i % 2 ? 8 : 2), 400);
    const noise = noiseInHighest(5, rates, WINDOW, 'measured');
    const mean = rates.reduce((a, x) => a + x, 0) / rates.length;
    const total = Math.sqrt(rates.reduce((a, x) => a + (x - mean) ** 2, 0) / (rates.length - 1));
    const poisson = rateStandardError(mean, 60);
    expect(noise).toBeCloseTo(z * (total - Math.sqrt(total ** 2 - poisson ** 2)), 12);
    // sigma_T ~ 3, sigma_N ~ 0.29: the noise adds about z sigma_N^2 / (2 sigma_T), a twentieth
    expect(noise).toBeLessThan(0.1 * z * poisson);
    expect(noise).toBeGreaterThan(0);
  });

  it('measured: nothing before three rates, all of the spread where it is below the noise', () => {
    expect(noiseInHighest(5, [5, 6], WINDOW, 'measured')).toBe(0);
    // three rates closer than Poisson counts would be: the demand's part is none
    expect(noiseInHighest(5, [5, 5.01, 5.02], WINDOW, 'measured')).toBeCloseTo(z * 0.01, 9);
  });
});
