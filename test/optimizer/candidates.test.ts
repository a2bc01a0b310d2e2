/**
 * Candidates and the unlimited choice on tiny systems (see systemBuilder.ts for why a load of
 * 1.5 needs 2 unit replicas, and why alpha 5 doubles and alpha 20 halves a replica's rate).
 */
import { solve, transitionValue } from '../../lib/optimizer/index.js';
import { buildSystem, placements, UNIT_RATE } from './systemBuilder.js';

const accelerators = (costs: Record<string, number>) =>
  Object.entries(costs).map(([name, cost]) => ({ name, cost }));

describe('unlimited choice', () => {
  it('takes the cheapest feasible accelerator, skipping infeasible and unprofiled ones', () => {
    const system = buildSystem({
      accelerators: accelerators({ A: 10, B: 6, C: 1, D: 0.5 }),
      // C misses the 50 ms ITL target at any load; D has no profile for the model.
      models: { m: { A: {}, B: {}, C: { alpha: 60 } } },
      servers: [{ name: 's', load: 1.5 }],
    });
    const solution = solve(system);
    const chosen = solution.allocations.get('s')!;
    expect(chosen).toMatchObject({
      accelerator: 'B',
      numReplicas: 2,
      maxBatch: 10,
      cost: 12,
      itlAverage: 10,
    });
    // No current allocation: an accelerator change, 0.1 * (0 + 12) + 12.
    expect(chosen.value).toBeCloseTo(13.2, 12);
    expect(chosen.maxRatePerReplica).toBeCloseTo(UNIT_RATE, 9);
    expect(solution.candidates.get('s')!.map((c) => [c.accelerator, c.numReplicas, c.cost])).toEqual([
      ['B', 2, 12],
      ['A', 2, 20],
    ]);
    expect(solution.notes.get('s')).toEqual(['C: targets missed even at the lowest load: ITL 60.00 > 50 ms']);
  });

  it('compares total cost, not unit price: a faster accelerator may need fewer replicas', () => {
    const system = buildSystem({
      accelerators: accelerators({ A: 10, B: 6, E: 7 }),
      models: { m: { A: {}, B: {}, E: { alpha: 5 } } },
      servers: [{ name: 's', load: 1.5 }],
    });
    const solution = solve(system);
    expect(placements(solution)).toEqual({ s: 'E*1' });
    expect(solution.allocations.get('s')!.maxRatePerReplica).toBeCloseTo(2 * UNIT_RATE, 9);
    expect(solution.candidates.get('s')!.map((c) => `${c.accelerator}*${c.numReplicas}`)).toEqual([
      'E*1',
      'B*2',
      'A*2',
    ]);
  });

  it('rounds replicas up, and an exact multiple of the replica rate needs no extra replica', () => {
    const loads = { exact: 3, above: 3.01, below: 2.99 };
    const system = buildSystem({
      accelerators: accelerators({ A: 10 }),
      servers: Object.entries(loads).map(([name, load]) => ({ name, load })),
    });
    expect(placements(solve(system))).toEqual({ above: 'A*4', below: 'A*3', exact: 'A*3' });
  });

  it('breaks a tie between equal values by accelerator name', () => {
    const system = buildSystem({
      accelerators: accelerators({ Z: 10, M: 10, Q: 10 }),
      servers: [{ name: 's', load: 1 }],
    });
    expect(placements(solve(system))).toEqual({ s: 'M*1' });
  });
});

describe('transition value', () => {
  const a2 = { accelerator: 'A', numReplicas: 2, cost: 20 };

  it('is 0 when nothing changes, whatever the costs', () => {
    expect(transitionValue(a2, { accelerator: 'A', numReplicas: 2, cost: 20 })).toBe(0);
    expect(transitionValue(a2, { accelerator: 'A', numReplicas: 2, cost: 25 })).toBe(0);
  });

  it('is the cost difference when only the replica count changes', () => {
    expect(transitionValue(a2, { accelerator: 'A', numReplicas: 3, cost: 30 })).toBe(10);
    expect(transitionValue(a2, { accelerator: 'A', numReplicas: 1, cost: 10 })).toBe(-10);
  });

  it('adds 10% of both costs when the accelerator changes', () => {
    expect(transitionValue(a2, { accelerator: 'B', numReplicas: 2, cost: 18 })).toBeCloseTo(1.8, 12);
    expect(transitionValue(a2, { accelerator: 'B', numReplicas: 2, cost: 10 })).toBeCloseTo(-7, 12);
    // No current accelerator counts as a change: 1.1 x the new cost.
    const none = { accelerator: '', numReplicas: 0, cost: 0 };
    expect(transitionValue(none, { accelerator: 'B', numReplicas: 2, cost: 12 })).toBeCloseTo(13.2, 12);
  });

  const twoAccelerators = (costB: number, current?: { accelerator: string; numReplicas: number }) =>
    buildSystem({
      accelerators: accelerators({ A: 10, B: costB }),
      servers: [{ name: 's', load: 1.5, current }],
    });

  it('keeps a server on its accelerator when another is only slightly cheaper', () => {
    // Without a current allocation B (2 x 9) beats A (2 x 10).
    expect(placements(solve(twoAccelerators(9)))).toEqual({ s: 'B*2' });
    // On A*2: staying is worth 0, moving to B 0.1 * (20 + 18) - 2 = 1.8.
    const stay = solve(twoAccelerators(9, { accelerator: 'A', numReplicas: 2 }));
    expect(placements(stay)).toEqual({ s: 'A*2' });
    expect(stay.candidates.get('s')!.map((c) => [c.accelerator, Number(c.value.toFixed(9))])).toEqual([
      ['A', 0],
      ['B', 1.8],
    ]);
    // On A*3 it must shrink: A is worth 20 - 30 = -10, B 0.1 * (30 + 18) - 12 = -7.2.
    const shrink = solve(twoAccelerators(9, { accelerator: 'A', numReplicas: 3 }));
    expect(placements(shrink)).toEqual({ s: 'A*2' });
    expect(shrink.candidates.get('s')!.map((c) => Number(c.value.toFixed(9)))).toEqual([-10, -7.2]);
  });

  it('moves a server when the saving outweighs the penalty', () => {
    // On A*2 (cost 20), B at 5 is worth 0.1 * (20 + 10) - 10 = -7 < 0.
    const moved = solve(twoAccelerators(5, { accelerator: 'A', numReplicas: 2 }));
    expect(placements(moved)).toEqual({ s: 'B*2' });
    expect(moved.allocations.get('s')!.value).toBeCloseTo(-7, 12);
  });
});

describe('server constraints', () => {
  const cheapB = (server: Parameters<typeof buildSystem>[0]['servers'][number]) =>
    buildSystem({ accelerators: accelerators({ A: 10, B: 5 }), servers: [server] });

  it('keepAccelerator restricts the candidates to the current accelerator', () => {
    const kept = solve(
      cheapB({ name: 's', load: 1.5, keepAccelerator: true, current: { accelerator: 'A', numReplicas: 1 } }),
    );
    expect(placements(kept)).toEqual({ s: 'A*2' });
    expect(kept.candidates.get('s')!.map((c) => c.accelerator)).toEqual(['A']);
    // The same server free to move goes to B.
    expect(
      placements(solve(cheapB({ name: 's', load: 1.5, current: { accelerator: 'A', numReplicas: 1 } }))),
    ).toEqual({
      s: 'B*2',
    });
  });

  it('keepAccelerator without a current accelerator leaves every accelerator open', () => {
    const solution = solve(cheapB({ name: 's', load: 1.5, keepAccelerator: true }));
    expect(placements(solution)).toEqual({ s: 'B*2' });
    expect(solution.candidates.get('s')!.map((c) => c.accelerator)).toEqual(['B', 'A']);
  });

  it('allowedAccelerators restricts the candidates', () => {
    const solution = solve(cheapB({ name: 's', load: 1.5, allowedAccelerators: ['A'] }));
    expect(placements(solution)).toEqual({ s: 'A*2' });
    expect(solution.candidates.get('s')!.map((c) => c.accelerator)).toEqual(['A']);
  });

  it('allowedAccelerators with no profiled accelerator leaves the server without candidates', () => {
    const system = buildSystem({
      accelerators: accelerators({ A: 10, B: 5, C: 1 }),
      models: { m: { A: {}, B: {} } },
      servers: [{ name: 's', load: 1.5, allowedAccelerators: ['C'] }],
    });
    const solution = solve(system);
    expect(solution.allocations.has('s')).toBe(false);
    expect(solution.candidates.get('s')).toEqual([]);
    expect(solution.notes.get('s')).toEqual(['no feasible candidate']);
  });

  it('minReplicas raises the replica count, and the cost with it', () => {
    expect(placements(solve(cheapB({ name: 's', load: 0.5 })))).toEqual({ s: 'B*1' });
    const raised = solve(cheapB({ name: 's', load: 0.5, minReplicas: 3 }));
    expect(raised.allocations.get('s')).toMatchObject({ accelerator: 'B', numReplicas: 3, cost: 15 });
    // A minimum below what the load needs changes nothing.
    expect(placements(solve(cheapB({ name: 's', load: 2.5, minReplicas: 2 })))).toEqual({ s: 'B*3' });
  });

  it('maxReplicas makes a candidate that needs more replicas infeasible', () => {
    // B (unit rate, cost 4) needs 4 replicas for a load of 3.5; A (twice the rate, cost 10) needs 2.
    const build = (maxReplicas?: number) =>
      buildSystem({
        accelerators: accelerators({ A: 10, B: 4 }),
        models: { m: { A: { alpha: 5 }, B: {} } },
        servers: [{ name: 's', load: 3.5, maxReplicas }],
      });
    expect(placements(solve(build()))).toEqual({ s: 'B*4' });
    const capped = solve(build(3));
    expect(placements(capped)).toEqual({ s: 'A*2' });
    expect(capped.notes.get('s')).toEqual(['B: needs 4 replicas, above the maximum 3']);
    const none = solve(build(1));
    expect(placements(none)).toEqual({});
    expect(none.notes.get('s')).toEqual([
      'A: needs 2 replicas, above the maximum 1',
      'B: needs 4 replicas, above the maximum 1',
      'no feasible candidate',
    ]);
  });
});

describe('zero load', () => {
  it('with minReplicas 0 gives the empty allocation in unlimited mode', () => {
    const solution = solve(cheapIdle({ minReplicas: 0 }));
    expect(solution.allocations.get('idle')).toEqual({
      accelerator: '',
      numReplicas: 0,
      maxBatch: 0,
      cost: 0,
      value: 0,
      itlAverage: 0,
      ttftAverage: 0,
      rho: 0,
      maxRatePerReplica: 0,
    });
    expect(solution.candidates.get('idle')).toHaveLength(1);
  });

  it('values giving up a current allocation as a change: 0.1 * (old + 0) - old', () => {
    const solution = solve(cheapIdle({ minReplicas: 0, current: { accelerator: 'A', numReplicas: 2 } }));
    expect(solution.allocations.get('idle')!.accelerator).toBe('');
    expect(solution.allocations.get('idle')!.value).toBeCloseTo(-18, 12);
  });

  it('with minReplicas 0 is absent in limited mode', () => {
    const solution = solve(cheapIdle({ minReplicas: 0 }, { A: 10, B: 10 }));
    expect(solution.allocations.has('idle')).toBe(false);
    expect(placements(solution)).toEqual({ busy: 'B*1' });
  });

  it('counts a load without output tokens as zero load', () => {
    const system = buildSystem({
      accelerators: accelerators({ A: 10 }),
      servers: [{ name: 'idle', load: 3, avgOutTokens: 0 }],
    });
    expect(placements(solve(system))).toEqual({ idle: '*0' });
  });

  it('with minReplicas > 0 gives minReplicas on the cheapest accelerator, at single-request latencies', () => {
    const solution = solve(cheapIdle({ minReplicas: 2 }));
    expect(solution.allocations.get('idle')).toMatchObject({
      accelerator: 'B',
      numReplicas: 2,
      cost: 10,
      // The profile's batch limit, not one derived from the (absent) output length.
      maxBatch: 16,
      itlAverage: 7 + 1,
      ttftAverage: 30 + 0.5,
      rho: 0,
    });
  });

  it('with minReplicas > 0 takes capacity in limited mode', () => {
    expect(placements(solve(cheapIdle({ minReplicas: 2 }, { A: 10, B: 3 })))).toEqual({
      busy: 'B*1',
      idle: 'B*2',
    });
    // One B left after the busy server: the idle one falls back to A.
    expect(placements(solve(cheapIdle({ minReplicas: 2 }, { A: 10, B: 2 })))).toEqual({
      busy: 'B*1',
      idle: 'A*2',
    });
  });
});

function cheapIdle(
  idle: { minReplicas: number; current?: { accelerator: string; numReplicas: number } },
  capacity?: Record<string, number>,
) {
  return buildSystem({
    accelerators: accelerators({ A: 10, B: 5 }),
    models: { m: { A: {}, B: { alpha: 7, beta: 1, gamma: 30, delta: 0.5, maxBatchSize: 16 } } },
    servers: [
      { name: 'idle', arrivalRate: 0, ...idle },
      // B serves about 15 req/s per replica: one replica for 5 req/s.
      { name: 'busy', load: 0.05, allowedAccelerators: ['B'] },
    ],
    capacity,
  });
}

describe('rate caps from outside the queue model', () => {
  it('size for the lower of the cap and the queue model rate, and drop an accelerator capped at 0', () => {
    const system = buildSystem({
      accelerators: accelerators({ A: 10, B: 6 }),
      servers: [{ name: 's', load: 1.5 }],
    });
    const server = system.servers[0]!;
    const capped = {
      ...system,
      servers: [
        {
          ...server,
          rateCaps: new Map([
            ['A', UNIT_RATE / 2],
            ['B', 0],
          ]),
        },
      ],
    };
    const solution = solve(capped);
    expect(placements(solution)).toEqual({ s: 'A*3' });
    expect(solution.allocations.get('s')!.maxRatePerReplica).toBeCloseTo(UNIT_RATE / 2, 9);
    expect(solution.notes.get('s')!.some((n) => n.startsWith('B: no rate meets the rate cap'))).toBe(true);
    // a cap above the queue model's rate changes nothing
    const loose = { ...system, servers: [{ ...server, rateCaps: new Map([['B', 100 * UNIT_RATE]]) }] };
    expect(placements(solve(loose))).toEqual(placements(solve(system)));
  });
});
