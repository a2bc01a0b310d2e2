/**
 * ITL over the steps (policy.burstSizing.itl) through the whole pool evaluation: off, or without
 * per-step counts, nothing changes; on, steps at the measured rate leave the normal sizing, and a
 * burst of steps raises it to the fewest replicas whose ITL miss share over the steps is within
 * itlDistribution.missShare, and the decision says why.
 */
import type { DecisionRecord } from '../../../lib/policy/decisionRecord.js';
import type { VariantObservation } from '../../../lib/metrics/observation.js';
import { decideOnTwo, observation, poolConfig, T0, withArrivalSteps } from '../helpers.js';

// no step limit on a scale-up: the target is what was recommended
const unlimited = { scaleUpMaxStep: { replicas: 20 } };
const off = poolConfig({ policy: unlimited, chat: { maxReplicas: 40 } });
const on = poolConfig({
  policy: { ...unlimited, burstSizing: { enabled: false, itl: true, windowPerStartup: 0 } },
  chat: { maxReplicas: 40 },
});
const rate = 3;

/**
 * Token histograms of 2,000 requests (enough to trust a 1% tail): prompts of 129-512 tokens and a
 * fifth of 2,049-8,192, answers of 1-32 and 33-256 tokens: long prompts' chunks stretch the short
 * answers' gaps, so the ITL cap sizes.
 */
function withTokens(obs: VariantObservation): VariantObservation {
  const bounds = [32, 128, 512, 2048, 8192, Infinity];
  return {
    ...obs,
    inputTokenBuckets: { bounds, counts: [0, 0, 1600, 0, 400, 0] },
    outputTokenBuckets: { bounds, counts: [600, 1400, 0, 0, 0, 0] },
  };
}

/** 60 steps of 15 s at the measured rate, the six from `from` carrying `factor` times as many. */
function withSteps(obs: VariantObservation, factor: number, from = 30): VariantObservation {
  return withArrivalSteps(
    obs,
    Array.from({ length: 60 }, (_, i) => (i >= from && i < from + 6 ? factor : 1) * rate * 15),
  );
}

const decide = decideOnTwo;

const same = (d: DecisionRecord) => [d.targetReplicas, d.reason, d.message, d.inputs.itlSteps];
const plain = decide(off, withTokens(observation(rate, T0)));

test('off: per-step counts change nothing', () => {
  expect(same(decide(off, withSteps(withTokens(observation(rate, T0)), 4)))).toEqual(same(plain));
  expect(plain.inputs.itlSteps).toBeUndefined();
});

test('on without per-step counts, or without trusted token histograms: the flag-off decision', () => {
  expect(same(decide(on, withTokens(observation(rate, T0))))).toEqual(same(plain));
  const noTokens = decide(off, observation(rate, T0));
  expect(same(decide(on, withSteps(observation(rate, T0), 4)))).toEqual(same(noTokens));
});

test('on: steps at the measured rate give the normal sizing, the share recorded', () => {
  const d = decide(on, withSteps(withTokens(observation(rate, T0)), 1));
  expect([d.targetReplicas, d.message]).toEqual([plain.targetReplicas, plain.message]);
  expect(d.inputs.itlSteps).toMatchObject({
    replicas: plain.targetReplicas,
    sizedReplicas: plain.targetReplicas,
  });
  expect(d.inputs.itlSteps!.share).toBeLessThanOrEqual(0.01);
});

test('on: a burst of steps raises the target to the fewest replicas whose ITL misses stay within the share, and says why', () => {
  const d = decide(on, withSteps(withTokens(observation(rate, T0)), 4));
  const b = d.inputs.itlSteps!;
  expect(b).toMatchObject({ stepSeconds: 15, steps: 60, peakRate: 4 * rate, allowedShare: 0.01 });
  expect(b.sizedReplicas).toBe(plain.targetReplicas);
  expect(b.sizedShare).toBeGreaterThan(0.01);
  expect(b.replicas).toBeGreaterThan(b.sizedReplicas);
  expect(b.share).toBeLessThanOrEqual(0.01);
  expect(d.targetReplicas).toBe(b.replicas);
  expect(d.message).toMatch(
    new RegExp(
      `ITL over 15-s steps \\(peaks of 12\\.0 req/s over the last 900 s\\): sized for ${b.replicas} replicas so that [0-9.]+% \\(at most 1\\.0%\\) miss ITL, where ${b.sizedReplicas} let [0-9.]+%`,
    ),
  );
  expect(d.action).toBe('scale-up');
});

test('on: a burst beyond maxReplicas asks for maxReplicas and says the share is not met', () => {
  const capped = poolConfig({
    policy: { ...unlimited, burstSizing: { enabled: false, itl: true, windowPerStartup: 0 } },
    chat: { maxReplicas: plain.targetReplicas + 1 },
  });
  const d = decide(capped, withSteps(withTokens(observation(rate, T0)), 4));
  expect(d.targetReplicas).toBe(plain.targetReplicas + 1);
  expect(d.message).toMatch(/more than 1\.0%: maxReplicas\) miss ITL/);
});
