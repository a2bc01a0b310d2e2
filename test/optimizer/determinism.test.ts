/**
 * The solution depends on the system, not on the order its parts are listed in: servers,
 * accelerators, models and their profiles, classes and capacity entries permuted give the
 * identical solution (the reference's answer depends on Go's map order; see its orderSensitive).
 */
import { readFileSync } from 'node:fs';
import { solutionToJson } from '../../lib/cli/solutionJson.js';
import { infernoToSystem, parseInfernoSystem } from '../../lib/config/index.js';
import { solve, type Solution, type SystemSpec } from '../../lib/optimizer/index.js';
import { generateSystem, seededRandom } from '../../bench/optimizer/generateSystem.js';

function shuffled<T>(items: Iterable<T>, random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function permuted(system: SystemSpec, seed: number): SystemSpec {
  const random = seededRandom(seed);
  return {
    ...system,
    servers: shuffled(system.servers, random),
    accelerators: shuffled(system.accelerators, random),
    models: new Map(
      shuffled(system.models, random).map(([name, m]) => [
        name,
        { ...m, profiles: new Map(shuffled(m.profiles, random)) },
      ]),
    ),
    serviceClasses: new Map(
      shuffled(system.serviceClasses, random).map(([name, c]) => [
        name,
        { ...c, targets: new Map(shuffled(c.targets, random)) },
      ]),
    ),
    capacity: new Map(shuffled(system.capacity, random)),
  };
}

/** Everything in a solution, in the order it iterates. */
function snapshot(solution: Solution) {
  return {
    allocations: [...solution.allocations],
    candidates: [...solution.candidates].sort(([a], [b]) => (a < b ? -1 : 1)),
    notes: [...solution.notes].sort(([a], [b]) => (a < b ? -1 : 1)),
    stats: solution.stats,
  };
}

function inferno(path: string): SystemSpec {
  return infernoToSystem(parseInfernoSystem(JSON.parse(readFileSync(path, 'utf8')), path), path);
}

describe('order independence', () => {
  const large = inferno('test/fixtures/inferno/large.json');
  const generated = (() => {
    // Half of what it takes unlimited: 44 of the 120 servers are left out.
    const g = generateSystem({ servers: 120, seed: 7, capacityFraction: 0.5, capacityScale: 0 });
    return infernoToSystem(parseInfernoSystem(g.document, 'generated'), 'generated');
  })();

  const systems: [string, SystemSpec][] = [
    // The reference's large sample is order-sensitive for the reference itself (RoundRobin, ties).
    ['large sample, limited RoundRobin', large],
    ['large sample, unlimited', { ...large, optimizer: { ...large.optimizer, unlimited: true } }],
    ['generated fleet, limited PriorityRoundRobin', generated],
    [
      'generated fleet, delayed PriorityExhaustive',
      {
        ...generated,
        optimizer: {
          ...generated.optimizer,
          saturationPolicy: 'PriorityExhaustive',
          delayedBestEffort: true,
        },
      },
    ],
  ];

  it.each(systems)('%s: permuted inputs give the identical solution', (_, system) => {
    const expected = snapshot(solve(system));
    expect(expected.allocations.length).toBeGreaterThan(0);
    for (const seed of [1, 2, 3]) {
      expect(snapshot(solve(permuted(system, seed)))).toEqual(expected);
    }
  });

  it('the generated fleet is saturated in part: some servers unallocated, most not', () => {
    const solution = solve(generated);
    const unallocated = generated.servers.filter((s) => !solution.allocations.has(s.name)).length;
    expect(unallocated).toBeGreaterThan(0);
    expect(unallocated).toBeLessThan(generated.servers.length / 2);
  });

  it('the same permuted system prints the same JSON, byte for byte', () => {
    const json = (s: SystemSpec) => JSON.stringify(solutionToJson(s, solve(s), true));
    expect(json(permuted(large, 9))).toBe(json(large));
  });
});
