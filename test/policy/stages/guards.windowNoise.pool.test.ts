/**
 * The window less the rate's sampling noise (policy.windowNoise): earlier recommendations are
 * held sized on their measured rate less the expected largest sampling error over the window; the
 * recommendation of the moment is not lowered.
 */
import { expectedLargestNormal, noiseInHighest } from '../../../lib/policy/windowNoise.js';
import { deployment, poolConfig, ratePerReplica, Session, T0 } from '../helpers.js';

const at = (i: number) => T0 + 30 * i;
const config = (enabled: boolean, variation = 'poisson') =>
  poolConfig({
    policy: { stabilizationWindowSeconds: 300, ...(enabled ? { windowNoise: { enabled, variation } } : {}) },
  });
const on = config(true);
const off = config(false);
const measured = config(true, 'measured');
const r = ratePerReplica(off);
// five 60-s rates in the 300-s window
const z = expectedLargestNormal(5);
const lessNoise = (rate: number) => Math.ceil((rate - z * Math.sqrt(rate / 60)) / r - 1e-9);

/** a whole window at 2.5 r* (3 replicas), one evaluation at `peak`, then 2.5 r* again */
function peakThenSteady(c: ReturnType<typeof config>, peak: number) {
  const s = new Session(c, [deployment('L4', 3)]);
  let i = 0;
  for (; i <= 10; i++) s.run(at(i), 2.5 * r);
  const top = s.run(at(i++), peak);
  const after: number[] = [];
  for (let k = 0; k < 12; k++) after.push(s.run(at(i++), 2.5 * r).targetReplicas);
  return { s, top, after };
}

describe('the window less the sampling noise', () => {
  it('does not hold a count above the next replica by less than its noise', () => {
    // just beyond 3 replicas' rate: 4 as counted, 3 less its noise
    const peak = 3 * r + 0.5 * z * Math.sqrt((3 * r) / 60);
    expect(Math.ceil(peak / r - 1e-9)).toBe(4);
    expect(lessNoise(peak)).toBe(3);
    const plain = peakThenSteady(off, peak);
    const noise = peakThenSteady(on, peak);
    // the moment's recommendation is not lowered: both scale up to 4
    expect(plain.top.targetReplicas).toBe(4);
    expect(noise.top.targetReplicas).toBe(4);
    // the plain window holds the 4 for its 300 s; less its noise, the count holds 3 at once
    expect(plain.after.slice(0, 9)).toEqual(Array(9).fill(4));
    expect(noise.after).toEqual(Array(12).fill(3));
  });

  it('holds a real peak, less its noise, and says so', () => {
    const peak = 5.05 * r;
    const held = lessNoise(peak);
    expect(Math.ceil(peak / r - 1e-9)).toBe(6);
    expect(held).toBeLessThan(6);
    expect(held).toBeGreaterThan(3);
    const plain = peakThenSteady(off, peak);
    const noise = peakThenSteady(on, peak);
    expect(noise.top.targetReplicas).toBe(6);
    expect(plain.after.slice(0, 9)).toEqual(Array(9).fill(6));
    expect(noise.after.slice(0, 9)).toEqual(Array(9).fill(held));
    // the window passes: down to what the steady rate asks
    expect(noise.after.at(-1)).toBe(3);
    expect(plain.after.at(-1)).toBe(3);
    const why = noise.s.steps.at(-12)!.decision;
    expect(why.reason).toBe('stabilization');
    expect(why.message).toContain(
      `held by the 300 s window (recommended 3); earlier recommendations held on their arrival rate less ${z.toFixed(2)} standard errors of its count (the expected largest of 5 60 s rates)`,
    );
  });

  it("measured: takes off only what the noise adds to the spread the window's rates show", () => {
    // ten evaluations at 2.5 r* in the window, then 5.05 r*: a spread far beyond the count's noise
    const peak = 5.05 * r;
    const rates = [...Array(10).fill(2.5 * r), peak];
    const noise = noiseInHighest(peak, rates, { rateWindowSeconds: 60, holdSeconds: 300 }, 'measured');
    expect(noise).toBeGreaterThan(0);
    expect(noise).toBeLessThan(0.2 * z * Math.sqrt(peak / 60));
    const held = peakThenSteady(measured, peak);
    // the peak stands out of its noise: held in full, where 'poisson' held one fewer
    expect(Math.ceil((peak - noise) / r - 1e-9)).toBe(6);
    expect(held.after.slice(0, 9)).toEqual(Array(9).fill(6));
    expect(held.s.memory.variants['llm/chat']!.recommendations.at(-1)!.arrivals).toBeCloseTo(2.5 * r, 9);
  });

  it('is off by default: the window holds the recommendations as they were', () => {
    expect(off.policy.windowNoise.enabled).toBe(false);
    const plain = peakThenSteady(off, 3 * r + 0.5 * z * Math.sqrt((3 * r) / 60));
    expect(plain.s.memory.variants['llm/chat']!.recommendations.some((e) => e.lessNoise !== undefined)).toBe(
      false,
    );
  });
});
