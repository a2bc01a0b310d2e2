/**
 * The burst sizing (policy.burstSizing) through the whole pool evaluation: off, or without per-step
 * counts, nothing changes; on, a burst the normal sizing cannot absorb within the TTFT target
 * raises the recommendation to the fewest replicas the fluid replay allows, and the decision says why.
 */
import type { DecisionRecord } from '../../../lib/policy/decisionRecord.js';
import { fluidReplay } from '../../../lib/policy/burstSizing.js';
import type { VariantObservation } from '../../../lib/metrics/observation.js';
import { decideOnTwo, observation, poolConfig, ratePerReplica, T0, withArrivalSteps } from '../helpers.js';

// no step limit on a scale-up: the target is what was recommended
const unlimited = { scaleUpMaxStep: { replicas: 20 } };
const off = poolConfig({ policy: unlimited });
const on = poolConfig({ policy: { ...unlimited, burstSizing: { enabled: true } } });
const r = ratePerReplica(off);
const rate = 2 * r;

/** 20 steps of 15 s at the measured rate, one of them carrying `burst` requests. */
function withSteps(obs: VariantObservation, burst: number): VariantObservation {
  return withArrivalSteps(
    obs,
    Array.from({ length: 20 }, (_, i) => (i === 12 ? burst : rate * 15)),
  );
}

const decide = decideOnTwo;

const same = (d: DecisionRecord) => [d.targetReplicas, d.reason, d.message, d.inputs.bursts];

test('off: per-step counts change nothing', () => {
  const plain = decide(off, observation(rate, T0));
  expect(plain.targetReplicas).toBe(2);
  expect(same(decide(off, withSteps(observation(rate, T0), 600)))).toEqual(same(plain));
});

test('on without per-step counts (no burst information): the decision is the flag off one', () => {
  const plain = decide(off, observation(rate, T0));
  expect(same(decide(on, observation(rate, T0)))).toEqual(same(plain));
});

test('on: a 15-s burst two replicas cannot absorb within the TTFT target raises the target to the fewest that can, and says why', () => {
  const d = decide(on, withSteps(observation(rate, T0), 600));
  const b = d.inputs.bursts!;
  expect(b).toMatchObject({ stepSeconds: 15, steps: 20, peakRate: 40, sizedReplicas: 2, allowedShare: 0.01 });
  expect(b.sizedShare).toBeGreaterThan(0.01);
  expect(d.targetReplicas).toBe(b.replicas);
  expect(b.replicas).toBeGreaterThan(2);
  // the fewest: one fewer replica would let more than the allowed share wait beyond the budget
  const share = (n: number) =>
    fluidReplay(
      withSteps(observation(rate, T0), 600).arrivalSteps!.counts,
      15,
      n * b.perReplicaRate,
      b.budgetMs / 1000,
    ).share;
  expect(share(b.replicas)).toBeLessThanOrEqual(0.01);
  expect(share(b.replicas - 1)).toBeGreaterThan(0.01);
  // the TTFT budget is the target (3 s) less a prompt's prefill
  expect(b.budgetMs).toBeGreaterThan(2000);
  expect(b.budgetMs).toBeLessThan(3000);
  expect(d.message).toMatch(
    new RegExp(
      `bursts: 15-s peaks of 40\\.0 req/s over the last 300 s; sized for ${b.replicas} replicas so that [0-9.]+% \\(at most 1\\.0%\\) would wait beyond TTFT`,
    ),
  );
  expect(d.action).toBe('scale-up');
});

test('on: steps the normal sizing absorbs leave the target as it was, the replay recorded', () => {
  const plain = decide(off, observation(rate, T0));
  const d = decide(on, withSteps(observation(rate, T0), rate * 15));
  expect([d.targetReplicas, d.message]).toEqual([plain.targetReplicas, plain.message]);
  expect(d.inputs.bursts).toMatchObject({ replicas: plain.targetReplicas, share: 0, sizedShare: 0 });
});

test('on: a burst beyond maxReplicas asks for maxReplicas and says the share is not met', () => {
  const d = decide(on, withSteps(observation(rate, T0), 6000));
  expect(d.targetReplicas).toBe(10);
  expect(d.message).toMatch(/more than 1\.0%: maxReplicas/);
});
