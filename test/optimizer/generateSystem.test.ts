/** The benchmark's system generator: the shape the benchmark claims, and deterministic. */
import { readFileSync } from 'node:fs';
import { generateSystem } from '../../bench/optimizer/generateSystem.js';
import { infernoToSystem, parseInfernoSystem } from '../../lib/config/index.js';
import { solve } from '../../lib/optimizer/index.js';

describe('generated benchmark system', () => {
  const first = generateSystem();
  const doc = first.document.system;
  const servers = doc.serverData.servers;
  const sample = (
    JSON.parse(readFileSync('test/fixtures/inferno/large.json', 'utf8')) as {
      system: { system: { acceleratorData: unknown; modelData: unknown } };
    }
  ).system.system;

  it("takes the large sample's accelerators and model profiles as they are", () => {
    expect(doc.acceleratorData).toEqual(sample.acceleratorData);
    expect(doc.modelData).toEqual(sample.modelData);
    expect(first.summary).toMatchObject({
      servers: 1000,
      acceleratorConfigurations: 21,
      acceleratorTypes: 9,
      models: 9,
      serviceClasses: 3,
    });
    expect(doc.serviceClassData.serviceClasses.map((c) => [c.name, c.priority])).toEqual([
      ['Premium', 1],
      ['Bronze', 2],
      ['Free', 3],
    ]);
  });

  it('spreads load, shapes, classes and models, within the stated ranges', () => {
    const loads = servers.map((s) => s.currentAlloc.load);
    const rates = loads.map((l) => l.arrivalRate);
    expect(Math.min(...rates)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...rates)).toBeLessThanOrEqual(2000);
    // Log-uniform: about as many servers below 45 req/min (the geometric middle) as above.
    const below = rates.filter((r) => r < Math.sqrt(2000)).length;
    expect(below).toBeGreaterThan(400);
    expect(below).toBeLessThan(600);
    for (const l of loads) {
      expect(l.avgInTokens).toBeGreaterThanOrEqual(16);
      expect(l.avgInTokens).toBeLessThanOrEqual(8192);
      expect(l.avgOutTokens).toBeGreaterThanOrEqual(8);
      expect(l.avgOutTokens).toBeLessThanOrEqual(2048);
    }
    expect(first.summary.distinctShapes).toBeGreaterThanOrEqual(300);
    expect(first.summary.distinctShapes).toBeLessThan(700);
    expect(new Set(servers.map((s) => s.model)).size).toBe(9);
    const perClass = new Map<string, number>();
    for (const s of servers) perClass.set(s.class, (perClass.get(s.class) ?? 0) + 1);
    expect([...perClass.keys()].sort()).toEqual(['Bronze', 'Free', 'Premium']);
    for (const n of perClass.values()) expect(n).toBeGreaterThan(100);
  });

  it('is limited PriorityRoundRobin, with some servers left out and most served', () => {
    expect(doc.optimizerData.optimizer).toEqual({
      unlimited: false,
      saturationPolicy: 'PriorityRoundRobin',
      delayedBestEffort: false,
    });
    expect(doc.capacityData.count.map((c) => c.type)).toEqual([
      'A100',
      'AIU2',
      'G2',
      'H100',
      'L4',
      'L40S',
      'MI210',
      'MI250',
      'MI300X',
    ]);
    const system = infernoToSystem(parseInfernoSystem(first.document, 'generated'), 'generated');
    const solution = solve(system);
    const unallocated = servers.filter((s) => !solution.allocations.has(s.name)).length;
    expect(unallocated).toBeGreaterThan(20);
    expect(unallocated).toBeLessThan(400);
  });

  it('is deterministic for a seed, and another seed gives another system', () => {
    expect(generateSystem().document).toEqual(first.document);
    const other = generateSystem({ seed: 2 }).document.system.serverData.servers;
    expect(other.map((s) => s.currentAlloc.load)).not.toEqual(servers.map((s) => s.currentAlloc.load));
  });
});
