/**
 * Limited capacity (docs/SIZING.md section 5) on tiny systems whose answers follow by hand. A load
 * of k.5 needs k + 1 unit replicas (systemBuilder.ts); every accelerator here has multiplicity 1
 * and accCount 1 unless a test says otherwise, so a replica takes one device.
 */
import { solve, type SaturationPolicy } from '../../lib/optimizer/index.js';
import { buildSystem, placements, type ServerInput } from './systemBuilder.js';

const GOLD = { name: 'gold', priority: 1 };
const BRONZE = { name: 'bronze', priority: 2 };

/** One accelerator A (cost 10), two classes, the given capacity of A. */
function singleType(
  capacity: number,
  servers: ServerInput[],
  saturationPolicy: SaturationPolicy,
  delayedBestEffort = false,
) {
  return buildSystem({
    accelerators: [{ name: 'A', cost: 10 }],
    classes: [GOLD, BRONZE],
    servers,
    capacity: { A: capacity },
    saturationPolicy,
    delayedBestEffort,
  });
}

describe('greedy order', () => {
  it('gives the scarce accelerator to the higher priority, and the other falls to its next candidate', () => {
    // Both prefer A (cost 5) to B (cost 10). low needs 3 replicas and so has the larger regret
    // (3 * 5.5 = 16.5 against 11), and its name sorts first: only priority puts high first.
    const system = buildSystem({
      accelerators: [
        { name: 'A', cost: 5 },
        { name: 'B', cost: 10 },
      ],
      classes: [GOLD, BRONZE],
      servers: [
        { name: 'a-low', serviceClass: 'bronze', load: 2.5 },
        { name: 'z-high', serviceClass: 'gold', load: 1.5 },
      ],
      capacity: { A: 3, B: 10 },
    });
    expect(placements(solve(system))).toEqual({ 'a-low': 'B*3', 'z-high': 'A*2' });
  });

  it('orders servers of one priority by regret, not by value or name', () => {
    // a-big (m1) needs 3 replicas on A (cost 30, value 33) or B (33, 36.3): regret 3.3.
    // b-small (m2, half speed on B) needs 1 on A (value 11) or 2 on B (value 24.2): regret 13.2.
    // b-small goes first and takes one A; a-big no longer fits on A and takes B.
    // By value (or name) a-big would have gone first, leaving b-small on B.
    const system = buildSystem({
      accelerators: [
        { name: 'A', cost: 10 },
        { name: 'B', cost: 11 },
      ],
      models: { m1: { A: {}, B: {} }, m2: { A: {}, B: { alpha: 20 } } },
      servers: [
        { name: 'a-big', model: 'm1', load: 2.5 },
        { name: 'b-small', model: 'm2', load: 0.8 },
      ],
      capacity: { A: 3, B: 10 },
    });
    const solution = solve(system);
    expect(placements(solution)).toEqual({ 'a-big': 'B*3', 'b-small': 'A*1' });
    expect(solution.allocations.get('a-big')!.value).toBeCloseTo(36.3, 9);
  });

  it('with equal priority and regret, puts the larger value first', () => {
    // Only A is allowed to either server (regret infinite); big (value 33) goes before small (11).
    const system = singleType(
      3,
      [
        { name: 'a-small', load: 0.5 },
        { name: 'b-big', load: 2.5 },
      ],
      'None',
    );
    expect(placements(solve(system))).toEqual({ 'b-big': 'A*3' });
  });

  it('between identical servers, gives capacity by name, whatever the input order', () => {
    const servers = [
      { name: 'y', load: 1.5 },
      { name: 'x', load: 1.5 },
    ];
    expect(placements(solve(singleType(2, servers, 'None')))).toEqual({ x: 'A*2' });
    expect(placements(solve(singleType(2, [...servers].reverse(), 'None')))).toEqual({ x: 'A*2' });
  });

  it('keepAccelerator holds a server to its accelerator even when that is full', () => {
    const system = buildSystem({
      accelerators: [
        { name: 'A', cost: 5 },
        { name: 'B', cost: 10 },
      ],
      servers: [
        { name: 'first', load: 1.5, keepAccelerator: true, current: { accelerator: 'A', numReplicas: 2 } },
        { name: 'kept', load: 1.5, keepAccelerator: true, current: { accelerator: 'A', numReplicas: 2 } },
        { name: 'free', load: 1.5, current: { accelerator: 'A', numReplicas: 2 } },
      ],
      capacity: { A: 2, B: 10 },
    });
    const solution = solve(system);
    // first and kept have a single candidate (infinite regret) and go before free; first wins by name.
    expect(placements(solution)).toEqual({ first: 'A*2', free: 'B*2' });
    expect(solution.notes.get('kept')).toEqual(['no candidate fits the remaining capacity']);
  });
});

describe('saturation policies', () => {
  // Needs 3 replicas; only one device of A.
  const lone = [{ name: 's', load: 2.5 }];

  it('None leaves a server that fits nowhere unallocated', () => {
    const solution = solve(singleType(1, lone, 'None'));
    expect(placements(solution)).toEqual({});
    expect(solution.notes.get('s')).toEqual(['no candidate fits the remaining capacity']);
  });

  it.each(['PriorityExhaustive', 'PriorityRoundRobin', 'RoundRobin'] as const)(
    '%s gives it what is left, with cost and value scaled',
    (policy) => {
      const chosen = solve(singleType(1, lone, policy)).allocations.get('s')!;
      expect(chosen).toMatchObject({ accelerator: 'A', numReplicas: 1 });
      expect(chosen.cost).toBeCloseTo(10, 12);
      expect(chosen.value).toBeCloseTo(11, 12);
    },
  );

  it('never gives best effort to a server whose targets no accelerator meets', () => {
    const system = buildSystem({
      accelerators: [{ name: 'A', cost: 10 }],
      models: { m: { A: {} }, slow: { A: { alpha: 60 } } },
      servers: [{ name: 'x', model: 'slow', load: 0.5 }],
      capacity: { A: 100 },
      saturationPolicy: 'PriorityExhaustive',
    });
    const solution = solve(system);
    expect(placements(solution)).toEqual({});
    expect(solution.notes.get('x')).toEqual([
      'A: targets missed even at the lowest load: ITL 60.00 > 50 ms',
      'no feasible candidate',
    ]);
  });

  const three = [
    { name: 's1', load: 2.5 },
    { name: 's2', load: 2.5 },
    { name: 's3', load: 2.5 },
  ];

  it('RoundRobin splits the remaining devices one replica at a time', () => {
    // s1 takes 3 of 5 in the greedy pass; s2 and s3 share the other 2.
    expect(placements(solve(singleType(5, three, 'RoundRobin')))).toEqual({
      s1: 'A*3',
      s2: 'A*1',
      s3: 'A*1',
    });
    // PriorityExhaustive gives all that is left to the first instead.
    expect(placements(solve(singleType(5, three, 'PriorityExhaustive')))).toEqual({ s1: 'A*3', s2: 'A*2' });
    // Each needs 4 of 7: s1 takes 4 in the greedy pass, then rounds s2, s3, s2.
    const four = three.map((s) => ({ ...s, load: 3.5 }));
    expect(placements(solve(singleType(7, four, 'RoundRobin')))).toEqual({ s1: 'A*4', s2: 'A*2', s3: 'A*1' });
    expect(placements(solve(singleType(7, four, 'PriorityExhaustive')))).toEqual({ s1: 'A*4', s2: 'A*3' });
  });

  // Through solve() a server left out by the greedy pass can never reach its full count in best
  // effort (capacity only shrinks), so the caps in lib/optimizer/greedy.ts are guards; this checks
  // that best effort hands out exactly what is left, up to what the servers need.
  it('best effort hands out what is left, never more than the servers need', () => {
    for (const policy of ['PriorityExhaustive', 'PriorityRoundRobin', 'RoundRobin'] as const) {
      for (const capacity of [4, 5, 6, 7, 8, 9, 10]) {
        const solution = solve(singleType(capacity, three, policy));
        const total = [...solution.allocations.values()].reduce((n, a) => n + a.numReplicas, 0);
        expect({ policy, capacity, total }).toEqual({ policy, capacity, total: Math.min(capacity, 9) });
        for (const a of solution.allocations.values()) expect(a.numReplicas).toBeLessThanOrEqual(3);
      }
    }
  });

  // hi (gold) and lo (bronze) each need 5; there are 4 devices; best effort after everything.
  const rivals = [
    { name: 'hi', serviceClass: 'gold', load: 4.5 },
    { name: 'lo', serviceClass: 'bronze', load: 4.5 },
  ];

  it('PriorityRoundRobin serves the higher priority group first; RoundRobin shares across groups', () => {
    expect(placements(solve(singleType(4, rivals, 'PriorityRoundRobin', true)))).toEqual({ hi: 'A*4' });
    expect(placements(solve(singleType(4, rivals, 'RoundRobin', true)))).toEqual({ hi: 'A*2', lo: 'A*2' });
    expect(placements(solve(singleType(4, rivals, 'PriorityExhaustive', true)))).toEqual({ hi: 'A*4' });
    expect(placements(solve(singleType(4, rivals, 'None', true)))).toEqual({});
  });

  it('PriorityRoundRobin shares within a priority group, one replica at a time', () => {
    const peers = [
      { name: 'p1', serviceClass: 'gold', load: 4.5 },
      { name: 'p2', serviceClass: 'gold', load: 4.5 },
      { name: 'p3', serviceClass: 'bronze', load: 4.5 },
    ];
    expect(placements(solve(singleType(4, peers, 'PriorityRoundRobin', true)))).toEqual({
      p1: 'A*2',
      p2: 'A*2',
    });
    expect(placements(solve(singleType(4, peers, 'RoundRobin', true)))).toEqual({
      p1: 'A*2',
      p2: 'A*1',
      p3: 'A*1',
    });
  });

  it('delayedBestEffort lets lower priorities take their full allocation before best effort', () => {
    // hi (gold) needs 5 of 4 devices; lo (bronze) needs 2.
    const servers = [
      { name: 'hi', serviceClass: 'gold', load: 4.5 },
      { name: 'lo', serviceClass: 'bronze', load: 1.5 },
    ];
    // After each group: hi's best effort takes all 4 before lo's turn.
    expect(placements(solve(singleType(4, servers, 'PriorityRoundRobin', false)))).toEqual({ hi: 'A*4' });
    // After all groups: lo fits in the greedy pass, hi gets the 2 left.
    expect(placements(solve(singleType(4, servers, 'PriorityRoundRobin', true)))).toEqual({
      hi: 'A*2',
      lo: 'A*2',
    });
    expect(placements(solve(singleType(4, servers, 'PriorityExhaustive', false)))).toEqual({ hi: 'A*4' });
    expect(placements(solve(singleType(4, servers, 'PriorityExhaustive', true)))).toEqual({
      hi: 'A*2',
      lo: 'A*2',
    });
  });
});

describe('devices per replica', () => {
  // 4xA is 4 devices of type A; the model needs 2 units of it (accCount 2): 8 devices per replica.
  const build = (capacity: Record<string, number>, saturationPolicy: SaturationPolicy = 'None') =>
    buildSystem({
      accelerators: [
        { name: '4xA', type: 'A', multiplicity: 4, cost: 40 },
        { name: 'B', cost: 100 },
      ],
      models: { m: { '4xA': { accCount: 2 }, B: {} } },
      servers: [{ name: 's', load: 1.5 }],
      capacity,
      saturationPolicy,
    });

  it('costs unit cost x accCount x replicas', () => {
    const chosen = solve(build({ A: 16, B: 10 })).allocations.get('s')!;
    expect(chosen).toMatchObject({ accelerator: '4xA', numReplicas: 2, cost: 160 });
    expect(chosen.value).toBeCloseTo(176, 9);
  });

  it('takes multiplicity x accCount devices per replica from the capacity of its type', () => {
    expect(placements(solve(build({ A: 16, B: 10 })))).toEqual({ s: '4xA*2' });
    expect(placements(solve(build({ A: 15, B: 10 })))).toEqual({ s: 'B*2' });
    expect(placements(solve(build({ A: 15, B: 1 })))).toEqual({});
    // Best effort: 15 devices hold one replica of 8.
    const partial = solve(build({ A: 15, B: 0 }, 'PriorityExhaustive')).allocations.get('s')!;
    expect(partial).toMatchObject({ accelerator: '4xA', numReplicas: 1, cost: 80 });
    expect(placements(solve(build({ A: 7, B: 0 }, 'RoundRobin')))).toEqual({});
  });

  it('counts capacity by type, shared by every configuration of that type', () => {
    const build = (devices: number) =>
      buildSystem({
        accelerators: [
          { name: 'A', cost: 10 },
          { name: '2xA', type: 'A', multiplicity: 2, cost: 20 },
          { name: 'C', cost: 100 },
        ],
        models: { m: { A: {}, C: {} }, big: { '2xA': {}, C: {} } },
        servers: [
          { name: 'big', model: 'big', load: 1.5 },
          { name: 'small', model: 'm', load: 1.5 },
        ],
        capacity: { A: devices, C: 10 },
      });
    // small (regret 220 - 22 = 198) goes before big (220 - 44 = 176) and takes 2 devices of A;
    // big's 2 replicas of 2xA need 4 more.
    expect(placements(solve(build(6)))).toEqual({ big: '2xA*2', small: 'A*2' });
    expect(placements(solve(build(5)))).toEqual({ big: 'C*2', small: 'A*2' });
  });
});
