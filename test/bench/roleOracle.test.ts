/**
 * The oracle per role of bench:disaggregated (bench/disaggregated/roleOracle.ts): the 2-D search
 * over a monotone pass function, the whole-node billing of two roles sharing nodes, and the
 * searches wired into the benchmark's closed loop on a short span of the Azure workload.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cheapestPair,
  roleFleets,
  roleSubject,
  type RoleCounts,
} from '../../bench/disaggregated/roleOracle.js';
import { configFor, WORKLOADS } from '../../bench/disaggregated/workloads.js';
import { describeGoalBound, runYardsticks } from '../../bench/disaggregated/yardsticks.js';
import { fleetsCostPerHour, fleetsNodes, nodesFor } from '../../bench/policies/fleetHold.js';
import type { Row } from '../../bench/disaggregated/workloads.js';

/** A pass function: enough prefill for the decode count (`need[d]`, Infinity: none is enough). */
function passesWith(need: readonly number[]) {
  const tried: string[] = [];
  const trial = (c: RoleCounts) => {
    tried.push(`${c.prefill}/${c.decode}`);
    return { pass: c.prefill >= (need[c.decode] ?? need.at(-1)!) };
  };
  return { trial, tried };
}

/** Whole nodes of two pods each, the pods of both roles sharing them. */
const nodes = (c: RoleCounts) => Math.ceil((c.prefill + c.decode) / 2);

/** The cheapest passing pair by trying every one (ties: fewest decode, then fewest prefill). */
function bruteForce(need: readonly number[], max: RoleCounts): RoleCounts | null {
  let best: RoleCounts | null = null;
  for (let decode = 1; decode <= max.decode; decode++)
    for (let prefill = 1; prefill <= max.prefill; prefill++) {
      const c = { prefill, decode };
      if (prefill >= (need[decode] ?? Infinity) && (!best || nodes(c) < nodes(best))) best = c;
    }
  return best;
}

describe('the 2-D search of the oracle per role', () => {
  const bounds = { min: { prefill: 1, decode: 1 }, max: { prefill: 12, decode: 8 } };

  it('finds the cheapest pair where more decode lowers the prefill needed, trying fewer pairs than the grid', () => {
    // index: decode count; a decode count of 1 never passes, 2 needs 10 prefill, 4 needs only 4
    const need = [Infinity, Infinity, 10, 6, 4, 3, 3, 3, 3];
    const { trial, tried } = passesWith(need);
    const found = cheapestPair(bounds, { prefill: 5, decode: 2 }, nodes, trial);
    expect(found?.counts).toEqual({ prefill: 4, decode: 4 });
    expect(nodes(found!.counts)).toBe(nodes(bruteForce(need, bounds.max)!));
    expect(new Set(tried).size).toBeLessThan((12 * 8) / 3);
  });

  it('matches trying every pair on monotone frontiers falling to a floor', () => {
    // need[d]: falls by a random step at every added decode replica until a floor, then flat
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let k = 0; k < 40; k++) {
      const first = 1 + Math.floor(random() * 4);
      const need: number[] = [Infinity];
      for (let d = 1; d <= 8; d++) need.push(d < first ? Infinity : 0);
      let level = 6 + Math.floor(random() * 12);
      const floor = 1 + Math.floor(random() * 4);
      for (let d = first; d <= 8; d++) {
        need[d] = Math.max(level, floor);
        level -= 1 + Math.floor(random() * 4);
      }
      const { trial } = passesWith(need);
      const start = { prefill: 1 + Math.floor(random() * 12), decode: 1 + Math.floor(random() * 8) };
      const found = cheapestPair(bounds, start, nodes, trial);
      const best = bruteForce(need, bounds.max);
      expect(found === null).toBe(best === null);
      if (found && best) expect(nodes(found.counts)).toBe(nodes(best));
    }
  });

  it('returns null when even the most of both fail, or when nothing beats the bound given', () => {
    expect(cheapestPair(bounds, { prefill: 3, decode: 3 }, nodes, () => ({ pass: false }))).toBeNull();
    const { trial } = passesWith([Infinity, Infinity, 10, 6, 4, 3, 3, 3, 3]);
    // 4 nodes is the cheapest: a fleet found already at 4 nodes cannot be beaten
    expect(cheapestPair(bounds, { prefill: 5, decode: 2 }, nodes, trial, 4)).toBeNull();
    expect(cheapestPair(bounds, { prefill: 5, decode: 2 }, nodes, trial, 5)?.counts).toEqual({
      prefill: 4,
      decode: 4,
    });
  });
});

describe('whole nodes for two roles', () => {
  it('packs pods on whole nodes, largest first', () => {
    expect(nodesFor(8, [{ gpus: 4, count: 3 }])).toBe(2);
    expect(nodesFor(8, [{ gpus: 4, count: 0 }])).toBe(0);
    // 3-GPU pods: two a node, the 2-GPU ones fill the gaps
    expect(nodesFor(8, [{ gpus: 3, count: 3 }])).toBe(2);
    expect(
      nodesFor(8, [
        { gpus: 2, count: 2 },
        { gpus: 3, count: 3 },
      ]),
    ).toBe(2);
    expect(() => nodesFor(8, [{ gpus: 16, count: 1 }])).toThrow(/does not fit/);
  });

  it('bills prefill and decode pods of one accelerator type on shared nodes (config/disaggregated.yaml)', () => {
    const config = configFor(WORKLOADS[0]!, 'disaggregated');
    const v = config.disaggregated![0]!;
    const subject = roleSubject(config, v, {
      prefill: ['4xA100', '4xH100'],
      decode: ['4xA100', '4xH100'],
    });
    const h100 = { prefill: '4xH100', decode: '4xH100' };
    const split = { prefill: '4xH100', decode: '4xA100' };
    const h100Node = 2 * 27.52; // two 4-GPU pods on an 8-GPU node, at the GPUs' price
    const a100Node = 2 * 13.725;
    // 3 prefill + 1 decode on H100: 4 pods on 2 nodes, not 2 + 1
    const shared = roleFleets(subject, h100, { prefill: 3, decode: 1 });
    expect(fleetsNodes(config, subject.held, shared).get('gpu-h100')).toBe(2);
    expect(fleetsCostPerHour(config, subject.held, shared)).toBeCloseTo(2 * h100Node);
    // decode on A100: its own node group
    const apart = roleFleets(subject, split, { prefill: 3, decode: 1 });
    expect(fleetsCostPerHour(config, subject.held, apart)).toBeCloseTo(2 * h100Node + a100Node);
    // the role not on an accelerator holds none there
    expect(apart.get(`${v.name}:decode`)?.get('4xH100')).toBe(0);
  });
});

describe("the goal's bound against the yardsticks", () => {
  const row = (policy: string, attainment: number, cost: number) => ({ policy, attainment, cost }) as Row;
  it('says reachable only for a yardstick meeting the goal within the bound', () => {
    const planner = { cost: 300, attainment: 0.991 };
    const within = describeGoalBound(planner, planner, 0.8, 0.99, [row('oracle', 0.992, 230)]);
    expect(within).toMatch(/= \$240\.00/);
    expect(within).toMatch(/reachable \(oracle/);
    const above = describeGoalBound(planner, planner, 0.8, 0.99, [row('oracle', 0.992, 250)]);
    expect(above).toMatch(/no yardstick found meets 99\.00% within it/);
    // cheap enough but short of the goal: no yardstick
    const short = describeGoalBound(planner, planner, 0.8, 0.99, [row('oracle', 0.985, 200)]);
    expect(short).toMatch(/below 99\.00%: no yardstick/);
    expect(short).toMatch(/no yardstick found/);
  });

  it('says the bound is not defined when the planner never reaches the goal', () => {
    const text = describeGoalBound(undefined, { cost: 230, attainment: 0.46 }, 0.8, 0.99, [
      row('oracle', 0.993, 236),
    ]);
    expect(text).toMatch(/not defined: the planner reaches 99\.00% at no setting searched \(best 46\.00%/);
  });
});

describe('the yardsticks in the benchmark (azure-code, 20 min)', () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'role-oracle-'));
  it('runs oracle, oracle-lead and static-best in the closed loop, the oracle reproducing its search, then from the cache', async () => {
    const w = WORKLOADS.find((x) => x.name === 'azure-code')!;
    const first = await runYardsticks(w, { duration: 1200, cacheDir });
    expect(first.rows.map((r) => r.policy)).toEqual(['oracle', 'oracle-lead', 'static-best']);
    expect(first.schedule.fromCache).toBe(false);
    expect(first.schedule.trials).toBeGreaterThan(0);
    const oracle = first.rows[0]!;
    // every interval met the target in the search; the replay is the search's run
    if (first.schedule.choices.every((c) => c.feasible))
      expect(oracle.attainment).toBeGreaterThanOrEqual(0.99);
    if (first.staticChoice.feasible) expect(first.rows[2]!.attainment).toBeGreaterThanOrEqual(0.99);
    // a constant fleet pays for the whole span at its price per hour
    expect(first.rows[2]!.cost).toBeGreaterThan(0);
    const again = await runYardsticks(w, { duration: 1200, cacheDir });
    expect(again.schedule.fromCache).toBe(true);
    expect(again.schedule.choices).toEqual(first.schedule.choices);
    expect(again.rows.map((r) => r.cost)).toEqual(first.rows.map((r) => r.cost));
  }, 120_000);
});
