/**
 * The split of sva's excess over the oracle (bench/policies/excessByHour.ts) on runs written by
 * hand: idle devices on paid nodes, replicas held by the window above the recommendation, the rest.
 */
import { excessByHour } from '../../bench/policies/excessByHour.js';
import { CHAT_FLEET } from '../../bench/policies/traces.js';
import { loadConfig } from '../../lib/config/load.js';
import type { SimulationRun, TimelinePoint } from '../../lib/closedLoop/closedLoop.js';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';

const config = loadConfig(CHAT_FLEET);
const H100 = 6.88;
const L40S = 1.861;

function point(t: number, desired: Record<string, number>, nodes: Record<string, number>): TimelinePoint {
  const costPerHour = (nodes['gpu-h100'] ?? 0) * 8 * H100 + (nodes['gpu-l40s'] ?? 0) * L40S;
  return {
    t,
    costPerHour,
    nodes,
    variants: {
      'llama-8b': {
        arrivalRate: 1,
        estimatedRate: 1,
        desired,
        ready: desired,
        p95TtftMs: null,
        p95ItlMs: null,
      },
    },
  };
}

const run = (timeline: TimelinePoint[]) => ({ timeline }) as unknown as SimulationRun;
const held = (target: number, recommended: number) =>
  [
    {
      accelerator: 'L40S',
      targetReplicas: target,
      reason: 'stabilization',
      message: `sized for 1 req/s on L40S; held by the 1596 s window (recommended ${recommended})`,
    },
  ] as unknown as DecisionRecord[];

describe('excessByHour', () => {
  it('splits each hour into idle devices, replicas held by the window, and the rest', () => {
    // sva: for the first half hour 4 L40S (the window holds 4 where 1 is recommended) and 3 H100
    // replicas on one 8-GPU node; then 2 L40S for the second half. The oracle: 2 L40S throughout.
    const sva = run([
      point(1800, { L40S: 4, H100: 3 }, { 'gpu-l40s': 4, 'gpu-h100': 1 }),
      point(3600, { L40S: 2 }, { 'gpu-l40s': 2 }),
    ]);
    const oracle = run([point(3600, { L40S: 2 }, { 'gpu-l40s': 2 })]);
    const from = 600;
    const decisions = new Map([[1800 + from, held(4, 1)]]);
    const [row] = excessByHour(config, sva, oracle, decisions, from);
    expect(row!.sva).toBeCloseTo(0.5 * (4 * L40S + 8 * H100) + 0.5 * 2 * L40S, 6);
    expect(row!.oracle).toBeCloseTo(2 * L40S, 6);
    expect(row!.idleDevices).toBeCloseTo(0.5 * 5 * H100, 6);
    expect(row!.heldByWindow).toBeCloseTo(0.5 * 3 * L40S, 6);
    // the rest: the H100 replicas sva asked for, and the L40S it recommended beyond the oracle's
    expect(row!.rest).toBeCloseTo(0.5 * 3 * H100 + 0.5 * (1 - 2) * L40S, 6);
  });

  it('counts a run hour by hour', () => {
    const sva = run([
      point(3600, { L40S: 1 }, { 'gpu-l40s': 1 }),
      point(7200, { L40S: 3 }, { 'gpu-l40s': 3 }),
    ]);
    const oracle = run([
      point(3600, { L40S: 1 }, { 'gpu-l40s': 1 }),
      point(7200, { L40S: 1 }, { 'gpu-l40s': 1 }),
    ]);
    const rows = excessByHour(config, sva, oracle, new Map(), 0);
    expect(rows.map((r) => r.hour)).toEqual([0, 1]);
    expect(rows[0]!.sva - rows[0]!.oracle).toBeCloseTo(0, 6);
    expect(rows[1]!.rest).toBeCloseTo(2 * L40S, 6);
  });
});
