/**
 * updateCorrection(): a damped Newton step per evaluation towards the factors at which the
 * corrected model predicts what was observed; bounded; nothing learned without a prediction.
 */
import type { VariantObservation } from '../../lib/metrics/observation.js';
import {
  corrected,
  NO_CORRECTION,
  updateCorrection,
  type Correction,
  type CorrectionSettings,
  type LatencyPredictor,
} from '../../lib/policy/correction.js';

const settings: CorrectionSettings = { enabled: true, smoothing: 0.3, min: 0.25, max: 4 };

/** A model whose latencies are proportional to the factors: TTFT 100 ms, ITL 20 ms uncorrected. */
const linear: LatencyPredictor = (c) => ({ ttftMs: 100 * c.ttft, itlMs: 20 * c.itl });

const obs = (ttftMs?: number, itlMs?: number): VariantObservation => ({
  variant: 'llm/chat',
  model: 'm',
  at: 0,
  windowSeconds: 60,
  ttftMs: ttftMs === undefined ? undefined : { value: ttftMs, source: 'ttft', timestamp: 0 },
  itlMs: itlMs === undefined ? undefined : { value: itlMs, source: 'itl', timestamp: 0 },
  stale: [],
  missing: [],
});

describe('updateCorrection', () => {
  it('closes `smoothing` of the log gap per step on a proportional model', () => {
    // ttft observed 2x: 2^0.3; itl observed 0.5x: 0.5^0.3
    const c = updateCorrection(undefined, obs(200, 10), linear, settings);
    expect(c.ttft).toBeCloseTo(2 ** 0.3, 9);
    expect(c.itl).toBeCloseTo(0.5 ** 0.3, 9);
    const again = updateCorrection(c, obs(200, 10), linear, settings);
    expect(again.ttft).toBeCloseTo(2 ** 0.51, 9);
  });

  it('converges where the corrected model predicts the observation, both ways', () => {
    for (const truth of [1.3, 0.7]) {
      let c: Correction = NO_CORRECTION;
      for (let i = 0; i < 40; i++) c = updateCorrection(c, obs(100 * truth, 20 * truth), linear, settings);
      expect(c.ttft).toBeCloseTo(truth, 4);
      expect(c.itl).toBeCloseTo(truth, 4);
    }
  });

  it('does not overshoot a model that responds more than proportionally (queueing)', () => {
    // ITL = 20 c / (1 - 0.8 c): steep near c = 1.25; the observation is what c = 1.1 gives
    const queueing: LatencyPredictor = (c) =>
      0.8 * c.itl >= 1 ? null : { ttftMs: 100, itlMs: (20 * c.itl) / (1 - 0.8 * c.itl) };
    const observed = queueing({ ttft: 1, itl: 1.1 })!.itlMs;
    let c: Correction = NO_CORRECTION;
    const path: number[] = [];
    for (let i = 0; i < 60; i++) {
      c = updateCorrection(c, obs(100, observed), queueing, settings);
      path.push(c.itl);
    }
    expect(c.itl).toBeCloseTo(1.1, 3);
    // monotone approach: never beyond the answer
    for (const x of path) expect(x).toBeLessThanOrEqual(1.1 + 1e-9);
  });

  it('bounds the factors to [min, max]', () => {
    let c = NO_CORRECTION;
    for (let i = 0; i < 200; i++) c = updateCorrection(c, obs(100_000, 1), linear, settings);
    expect(c.ttft).toBeCloseTo(4, 6);
    expect(c.itl).toBeCloseTo(0.25, 6);
    // a previous factor beyond the bounds comes back within them
    const back = updateCorrection({ ttft: 9, itl: 0.1 }, obs(100, 20), linear, settings);
    expect(back.ttft).toBeLessThanOrEqual(4);
    expect(back.itl).toBeGreaterThanOrEqual(0.25);
  });

  it('learns nothing without a prediction, when disabled, or from a missing or non-finite observation', () => {
    const prev = { ttft: 1.4, itl: 1.1 };
    expect(updateCorrection(prev, obs(500, 50), null, settings)).toBe(prev);
    expect(updateCorrection(undefined, obs(500, 50), null, settings)).toEqual(NO_CORRECTION);
    expect(updateCorrection(prev, obs(500, 50), () => null, settings)).toBe(prev);
    expect(updateCorrection(prev, obs(500, 50), linear, { ...settings, enabled: false })).toBe(prev);
    expect(updateCorrection(prev, obs(undefined, undefined), linear, settings)).toEqual(prev);
    expect(updateCorrection(prev, obs(Infinity, NaN), linear, settings)).toEqual(prev);
    // a prediction of zero gives no ratio
    expect(updateCorrection(prev, obs(500, 50), () => ({ ttftMs: 0, itlMs: 0 }), settings)).toEqual(prev);
  });

  it('updates each factor from its own series', () => {
    const c = updateCorrection(undefined, obs(undefined, 40), linear, settings);
    expect(c.ttft).toBe(1);
    expect(c.itl).toBeCloseTo(2 ** 0.3, 9);
  });

  it('scales every iteration time by the ITL factor and leaves the TTFT one to the prediction', () => {
    const p = corrected({ alpha: 10, beta: 1, gamma: 20, delta: 0.5 }, { ttft: 3, itl: 1.5 });
    expect(p).toEqual({ alpha: 15, beta: 1.5, gamma: 30, delta: 0.75 });
  });
});
