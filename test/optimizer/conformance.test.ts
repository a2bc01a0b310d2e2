/**
 * Conformance with the reference optimizer (llm-inferno/optimizer v0.6.0) on its sample
 * systems: same accelerator and replica count per server, TTFT/ITL within 0.5%, and the same
 * candidates. See test/fixtures/inferno/ATTRIBUTION.md.
 */
import { readFileSync } from 'node:fs';
import { infernoToSystem, parseInfernoSystem } from '../../lib/config/inferno.js';
import { solve, type Allocation } from '../../lib/optimizer/index.js';

interface RefAllocation {
  accelerator: string;
  numReplicas: number;
  maxBatch: number;
  cost: number;
  itlAverage: number;
  ttftAverage: number;
}
interface Fixture {
  orderSensitive: boolean;
  system: unknown;
  solution: { allocations: Record<string, RefAllocation> };
  candidates: Record<string, [string, string, number, number, number, number, number, number, number][]>;
  alternativeSolutionDiffs?: Record<string, RefAllocation>[];
}

const PREDICTION_TOLERANCE = 0.005;
// The reference subtracts two nearly equal float32 times to get the waiting time, so on
// extreme candidates (hundreds of thousands of replicas at 0.1% utilisation) its rates carry
// ~2e-5 relative noise; chosen allocations are far from that regime.
const CANDIDATE_RATE_TOLERANCE = 1e-4;

const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

describe.each(['small', 'small-files', 'large'])('Inferno sample %s', (name) => {
  const fixture = JSON.parse(readFileSync(`test/fixtures/inferno/${name}.json`, 'utf8')) as Fixture;
  const system = infernoToSystem(parseInfernoSystem(fixture.system, name), name);
  const solution = solve(system);
  const reference = fixture.solution.allocations;

  /** A server's allocation matches the canonical one, or (order-sensitive files) one of the listed alternatives. */
  const acceptable = (server: string): RefAllocation[] => [
    reference[server]!,
    ...(fixture.alternativeSolutionDiffs ?? []).flatMap((d) => (d[server] ? [d[server]] : [])),
  ];

  it('allocates exactly the servers the reference allocates', () => {
    expect([...solution.allocations.keys()].sort()).toEqual(Object.keys(reference).sort());
  });

  it('chooses the same accelerator and replica count, with predictions within 0.5%', () => {
    for (const server of Object.keys(reference)) {
      const got = solution.allocations.get(server)!;
      const match = acceptable(server).find(
        (ref) => ref.accelerator === got.accelerator && ref.numReplicas === got.numReplicas,
      );
      expect({
        server,
        accelerator: got.accelerator,
        numReplicas: got.numReplicas,
        matched: !!match,
      }).toEqual({
        server,
        accelerator: got.accelerator,
        numReplicas: got.numReplicas,
        matched: true,
      });
      expect(got.maxBatch).toBe(match!.maxBatch);
      expect(relDiff(got.cost, match!.cost)).toBeLessThan(1e-6);
      expect(relDiff(got.itlAverage, match!.itlAverage)).toBeLessThan(PREDICTION_TOLERANCE);
      expect(relDiff(got.ttftAverage, match!.ttftAverage)).toBeLessThan(PREDICTION_TOLERANCE);
    }
  });

  it('weighs the same candidates with the same sustainable rates', () => {
    for (const [server, rows] of Object.entries(fixture.candidates)) {
      const got = solution.candidates.get(server) ?? [];
      expect({ server, count: got.length }).toEqual({ server, count: rows.length });
      for (const [, accelerator, numReplicas, maxBatch, cost, value, itl, ttft, maxRPM] of rows) {
        const c = got.find((g: Allocation) => g.accelerator === accelerator);
        expect(c).toBeDefined();
        expect(c!.maxBatch).toBe(maxBatch);
        expect(relDiff(c!.maxRatePerReplica * 60, maxRPM)).toBeLessThan(CANDIDATE_RATE_TOLERANCE);
        expect(relDiff(c!.numReplicas, numReplicas)).toBeLessThan(CANDIDATE_RATE_TOLERANCE);
        if (c!.numReplicas === numReplicas) {
          expect(relDiff(c!.cost, cost)).toBeLessThan(1e-6);
          expect(relDiff(c!.value, value)).toBeLessThan(1e-6);
          expect(relDiff(c!.itlAverage, itl)).toBeLessThan(PREDICTION_TOLERANCE);
          expect(relDiff(c!.ttftAverage, ttft)).toBeLessThan(PREDICTION_TOLERANCE);
        }
      }
    }
  });

  it('is deterministic under a different input order', () => {
    const shuffled = {
      ...system,
      servers: [...system.servers].reverse(),
      accelerators: [...system.accelerators].reverse(),
    };
    const again = solve(shuffled);
    expect([...again.allocations].sort()).toEqual([...solution.allocations].sort());
  });
});
