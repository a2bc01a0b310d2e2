/**
 * The closed loop with a deliberate spill (policy.spill) on the real simulator: a step in load
 * beyond what the chosen accelerator's node group can hold. One variant on L4 (cheaper) or A10G,
 * the L4 node group two replicas short of what the load after the step needs. With the spill on,
 * the shortfall runs on A10G, sized as a shortfall, and the requests after it meet their targets;
 * with it off, the variant waits on L4 (the optimizer's preference for A10G needs
 * acceleratorSwitchSeconds, longer than the run) and misses them.
 */
import { parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/schema.js';
import { step, type FleetSim } from '../../lib/fleetSimulator/index.js';
import { runClosedLoop, type SimulationRun } from '../../lib/closedLoop/closedLoop.js';
import { observeSteps, svaController } from '../../lib/closedLoop/controller.js';
import type { Scenario } from '../../lib/closedLoop/scenario.js';

const T = 300;
const P = 75;
const S = 45;
const DURATION = 600;
const TOKENS = { input: 512, output: 128 };
const PROFILES = {
  L4: { alpha: 28, beta: 0.4, gamma: 20, delta: 0.2, maxBatchSize: 32, atTokens: 512, kvCacheTokens: 48_000 },
  A10G: {
    alpha: 22,
    beta: 0.3,
    gamma: 18,
    delta: 0.15,
    maxBatchSize: 32,
    atTokens: 512,
    kvCacheTokens: 48_000,
  },
};
const L4_NODES = 4;

function config(spill: boolean): Config {
  return parseConfig(
    {
      accelerators: [
        { name: 'L4', costPerHour: 0.805 },
        { name: 'A10G', costPerHour: 1.5 },
      ],
      models: [{ name: 'llama-8b', profiles: PROFILES }],
      serviceClasses: [
        { name: 'interactive', priority: 1, targets: { 'llama-8b': { ttftMs: 3000, itlMs: 60 } } },
      ],
      variants: [
        {
          name: 'chat',
          namespace: 'llm',
          model: 'llama-8b',
          serviceClass: 'interactive',
          accelerators: ['L4', 'A10G'],
          minReplicas: 1,
          maxReplicas: 20,
          startupSeconds: S,
        },
      ],
      nodeGroups: [
        { name: 'gpu-l4', acceleratorType: 'L4', gpusPerNode: 1, maxNodes: L4_NODES, provisioningSeconds: P },
        { name: 'gpu-a10g', acceleratorType: 'A10G', gpusPerNode: 1, maxNodes: 20, provisioningSeconds: P },
      ],
      policy: { intervalSeconds: 30, metricsWindowSeconds: 60, spill: { enabled: spill } },
      simulation: { seed: 1, delayJitter: 0, scrapeIntervalSeconds: 15, drainSeconds: 60 },
    },
    'spill closed-loop config',
  );
}

const engine = (p: (typeof PROFILES)['L4']) => ({
  alpha: p.alpha,
  beta: p.beta,
  gamma: p.gamma,
  delta: p.delta,
  maxBatchSize: 256,
  kvCacheTokens: p.kvCacheTokens,
  gpusPerReplica: 1,
  loadSeconds: S,
  maxNumBatchedTokens: 2048,
});

function scenario(): Scenario {
  return {
    fleet: {
      variants: [
        {
          name: 'chat',
          namespace: 'llm',
          model: 'llama-8b',
          accelerator: 'L4',
          initialReplicas: 2,
          profileByAccelerator: { L4: engine(PROFILES.L4), A10G: engine(PROFILES.A10G) },
        },
      ],
      nodeGroups: [
        {
          name: 'gpu-l4',
          acceleratorType: 'L4',
          gpusPerNode: 1,
          minNodes: 0,
          maxNodes: L4_NODES,
          initialNodes: 2,
          provisionSeconds: P,
        },
        {
          name: 'gpu-a10g',
          acceleratorType: 'A10G',
          gpusPerNode: 1,
          minNodes: 0,
          maxNodes: 20,
          initialNodes: 0,
          provisionSeconds: P,
        },
      ],
      seed: 1,
      delayJitter: 0,
    },
    traces: new Map([
      [
        'chat',
        step({
          rateBefore: 2,
          rateAfter: 14,
          at: T,
          duration: DURATION,
          inputTokens: { mean: TOKENS.input, dist: 'exp' },
          outputTokens: { mean: TOKENS.output, dist: 'exp' },
          seed: 7,
        }),
      ],
    ]),
    durationSeconds: DURATION,
    measuredFrom: 0,
  };
}

interface Outcome {
  readonly run: SimulationRun;
  readonly sim: FleetSim;
  readonly reasons: string[];
}

async function simulate(spill: boolean): Promise<Outcome> {
  const c = config(spill);
  let sim: FleetSim | undefined;
  const reasons: string[] = [];
  const controller = observeSteps(svaController(c), (ctx, s) => {
    sim = ctx.sim;
    for (const d of s.decisions ?? []) reasons.push(`${d.reason}: ${d.message}`);
  });
  const run = await runClosedLoop(c, scenario(), { controller });
  return { run, sim: sim!, reasons };
}

let on: Outcome;
let off: Outcome;

beforeAll(async () => {
  on = await simulate(true);
  off = await simulate(false);
});

/** Share of the requests arriving in [from, DURATION) that met both targets. */
const attainment = (o: Outcome, from: number) => {
  const w = o.sim.window({ variant: 'chat', from, to: DURATION });
  return w.sloMet / w.arrived;
};
const mostOn = (o: Outcome, acc: string) =>
  Math.max(...o.run.timeline.map((p) => p.variants.chat!.desired[acc] ?? 0));

describe('closed loop: a spill beyond the node group', () => {
  it('runs the shortfall on A10G, only with the spill on', () => {
    expect(on.reasons.some((r) => r.startsWith('spill:') && /spill \d+ on A10G/.test(r))).toBe(true);
    expect(mostOn(on, 'A10G')).toBeGreaterThan(0);
    expect(mostOn(off, 'A10G')).toBe(0);
    expect(mostOn(on, 'L4')).toBeGreaterThanOrEqual(L4_NODES);
  });

  it('meets the targets after the spill is ready, where waiting on L4 does not', () => {
    // asked within two intervals of the step, ready P + S later
    const settled = T + 60 + P + S + 30;
    expect(attainment(on, settled)).toBeGreaterThan(0.95);
    expect(attainment(on, settled)).toBeGreaterThan(attainment(off, settled) + 0.1);
  });
});
