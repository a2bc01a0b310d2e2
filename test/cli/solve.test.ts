/** `sva solve`, run in-process through main(). */
import { readFileSync } from 'node:fs';
import { json, run } from './run.js';

const SMALL = 'test/fixtures/inferno/small.json';
const REALISTIC = 'test/fixtures/config/realistic.yaml';

interface AllocationJson {
  accelerator: string;
  numReplicas: number;
  maxBatch: number;
  cost: number;
  itlAverage: number;
  ttftAverage: number;
  load: { arrivalRate: number; avgInTokens: number; avgOutTokens: number };
}
interface CandidateJson {
  accelerator: string;
  numReplicas: number;
  maxBatch: number;
  cost: number;
  value: number;
  itlAverage: number;
  ttftAverage: number;
  maxRatePerReplica: number;
}
interface SolutionJson {
  allocations: Record<string, AllocationJson>;
  candidates?: Record<string, CandidateJson[]>;
}

const reference = JSON.parse(readFileSync(SMALL, 'utf8')) as { solution: SolutionJson };

describe('sva solve FILE', () => {
  it("prints the solution in Inferno's shape", async () => {
    const result = await run('solve', SMALL);
    expect(result.code).toBe(0);
    expect(result.errLines).toEqual([]);
    const solution = json<SolutionJson>(result);
    expect(Object.keys(solution)).toEqual(['allocations']);
    // Sorted by server name, with the same servers as the reference solution.
    const names = Object.keys(solution.allocations);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(Object.keys(reference.solution.allocations).sort());
    expect(Object.keys(solution.allocations['Premium-llama_70b']!)).toEqual([
      'accelerator',
      'numReplicas',
      'maxBatch',
      'cost',
      'itlAverage',
      'ttftAverage',
      'load',
    ]);
    expect(solution.allocations['Bronze-granite_13b']).toMatchObject({
      accelerator: 'G2',
      numReplicas: 4,
      maxBatch: 19,
      cost: 92,
      load: { arrivalRate: 120, avgInTokens: 128, avgOutTokens: 1024 },
    });
    expect(solution.allocations['Bronze-granite_13b']!.itlAverage).toBeCloseTo(21.190857, 3);
  });

  it('solves our config with fixed loads', async () => {
    const solution = json<SolutionJson>(await run('solve', REALISTIC));
    expect(
      Object.fromEntries(
        Object.entries(solution.allocations).map(([n, a]) => [n, `${a.accelerator}*${a.numReplicas}`]),
      ),
    ).toEqual({ 'llm/batch-8b': 'A10G*3', 'llm/chat-70b': '4xH100*2', 'llm/chat-8b': 'H100*2' });
    // Loads are printed as the optimizer saw them: requests per minute.
    expect(solution.allocations['llm/chat-8b']!.load).toEqual({
      arrivalRate: 720,
      avgInTokens: 1024,
      avgOutTokens: 256,
    });
  });

  it('--candidates adds every feasible candidate with its maximum rate per replica', async () => {
    const solution = json<SolutionJson>(await run('solve', REALISTIC, '--candidates'));
    const candidates = solution.candidates!;
    expect(Object.keys(candidates).sort()).toEqual(['llm/batch-8b', 'llm/chat-70b', 'llm/chat-8b']);
    expect(candidates['llm/chat-70b']!.map((c) => [c.accelerator, c.numReplicas])).toEqual([
      ['4xA100', 4],
      ['4xH100', 2],
    ]);
    for (const list of Object.values(candidates)) {
      for (const c of list) {
        expect(Object.keys(c)).toEqual([
          'accelerator',
          'numReplicas',
          'maxBatch',
          'cost',
          'value',
          'itlAverage',
          'ttftAverage',
          'maxRatePerReplica',
        ]);
        expect(c.maxRatePerReplica).toBeGreaterThan(0);
      }
      // Sorted by value.
      expect(list.map((c) => c.value)).toEqual([...list.map((c) => c.value)].sort((a, b) => a - b));
    }
    // Enough replicas of r* for the demand (chat-8b: 12 req/s).
    const h100 = candidates['llm/chat-8b']!.find((c) => c.accelerator === 'H100')!;
    expect(h100.numReplicas).toBe(Math.ceil(12 / h100.maxRatePerReplica));
  });

  it('--table prints a table with totals', async () => {
    const result = await run('solve', SMALL, '--table');
    expect(result.code).toBe(0);
    expect(result.out).toHaveLength(1);
    const lines = result.out[0]!.split('\n');
    expect(lines[0]).toMatch(
      /^server\s+accelerator\s+replicas\s+maxBatch\s+cost\/h\s+ITL ms\s+TTFT ms\s+req\/min$/,
    );
    expect(lines[1]).toMatch(/^-+( +-+){7}$/);
    expect(lines).toContainEqual(
      expect.stringMatching(/^Bronze-granite_13b\s+G2\s+4\s+19\s+92\.00\s+21\.19\s+263\.31\s+120\.0$/),
    );
    expect(lines[lines.length - 1]).toBe('total cost/h: 43819.00   mode: limited, PriorityRoundRobin');
  });

  it('--table --candidates lists the candidates of each server', async () => {
    const result = await run('solve', REALISTIC, '--table', '--candidates');
    const text = result.out[0]!;
    expect(text).toContain('candidates of llm/chat-70b:');
    expect(text).toMatch(/\n4xA100\s+4\s+54\.90\s+41\.17\s/);
    expect(text).toContain('max req/s per replica');
  });
});

describe('sva solve FILE FILE...', () => {
  it('prints one JSON line per file, with its solution or its error, and exits 1 on any error', async () => {
    const result = await run('solve', SMALL, 'test/fixtures/config/nope.yaml', REALISTIC);
    expect(result.code).toBe(1);
    expect(result.errLines).toEqual([]);
    expect(result.out).toHaveLength(3);
    for (const line of result.out) expect(line).not.toContain('\n');
    const [first, second, third] = result.out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(Object.keys(first!)).toEqual(['file', 'solution']);
    expect(first!.file).toBe(SMALL);
    expect(Object.keys((first!.solution as SolutionJson).allocations)).toHaveLength(15);
    expect(second).toEqual({
      file: 'test/fixtures/config/nope.yaml',
      error: 'test/fixtures/config/nope.yaml: no such file',
    });
    expect(third!.file).toBe(REALISTIC);
    expect(Object.keys((third!.solution as SolutionJson).allocations)).toHaveLength(3);
  });

  it('exits 0 when every file solves', async () => {
    const result = await run('solve', SMALL, REALISTIC, '--candidates');
    expect(result.code).toBe(0);
    expect(result.out).toHaveLength(2);
    const second = JSON.parse(result.out[1]!) as { solution: SolutionJson };
    expect(second.solution.candidates).toBeDefined();
  });

  it('with --table prints a titled table per file', async () => {
    const result = await run('solve', SMALL, 'test/fixtures/config/nope.yaml', '--table');
    expect(result.code).toBe(1);
    expect(result.out[0]).toMatch(/^== test\/fixtures\/inferno\/small\.json\nserver\s+accelerator/);
    expect(result.out[1]).toBe(
      '== test/fixtures/config/nope.yaml\nerror: test/fixtures/config/nope.yaml: no such file',
    );
  });
});
