/**
 * The benchmark's baselines behave as issue 7 specifies them: keda-queue, hpa-kv and wva driven
 * step by step with observations written by hand on a real simulated fleet; static-peak, the
 * oracle and the cluster-autoscaler in short closed loops on synthetic traces.
 */
import { ClusterAutoscaler, withClusterAutoscaler } from '../../bench/policies/clusterAutoscaler.js';
import { sizeWithOptimizer, type Load } from '../../bench/policies/common.js';
import { hpaKvController, hpaKvRecommendation, hpaProposal } from '../../bench/policies/hpaKv.js';
import { kedaQueueController, kedaReplicas } from '../../bench/policies/kedaQueue.js';
import { createPolicyRun, POLICY_NAMES } from '../../bench/policies/policies.js';
import { searchOracle, searchStatic } from '../../bench/policies/oracleSearch.js';
import { traceResult } from '../../bench/policies/results.js';
import { staticPeakController, staticPeakSizing } from '../../bench/policies/staticPeak.js';
import { wvaController } from '../../bench/policies/wva.js';
import { parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/schema.js';
import type { Estimate, VariantObservation } from '../../lib/metrics/observation.js';
import { createFleetSim, poisson, step, type FleetSim, type Trace } from '../../lib/fleetSimulator/index.js';
import { runClosedLoop, type SimulationRun } from '../../lib/closedLoop/closedLoop.js';
import type { Controller, ControlContext, ScalingEvent } from '../../lib/closedLoop/controller.js';
import type { Scenario } from '../../lib/closedLoop/scenario.js';
import { SimCluster, type SimMetricsSource } from '../../lib/closedLoop/simAdapters.js';
import { simCapacity } from '../../lib/closedLoop/simCapacity.js';

const STARTUP = 45;
const PROVISION = 60;
const TOKENS = { input: 512, output: 128 };
const PROFILES = {
  L4: { alpha: 28, beta: 0.4, gamma: 20, delta: 0.2, maxBatchSize: 32, atTokens: 512, kvCacheTokens: 48000 },
  L40S: {
    alpha: 12,
    beta: 0.15,
    gamma: 12,
    delta: 0.08,
    maxBatchSize: 96,
    atTokens: 512,
    kvCacheTokens: 240000,
  },
};

const config: Config = parseConfig(
  {
    accelerators: [
      { name: 'L4', costPerHour: 0.805 },
      { name: 'L40S', costPerHour: 1.861 },
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
        accelerators: ['L4', 'L40S'],
        minReplicas: 1,
        maxReplicas: 20,
        startupSeconds: STARTUP,
      },
    ],
    nodeGroups: [
      { name: 'gpu-l4', acceleratorType: 'L4', gpusPerNode: 1, maxNodes: 30, provisioningSeconds: PROVISION },
      {
        name: 'gpu-l40s',
        acceleratorType: 'L40S',
        gpusPerNode: 1,
        maxNodes: 30,
        provisioningSeconds: PROVISION,
      },
    ],
    policy: { intervalSeconds: 30 },
    simulation: { seed: 1, delayJitter: 0, scrapeIntervalSeconds: 15, drainSeconds: 60 },
  },
  'bench test config',
);
const chat = config.variants[0]!;

/** A fleet starting with `replicas` ready on `accelerator`, on as many ready nodes. */
function scenario(trace: Trace, replicas: number, accelerator: 'L4' | 'L40S' = 'L4'): Scenario {
  const profile = (p: (typeof PROFILES)['L4']) => ({
    alpha: p.alpha,
    beta: p.beta,
    gamma: p.gamma,
    delta: p.delta,
    maxBatchSize: 256,
    kvCacheTokens: p.kvCacheTokens,
    gpusPerReplica: 1,
    loadSeconds: STARTUP,
    maxPrefillTokens: 2048,
  });
  return {
    fleet: {
      variants: [
        {
          name: 'chat',
          namespace: 'llm',
          model: 'llama-8b',
          accelerator,
          initialReplicas: replicas,
          profileByAccelerator: { L4: profile(PROFILES.L4), L40S: profile(PROFILES.L40S) },
        },
      ],
      nodeGroups: (['L4', 'L40S'] as const).map((type) => ({
        name: type === 'L4' ? 'gpu-l4' : 'gpu-l40s',
        acceleratorType: type,
        gpusPerNode: 1,
        minNodes: 0,
        maxNodes: 30,
        initialNodes: type === accelerator ? replicas : 0,
        provisionSeconds: PROVISION,
      })),
      seed: 1,
      delayJitter: 0,
    },
    traces: new Map([['chat', trace]]),
    durationSeconds: trace.duration!,
    measuredFrom: 0,
  };
}

const tokens = { inputTokens: { mean: TOKENS.input, dist: 'exp' as const }, outputTokens: TOKENS.output };
const quiet = (duration: number) => poisson({ rate: 0.5, duration, seed: 3, ...tokens });

/** An observation of the variant at t; only the given estimates are present. */
function observation(
  t: number,
  values: Partial<Record<keyof VariantObservation, number>>,
): VariantObservation {
  const est = (value: number): Estimate => ({ value, source: 'test', timestamp: t });
  const out: Record<string, unknown> = {
    variant: 'llm/chat',
    model: 'llama-8b',
    at: t,
    windowSeconds: 60,
    stale: [],
    missing: [],
  };
  for (const [k, v] of Object.entries(values)) if (typeof v === 'number') out[k] = est(v);
  return out as unknown as VariantObservation;
}

/** Drives a controller by hand: a real simulated fleet, metrics written by the test. */
class Harness {
  readonly sim: FleetSim;
  readonly events: (ScalingEvent & { t: number })[] = [];
  private readonly scenario: Scenario;

  constructor(initialReplicas: number, accelerator: 'L4' | 'L40S' = 'L4') {
    this.scenario = scenario(quiet(3600), initialReplicas, accelerator);
    this.sim = createFleetSim(this.scenario.fleet);
  }

  async step(controller: Controller, t: number, obs: VariantObservation | undefined): Promise<void> {
    this.sim.runUntil(t);
    const metrics = { collect: async () => [obs ?? observation(t, {})] } as unknown as SimMetricsSource;
    const ctx: ControlContext = {
      t,
      config,
      scenario: this.scenario,
      sim: this.sim,
      metrics,
      cluster: new SimCluster(this.sim, config),
      capacity: simCapacity(this.sim, config),
      record: (e) => this.events.push({ ...e, t }),
    };
    await controller.step(ctx);
  }

  desired(type = 'L4'): number {
    const c = this.sim.state().variants[0]!.byAccelerator[type];
    return c ? c['pending-node'] + c.loading + c.ready : 0;
  }
}

describe('keda-queue', () => {
  it('asks for ceil(sum waiting / 5) replicas within min and max', () => {
    expect(kedaReplicas(0, chat)).toBe(1);
    expect(kedaReplicas(5, chat)).toBe(1);
    expect(kedaReplicas(6, chat)).toBe(2);
    expect(kedaReplicas(23, chat)).toBe(5);
    expect(kedaReplicas(1000, chat)).toBe(20);
  });

  it('polls every 15 s, scales up at once and holds 300 s before scaling down', async () => {
    const keda = kedaQueueController();
    expect(keda.intervalSeconds).toBe(15);
    const h = new Harness(2);
    await h.step(keda, 15, observation(15, { waiting: 23 }));
    expect(h.desired()).toBe(5);
    await h.step(keda, 30, observation(30, { waiting: 12 }));
    expect(h.desired()).toBe(5);
    for (let t = 45; t < 315; t += 15) {
      await h.step(keda, t, observation(t, { waiting: 0 }));
      expect(h.desired()).toBe(5);
    }
    // 300 s after the last recommendation of 5 (t = 15) it goes to the highest since (3, t = 30).
    await h.step(keda, 315, observation(315, { waiting: 0 }));
    expect(h.desired()).toBe(3);
    await h.step(keda, 330, observation(330, { waiting: 0 }));
    expect(h.desired()).toBe(1);
    expect(h.events.map((e) => [e.t, e.from, e.to])).toEqual([
      [15, 2, 5],
      [315, 5, 3],
      [330, 3, 1],
    ]);
  });

  it('does not scale down in the first 300 s: the fleet ran at its size before', async () => {
    const keda = kedaQueueController();
    const h = new Harness(4);
    for (let t = 15; t < 300; t += 15) await h.step(keda, t, observation(t, { waiting: 0 }));
    expect(h.desired()).toBe(4);
    await h.step(keda, 300, observation(300, { waiting: 0 }));
    expect(h.desired()).toBe(1);
  });

  it('leaves the size alone when no replica reports the queue', async () => {
    const keda = kedaQueueController();
    const h = new Harness(3);
    await h.step(keda, 15, observation(15, {}));
    expect(h.desired()).toBe(3);
  });
});

describe('hpa-kv', () => {
  const m = { current: 4, withMetrics: 4, missing: 0, target: 0.7 };

  it('proposes ceil(current * metric / target), unchanged within 10%', () => {
    expect(hpaProposal({ ...m, average: 0.75 })).toBe(4); // ratio 1.07
    expect(hpaProposal({ ...m, average: 0.64 })).toBe(4); // ratio 0.91
    expect(hpaProposal({ ...m, average: 0.8 })).toBe(5); // ceil(4.57)
    expect(hpaProposal({ ...m, average: 0.35 })).toBe(2);
    expect(hpaProposal({ ...m, average: 0.62 })).toBe(4); // ceil(3.54)
  });

  it('counts starting pods at 0 when scaling up and at the target when scaling down', () => {
    // 4 reporting 0.9 and 2 starting: (0.9 * 4 + 0) / 6 = 0.6 < 0.7, the direction flips: stay.
    expect(hpaProposal({ current: 6, withMetrics: 4, missing: 2, average: 0.9, target: 0.7 })).toBe(6);
    // 2 reporting 1.0 and 1 starting: 2 / 3 / 0.7 = 0.95, within tolerance: stay.
    expect(hpaProposal({ current: 3, withMetrics: 2, missing: 1, average: 1, target: 0.7 })).toBe(3);
    // 4 reporting 1.0 and 1 starting: 4 / 5 / 0.7 = 1.14: ceil(1.14 * 5) = 6.
    expect(hpaProposal({ current: 5, withMetrics: 4, missing: 1, average: 1, target: 0.7 })).toBe(6);
    // scale down with 1 starting taken at the target: (0.1 * 3 + 0.7) / 4 / 0.7 = 0.36: ceil(1.43) = 2.
    expect(hpaProposal({ current: 4, withMetrics: 3, missing: 1, average: 0.1, target: 0.7 })).toBe(2);
  });

  it('takes the larger of the KV-cache and queue proposals', () => {
    const base = { current: 4, ready: 4, starting: 0 };
    // KV 0.7 is on target; 20 waiting = 5 per replica against 2: ceil(4 * 2.5) = 10.
    expect(hpaKvRecommendation({ ...base, kvCacheUsage: 0.7, waiting: 20 }, chat)).toBe(10);
    // KV 0.9 asks for ceil(4 * 0.9 / 0.7) = 6; no queue.
    expect(hpaKvRecommendation({ ...base, kvCacheUsage: 0.9, waiting: 0 }, chat)).toBe(6);
    expect(hpaKvRecommendation({ ...base, kvCacheUsage: 0.05, waiting: 0 }, chat)).toBe(1);
  });

  it('syncs every 15 s, scales up at once and down only to the highest of the last 300 s', async () => {
    const hpa = hpaKvController();
    expect(hpa.intervalSeconds).toBe(15);
    const h = new Harness(4);
    await h.step(hpa, 15, observation(15, { kvCacheUsage: 0.35, waiting: 0 }));
    expect(h.desired()).toBe(4); // recommends 2, but the window holds the 4 it ran with
    for (let t = 30; t < 300; t += 15) {
      await h.step(hpa, t, observation(t, { kvCacheUsage: 0.35, waiting: 0 }));
      expect(h.desired()).toBe(4);
    }
    await h.step(hpa, 300, observation(300, { kvCacheUsage: 0.35, waiting: 0 }));
    expect(h.desired()).toBe(2);
    await h.step(hpa, 315, observation(315, { kvCacheUsage: 0.95, waiting: 0 }));
    expect(h.desired()).toBe(3); // ceil(2 * 0.95 / 0.7), at once
    await h.step(hpa, 330, observation(330, { kvCacheUsage: 0.2, waiting: 0 }));
    expect(h.desired()).toBe(3); // 3 was recommended 15 s ago
  });
});

describe('wva', () => {
  const obs = (t: number) =>
    observation(t, {
      completionRate: 2,
      arrivalRate: 8,
      avgInputTokens: 1500,
      avgOutputTokens: 200,
      waiting: 40,
      kvCacheUsage: 0.9,
    });
  const load: Load = { rate: 2, inputTokens: 1500, outputTokens: 200 };

  it('sizes the completion rate with the targets as they are, pinned to the starting accelerator', async () => {
    const wva = wvaController();
    expect(wva.intervalSeconds).toBe(60);
    // Unpinned, the optimizer would move this load to L40S; pinned, it stays on L4.
    expect(sizeWithOptimizer(config, chat, load).accelerator).toBe('L40S');
    const pinned = sizeWithOptimizer(config, chat, load, { accelerators: ['L4'] });
    const fromArrivals = sizeWithOptimizer(config, chat, { ...load, rate: 8 }, { accelerators: ['L4'] });
    const withMargins = sizeWithOptimizer(config, chat, load, {
      accelerators: ['L4'],
      margin: config.policy.targetMargin,
    });
    expect(pinned.accelerator).toBe('L4');
    expect(fromArrivals.replicas).toBeGreaterThan(pinned.replicas);
    expect(withMargins.replicas).toBeGreaterThan(pinned.replicas);

    const h = new Harness(1);
    await h.step(wva, 60, obs(60));
    expect(h.desired('L4')).toBe(pinned.replicas);
    expect(h.desired('L40S')).toBe(0);
    expect(h.events.every((e) => e.accelerator === 'L4')).toBe(true);
  });

  it('follows the completion rate down at once: no stabilisation', async () => {
    const wva = wvaController();
    const h = new Harness(1);
    await h.step(wva, 60, obs(60));
    const up = h.desired();
    expect(up).toBeGreaterThan(1);
    await h.step(
      wva,
      120,
      observation(120, { completionRate: 0.1, avgInputTokens: 1500, avgOutputTokens: 200 }),
    );
    expect(h.desired()).toBe(1);
  });

  it('runs on the accelerator the fleet starts on', async () => {
    const wva = wvaController();
    const h = new Harness(1, 'L40S');
    await h.step(wva, 60, obs(60));
    expect(h.desired('L40S')).toBe(
      sizeWithOptimizer(config, chat, load, { accelerators: ['L40S'] }).replicas,
    );
    expect(h.desired('L4')).toBe(0);
  });
});

/** Desired replicas per accelerator at a timeline point. */
const desired = (p: SimulationRun['timeline'][number], acc = 'L4') => p.variants.chat!.desired[acc] ?? 0;
const ready = (p: SimulationRun['timeline'][number], acc = 'L4') => p.variants.chat!.ready[acc] ?? 0;

describe('static-peak', () => {
  it('sizes the busiest minute once, at the start, and never changes', async () => {
    const trace = step({ rateBefore: 1, rateAfter: 20, at: 300, duration: 600, seed: 5, ...tokens });
    const sizing = staticPeakSizing(config, chat, trace);
    expect(sizing.replicas).toBeGreaterThan(1);
    const run = await runClosedLoop(config, scenario(trace, 1, sizing.accelerator as 'L4' | 'L40S'), {
      controller: withClusterAutoscaler(staticPeakController()),
    });
    expect(run.events).toHaveLength(1);
    expect(run.events[0]).toMatchObject({ t: 15, from: 1, to: sizing.replicas });
    for (const p of run.timeline) expect(desired(p, sizing.accelerator)).toBe(sizing.replicas);
    // The cluster-autoscaler brought up the nodes: all ready within provisioning + startup.
    const late = run.timeline.filter((p) => p.t >= 15 + PROVISION + STARTUP + 15);
    for (const p of late) expect(ready(p, sizing.accelerator)).toBe(sizing.replicas);
  });
});

describe('cluster autoscaler', () => {
  function fleet(gpusPerNode: number, initialNodes: number, replicas: number) {
    const base = scenario(quiet(3600), replicas);
    const s: Scenario = {
      ...base,
      fleet: {
        ...base.fleet,
        nodeGroups: [{ ...base.fleet.nodeGroups[0]!, gpusPerNode, initialNodes }],
      },
    };
    return { s, sim: createFleetSim(s.fleet) };
  }
  const nodes = (sim: FleetSim) => {
    const g = sim.state().nodeGroups[0]!;
    return { ready: g.ready, provisioning: g.provisioning };
  };

  it('grows at once by the nodes the pending replicas need', () => {
    const { s, sim } = fleet(1, 1, 1);
    const ca = new ClusterAutoscaler();
    sim.runUntil(15);
    sim.setReplicas('chat', 'L4', 4);
    ca.step({ t: 15, sim, scenario: s });
    expect(nodes(sim)).toEqual({ ready: 1, provisioning: 3 });
    // Nodes on their way count: no more for the same pending replicas.
    sim.runUntil(30);
    ca.step({ t: 30, sim, scenario: s });
    expect(nodes(sim)).toEqual({ ready: 1, provisioning: 3 });
    sim.runUntil(15 + PROVISION);
    expect(sim.state().variants[0]!.byAccelerator.L4!['pending-node']).toBe(0);
  });

  it('packs pending replicas on the free GPUs of big nodes before adding one', () => {
    const { s, sim } = fleet(8, 1, 1);
    const ca = new ClusterAutoscaler();
    sim.setReplicas('chat', 'L4', 8);
    expect(sim.state().variants[0]!.byAccelerator.L4!['pending-node']).toBe(0);
    ca.step({ t: 15, sim, scenario: s });
    expect(nodes(sim)).toEqual({ ready: 1, provisioning: 0 });
    sim.setReplicas('chat', 'L4', 17);
    ca.step({ t: 30, sim, scenario: s });
    expect(nodes(sim)).toEqual({ ready: 1, provisioning: 2 });
  });

  it('removes a node only after it has been empty for 10 minutes', () => {
    const { s, sim } = fleet(1, 3, 3);
    const ca = new ClusterAutoscaler();
    sim.runUntil(100);
    sim.setReplicas('chat', 'L4', 1);
    let t = 100;
    for (; t < 100 + 600; t += 15) {
      sim.runUntil(t);
      ca.step({ t, sim, scenario: s });
      expect(nodes(sim).ready).toBe(3);
    }
    sim.runUntil(t);
    ca.step({ t, sim, scenario: s });
    expect(t).toBe(700);
    expect(nodes(sim)).toEqual({ ready: 1, provisioning: 0 });
  });

  it('restarts the timer of a node that held a replica again', () => {
    const { s, sim } = fleet(1, 2, 2);
    const ca = new ClusterAutoscaler();
    sim.setReplicas('chat', 'L4', 1);
    ca.step({ t: 0, sim, scenario: s });
    sim.runUntil(300);
    ca.step({ t: 300, sim, scenario: s });
    sim.setReplicas('chat', 'L4', 2); // placed on the empty node at once
    ca.step({ t: 300, sim, scenario: s });
    sim.runUntil(400);
    sim.setReplicas('chat', 'L4', 1);
    ca.step({ t: 400, sim, scenario: s });
    sim.runUntil(900);
    ca.step({ t: 900, sim, scenario: s });
    expect(nodes(sim).ready).toBe(2);
    sim.runUntil(1000);
    ca.step({ t: 1000, sim, scenario: s });
    expect(nodes(sim).ready).toBe(1);
  });

  it('runs after the policy every 15 s, the policy at its own interval', async () => {
    const steps: number[] = [];
    const policy: Controller = {
      name: 'p',
      intervalSeconds: 60,
      step: async (ctx) => {
        steps.push(ctx.t);
        return { estimatedRates: {} };
      },
    };
    const wrapped = withClusterAutoscaler(policy);
    expect(wrapped.intervalSeconds).toBe(15);
    const run = await runClosedLoop(config, scenario(quiet(300), 1), { controller: wrapped });
    expect(steps).toEqual([60, 120, 180, 240, 300]);
    expect(run.timeline.map((p) => p.t)).toEqual(Array.from({ length: 20 }, (_, i) => 15 * (i + 1)));
  });
});

describe('the benchmark', () => {
  it('runs every policy on a short trace and reports the JSON shape of issue 13', async () => {
    const trace = poisson({ rate: 2, duration: 600, seed: 4, ...tokens });
    const s = scenario(trace, 1);
    const searches = { schedule: searchOracle(config, s), staticChoice: searchStatic(config, s) };
    const runs: SimulationRun[] = [];
    for (const name of POLICY_NAMES) {
      const setup = createPolicyRun(name, config, s, searches);
      runs.push(await runClosedLoop(config, setup.scenario, { controller: setup.controller }));
    }
    const yardsticks = runs.filter((r) => ['oracle', 'oracle-lead', 'static-best'].includes(r.controller));
    const result = traceResult('synthetic', runs, yardsticks, 0.99);
    expect(result.errors).toEqual([]);
    expect(Object.keys(result.policies)).toEqual([...POLICY_NAMES]);
    expect(result.policies.oracle!.costVsOracle).toBe(1);
    expect(result.policies['oracle-lead']!.costVsOracleLead).toBe(1);
    expect(result.policies['static-best']!.costVsStatic).toBe(1);
    for (const y of Object.values(result.yardsticks)) expect(y.sloAttainment).toBeGreaterThanOrEqual(0.99);
    for (const p of Object.values(result.policies)) {
      expect(Object.keys(p).sort()).toEqual(
        [
          'sloAttainment',
          'ttftAttainment',
          'itlAttainment',
          'p99TtftMs',
          'p99ItlMs',
          'gpuHours',
          'cost',
          'costVsOracle',
          'costVsOracleLead',
          'costVsStatic',
          'scalingActions',
          'dropped',
        ].sort(),
      );
      expect(p.cost).toBeGreaterThan(0);
    }
  });
});
