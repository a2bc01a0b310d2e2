/** `sva solve` on a config with a disaggregated variant: both roles, and the TTFT part by part. */
import { json, run } from './run.js';

const FILE = 'test/fixtures/config/disaggregated-load.yaml';

interface RoleJson {
  accelerator: string;
  replicas: number;
  cost: number;
}
interface Output {
  allocations: Record<string, { accelerator: string; numReplicas: number }>;
  disaggregated: {
    variant: string;
    feasible: boolean;
    prefill: RoleJson;
    decode: RoleJson;
    cost: number;
    ttftMs: { prefillMs: number; transferMs: number; totalMs: number };
    itlMs: number;
  }[];
}

describe('sva solve with roles', () => {
  it('prints each role of the disaggregated variant beside the aggregated allocation', async () => {
    const result = await run('solve', FILE);
    expect(result.code).toBe(0);
    const out = json<Output>(result);
    expect(Object.keys(out.allocations)).toEqual(['llm/code-70b']);
    const [pd] = out.disaggregated;
    expect(pd!.variant).toBe('llm/code-70b-pd');
    // 2,048 tokens in chunks of 512 on H100: 4 x 7.2 + 0.107 x 2048 = 247.9 ms
    expect(pd!.prefill.accelerator).toBe('4xH100');
    expect(pd!.ttftMs.prefillMs).toBeCloseTo(247.94, 2);
    // 2,048 x 327,680 bytes = 671 MB at 25 GB/s: 26.8 ms alone, + 5 ms, more with the link shared
    expect(pd!.ttftMs.transferMs).toBeGreaterThan(31.8);
    expect(pd!.ttftMs.totalMs).toBeLessThanOrEqual(2000);
    expect(pd!.itlMs).toBeLessThanOrEqual(50);
    expect(pd!.cost).toBeCloseTo(pd!.prefill.cost + pd!.decode.cost, 9);
  });

  it('--table shows both roles', async () => {
    const result = await run('solve', FILE, '--table');
    expect(result.code).toBe(0);
    expect(result.out.join('\n')).toContain('llm/code-70b-pd prefill');
    expect(result.out.join('\n')).toContain('llm/code-70b-pd decode');
  });
});

describe('sva analyze with roles', () => {
  interface RoleReplica {
    accelerator: string;
    rateRange: { min: number; max: number };
    prefillAloneMs?: number;
    itlAloneMs?: number;
  }
  it("shows each role's replica on every accelerator it may use, and the plan", async () => {
    const result = await run('analyze', FILE);
    expect(result.code).toBe(0);
    const [pd] =
      json<{ variant: string; prefill: RoleReplica[]; decode: RoleReplica[]; plan: { prefill: RoleJson } }[]>(
        result,
      );
    expect(pd!.variant).toBe('llm/code-70b-pd');
    // H100: one 2,048-token prompt in four 512-token chunks, 4 x 7.2 + 0.107 x 2048 = 248 ms, so
    // at most 1000 / 248 = 4.03 prompts a second
    const h100 = pd!.prefill.find((r) => r.accelerator === '4xH100')!;
    expect(h100.rateRange.max).toBeCloseTo(4.03, 2);
    // decode alone on H100: 28.4 + 0.346 = 28.7 ms a token
    expect(pd!.decode.find((r) => r.accelerator === '4xH100')!.itlAloneMs).toBeCloseTo(28.75, 1);
    expect(pd!.plan.prefill.accelerator).toBe('4xH100');
  });
});
