/**
 * The noise in what the window holds, measured on traces (bench/policies/arrivalNoise.ts): rates
 * counted as the policy counts them, the spread of counts beyond Poisson, and the highest rate of
 * a window above its mean.
 */
import { arrivalNoise, countedRates, localDispersion } from '../../bench/policies/arrivalNoise.js';
import { mulberry32 } from '../../lib/fleetSimulator/index.js';

const S = { rateWindowSeconds: 60, intervalSeconds: 30, holdSeconds: 600 };

function poisson(rate: (t: number) => number, seconds: number, seed = 3): number[] {
  const random = mulberry32(seed);
  const out: number[] = [];
  // thinning at the highest rate, 20 req/s
  for (let t = -Math.log(1 - random()) / 20; t < seconds; t += -Math.log(1 - random()) / 20)
    if (random() < rate(t) / 20) out.push(t);
  return out;
}

describe('arrival noise on traces', () => {
  it('counts the arrivals of the last rate window at every interval', () => {
    // one arrival a second: 60 in every window
    const arrivals = Array.from({ length: 300 }, (_, i) => i + 0.5);
    expect(countedRates(arrivals, 300, S)).toEqual(Array(9).fill(1));
    // at 60 s: [0, 60) holds 10; at 90 s and 120 s: 70 and 71
    expect(countedRates([10, 70, 71], 120, S)).toEqual([1 / 60, 2 / 60, 2 / 60]);
  });

  it('finds Poisson counts spread as Poisson (variance over mean about 1) and a window high about 2 SEs', () => {
    const a = poisson(() => 5, 40_000);
    const n = arrivalNoise(a, 40_000, S);
    expect(n.dispersion).toBeGreaterThan(0.8);
    expect(n.dispersion).toBeLessThan(1.25);
    // ten 60-s rates a window: the expected largest of 10 standard normals is 1.54; 20 overlapping counts a bit more
    expect(n.highestAbove.standardErrors).toBeGreaterThan(1.2);
    expect(n.highestAbove.standardErrors).toBeLessThan(2.3);
    expect(n.poissonHighestAbove).toBeGreaterThan(1.2);
    expect(n.poissonHighestAbove).toBeLessThan(2.3);
    // on steady demand most of the spread is noise: the measured share near the Poisson one
    expect(n.noiseShare.measured).toBeGreaterThan(0.4 * n.noiseShare.poisson);
  });

  it('finds demand that swings minute by minute spread far beyond Poisson, the noise a small part of its high', () => {
    const a = poisson((t) => (Math.floor(t / 60) % 2 ? 8 : 2), 40_000);
    const n = arrivalNoise(a, 40_000, S);
    expect(n.dispersion).toBeGreaterThan(20);
    expect(n.highestAbove.standardErrors).toBeGreaterThan(4);
    expect(n.noiseShare.measured).toBeLessThan(0.2 * n.noiseShare.poisson);
  });

  it('computes the spread against a centred level of ten counts', () => {
    expect(localDispersion(Array(20).fill(7))).toBe(0);
    // one count of 17 among 7s (21 counts, 11 measured, positions 5..15): at the 17 its level is
    // 7, off by 10; at the ten others the 17 is among their ten: level 8, off by 1
    const counts = [...Array(10).fill(7), 17, ...Array(10).fill(7)];
    expect(localDispersion(counts)).toBeCloseTo((100 + 10 * 1) / (7 + 10 * 8), 12);
  });
});
