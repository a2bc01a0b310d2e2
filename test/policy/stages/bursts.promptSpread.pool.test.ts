/**
 * The prompts' spread in the TTFT burst replay (policy.burstSizing.promptSpread) through the whole
 * pool evaluation, on L4 (3 s target: prompts over 14,206 tokens prefill too slowly alone, in
 * 2,048-token chunks of 20 ms + 0.2 ms a token): off,
 * nothing changes; on, the replay's allowed share is the goal less the share late by its own
 * prefill, and the fleet grows for it; where that share alone is over the goal the normal sizing
 * is kept and the decision says why.
 */
import type { DecisionRecord } from '../../../lib/policy/decisionRecord.js';
import type { VariantObservation } from '../../../lib/metrics/observation.js';
import { decideOnTwo, observation, poolConfig, T0, withArrivalSteps, withTokenCounts } from '../helpers.js';

const config = (promptSpread?: boolean) =>
  poolConfig({
    policy: {
      scaleUpMaxStep: { replicas: 40 },
      burstSizing: {
        enabled: true,
        itl: false,
        windowPerStartup: 0,
        ...(promptSpread === undefined ? {} : { promptSpread }),
      },
    },
    chat: { maxReplicas: 40 },
  });
const rate = 3;

/**
 * 2,000 requests with prompts of 129-512 tokens and `long` over 8,192 (the open bucket, taken as
 * up to 16,384: (16,384 - 14,206) / 8,192 of them are over 14,206); answers of 1-32 tokens.
 */
const LIMIT = (3000 - 20) / (0.2 + 20 / 2048);
const inherent = (long: number) => (long * (16384 - LIMIT)) / 8192 / (2000 + long);

/** 60 steps of 15 s at the measured rate, the two from the 30th carrying `factor` times as many. */
function withBurst(factor: number, long: number): VariantObservation {
  const counts = Array.from({ length: 60 }, (_, i) => (i >= 30 && i < 32 ? factor : 1) * rate * 15);
  const obs = withTokenCounts(observation(rate, T0), [0, 0, 2000, 0, 0, long], [2000, 0, 0, 0, 0, 0]);
  return withArrivalSteps(obs, counts);
}

const same = (d: DecisionRecord) => [d.targetReplicas, d.reason, d.message, d.inputs.bursts];

test('off (the default): the decision and its record as before, no inherent share', () => {
  for (const [factor, long] of [
    [4, 50],
    [6, 200],
  ] as const) {
    const off = decideOnTwo(config(false), withBurst(factor, long));
    expect(same(decideOnTwo(config(), withBurst(factor, long)))).toEqual(same(off));
    expect(off.inputs.bursts!.inherentLateShare).toBeUndefined();
    expect(off.inputs.bursts!.allowedShare).toBe(0.01);
  }
});

test('on: the replay may leave late only the goal less the inherent share, and grows the fleet for it', () => {
  const long = 50;
  const share = inherent(long);
  expect(share).toBeGreaterThan(0.004);
  // a burst the normal budget lets through with more than the smaller one left late
  const factor = [3, 3.5, 4, 4.5, 5, 5.5, 6, 7, 8].find((f) => {
    const b = decideOnTwo(config(false), withBurst(f, long)).inputs.bursts!;
    return b.share > 0.01 - share && b.share <= 0.01;
  })!;
  expect(factor).toBeDefined();
  const off = decideOnTwo(config(false), withBurst(factor, long));
  const on = decideOnTwo(config(true), withBurst(factor, long));
  const b = on.inputs.bursts!;
  expect(b.inherentLateShare).toBeCloseTo(share, 12);
  expect(b.prefillLimitTokens).toBeCloseTo(LIMIT, 6);
  expect(b.allowedShare).toBeCloseTo(0.01 - share, 12);
  expect(b.share).toBeLessThanOrEqual(b.allowedShare);
  expect(on.targetReplicas).toBeGreaterThan(off.targetReplicas);
  expect(on.targetReplicas).toBe(b.replicas);
  expect(on.message).toMatch(
    /besides the 0\.6% whose prompts \(over 14206 tokens\) take longer than TTFT to prefill alone/,
  );
});

test('on: an inherent share over the goal keeps the normal sizing and says the accelerator cannot meet it', () => {
  const long = 200;
  expect(inherent(long)).toBeGreaterThan(0.01);
  const on = decideOnTwo(config(true), withBurst(12, long));
  const b = on.inputs.bursts!;
  expect(b.inherentLateShare).toBeCloseTo(inherent(long), 12);
  expect(b.allowedShare).toBe(0);
  // the burst would have asked for more with a budget left: here the normal sizing stands
  const off = decideOnTwo(config(false), withBurst(12, long));
  expect(off.targetReplicas).toBeGreaterThan(b.sizedReplicas);
  expect([b.replicas, on.targetReplicas]).toEqual([b.sizedReplicas, b.sizedReplicas]);
  expect(b.share).toBeGreaterThan(0);
  expect(on.message).toMatch(
    /bursts: 2\.4% of the prompts are over 14206 tokens, whose prefill alone on L4 takes longer than the TTFT target, at least the 1\.0% the goal allows late: L4 cannot meet it at any replica count; the normal sizing kept/,
  );
});
