/**
 * A disaggregated variant through evaluate → queue → apply on the memory adapters: one decision
 * carries both roles, apply admits it and scales decode before prefill when both grow (the
 * shrinking order: roleAdmission.test.ts); the capacity intent counts both roles' devices.
 */
import {
  CallLog,
  ManualClock,
  MemoryCapacityProvider,
  MemoryCluster,
  MemoryDecisionQueue,
  MemoryDecisionState,
  MemoryTelemetrySink,
} from '../../lib/adapters/memory/index.js';
import { ConfigLoadMetrics } from '../../functions/configLoadMetrics.js';
import { loadConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/schema.js';
import { applyMessage } from '../../lib/loop/apply.js';
import { evaluatePool } from '../../lib/loop/evaluate.js';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';
import type { CapacityIntent } from '../../lib/policy/capacity.js';

const config = loadConfig('test/fixtures/config/disaggregated-load.yaml');

function fleet(log: CallLog, prefill: number, decode: number) {
  const cluster = new MemoryCluster({
    log,
    deployments: [
      {
        variant: 'llm/code-70b',
        namespace: 'llm',
        deployment: 'code-70b-4xh100',
        accelerator: '4xH100',
        desired: 4,
        ready: 4,
      },
      {
        variant: 'llm/code-70b-pd',
        namespace: 'llm',
        deployment: 'code-70b-pd-prefill-4xh100',
        accelerator: '4xH100',
        desired: prefill,
        ready: prefill,
      },
      {
        variant: 'llm/code-70b-pd',
        namespace: 'llm',
        deployment: 'code-70b-pd-decode-4xa100',
        accelerator: '4xA100',
        desired: decode,
        ready: decode,
      },
    ],
  });
  const capacity = new MemoryCapacityProvider({
    log,
    accelerators: config.nodeGroups.map((g) => ({
      acceleratorType: g.acceleratorType,
      devicesPerNode: g.gpusPerNode,
      readyDevices: 4 * g.gpusPerNode,
      startingDevices: 0,
      addableDevices: (g.maxNodes - 4) * g.gpusPerNode,
      provisioningSeconds: 410,
    })),
  });
  return { cluster, capacity };
}

async function cycle(prefill: number, decode: number, on: Config = config) {
  const config = on;
  const log = new CallLog();
  const { cluster, capacity } = fleet(log, prefill, decode);
  const clock = new ManualClock(1_800_000_000);
  const state = new MemoryDecisionState();
  const telemetry = new MemoryTelemetrySink();
  const queue = new MemoryDecisionQueue(() => clock.now());
  const deps = { cluster, capacity, state, telemetry, clock };
  const result = await evaluatePool({ ...deps, metrics: new ConfigLoadMetrics(config), queue }, config);
  const outcomes: string[] = [];
  await queue.drain(async (body) => {
    const o = await applyMessage(deps, body, { config, maxAgeSeconds: 300 });
    outcomes.push(o.kind === 'rejected' ? `rejected ${o.detail}` : `${o.kind} ${o.status}`);
  });
  const scaled = log.calls.flatMap((c) => (c.kind === 'scale' ? [`${c.deployment}=${c.replicas}`] : []));
  const pd = result.decisions.find((d) => d.variant === 'code-70b-pd') as DecisionRecord;
  const nodes = log.lines.filter((l) => l.startsWith('capacity'));
  return { result, outcomes, scaled, pd, capacity: result.capacity as CapacityIntent, nodes };
}

describe('a disaggregated variant through the loop', () => {
  it('grows both roles in one decision, decode first', async () => {
    // 5 req/s of 2,048-token prompts: two H100 prefill pods, and A100 decode pods for the ITL
    // target with the policy's margin (45 ms: two pods, where sva solve's 50 ms needs one)
    const { outcomes, scaled, pd, capacity } = await cycle(1, 0);
    expect(outcomes.every((o) => !o.startsWith('rejected'))).toBe(true);
    expect(pd.roles).toEqual({
      prefill: { accelerator: '4xH100', targetReplicas: 2, currentReplicas: 1 },
      decode: { accelerator: '4xA100', targetReplicas: 2, currentReplicas: 0 },
    });
    const pdScaled = scaled.filter((s) => s.startsWith('code-70b-pd'));
    expect(pdScaled).toEqual(['code-70b-pd-decode-4xa100=2', 'code-70b-pd-prefill-4xh100=2']);
    // the A100 devices are the decode pods' alone
    const a100 = capacity.accelerators.find((a) => a.acceleratorType === 'A100');
    expect(a100?.devices).toBe(8);
    expect(capacity.variants).toContain('llm/code-70b-pd');
  });

  it('a fresh memory keeps what both roles run: no scale-down before a whole window was seen', async () => {
    const { pd } = await cycle(6, 3);
    // a fresh memory has not seen a whole window: it keeps what runs rather than scale down blind
    expect(pd.roles!.prefill.targetReplicas).toBe(6);
    expect(pd.roles!.decode.targetReplicas).toBe(3);
  });

  it('a pool of only the disaggregated variant gets the capacity its roles ask for', async () => {
    // the capacity intent is applied once a variant of the pool acts: the disaggregated one counts
    const alone: Config = { ...config, variants: [] };
    const { outcomes, nodes, capacity } = await cycle(1, 0, alone);
    expect(outcomes).toContain('capacity applied');
    expect(capacity.variants).toEqual(['llm/code-70b-pd']);
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatch(/^capacity default#1 .*A100=8/);
  });

  it('a disaggregated variant in shadow mode changes nothing and keeps what its roles run in the capacity intent', async () => {
    const shadow: Config = {
      ...config,
      disaggregated: config.disaggregated!.map((v) => ({ ...v, mode: 'shadow' as const })),
    };
    const { outcomes, scaled, pd, capacity } = await cycle(1, 0, shadow);
    expect(pd.mode).toBe('shadow');
    // the decision is what it would do (both roles grow), apply scales neither
    expect(pd.roles!.decode.targetReplicas).toBe(2);
    expect(scaled.filter((s) => s.startsWith('code-70b-pd'))).toEqual([]);
    expect(outcomes).toContain('decision shadow');
    // the capacity intent counts what runs: one H100 prefill pod, no A100 decode pod
    expect(capacity.accelerators.find((a) => a.acceleratorType === 'A100')?.devices).toBe(0);
  });
});
