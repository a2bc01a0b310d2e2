import { fewestReplicasForBoth } from '../../lib/policy/sharedBudget.js';

/** A share falling as 1/n² from `at10` at ten replicas: never growing with the replicas. */
const falling = (at10: number) => (n: number) => (at10 * 100) / (n * n);
const zero = () => 0;

describe('fewestReplicasForBoth', () => {
  test('each share within 1% on its own but their sum not: the fewest replicas whose sum is within', () => {
    // at 10: 0.8% + 0.7% = 1.5%; at 12: 0.56% + 0.49% = 1.04%; at 13: 0.47% + 0.41% = 0.89%
    const r = fewestReplicasForBoth({
      ttftShareAt: falling(0.008),
      itlShareAt: falling(0.007),
      allowedShare: 0.01,
      atLeast: 10,
      atMost: Infinity,
    });
    expect(r.replicas).toBe(13);
    expect(r.met).toBe(true);
    expect(r.ttftShare + r.itlShare).toBeLessThanOrEqual(0.01);
    expect(falling(0.008)(12) + falling(0.007)(12)).toBeGreaterThan(0.01);
    expect(r.sizedReplicas).toBe(10);
    expect(r.sizedTtftShare).toBeCloseTo(0.008, 12);
    expect(r.sizedItlShare).toBeCloseTo(0.007, 12);
  });

  test('one share 0: the count the other sizing asked for, whichever it is', () => {
    for (const [ttft, itl] of [
      [zero, falling(0.009)],
      [falling(0.01), zero],
    ] as const) {
      const r = fewestReplicasForBoth({
        ttftShareAt: ttft,
        itlShareAt: itl,
        allowedShare: 0.01,
        atLeast: 10,
        atMost: 40,
      });
      expect([r.replicas, r.met]).toEqual([10, true]);
    }
  });

  test('both 0 from the start: nothing added', () => {
    const r = fewestReplicasForBoth({
      ttftShareAt: zero,
      itlShareAt: zero,
      allowedShare: 0.01,
      atLeast: 3,
      atMost: 3,
    });
    expect(r).toMatchObject({ replicas: 3, ttftShare: 0, itlShare: 0, met: true });
  });

  test('the bound stops it: atMost, not met, its shares recorded', () => {
    const r = fewestReplicasForBoth({
      ttftShareAt: falling(0.008),
      itlShareAt: falling(0.007),
      allowedShare: 0.01,
      atLeast: 10,
      atMost: 11,
    });
    expect(r).toMatchObject({ replicas: 11, met: false });
    expect(r.ttftShare).toBeCloseTo(falling(0.008)(11), 12);
  });

  test('the same count a linear walk up from atLeast finds, over many pairs of shares', () => {
    for (const a of [0.001, 0.004, 0.009, 0.02]) {
      for (const b of [0, 0.002, 0.006, 0.03]) {
        for (const atLeast of [1, 4, 10]) {
          const ttftShareAt = falling(a);
          const itlShareAt = falling(b);
          let walk = atLeast;
          while (ttftShareAt(walk) + itlShareAt(walk) > 0.01) walk++;
          const r = fewestReplicasForBoth({
            ttftShareAt,
            itlShareAt,
            allowedShare: 0.01,
            atLeast,
            atMost: Infinity,
          });
          expect([a, b, atLeast, r.replicas]).toEqual([a, b, atLeast, walk]);
        }
      }
    }
  });
});
