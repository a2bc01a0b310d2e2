/**
 * The closed loop on the real simulator: a step in load is met within the configured delays.
 *
 * One variant on L4, one L4 node group with provisioning delay P, replicas that load for S,
 * no jitter. The load steps from 2 to 8 req/s at T. The autoscaler evaluates every `interval`
 * over a `window` of metrics, so it must ask for more replicas by T + interval + window, the
 * replicas it asks for are ready P + S later, and from then on requests meet their targets.
 */
import { parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/schema.js';
import { configToSystem } from '../../lib/config/toSystem.js';
import { solve } from '../../lib/optimizer/index.js';
import { step, type FleetSim } from '../../lib/fleetSimulator/index.js';
import { runClosedLoop, type SimulationRun } from '../../lib/closedLoop/closedLoop.js';
import { observeSteps, svaController } from '../../lib/closedLoop/controller.js';
import type { Scenario } from '../../lib/closedLoop/scenario.js';

const T = 300;
const P = 75;
const S = 45;
const INTERVAL = 30;
const WINDOW = 60;
const DURATION = 900;
const RATE_BEFORE = 2;
const RATE_AFTER = 8;
const TOKENS = { input: 512, output: 128 };
const TARGETS = { ttftMs: 3000, itlMs: 60 };
const L4 = {
  alpha: 28,
  beta: 0.4,
  gamma: 20,
  delta: 0.2,
  maxBatchSize: 32,
  atTokens: 512,
  kvCacheTokens: 48_000,
};

const config: Config = parseConfig(
  {
    accelerators: [{ name: 'L4', costPerHour: 0.805 }],
    models: [{ name: 'llama-8b', profiles: { L4 } }],
    serviceClasses: [{ name: 'interactive', priority: 1, targets: { 'llama-8b': TARGETS } }],
    variants: [
      {
        name: 'chat',
        namespace: 'llm',
        model: 'llama-8b',
        serviceClass: 'interactive',
        accelerator: 'L4',
        minReplicas: 1,
        maxReplicas: 20,
        startupSeconds: S,
      },
    ],
    nodeGroups: [
      { name: 'gpu-l4', acceleratorType: 'L4', gpusPerNode: 1, maxNodes: 20, provisioningSeconds: P },
    ],
    policy: { intervalSeconds: INTERVAL, metricsWindowSeconds: WINDOW },
    simulation: { seed: 1, delayJitter: 0, scrapeIntervalSeconds: 15, drainSeconds: 60 },
  },
  'closed-loop test config',
);

/** Replicas the policy's sizing needs for a rate: the optimizer with the policy's target margins. */
function replicasFor(rate: number): number {
  const system = configToSystem(config, {
    loads: new Map([
      ['llm/chat', { arrivalRate: rate * 60, avgInTokens: TOKENS.input, avgOutTokens: TOKENS.output }],
    ]),
  });
  const margin = config.policy.targetMargin;
  const serviceClasses = new Map(
    [...system.serviceClasses].map(([name, c]) => [
      name,
      {
        ...c,
        targets: new Map(
          [...c.targets].map(([m, t]) => [m, { ...t, ttft: t.ttft * margin.ttft, itl: t.itl * margin.itl }]),
        ),
      },
    ]),
  );
  const allocation = solve({ ...system, serviceClasses }).allocations.get('llm/chat');
  if (!allocation) throw new Error(`no allocation for ${rate} req/s`);
  return allocation.numReplicas;
}

const N_BEFORE = replicasFor(RATE_BEFORE);
const N_AFTER = replicasFor(RATE_AFTER);

function scenario(): Scenario {
  return {
    fleet: {
      variants: [
        {
          name: 'chat',
          namespace: 'llm',
          model: 'llama-8b',
          accelerator: 'L4',
          initialReplicas: N_BEFORE,
          profileByAccelerator: {
            // the config's profile as the fleet's true behaviour, with vLLM's engine limits
            L4: {
              alpha: L4.alpha,
              beta: L4.beta,
              gamma: L4.gamma,
              delta: L4.delta,
              maxBatchSize: 256,
              kvCacheTokens: L4.kvCacheTokens,
              gpusPerReplica: 1,
              loadSeconds: S,
              maxNumBatchedTokens: 2048,
            },
          },
        },
      ],
      nodeGroups: [
        {
          name: 'gpu-l4',
          acceleratorType: 'L4',
          gpusPerNode: 1,
          minNodes: 0,
          maxNodes: 20,
          initialNodes: N_BEFORE,
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
          rateBefore: RATE_BEFORE,
          rateAfter: RATE_AFTER,
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

let run: SimulationRun;
let fleet: FleetSim;

beforeAll(async () => {
  // The autoscaler itself, wrapped only to keep a handle on the simulated fleet for its results.
  let sim: FleetSim | undefined;
  const controller = observeSteps(svaController(config), (ctx) => (sim = ctx.sim));
  run = await runClosedLoop(config, scenario(), { controller });
  fleet = sim!;
});

const desiredAt = (p: SimulationRun['timeline'][number]) => p.variants.chat!.desired.L4 ?? 0;
const readyAt = (p: SimulationRun['timeline'][number]) => p.variants.chat!.ready.L4 ?? 0;

/** Requests arriving in [from, to) (whole control intervals: the simulator's result bins). */
function attainment(from: number, to: number) {
  const w = fleet.window({ variant: 'chat', from, to });
  return { requests: w.arrived, both: w.sloMet / w.arrived, dropped: w.dropped + w.rejected };
}

describe('closed loop: a step in load', () => {
  const reactBy = T + INTERVAL + WINDOW;
  const readyBy = reactBy + P + S;

  it('is a real step: the sizing needs more replicas after it', () => {
    expect(N_BEFORE).toBeGreaterThanOrEqual(1);
    expect(N_AFTER).toBeGreaterThan(N_BEFORE + 1);
    expect(run.timeline.at(-1)!.t).toBe(DURATION);
    expect(run.elapsedMs).toBeLessThan(10_000);
  });

  it('does not scale before the step', () => {
    const before = run.timeline.filter((p) => p.t <= T);
    expect(before.length).toBe(T / INTERVAL);
    for (const p of before) expect(desiredAt(p)).toBe(N_BEFORE);
    expect(run.events.filter((e) => e.t <= T)).toEqual([]);
  });

  it('asks for more replicas within one evaluation interval + the metrics window', () => {
    const first = run.timeline.find((p) => p.t > T && desiredAt(p) > N_BEFORE);
    expect(first).toBeDefined();
    expect(first!.t).toBeLessThanOrEqual(reactBy);
    const up = run.events.find((e) => e.t > T && e.action === 'scale-up');
    expect(up!.t).toBe(first!.t);
    // and enough of them by then
    const atReact = run.timeline.find((p) => p.t === reactBy)!;
    expect(desiredAt(atReact)).toBeGreaterThanOrEqual(N_AFTER);
  });

  it('has the new replicas ready within interval + window + node provisioning + startup', () => {
    const ready = run.timeline.find((p) => p.t > T && readyAt(p) >= N_AFTER);
    expect(ready).toBeDefined();
    expect(ready!.t).toBeLessThanOrEqual(readyBy);
    // not before the delays allow: the first new replica cannot serve before T + P + S
    const firstMore = run.timeline.find((p) => readyAt(p) > N_BEFORE)!;
    expect(firstMore.t).toBeGreaterThanOrEqual(T + P + S);
  });

  it('meets the TTFT and ITL targets for the requests that arrive once the capacity is ready', () => {
    const after = attainment(readyBy, DURATION);
    expect(after.requests).toBeGreaterThan(0.9 * RATE_AFTER * (DURATION - readyBy));
    expect(after.dropped).toBe(0);
    expect(after.both).toBeGreaterThanOrEqual(0.95);
    // before the step the fleet was sized for its load too
    expect(attainment(0, T).both).toBeGreaterThanOrEqual(0.9);
    // in the steady state of the last 300 s, per-interval p95 latencies are within the targets
    // (requests queued on the old replicas during the step finish late, so earlier intervals may not be)
    const settled = run.timeline.filter((p) => p.t > DURATION - 300);
    expect(settled.length).toBe(300 / INTERVAL);
    for (const p of settled) {
      expect(p.variants.chat!.p95TtftMs!).toBeLessThanOrEqual(TARGETS.ttftMs);
      expect(p.variants.chat!.p95ItlMs!).toBeLessThanOrEqual(TARGETS.itlMs);
    }
  });

  it('keeps node groups in step with the replicas', () => {
    for (const p of run.timeline) expect(p.nodes['gpu-l4']).toBeGreaterThanOrEqual(desiredAt(p));
  });
});
