/**
 * The equal-attainment search of bench:disaggregated (bench/disaggregated/equalAttainment.ts):
 * the knob's settings walked from the least capacity up to the first reaching the target, refined
 * between the last miss and the first hit, the cheapest hit taken; the best run when none hits.
 */
import { PLANNER_HEADROOM, walkKnob, type Trial } from '../../bench/disaggregated/equalAttainment.js';
import type { Knobs, Row } from '../../bench/disaggregated/workloads.js';

/** A run whose attainment and cost are given functions of the planner's headroom. */
function runOf(attainment: (h: number) => number, cost: (h: number) => number) {
  const ran: number[] = [];
  const run = async (knobs: Knobs): Promise<Trial> => {
    const h = knobs.plannerHeadroom!;
    ran.push(h);
    const row = { attainment: attainment(h), cost: cost(h) } as Row;
    return { knobs, row, fromCache: false };
  };
  return { run, ran };
}

describe('the equal-attainment search', () => {
  it('walks up to the first setting reaching the target, then refines below it for a cheaper one', async () => {
    // attainment rises with headroom and reaches 99% from 1.56x; cost rises with it
    const { run, ran } = runOf(
      (h) => Math.min(0.6 + 0.25 * h, 1),
      (h) => 100 * h,
    );
    const result = await walkKnob(PLANNER_HEADROOM, 0.99, run);
    // 1, 1.25, 1.5 miss, 2 reaches; halfway below it 1.75 and then 1.63 reach too, for less
    expect(ran).toEqual([1, 1.25, 1.5, 2, 1.75, 1.63]);
    expect(result.cheapest?.knobs.plannerHeadroom).toBe(1.63);
    expect(result.cheapest?.row.cost).toBeCloseTo(163);
  });

  it('reports the best run when no setting reaches the target', async () => {
    // attainment falls past 3x (a role at its maxReplicas and queues it cannot drain)
    const { run, ran } = runOf(
      (h) => (h <= 3 ? 0.3 + 0.1 * h : 0.5),
      (h) => 50 * h,
    );
    const result = await walkKnob(PLANNER_HEADROOM, 0.99, run);
    expect(ran).toEqual([1, 1.25, 1.5, 2, 3, 4, 6]);
    expect(result.cheapest).toBeUndefined();
    expect(result.best.knobs.plannerHeadroom).toBe(3);
    expect(result.best.row.attainment).toBeCloseTo(0.6);
  });

  it('takes the first setting when it already reaches the target, with no refinement', async () => {
    const { run, ran } = runOf(
      () => 0.995,
      (h) => 10 * h,
    );
    const result = await walkKnob(PLANNER_HEADROOM, 0.99, run);
    expect(ran).toEqual([1]);
    expect(result.cheapest?.row.cost).toBe(10);
  });
});
