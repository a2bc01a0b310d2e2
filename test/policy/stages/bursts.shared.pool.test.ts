/**
 * One miss budget for TTFT and ITL (policy.burstSizing.sharedBudget) through the whole pool
 * evaluation: off, the two sizings each take the whole share and nothing is recorded; on, where
 * both find misses and their sum is over the share the target grows to the fewest replicas whose
 * sum is within, and says why; where one share is 0 the target is the other sizing's.
 */
import type { DecisionRecord } from '../../../lib/policy/decisionRecord.js';
import type { VariantObservation } from '../../../lib/metrics/observation.js';
import { decideOnTwo, observation, poolConfig, T0, withArrivalSteps, withTokenCounts } from '../helpers.js';

// no step limit on a scale-up: the target is what was recommended
const unlimited = { scaleUpMaxStep: { replicas: 40 } };
const config = (sharedBudget?: boolean) =>
  poolConfig({
    policy: {
      ...unlimited,
      burstSizing: {
        enabled: true,
        itl: true,
        windowPerStartup: 0,
        ...(sharedBudget === undefined ? {} : { sharedBudget }),
      },
    },
    chat: { maxReplicas: 40 },
  });
const rate = 3;

/**
 * Token histograms of 2,000 requests (enough to trust a 1% tail): prompts of 33-128 tokens and
 * 129-512 (three in four), answers of 1-32 and 33-256 tokens: a small ITL miss share.
 */
const withTokens = (obs: VariantObservation) =>
  withTokenCounts(obs, [0, 500, 1500, 0, 0, 0], [600, 1400, 0, 0, 0, 0]);

/** 60 steps of 15 s at the measured rate, the two from the 30th carrying `factor` times as many. */
function withBurst(factor: number): VariantObservation {
  const counts = Array.from({ length: 60 }, (_, i) => (i >= 30 && i < 32 ? factor : 1) * rate * 15);
  return withArrivalSteps(withTokens(observation(rate, T0)), counts);
}

const same = (d: DecisionRecord) => [
  d.targetReplicas,
  d.reason,
  d.message,
  d.inputs.bursts,
  d.inputs.itlSteps,
];

test('off (the default): nothing recorded, the decision the two sizings make', () => {
  for (const factor of [4, 5.9]) {
    const d = decideOnTwo(config(false), withBurst(factor));
    expect(d.inputs.sharedBudget).toBeUndefined();
    expect(same(decideOnTwo(config(), withBurst(factor)))).toEqual(same(d));
    expect(d.targetReplicas).toBe(Math.max(d.inputs.bursts!.replicas, d.inputs.itlSteps!.replicas));
  }
});

test('on: each share within 1% alone but not their sum raises the target to the fewest whose sum is within, and says why', () => {
  const off = decideOnTwo(config(false), withBurst(4));
  const ttft = off.inputs.bursts!.share;
  const itl = off.inputs.itlSteps!.share;
  // the case: both sizings met the share on their own at the same count, their sum did not
  expect([off.inputs.bursts!.replicas, off.inputs.itlSteps!.replicas]).toEqual([
    off.targetReplicas,
    off.targetReplicas,
  ]);
  expect(ttft).toBeGreaterThan(0);
  expect(ttft).toBeLessThanOrEqual(0.01);
  expect(itl).toBeGreaterThan(0);
  expect(itl).toBeLessThanOrEqual(0.01);
  expect(ttft + itl).toBeGreaterThan(0.01);

  const on = decideOnTwo(config(true), withBurst(4));
  const b = on.inputs.sharedBudget!;
  expect(b).toMatchObject({ allowedShare: 0.01, sizedReplicas: off.targetReplicas });
  expect(b.sizedTtftShare).toBeCloseTo(ttft, 12);
  expect(b.sizedItlShare).toBeCloseTo(itl, 12);
  // one more replica is the fewest here: the sum at the count before it was over the share
  expect(b.replicas).toBe(off.targetReplicas + 1);
  expect(b.ttftShare + b.itlShare).toBeLessThanOrEqual(0.01);
  expect(on.targetReplicas).toBe(b.replicas);
  expect(on.message).toMatch(
    new RegExp(
      `one budget for TTFT and ITL: [0-9.]+% late on TTFT and [0-9.]+% missing ITL at ${b.replicas} replicas \\(at most 1\\.0% together\\), where ${b.sizedReplicas} let [0-9.]+% and [0-9.]+%`,
    ),
  );
});

test("on: no request late on TTFT at the count asked for: the ITL sizing's count and message", () => {
  const off = decideOnTwo(config(false), withBurst(5.9));
  const on = decideOnTwo(config(true), withBurst(5.9));
  expect(off.inputs.itlSteps!.share).toBeGreaterThan(0);
  expect(on.inputs.sharedBudget).toMatchObject({
    replicas: off.targetReplicas,
    ttftShare: 0,
    sizedTtftShare: 0,
  });
  expect([on.targetReplicas, on.message]).toEqual([off.targetReplicas, off.message]);
});
