/** ITL over short-step rates: the miss share weighted over the steps, and the fewest replicas that hold it. */
import { ItlShareModel, maxRateForItlShare, type ItlShareInput } from '../../lib/analyzer/chunkedItl.js';
import { itlShareOverSteps, replicasForItlSteps } from '../../lib/policy/itlOverSteps.js';

const L40S = { alpha: 12, beta: 0.15, gamma: 12, delta: 0.08 };
const share: ItlShareInput = {
  engine: { profile: L40S, budget: 1024 },
  input: { values: [500, 4000], weights: [0.8, 0.2] },
  output: { values: [2, 20, 200], weights: [0.3, 0.3, 0.4] },
  itlTargetMs: 60,
};
const model = new ItlShareModel(share);
const miss = (rate: number, n: number) => model.at(rate, n).missShare;

describe('itlShareOverSteps', () => {
  test("each step's share at its own rate over the replicas, weighted by the requests it brought", () => {
    // 30 and 90 requests in 15 s over 3 replicas: 0.667 and 2 req/s a replica
    const expected = (30 * miss(2 / 3, 3) + 90 * miss(2, 3)) / 120;
    expect(itlShareOverSteps(model, [30, 90], 15, 3)).toBeCloseTo(expected, 12);
    // the busier step weighs more, and misses more, than the mean rate says
    expect(itlShareOverSteps(model, [30, 90], 15, 3)).toBeGreaterThan(miss(60 / 15 / 3, 3));
  });

  test('constant counts give the share at the mean rate; empty steps weigh nothing', () => {
    expect(itlShareOverSteps(model, [45, 45, 45], 15, 2)).toBeCloseTo(miss(1.5, 2), 12);
    expect(itlShareOverSteps(model, [0, 45, 0], 15, 2)).toBeCloseTo(miss(1.5, 2), 12);
    expect(itlShareOverSteps(model, [0, 0], 15, 2)).toBe(0);
    expect(itlShareOverSteps(model, [], 15, 2)).toBe(0);
  });
});

describe('replicasForItlSteps', () => {
  const allowedShare = 0.01;
  const rate = 6; // req/s over the variant
  // the normal sizing: the ITL cap at the mean rate (lib/policy/distribution.ts itlRateCap)
  const sized = Math.ceil(rate / maxRateForItlShare(share, allowedShare, 500, rate));
  const steady = Array.from({ length: 60 }, () => rate * 15);
  const burst = steady.map((c, i) => (i >= 20 && i < 26 ? 4 * c : c));
  const input = { stepSeconds: 15, share, allowedShare, atLeast: sized, atMost: 100 };
  const over = (counts: number[], n: number) => itlShareOverSteps(model, counts, 15, n);

  test('constant counts at the rate the normal sizing had give the normal sizing', () => {
    expect(sized).toBeGreaterThan(1);
    const r = replicasForItlSteps({ ...input, counts: steady });
    expect(r).toMatchObject({ replicas: sized, met: true });
    expect(r.share).toBeLessThanOrEqual(allowedShare);
    expect(r.shareAtLeast).toBe(r.share);
  });

  test('a burst of steps raises the fleet to the fewest replicas whose share over the steps is within the allowed one', () => {
    const r = replicasForItlSteps({ ...input, counts: burst });
    expect(r.shareAtLeast).toBeGreaterThan(allowedShare);
    expect(r.replicas).toBeGreaterThan(sized);
    expect(r.met).toBe(true);
    expect(r.share).toBeCloseTo(over(burst, r.replicas), 12);
    expect(over(burst, r.replicas)).toBeLessThanOrEqual(allowedShare);
    expect(over(burst, r.replicas - 1)).toBeGreaterThan(allowedShare);
  });

  test('never fewer than the normal sizing', () => {
    const r = replicasForItlSteps({ ...input, counts: burst, atLeast: 40 });
    expect(r).toMatchObject({ replicas: 40, met: true });
  });

  test('at most atMost, and then the share is not met', () => {
    const r = replicasForItlSteps({ ...input, counts: burst, atMost: sized + 1 });
    expect(r).toMatchObject({ replicas: sized + 1, met: false });
    expect(r.share).toBeGreaterThan(allowedShare);
  });

  test('a target even a trickle misses: no replicas help, the normal sizing stays', () => {
    const r = replicasForItlSteps({ ...input, counts: burst, share: { ...share, itlTargetMs: 10 } });
    expect(r).toMatchObject({ replicas: sized, met: false, share: 1 });
  });
});
