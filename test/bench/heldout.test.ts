/**
 * The held-out workloads' transformations (bench/heldout): seeded, shape-keeping where they say
 * so, and the reasoning outputs long, bimodal and within the context.
 */
import { mulberry32 } from '../../lib/fleetSimulator/random.js';
import type { TraceRequest } from '../../lib/fleetSimulator/traces.js';
import { gpuWork, reasoningOutputs, workRatio, type ModelProfile } from '../../bench/heldout/reasoning.js';
import { hourlyRates, rotate, scaleDay, slice, WORKLOADS } from '../../bench/heldout/workloads.js';

const HOUR = 3600;
const PROFILE: ModelProfile = {
  accelerator: 'H100',
  alpha: 6.5,
  beta: 0.05,
  delta: 0.04,
  maxBatchSize: 256,
  kvCacheTokens: 480000,
  contextTokens: 131072,
  maxOutputTokens: 32768,
};

/** A day of arrivals whose rate is (h + 1) per 10 s in hour h: a ramp the transformations must keep. */
function rampDay(): TraceRequest[] {
  const out: TraceRequest[] = [];
  for (let h = 0; h < 24; h++)
    for (let t = 0; t < HOUR; t += 10 / (h + 1))
      out.push({ arrival: h * HOUR + t, inputTokens: 1000, outputTokens: 50 + (out.length % 100) });
  return out;
}

describe('the day transformations', () => {
  const day = rampDay();

  it('slices and rotates without losing or inventing requests', () => {
    const s = slice(day, 7 * HOUR, 5 * HOUR);
    expect(s.length).toBe(day.filter((r) => r.arrival >= 7 * HOUR && r.arrival < 12 * HOUR).length);
    expect(Math.min(...s.map((r) => r.arrival))).toBeGreaterThanOrEqual(0);
    const r = rotate(day, 12 * HOUR, 24 * HOUR);
    expect(r.length).toBe(day.length);
    expect(hourlyRates(r, 24)[0]).toBeCloseTo(hourlyRates(day, 24)[12]!, 9);
    expect(r.every((x, i) => i === 0 || x.arrival >= r[i - 1]!.arrival)).toBe(true);
  });

  it('scales the users and keeps the hours: x2 doubles every hour, x0.5 halves it', () => {
    const base = hourlyRates(day, 24);
    const twice = hourlyRates(scaleDay(day, 2, 24 * HOUR, 600, mulberry32(1)), 24);
    const half = hourlyRates(scaleDay(day, 0.5, 24 * HOUR, 600, mulberry32(1)), 24);
    for (let h = 1; h < 23; h++) {
      // a copy shifted by at most 10 min moves at most a sixth of an hour's requests across its edge
      expect(twice[h]! / base[h]!).toBeGreaterThan(1.8);
      expect(twice[h]! / base[h]!).toBeLessThan(2.2);
      expect(half[h]! / base[h]!).toBeGreaterThan(0.4);
      expect(half[h]! / base[h]!).toBeLessThan(0.6);
    }
  });

  it('gives the same workload for the same seed and another for another', () => {
    const w = WORKLOADS.find((x) => x.name === 'day-x0.5')!;
    const trace = { name: 'ramp', requests: day };
    const a = w.derive!(trace, mulberry32(17), PROFILE).requests;
    const b = w.derive!(trace, mulberry32(17), PROFILE).requests;
    const c = w.derive!(trace, mulberry32(18), PROFILE).requests;
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });
});

describe('the reasoning outputs', () => {
  const requests: TraceRequest[] = Array.from({ length: 20000 }, (_, i) => ({
    arrival: i,
    inputTokens: i % 1000 === 0 ? 120000 : 1000,
    outputTokens: 60,
  }));
  const long = reasoningOutputs(requests, mulberry32(3), PROFILE);

  it('keeps about half the outputs and draws the others around a median of 2,000 tokens', () => {
    const kept = long.filter((r, i) => r.outputTokens === requests[i]!.outputTokens).length;
    expect(kept / requests.length).toBeGreaterThan(0.48);
    expect(kept / requests.length).toBeLessThan(0.52);
    const drawn = long
      .filter((r) => r.outputTokens !== 60)
      .map((r) => r.outputTokens)
      .sort((a, b) => a - b);
    const median = drawn[Math.floor(drawn.length / 2)]!;
    expect(median).toBeGreaterThan(1800);
    expect(median).toBeLessThan(2200);
    expect(drawn.at(-1)).toBeGreaterThan(15000);
  });

  it('never exceeds the generation limit nor the context', () => {
    for (const r of long) {
      expect(r.outputTokens).toBeLessThanOrEqual(PROFILE.maxOutputTokens);
      expect(r.inputTokens + r.outputTokens).toBeLessThanOrEqual(PROFILE.contextTokens);
    }
  });

  it('thins the rate by the GPU work the long outputs add', () => {
    expect(workRatio(requests, requests, PROFILE)).toBeCloseTo(1, 12);
    const ratio = workRatio(requests, long, PROFILE);
    expect(ratio).toBeLessThan(0.5);
    expect(gpuWork(long, PROFILE) * ratio).toBeCloseTo(gpuWork(requests, PROFILE), 6);
  });
});
