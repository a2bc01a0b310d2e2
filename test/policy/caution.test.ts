/** Caution learnt: the rise of demand within a lead time, its statistics and the cautious factor. */
import { cautiousRise, normalCdf, updateRise, type RiseStats } from '../../lib/policy/caution.js';

const ctx = (now: number, measured: number) => ({
  now,
  measured,
  leadSeconds: 300,
  windowSeconds: 60,
  halfLifeSeconds: 3600,
});

describe('updateRise', () => {
  it('takes the highest rate in the lead time after the newest point a lead time ago', () => {
    const history = [
      { t: 0, rate: 1 },
      { t: 100, rate: 2 }, // the origin: newest at or before 400 - 300
      { t: 200, rate: 5 },
      { t: 300, rate: 3 },
    ];
    const s = updateRise(undefined, history, ctx(400, 4))!;
    // resolution 1/60 req/s: log((5 + 1/60) / (2 + 1/60))
    expect(s.mean).toBeCloseTo(Math.log((5 + 1 / 60) / (2 + 1 / 60)), 12);
    expect(s.weight).toBe(1);
    expect(s.t).toBe(400);
  });

  it('learns nothing until the history reaches a lead time back, and once per instant', () => {
    expect(updateRise(undefined, [{ t: 200, rate: 1 }], ctx(400, 1))).toBeUndefined();
    const prev: RiseStats = { mean: 0.1, variance: 0.01, weight: 5, t: 400 };
    expect(updateRise(prev, [{ t: 0, rate: 1 }], ctx(400, 9))).toBe(prev);
  });

  it('keeps a weighted mean and variance, older samples decaying', () => {
    let s: RiseStats | undefined;
    const history = [{ t: 0, rate: 1 }];
    // alternating rises x1 and x4 (measured now is the highest since the origin)
    for (let i = 1; i <= 400; i++) s = updateRise(s, history, ctx(300 + i * 30, i % 2 ? 1 : 4));
    const r = (x: number) => Math.log((x + 1 / 60) / (1 + 1 / 60));
    expect(s!.mean).toBeCloseTo((r(1) + r(4)) / 2, 1);
    expect(Math.sqrt(s!.variance)).toBeCloseTo(r(4) / 2, 1);
    // the weight is the decayed count: sum of d^k over the 400 samples, d = 0.5^(30/3600)
    const d = 0.5 ** (30 / 3600);
    expect(s!.weight).toBeCloseTo((1 - d ** 400) / (1 - d), 6);
  });
});

describe('normalCdf', () => {
  it('is the standard normal distribution function', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(2.326348)).toBeCloseTo(0.99, 6);
    expect(normalCdf(-1.959964)).toBeCloseTo(0.025, 6);
  });
});

describe('cautiousRise', () => {
  it('keeps for the rise above which the demand expected is missShare of all', () => {
    const s: RiseStats = { mean: 0.1, variance: 0.04, weight: 20, t: 0 };
    const k = cautiousRise(s, 0.01, 10)!;
    // the share of demand above k, by numerical integration over the log-normal rise
    let above = 0;
    let all = 0;
    for (let z = -10; z <= 10; z += 0.0005) {
      const r = Math.exp(0.1 + 0.2 * z);
      const density = Math.exp(-(z * z) / 2);
      above += Math.max(r - k, 0) * density;
      all += r * density;
    }
    expect(above / all).toBeCloseTo(0.01, 4);
    // less than the rise's own 99% quantile: a rise beyond k costs the requests above it only
    expect(k).toBeLessThan(Math.exp(0.1 + 2.326348 * 0.2));
    expect(k).toBeGreaterThan(Math.exp(0.1));
  });

  it('is 1 when rises are rare enough, and undefined before enough has been seen', () => {
    expect(cautiousRise({ mean: -2, variance: 0.01, weight: 20, t: 0 }, 0.01, 10)).toBe(1);
    expect(cautiousRise({ mean: 0.3, variance: 0, weight: 20, t: 0 }, 0.01, 10)).toBeCloseTo(
      Math.exp(0.3),
      12,
    );
    expect(cautiousRise({ mean: 0.1, variance: 0.04, weight: 20, t: 0 }, 0.01, 30)).toBeUndefined();
    expect(cautiousRise(undefined, 0.01, 1)).toBeUndefined();
  });
});
