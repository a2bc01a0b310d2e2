/**
 * The learnt burst headroom (policy.burstSizing.headroom) through the whole pool evaluation: the
 * memory learns each lead time's peak over its look-back's from the per-step counts, the burst
 * replay's busiest step is raised by the headroom only with the flag on, and the decision says so;
 * without history it says there is none yet; a corrupted memory item is dropped.
 */
import type { Config } from '../../../lib/config/schema.js';
import type { VariantObservation } from '../../../lib/metrics/observation.js';
import { leadSeconds } from '../../../lib/policy/window.js';
import {
  deployment,
  KEY,
  observation,
  poolConfig,
  ratePerReplica,
  Session,
  T0,
  withArrivalSteps,
} from '../helpers.js';

const unlimited = { scaleUpMaxStep: { replicas: 20 } };
// a look-back of 20 steps (300 s)
const burstSizing = { enabled: true, lookbackSeconds: 300 };
const off = poolConfig({ policy: { ...unlimited, burstSizing } });
const on = poolConfig({
  policy: {
    ...unlimited,
    burstSizing: { ...burstSizing, headroom: { enabled: true, minSamples: 2, samples: 4 } },
  },
});
const rate = 2 * ratePerReplica(off);
const LEAD = leadSeconds(on, on.variants[0]!, 'L4');

/** 20 steps of 15 s ending at `now` at the measured rate, the busiest carrying `burst` requests. */
function steps(now: number, burst: number): VariantObservation {
  return withArrivalSteps(
    observation(rate, now),
    Array.from({ length: 20 }, (_, i) => (i === 12 ? burst : rate * 15)),
  );
}

/**
 * A session evaluating every 30 s from T0 for `seconds`, on a timeline of steps at the measured
 * rate but for a burst of `before` requests in the step ending 60 s before T0, and of `after`
 * 60 s after each look-back recorded (T0, T0 + 300, ...: one a look-back apart).
 */
function learnt(config: Config, seconds: number, before: number, after: number): Session {
  const count = (end: number) =>
    end === T0 - 60 ? before : end > T0 && (end - T0) % 300 === 60 ? after : rate * 15;
  const s = new Session(config, [deployment('L4', 2)]);
  for (let t = T0; t <= T0 + seconds; t += 30) {
    const counts = Array.from({ length: 20 }, (_, i) => count(t - (19 - i) * 15));
    s.decide(t, [withArrivalSteps(observation(rate, t), counts)]);
  }
  return s;
}

test('the memory learns, per lead time after a look-back, its busiest step over the look-back’s', () => {
  const s = learnt(on, 3 * 300 + LEAD, 300, 450);
  const bursts = s.memory.variants[KEY]!.bursts!;
  expect(bursts.samples.length).toBeGreaterThanOrEqual(3);
  // the look-back recorded at T0 saw the burst of 300, its lead time one of 450; every later look-back saw 450 too
  expect(LEAD).toBeGreaterThan(60);
  expect(bursts.samples[0]!.ratio).toBeCloseTo(1.5, 3);
  for (const sample of bursts.samples.slice(1)) expect(sample.ratio).toBeCloseTo(1, 3);
  expect(learnt(off, 3 * 300 + LEAD, 300, 450).memory.variants[KEY]!.bursts).toBeUndefined();
});

describe('a burst beyond the look-back, learnt', () => {
  // the history of a variant whose lead times bring twice the look-back's peak
  const history = {
    pending: [],
    samples: [2, 2, 2, 2].map((ratio) => ({ ratio, peakArrivals: 400, arrivals: 4000 })),
  };
  const withHistory = (config: Config, stored: unknown) => {
    const s = new Session(config, [deployment('L4', 2)]);
    s.decide(T0 - 30, [observation(rate, T0 - 30)]);
    s.memory.variants[KEY]!.bursts = stored as never;
    return s.decide(T0, [steps(T0, 200)]);
  };

  test('raises the count only with the flag on, and says by how much', () => {
    const plain = withHistory(off, history);
    const raised = withHistory(on, history);
    expect(plain.inputs.bursts!.headroom).toBeUndefined();
    expect(raised.inputs.bursts!.headroom).toMatchObject({
      factor: 2,
      samples: 4,
      lookbackPeakRate: 200 / 15,
    });
    expect(raised.inputs.bursts!.peakRate).toBeCloseTo(400 / 15, 9);
    expect(raised.targetReplicas).toBeGreaterThan(plain.targetReplicas);
    expect(raised.message).toMatch(
      /the look-back's peak of 13\.3 req\/s raised x2\.00: .* quantile of the last 4 lead times/,
    );
  });

  test('no history: no headroom, and the decision says there is none yet', () => {
    const plain = withHistory(off, undefined);
    const none = withHistory(on, undefined);
    expect(none.targetReplicas).toBe(plain.targetReplicas);
    expect(none.inputs.bursts!.headroom).toMatchObject({ factor: 1, samples: 0 });
    expect(none.message).toMatch(/no burst history yet \(0 of 2 lead times seen\)/);
  });

  test('a corrupted memory item is dropped: no headroom, the decision says so, learning starts again', () => {
    const plain = withHistory(off, undefined);
    const corrupted = withHistory(on, { samples: 'not a list' });
    expect(corrupted.targetReplicas).toBe(plain.targetReplicas);
    expect(corrupted.message).toMatch(
      /no burst history yet \(0 of 2 lead times seen, the stored one unreadable and dropped\)/,
    );
  });

  test('missing per-step counts: nothing changes and nothing is learnt', () => {
    const s = new Session(on, [deployment('L4', 2)]);
    s.decide(T0 - 30, [observation(rate, T0 - 30)]);
    s.memory.variants[KEY]!.bursts = history;
    const d = s.decide(T0, [observation(rate, T0)]);
    expect(d.inputs.bursts).toBeUndefined();
    expect(s.memory.variants[KEY]!.bursts).toEqual(history);
  });
});
