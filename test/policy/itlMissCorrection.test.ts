/**
 * The factor on the chunked-ITL model's miss share (lib/policy/itlMissCorrection.ts): misses read
 * from the per-request time-per-token histogram with the target interpolated in its bucket; the
 * evidence pooled with a half-life until ten misses are expected at the allowed share; a log step
 * towards observed / predicted, bounded; nothing learnt from nothing, a new basis starts afresh.
 * Against the outcome (against: 'target'): the misses compared with those the allowed share
 * allowed with the factor in force, less the pool's counting noise; the loop settles where the
 * measured share is that setpoint, below 1 where the fleet misses less than allowed.
 */
import {
  allowedModelShare,
  itlMissBasis,
  predictedMissShare,
  readThroughBucket,
  requestsOverTarget,
  setpointMisses,
  updateItlMiss,
  type ItlMissMemory,
  type ItlMissSettings,
} from '../../lib/policy/itlMissCorrection.js';

const settings: ItlMissSettings = { enabled: true, smoothing: 0.3, min: 0.5, max: 4, halfLifeSeconds: 3600 };
const ctx = (now: number, basis = 'L40S|a') => ({ now, windowSeconds: 60, basis, allowedShare: 0.01 });

describe('requestsOverTarget', () => {
  // vLLM's ITL buckets (s) around a 60-ms target: 0.05 < 0.06 <= 0.075
  const bounds = [0.025, 0.05, 0.075, 0.1, Infinity];

  it('counts the buckets above the target whole and the one holding it linearly', () => {
    const r = requestsOverTarget({ bounds, counts: [900, 60, 25, 10, 5] }, 60)!;
    expect(r.requests).toBe(1000);
    // 25 x (75 - 60) / (75 - 50) = 15, plus 10 + 5
    expect(r.misses).toBeCloseTo(30, 9);
  });

  it('names the bucket holding the target, none where the target is on a bound', () => {
    const counts = [900, 60, 25, 10, 5];
    expect(requestsOverTarget({ bounds, counts }, 60)!.bucket).toEqual({ lowerMs: 50, upperMs: 75 });
    expect(requestsOverTarget({ bounds, counts }, 75)!.bucket).toBeUndefined();
    expect(requestsOverTarget({ bounds, counts }, 150)!.bucket).toEqual({ lowerMs: 100, upperMs: Infinity });
  });

  it('takes a target on a bound exactly', () => {
    expect(requestsOverTarget({ bounds, counts: [900, 60, 25, 10, 5] }, 75)!.misses).toBeCloseTo(15, 9);
  });

  it('counts the open bucket whole when the target lies beyond the last finite bound', () => {
    expect(requestsOverTarget({ bounds, counts: [900, 60, 25, 10, 5] }, 150)!.misses).toBe(5);
  });

  it('says nothing of an empty histogram', () => {
    expect(requestsOverTarget({ bounds, counts: [0, 0, 0, 0, 0] }, 60)).toBeUndefined();
  });
});

describe('readThroughBucket', () => {
  // a model whose share over t ms falls linearly from 10% at 50 ms to 0 at 75 ms
  const shareOver = (t: number) => Math.max((0.1 * (75 - t)) / 25, 0);

  it("interpolates the model's shares over the bucket's bounds as the histogram's count is", () => {
    // the model's share over 60 ms is 6%; read through (50, 75] it is 0 + 0.6 x 10%
    expect(readThroughBucket(shareOver, 60, { lowerMs: 50, upperMs: 75 })).toBeCloseTo(0.06, 12);
    const convex = (t: number) => 0.1 * ((75 - Math.min(t, 75)) / 25) ** 2;
    // requests nearer the lower bound: 3.6% over 60 ms, read as 6% as the histogram would read them
    expect(convex(60)).toBeCloseTo(0.036, 12);
    expect(readThroughBucket(convex, 60, { lowerMs: 50, upperMs: 75 })).toBeCloseTo(0.06, 12);
  });

  it('takes the share over the target without a bucket, over the lower bound with an open one', () => {
    expect(readThroughBucket(shareOver, 60, undefined)).toBeCloseTo(0.06, 12);
    expect(readThroughBucket(shareOver, 150, { lowerMs: 55, upperMs: Infinity })).toBeCloseTo(0.08, 12);
  });
});

describe('predictedMissShare', () => {
  // a model whose share is the per-replica rate / 100
  const model = { at: (rate: number) => ({ missShare: rate / 100 }) } as never;

  it("weights the window's steps by their requests, each at its own rate over the replicas", () => {
    const steps = { stepSeconds: 15, counts: [999, 30, 60, 30, 60], source: 'x', timestamp: 0 };
    // the last 60 s: steps of 30 and 60 requests over 2 replicas, i.e. 1 and 2 req/s a replica
    const share = predictedMissShare(model, { rate: 3, replicas: 2, windowSeconds: 60, steps });
    expect(share).toBeCloseTo((60 * 0.01 + 120 * 0.02) / 180, 9);
  });

  it("takes the window's mean rate without per-step counts", () => {
    expect(predictedMissShare(model, { rate: 3, replicas: 2, windowSeconds: 60 })).toBeCloseTo(0.015, 9);
  });
});

describe('updateItlMiss', () => {
  const window = (requests: number, misses: number, predictedShare: number) => ({
    requests,
    misses,
    predictedShare,
  });

  it('pools until ten misses are expected at the allowed share, the factor unmoved meanwhile', () => {
    const m = updateItlMiss(undefined, window(600, 12, 0.01), ctx(0), settings)!;
    expect(m.factor).toBe(1);
    expect(m.requests).toBe(600);
    expect(m.predicted).toBeCloseTo(6, 9);
  });

  it('steps smoothing of the log gap towards observed / predicted once the pool is large enough', () => {
    const m = updateItlMiss(undefined, window(2000, 40, 0.01), ctx(0), settings)!;
    expect(m.factor).toBeCloseTo(2 ** 0.3, 9);
    const again = updateItlMiss(m, window(2000, 40, 0.01), ctx(60), settings)!;
    expect(again.factor).toBeCloseTo(2 ** 0.51, 9);
  });

  it('converges on the ratio and stays there: a model right in shape but off by a constant', () => {
    let m: ItlMissMemory | undefined;
    for (let k = 0; k < 100; k++) {
      // whatever the fleet, the replicas show 2.5x the model's share
      const share = 0.004 + 0.002 * (k % 3);
      m = updateItlMiss(m, window(300, 300 * share * 2.5, share), ctx(30 * k), settings);
    }
    expect(m!.factor).toBeCloseTo(2.5, 3);
  });

  it('weights a window overlapping the last one by its new part only', () => {
    const m = updateItlMiss(undefined, window(1000, 10, 0.01), ctx(0), settings)!;
    const next = updateItlMiss(m, window(1000, 30, 0.01), ctx(30), settings)!;
    const keep = 0.5 ** (30 / 3600);
    expect(next.requests).toBeCloseTo(keep * 1000 + 500, 9);
    expect(next.misses).toBeCloseTo(keep * 10 + 15, 9);
  });

  it('is bounded both ways', () => {
    let m: ItlMissMemory | undefined;
    for (let k = 0; k < 50; k++) m = updateItlMiss(m, window(2000, 400, 0.001), ctx(60 * k), settings);
    expect(m!.factor).toBeLessThanOrEqual(4);
    expect(m!.factor).toBeCloseTo(4, 5);
    let n: ItlMissMemory | undefined;
    for (let k = 0; k < 50; k++) n = updateItlMiss(n, window(2000, 0, 0.02), ctx(60 * k), settings);
    expect(n!.factor).toBeGreaterThanOrEqual(0.5);
    expect(n!.factor).toBeCloseTo(0.5, 5);
  });

  it('leaves the memory as it was without evidence, and when off', () => {
    const m = updateItlMiss(undefined, window(2000, 40, 0.01), ctx(0), settings)!;
    expect(updateItlMiss(m, undefined, ctx(60), settings)).toBe(m);
    expect(updateItlMiss(m, window(0, 0, 0.01), ctx(60), settings)).toBe(m);
    expect(updateItlMiss(m, window(100, NaN, 0.01), ctx(60), settings)).toBe(m);
    expect(updateItlMiss(m, window(2000, 400, 0.01), ctx(60), { ...settings, enabled: false })).toBe(m);
  });

  it('starts afresh on another accelerator, profile or target', () => {
    const m = updateItlMiss(undefined, window(2000, 80, 0.01), ctx(0), settings)!;
    expect(m.factor).toBeGreaterThan(1);
    const other = updateItlMiss(m, window(500, 5, 0.01), ctx(60, 'H100|a'), settings)!;
    expect(other.factor).toBe(1);
    expect(other.requests).toBe(500);
    expect(other.basis).toBe('H100|a');
    // and without evidence on the new basis yet: no factor at all
    expect(updateItlMiss(m, undefined, ctx(60, 'H100|a'), settings)).toBeUndefined();
  });
});

describe('allowedModelShare and itlMissBasis', () => {
  it('divides the allowed share by the factor', () => {
    expect(allowedModelShare(0.01, 2)).toBeCloseTo(0.005, 12);
    expect(allowedModelShare(0.01, undefined)).toBe(0.01);
  });

  it('names the accelerator, the step times, the budget and the target', () => {
    const p = { alpha: 10, beta: 0.1, gamma: 5, delta: 0.01 };
    expect(itlMissBasis('L40S', p, 60)).not.toBe(itlMissBasis('L40S', { ...p, beta: 0.2 }, 60));
    expect(itlMissBasis('L40S', p, 60)).not.toBe(itlMissBasis('L40S', p, 50));
    expect(itlMissBasis('L40S', p, 60)).not.toBe(itlMissBasis('A10G', p, 60));
  });
});

describe('setpointMisses', () => {
  it('is the allowed misses without a margin', () => {
    expect(setpointMisses(10, 0)).toBe(10);
    expect(setpointMisses(0, 2)).toBe(0);
  });

  it('leaves z Poisson deviations of a decayed pool (sqrt(m / 2)) below the allowed misses', () => {
    for (const allowed of [10, 100, 10_000]) {
      const m = setpointMisses(allowed, 2);
      expect(m + 2 * Math.sqrt(m / 2)).toBeCloseTo(allowed, 9);
    }
    // the least pool the factor moves on (ten allowed): 6.4; a large pool keeps nearly all
    expect(setpointMisses(10, 2)).toBeCloseTo(6.42, 2);
    expect(setpointMisses(10_000, 2) / 10_000).toBeGreaterThan(0.985);
  });
});

describe('updateItlMiss against the outcome', () => {
  const target: ItlMissSettings = { ...settings, against: 'target', marginSigmas: 0 };
  const allowed = 0.01;

  /**
   * A fleet that misses `bias` x the model's share, sized so that the model's share times the
   * factor in force is the allowed share: it misses bias x allowed / factor. Each window is
   * compared with what the allowed share allowed it with that factor.
   */
  function loop(bias: number, s: ItlMissSettings, requests = 300, evaluations = 600) {
    let m: ItlMissMemory | undefined;
    let share = NaN;
    for (let k = 0; k < evaluations; k++) {
      const inForce = m?.factor ?? 1;
      share = (bias * allowed) / inForce;
      const w = { requests, misses: requests * share, predictedShare: allowedModelShare(allowed, inForce) };
      m = updateItlMiss(m, w, ctx(30 * k), s);
    }
    return { factor: m!.factor, share };
  }

  it('compares a window with the allowed share over the factor in force', () => {
    expect(allowedModelShare(0.01, 0.5)).toBeCloseTo(0.02, 12);
    expect(allowedModelShare(0.01, undefined)).toBe(0.01);
  });

  it('settles where the fleet misses the allowed share: the factor the model needs, either way', () => {
    const optimistic = loop(2, target);
    expect(optimistic.factor).toBeCloseTo(2, 2);
    expect(optimistic.share).toBeCloseTo(allowed, 4);
    // a fleet missing less than allowed: the factor falls below 1 and the sizing takes more load
    const cautious = loop(0.6, target);
    expect(cautious.factor).toBeCloseTo(0.6, 2);
    expect(cautious.share).toBeCloseTo(allowed, 4);
  });

  it('settles at the allowed share less the margin of a small pool', () => {
    // 20 requests a 60-s window every 30 s (10 new), 1 h half-life: 1,740 pooled, 17.4 misses allowed
    const r = loop(1, { ...target, marginSigmas: 2 }, 20, 2000);
    const pooled = 10 / (1 - 0.5 ** (30 / 3600));
    const expected = setpointMisses(allowed * pooled, 2) / pooled;
    expect(r.share).toBeCloseTo(expected, 4);
    expect(r.share).toBeLessThan(0.0075);
  });

  it('keeps within the bounds', () => {
    expect(loop(0.1, target).factor).toBeCloseTo(0.5, 5);
    expect(loop(10, target).factor).toBeCloseTo(4, 5);
  });

  it('opens the pool on the first window of a basis without counting it', () => {
    const opened = updateItlMiss(
      undefined,
      { requests: 2000, misses: 200, predictedShare: 0.01 },
      ctx(0),
      target,
    )!;
    expect(opened).toMatchObject({ factor: 1, requests: 0, misses: 0, predicted: 0, basis: 'L40S|a' });
    // the next window counts for the part not already seen (30 s of 60)
    const next = updateItlMiss(
      opened,
      { requests: 2000, misses: 10, predictedShare: 0.01 },
      ctx(30),
      target,
    )!;
    expect(next.requests).toBeCloseTo(1000, 9);
    expect(next.misses).toBeCloseTo(5, 9);
  });

  it('leaves the factor as it was without a histogram, or when the pool is too small', () => {
    const opened = updateItlMiss(
      undefined,
      { requests: 1, misses: 0, predictedShare: 0.01 },
      ctx(-60),
      target,
    );
    const m = updateItlMiss(opened, { requests: 2000, misses: 5, predictedShare: 0.01 }, ctx(0), target)!;
    expect(m.factor).toBeLessThan(1);
    expect(updateItlMiss(m, undefined, ctx(60), target)).toBe(m);
    const small = updateItlMiss(opened, { requests: 500, misses: 0, predictedShare: 0.01 }, ctx(0), target)!;
    expect(small.factor).toBe(1);
  });
});
