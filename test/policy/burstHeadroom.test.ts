import {
  burstHeadroom,
  learnBursts,
  quantile,
  storedHistory,
  withHeadroom,
  type BurstHistory,
} from '../../lib/policy/burstHeadroom.js';
import type { ArrivalSteps } from '../../lib/metrics/observation.js';

const STEP = 15;
// a look-back of 4 steps (60 s), a lead time of 90 s
const ctx = { lookbackSeconds: 60, leadSeconds: 90, samples: 5, minSamples: 2, minPeakRequests: 10 };
const steps = (timestamp: number, counts: number[]): ArrivalSteps => ({
  stepSeconds: STEP,
  counts,
  source: 'test',
  timestamp,
});

describe('learnBursts', () => {
  test("records a whole look-back's peak, then the ratio of the following lead time's peak to it once the lead time has passed", () => {
    // look-back ending at 1000: busiest step 30 requests (2 req/s)
    let h = learnBursts(undefined, steps(1000, [15, 30, 15, 15]), ctx);
    expect(h).toEqual({
      recordedAt: 1000,
      pending: [{ t: 1000, peak: 2, until: 1090, seen: 1000, next: 0, arrivals: 0 }],
      samples: [],
    });
    // 30 s later: the steps ending at 1015 and 1030 are the lead time's; the one of 60 requests its peak so far
    h = learnBursts(h, steps(1030, [15, 15, 60, 15]), ctx);
    expect(h!.pending).toEqual([{ t: 1000, peak: 2, until: 1090, seen: 1030, next: 4, arrivals: 75 }]);
    expect(h!.samples).toEqual([]);
    // not a look-back after the last one recorded: nothing new recorded
    expect(h!.recordedAt).toBe(1000);
    // at 1090 the lead time is over: 90 s, 6 steps, the busiest 60 requests
    h = learnBursts(h, steps(1090, [15, 15, 15, 15]), ctx);
    expect(h!.samples).toEqual([{ ratio: 2, peakArrivals: 60, arrivals: 135 }]);
    // a look-back (60 s) after 1000: this one is recorded
    expect(h!.recordedAt).toBe(1090);
    expect(h!.pending).toEqual([{ t: 1090, peak: 1, until: 1180, seen: 1090, next: 0, arrivals: 0 }]);
  });

  test('a lead time longer than the look-back is followed over several evaluations', () => {
    const long = { ...ctx, leadSeconds: 120 };
    let h = learnBursts(undefined, steps(1000, [15, 15, 15, 15]), long);
    h = learnBursts(h, steps(1060, [15, 45, 15, 15]), long);
    expect(h!.pending[0]).toMatchObject({ seen: 1060, next: 3, arrivals: 90 });
    h = learnBursts(h, steps(1120, [15, 15, 15, 30]), long);
    expect(h!.samples).toEqual([{ ratio: 3, peakArrivals: 45, arrivals: 165 }]);
  });

  test('no steps (missing or stale counts): nothing is learnt, the history is as it was', () => {
    const h = learnBursts(undefined, steps(1000, [15, 30, 15, 15]), ctx);
    expect(learnBursts(h, undefined, ctx)).toBe(h);
    expect(learnBursts(h, steps(1030, []), ctx)).toBe(h);
    expect(learnBursts(undefined, undefined, ctx)).toBeUndefined();
  });

  test('steps that leave a gap after what a look-back has seen: its lead time peak is unknown, it is dropped', () => {
    const h = learnBursts(undefined, steps(1000, [15, 30, 15, 15]), ctx);
    // the next steps begin at 1080 - 60 = 1020: 1000..1020 was never seen
    const after = learnBursts(h, steps(1080, [15, 15, 15, 15]), ctx);
    expect(after!.samples).toEqual([]);
    expect(after!.pending.map((p) => p.t)).toEqual([1080]);
  });

  test('a partial look-back (the series younger than it), or one whose busiest step holds fewer than minPeakRequests, is not recorded', () => {
    expect(learnBursts(undefined, steps(1000, [15, 30]), ctx)).toEqual({ pending: [], samples: [] });
    expect(learnBursts(undefined, steps(1000, [0, 0, 0, 0]), ctx)).toEqual({ pending: [], samples: [] });
    // a busiest step of 9 requests: too few to say how bursty the variant is
    expect(learnBursts(undefined, steps(1000, [2, 9, 0, 1]), ctx)).toEqual({ pending: [], samples: [] });
  });

  test('the ring keeps the newest samples only', () => {
    let h: BurstHistory | undefined;
    // evaluations every 30 s: a look-back recorded every 60 s, each lead time over 90 s later
    for (let i = 0; i < 40; i++) {
      const t = 1000 + 30 * i;
      h = learnBursts(h, steps(t, [15, 15, 15, 15 * (1 + (i % 3))]), ctx);
    }
    expect(h!.samples).toHaveLength(ctx.samples);
    expect(h!.pending.length).toBeLessThanOrEqual(2);
    expect(JSON.stringify(h).length).toBeLessThan(1000);
  });

  test("at the default ring of 24, a variant's history stays under 1.5 KB of JSON (100 variants within the pool item)", () => {
    const ring = { ...ctx, samples: 24 };
    let h: BurstHistory | undefined;
    for (let i = 0; i < 200; i++) {
      const t = 1000 + 30 * i;
      // counts with many digits: the stored numbers are shortened
      h = learnBursts(h, steps(t, [15.123456, 15.654321, 15.111111, 15 * (1 + (i % 7)) + 0.123456]), ring);
    }
    expect(h!.samples).toHaveLength(24);
    expect(JSON.stringify(h).length).toBeLessThan(1500);
  });
});

describe('quantile', () => {
  test('the empirical quantile: the ceil(q n)-th smallest', () => {
    const v = [3, 1, 4, 1.5, 2];
    expect(quantile(v, 0)).toBe(1);
    expect(quantile(v, 0.2)).toBe(1);
    expect(quantile(v, 0.5)).toBe(2);
    expect(quantile(v, 0.61)).toBe(3);
    expect(quantile(v, 0.8)).toBe(3);
    expect(quantile(v, 1)).toBe(4);
  });
});

describe('burstHeadroom', () => {
  const settings = { samples: 24, minSamples: 4 };
  const sample = (ratio: number, peakArrivals = 10, arrivals = 200) => ({ ratio, peakArrivals, arrivals });

  test('no history, or fewer samples than minSamples: a headroom of 1 and no confidence (no burst history yet)', () => {
    expect(burstHeadroom(undefined, settings, 0.01)).toEqual({ factor: 1, samples: 0 });
    const three = { pending: [], samples: [sample(3), sample(3), sample(3)] };
    expect(burstHeadroom(three, settings, 0.01)).toEqual({ factor: 1, samples: 3 });
  });

  test("the quantile at the confidence 1 - missShare / the busiest steps' share of their lead times' arrivals", () => {
    // busiest steps 10 of 200: 5%; 1% allowed: lead times beyond the headroom in at most 20%, the 80% quantile
    const h = { pending: [], samples: [1.1, 0.9, 1.6, 2.4, 1.3].map((r) => sample(r)) };
    const found = burstHeadroom(h, settings, 0.01);
    expect(found.confidence).toBeCloseTo(0.8, 12);
    expect(found.peakShare).toBeCloseTo(0.05, 12);
    expect(found.factor).toBe(1.6);
    // busiest steps of 40 in 200 (20%): the 95% quantile, the largest of five
    const peaky = { pending: [], samples: [1.1, 0.9, 1.6, 2.4, 1.3].map((r) => sample(r, 40)) };
    expect(burstHeadroom(peaky, settings, 0.01).factor).toBe(2.4);
  });

  test('at least 1: peaks that fell after the look-back ask for no less than it', () => {
    const h = { pending: [], samples: [0.5, 0.6, 0.7, 0.8].map((r) => sample(r)) };
    expect(burstHeadroom(h, settings, 0.01).factor).toBe(1);
  });

  test("busiest steps holding less than missShare of their lead times' arrivals: no headroom needed", () => {
    const h = { pending: [], samples: [2, 2, 3, 3].map((r) => sample(r, 1, 1000)) };
    expect(burstHeadroom(h, settings, 0.01)).toMatchObject({ factor: 2, confidence: 0 });
  });
});

describe('storedHistory', () => {
  test('a valid history is read as stored', () => {
    const h = learnBursts(undefined, steps(1000, [15, 30, 15, 15]), ctx);
    expect(storedHistory(JSON.parse(JSON.stringify(h)))).toEqual(h);
    expect(storedHistory(undefined)).toBeUndefined();
  });

  test.each([
    ['not an object', 'garbage'],
    [
      'a sample with a negative ratio',
      { pending: [], samples: [{ ratio: -1, peakArrivals: 1, arrivals: 2 }] },
    ],
    [
      'a pending look-back without a peak',
      { pending: [{ t: 1, peak: 0, until: 2, seen: 1, next: 0, arrivals: 0 }], samples: [] },
    ],
    ['an unknown field', { pending: [], samples: [], extra: 1 }],
    [
      'a ring beyond any configurable size',
      {
        pending: [],
        samples: Array.from({ length: 2000 }, () => ({ ratio: 1, peakArrivals: 1, arrivals: 1 })),
      },
    ],
  ])('a corrupted history (%s) is dropped: learning starts again', (_why, stored) => {
    expect(storedHistory(stored)).toBeUndefined();
  });
});

describe('withHeadroom', () => {
  test('raises the busiest step only, by the factor; 1 leaves the steps as they are', () => {
    expect(withHeadroom([10, 30, 20, 30], 1.5)).toEqual([10, 45, 20, 30]);
    const counts = [1, 2];
    expect(withHeadroom(counts, 1)).toBe(counts);
  });
});
