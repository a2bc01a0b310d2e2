/** updateCorrection(): observed / predicted latency, smoothed and bounded; nothing learned without a prediction. */
import type { VariantObservation } from '../../lib/metrics/observation.js';
import { NO_CORRECTION, updateCorrection, type CorrectionSettings } from '../../lib/policy/correction.js';
import type { Prediction } from '../../lib/policy/predict.js';

const settings: CorrectionSettings = { enabled: true, smoothing: 0.3, min: 1, max: 4 };
const predicted: Prediction = { ttftMs: 100, itlMs: 20, utilization: 0.5, ratePerReplica: 1 };

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
  it('moves by `smoothing` towards observed / predicted', () => {
    // ttft ratio 2: 1 + 0.3 (2 - 1); itl ratio 1.5: 1 + 0.3 (0.5)
    const c = updateCorrection(undefined, obs(200, 30), predicted, settings);
    expect(c.ttft).toBeCloseTo(1.3, 12);
    expect(c.itl).toBeCloseTo(1.15, 12);
    const again = updateCorrection(c, obs(200, 30), predicted, settings);
    expect(again.ttft).toBeCloseTo(1.3 + 0.3 * 0.7, 12);
  });

  it('bounds the ratio and the factor to [min, max]', () => {
    // ratio 10 -> 4: 1 + 0.3 x 3
    expect(updateCorrection(undefined, obs(1000), predicted, settings).ttft).toBeCloseTo(1.9, 12);
    let c = NO_CORRECTION;
    for (let i = 0; i < 200; i++) c = updateCorrection(c, obs(100_000, 100_000), predicted, settings);
    expect(c.ttft).toBeLessThanOrEqual(4);
    expect(c.ttft).toBeCloseTo(4, 6);
    expect(c.itl).toBeLessThanOrEqual(4);
    // a model more pessimistic than observed is never trusted below min
    expect(updateCorrection({ ttft: 1.2, itl: 1 }, obs(10, 2), predicted, settings)).toEqual({
      ttft: 1.2 + 0.3 * (1 - 1.2),
      itl: 1,
    });
    // a previous factor beyond the bounds comes back within them
    expect(updateCorrection({ ttft: 9, itl: 0.1 }, obs(400, 20), predicted, settings)).toEqual({
      ttft: 4,
      itl: 1,
    });
  });

  it('learns nothing without a prediction, when disabled, or from a missing or non-finite observation', () => {
    const prev = { ttft: 1.4, itl: 1.1 };
    expect(updateCorrection(prev, obs(500, 50), null, settings)).toBe(prev);
    expect(updateCorrection(undefined, obs(500, 50), null, settings)).toEqual(NO_CORRECTION);
    expect(updateCorrection(prev, obs(500, 50), predicted, { ...settings, enabled: false })).toBe(prev);
    expect(updateCorrection(prev, obs(undefined, undefined), predicted, settings)).toEqual(prev);
    expect(updateCorrection(prev, obs(Infinity, NaN), predicted, settings)).toEqual(prev);
    // a prediction of zero gives no ratio
    expect(updateCorrection(prev, obs(500, 50), { ...predicted, ttftMs: 0, itlMs: 0 }, settings)).toEqual(
      prev,
    );
  });

  it('updates each factor from its own series', () => {
    const c = updateCorrection(undefined, obs(undefined, 40), predicted, settings);
    expect(c.ttft).toBe(1);
    expect(c.itl).toBeCloseTo(1.3, 12);
  });
});
