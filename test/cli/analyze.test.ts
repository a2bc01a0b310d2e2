/** `sva analyze`, run in-process through main(). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { json, run, STACK_LINE } from './run.js';

interface AtRow {
  rate: number;
  throughput?: number;
  ttft?: number;
  itl?: number;
  wait?: number;
  respTime?: number;
  numInService?: number;
  rho?: number;
  error?: string;
}
interface Analysis {
  rateRange: { min: number; max: number };
  maxRate: number | null;
  rateTTFT: number | null;
  rateITL: number | null;
  rateTPS: number | null;
  at: AtRow[];
}

const SINGLE = 'test/fixtures/analyze/single.json';
const ARRAY = 'test/fixtures/analyze/array.yaml';
const single = JSON.parse(readFileSync(SINGLE, 'utf8')) as {
  maxBatchSize: number;
  profile: { alpha: number; beta: number; gamma: number; delta: number };
  request: { avgInputTokens: number; avgOutputTokens: number };
  targets: { ttft: number; itl: number; tps: number };
  rates: number[];
};

const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sva-analyze-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function analyze(input: unknown): Promise<Analysis> {
  const file = join(dir, `in-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(input));
  const result = await run('analyze', file);
  expect(result.code).toBe(0);
  return json<Analysis>(result);
}

describe('sva analyze FILE', () => {
  it('gives the stable range, the rate per target and the sizing of one replica', async () => {
    const result = await run('analyze', SINGLE);
    expect(result.code).toBe(0);
    expect(result.errLines).toEqual([]);
    const a = json<Analysis>(result);
    expect(Object.keys(a)).toEqual(['rateRange', 'maxRate', 'rateTTFT', 'rateITL', 'rateTPS', 'at']);
    // Stable range from the service times at batch 1 and N (docs/SIZING.md sections 1-2), in req/s.
    const { alpha, beta, gamma, delta } = single.profile;
    const { avgInputTokens: i, avgOutputTokens: o } = single.request;
    const n = single.maxBatchSize;
    const s1 = gamma + delta * i + (o - 1) * (alpha + beta);
    const sN = gamma + delta * i * n + (o - 1) * (alpha + beta * n);
    expect(a.rateRange.min).toBeCloseTo((0.001 * 1000) / s1, 12);
    expect(a.rateRange.max).toBeCloseTo((0.999 * n * 1000) / sN, 12);
    // A TPS target is sized at 90% of the maximum.
    expect(a.rateTPS).toBeCloseTo(0.9 * a.rateRange.max, 12);
    // ITL binds here (30 ms against 21.9 at low load); maxRate is the throughput at that rate.
    expect(a.rateITL!).toBeLessThan(a.rateTTFT!);
    expect(a.rateITL!).toBeLessThan(a.rateTPS!);
    expect(relDiff(a.maxRate!, a.rateITL!)).toBeLessThan(1e-6);
  });

  it('has one row per requested rate, and an error row above the stable maximum', async () => {
    const a = json<Analysis>(await run('analyze', SINGLE));
    expect(a.at.map((r) => r.rate)).toEqual([0.1, 0.5, 1000]);
    expect(Object.keys(a.at[0]!)).toEqual([
      'rate',
      'throughput',
      'ttft',
      'itl',
      'wait',
      'respTime',
      'numInService',
      'rho',
    ]);
    expect(a.at[2]).toEqual({
      rate: 1000,
      error: `rate 1000 req/s is above the replica's stable maximum ${a.rateRange.max}`,
    });
    const [low, high] = a.at;
    // Latency and occupancy grow with load, from at least the single-request ITL (alpha + beta).
    expect(low!.itl!).toBeGreaterThan(single.profile.alpha + single.profile.beta);
    expect(high!.itl!).toBeGreaterThan(low!.itl!);
    expect(high!.ttft!).toBeGreaterThan(low!.ttft!);
    expect(high!.rho!).toBeGreaterThan(low!.rho!);
    // Far below the maximum nothing is turned away, and rho = numInService / N.
    expect(low!.throughput).toBeCloseTo(0.1, 9);
    expect(low!.rho).toBeCloseTo(low!.numInService! / single.maxBatchSize, 12);
  });

  it('at each found rate, the predicted latency equals its target within 1e-6', async () => {
    const first = json<Analysis>(await run('analyze', SINGLE));
    const again = await analyze({ ...single, rates: [first.rateTTFT, first.rateITL] });
    const [atTTFT, atITL] = again.at;
    expect(relDiff(atTTFT!.ttft!, single.targets.ttft)).toBeLessThan(1e-6);
    expect(relDiff(atITL!.itl!, single.targets.itl)).toBeLessThan(1e-6);
    // maxRate is the throughput at the smallest of the rates.
    expect(relDiff(atITL!.throughput!, first.maxRate!)).toBeLessThan(1e-9);
  });

  it('takes an array of inputs (YAML here) and answers with an array', async () => {
    const result = await run('analyze', ARRAY);
    expect(result.code).toBe(0);
    const [a, b] = json<Analysis[]>(result);
    // First: TTFT binds (200 ms), ITL (12 ms) later; rate 5 is above the maximum.
    expect(a!.rateTTFT!).toBeLessThan(a!.rateITL!);
    expect(relDiff(a!.maxRate!, a!.rateTTFT!)).toBeLessThan(1e-6);
    expect(a!.at.map((r) => r.error === undefined)).toEqual([true, false]);
    const check = await analyze({
      maxBatchSize: 16,
      profile: { alpha: 7.7, beta: 0.35, gamma: 61.6, delta: 0.0109375 },
      request: { avgInputTokens: 512, avgOutputTokens: 256 },
      targets: { ttft: 200, itl: 12 },
      rates: [a!.rateTTFT, a!.rateITL],
    });
    expect(relDiff(check.at[0]!.ttft!, 200)).toBeLessThan(1e-6);
    expect(relDiff(check.at[1]!.itl!, 12)).toBeLessThan(1e-6);
    // Second: no latency target (rates are the range maximum), TPS at 90% of it; no queue, so
    // the throughput at that rate loses the arrivals a full batch turns away.
    expect(b!.rateTTFT).toBe(b!.rateRange.max);
    expect(b!.rateITL).toBe(b!.rateRange.max);
    expect(b!.rateTPS).toBeCloseTo(0.9 * b!.rateRange.max, 12);
    expect(b!.maxRate!).toBeLessThan(b!.rateTPS!);
    expect(b!.at[0]!.throughput!).toBeLessThan(0.5);
    // Without input tokens there is no prefill: TTFT is the wait alone.
    expect(b!.at[0]!.ttft).toBe(b!.at[0]!.wait);
  });

  it('reports a target missed even at the lowest load as null rates', async () => {
    const a = await analyze({ ...single, targets: { ttft: 100, itl: 10, tps: 0 }, rates: [] });
    expect(a).toMatchObject({ maxRate: null, rateTTFT: null, rateITL: null });
    expect(a.rateTPS).toBe(a.rateRange.max);
  });

  it('returns promptly with one error line for zero input and one output token (the reference hangs)', async () => {
    const started = Date.now();
    const result = await run('analyze', 'test/fixtures/analyze/zero-service-time.json');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.code).toBe(1);
    expect(result.out).toEqual([]);
    expect(result.errLines).toEqual([
      'sva analyze: test/fixtures/analyze/zero-service-time.json: service time is zero ' +
        '(avgInputTokens 0, avgOutputTokens 1): nothing to size',
    ]);
    expect(result.errLines.some((l) => STACK_LINE.test(l))).toBe(false);
  });

  it('names the array element of a bad input', async () => {
    const file = join(dir, 'bad-array.json');
    writeFileSync(
      file,
      JSON.stringify([{ ...single }, { ...single, request: { avgInputTokens: 0, avgOutputTokens: 1 } }]),
    );
    const result = await run('analyze', file);
    expect(result.code).toBe(1);
    expect(result.errLines).toEqual([
      `sva analyze: ${file}: [1]: service time is zero (avgInputTokens 0, avgOutputTokens 1): nothing to size`,
    ]);
  });
});
