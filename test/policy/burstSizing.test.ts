import { fluidReplay, peakRate, replicasForBursts } from '../../lib/policy/burstSizing.js';

describe('fluidReplay', () => {
  test('a fleet faster than every step keeps no one waiting', () => {
    // the busiest step brings 20 in 15 s (1.33 req/s); the fleet serves 2 req/s
    const r = fluidReplay([10, 20, 5], 15, 2, 2);
    expect(r).toEqual({ arrivals: 35, late: 0, share: 0, backlog: 0 });
  });

  test('a step burst the fleet cannot absorb within the budget: the arrivals after the backlog passes the budget are late', () => {
    // 150 in 15 s (10 req/s) on 5 req/s: the backlog grows 5 req/s and passes 10 (2 s of service) at 2 s
    const r = fluidReplay([0, 150, 0], 15, 5, 2);
    expect(r.arrivals).toBe(150);
    expect(r.late).toBeCloseTo(130, 9);
    expect(r.share).toBeCloseTo(130 / 150, 9);
    // 75 left at the burst's end, 75 served in the quiet step after it
    expect(r.backlog).toBeCloseTo(0, 9);
  });

  test('the backlog a burst leaves is carried into the next step, whose arrivals wait behind it', () => {
    const alone = fluidReplay([0, 30], 15, 5, 2);
    expect(alone.late).toBe(0);
    // after the burst 75 wait; at 2 req/s in, 5 out, it stays above 10 for 21.7 s: the whole next step
    const after = fluidReplay([150, 30], 15, 5, 2);
    expect(after.late).toBeCloseTo(130 + 30, 9);
    expect(after.backlog).toBeCloseTo(30, 9);
  });

  test('the backlog drains within a step: only the arrivals before it falls below the budget are late', () => {
    // 75 waiting, 1 req/s in, 5 out: above 10 for (75 - 10) / 4 = 16.25 s: the first step whole, 1.25 s of the next
    const r = fluidReplay([150, 15, 15], 15, 5, 2);
    expect(r.late).toBeCloseTo(130 + 15 + 1.25, 9);
  });

  test('no throughput: every request is late', () => {
    expect(fluidReplay([3, 0], 15, 0, 2).share).toBe(1);
    expect(fluidReplay([0, 0], 15, 0, 2).share).toBe(0);
  });
});

describe('replicasForBursts', () => {
  const burst = { counts: [150], stepSeconds: 15, perReplica: 1, budgetSeconds: 2, allowedShare: 0.01 };

  test('the fewest replicas that keep the late share within the allowed one', () => {
    // 8 replicas: the backlog passes 16 at 8 s, 7/15 late; 9: it reaches only 15 by the step's end
    const r = replicasForBursts({ ...burst, atLeast: 3, atMost: 20 });
    expect(r).toEqual({ replicas: 9, share: 0, shareAtLeast: expect.closeTo(1 - 6 / 7 / 15, 9), met: true });
  });

  test('never fewer than the normal sizing', () => {
    expect(replicasForBursts({ ...burst, atLeast: 12, atMost: 20 })).toMatchObject({
      replicas: 12,
      met: true,
    });
  });

  test('at most maxReplicas, and then says the share is not met', () => {
    const r = replicasForBursts({ ...burst, atLeast: 3, atMost: 6 });
    expect(r.replicas).toBe(6);
    expect(r.met).toBe(false);
    expect(r.share).toBeGreaterThan(0.01);
  });

  test('the peak rate is the busiest step per second', () => {
    expect(peakRate([15, 150, 30], 15)).toBe(10);
  });
});
