/**
 * The whole loop on a simulated fleet: every scrape interval the fleet's metrics go into the
 * sample store; every evaluation interval the evaluate use case decides and queues, and the
 * apply use case drains the queue into the simulated cluster. The same code as on Lambda runs
 * here; only the adapters are simulated.
 */
import type { Config } from '../config/schema.js';

import {
  ManualClock,
  MemoryDecisionQueue,
  MemoryDecisionState,
  MemoryTelemetrySink,
} from '../adapters/memory/index.js';
import { applyDecision } from '../loop/apply.js';
import { evaluatePool } from '../loop/evaluate.js';
import type { DecisionRecord } from '../policy/decisionRecord.js';
import { targetsOf } from '../policy/variantPlan.js';
import { createFleetSim, type FleetSim } from '../sim/index.js';
import { nodePricePerHour } from './cost.js';
import type { Scenario } from './scenario.js';
import { SimCluster, SimMetricsSource, SimNodeGroups } from './simAdapters.js';
import { countRequest, emptySloCounts, percentile, type SloCounts } from './slo.js';

export interface TimelinePoint {
  readonly t: number;
  /** per variant name */
  readonly variants: Record<
    string,
    {
      /** requests that arrived in the last interval, per second */
      arrivalRate: number;
      /** what the evaluator estimated (null when it held) */
      estimatedRate: number | null;
      desired: Record<string, number>;
      ready: Record<string, number>;
      p95TtftMs: number | null;
      p95ItlMs: number | null;
    }
  >;
  /** $/h of the nodes running (ready or provisioning) */
  readonly costPerHour: number;
  readonly nodes: Record<string, number>;
}

export interface SimulationEvent {
  readonly t: number;
  readonly variant: string;
  readonly action: string;
  readonly accelerator: string;
  readonly from: number;
  readonly to: number;
  readonly reason: string;
  readonly message: string;
}

export interface VariantSummary {
  readonly name: string;
  readonly sloAttainment: number;
  readonly ttftAttainment: number;
  readonly itlAttainment: number;
  readonly gpuHours: number;
  readonly cost: number;
  readonly scalingActions: number;
  readonly requests: number;
  readonly dropped: number;
  readonly p95TtftMs: number | null;
  readonly p95ItlMs: number | null;
}

export interface SimulationSummary {
  readonly sloAttainment: number;
  readonly ttftAttainment: number;
  readonly itlAttainment: number;
  readonly gpuHours: number;
  readonly cost: number;
  readonly scalingActions: number;
  readonly requests: number;
  readonly dropped: number;
  readonly durationSeconds: number;
  readonly variants: VariantSummary[];
}

export interface SimulationRun {
  readonly summary: SimulationSummary;
  readonly timeline: TimelinePoint[];
  readonly events: SimulationEvent[];
  readonly targets: Record<string, { ttftMs: number; itlMs: number }>;
  /** wall-clock milliseconds the run took */
  readonly elapsedMs: number;
}

export interface RunOptions {
  /** called now and then with the fraction of simulated time done */
  readonly onProgress?: (fraction: number, t: number) => void;
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : 1);

export async function runClosedLoop(
  config: Config,
  scenario: Scenario,
  options: RunOptions = {},
): Promise<SimulationRun> {
  const started = performance.now();
  const sim: FleetSim = createFleetSim(scenario.fleet);
  for (const [name, trace] of scenario.traces) sim.addArrivals(name, trace.requests);

  const policy = config.policy;
  const scrapeEvery = config.simulation?.scrapeIntervalSeconds ?? 15;
  const clock = new ManualClock(0);
  const metrics = new SimMetricsSource({
    windowSeconds: policy.metricsWindowSeconds,
    maxAgeSeconds: policy.metricsMaxAgeSeconds,
  });
  const cluster = new SimCluster(sim, config);
  const nodeGroups = new SimNodeGroups(sim);
  const state = new MemoryDecisionState();
  const telemetry = new MemoryTelemetrySink();
  const queue = new MemoryDecisionQueue(() => clock.now());
  const deps = { metrics, cluster, nodeGroups, queue, state, telemetry, clock };
  const acceleratorTypes = new Map(config.accelerators.map((a) => [a.name, a.type ?? a.name]));
  const prices = new Map(config.nodeGroups.map((g) => [g.name, nodePricePerHour(config, g)]));

  // Arrivals per variant so far, for the gateway counter and the timeline's true rate.
  const arrivalTimes = new Map(
    [...scenario.traces].map(([name, t]) => [name, t.requests.map((r) => r.arrival)]),
  );
  const arrivedBy = (name: string, t: number) => {
    const times = arrivalTimes.get(name) ?? [];
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (times[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  const timeline: TimelinePoint[] = [];
  const events: SimulationEvent[] = [];
  const scalingActions = new Map<string, number>();
  let nextEvaluation = policy.intervalSeconds;
  let lastTimelineT = 0;
  const end = scenario.durationSeconds;
  const horizon = end + (config.simulation?.drainSeconds ?? 120);

  for (let t = scrapeEvery; t <= horizon + 1e-9; t += scrapeEvery) {
    sim.runUntil(t);
    clock.set(t);
    const gateway = new Map(
      config.variants.map((v) => [
        v.name,
        { model: v.metrics.modelName ?? v.model, namespace: v.namespace, count: arrivedBy(v.name, t) },
      ]),
    );
    metrics.scrape(t, sim.scrape(), gateway);
    if (t + 1e-9 < nextEvaluation || t > end) continue;
    nextEvaluation += policy.intervalSeconds;

    const result = await evaluatePool(deps, config);
    await queue.drain(async (body) => {
      const outcome = await applyDecision({ cluster, nodeGroups, state, telemetry, clock }, body, {
        maxAgeSeconds: policy.maxDecisionAgeSeconds,
        acceleratorTypes,
      });
      const d = outcome.decision;
      if (
        outcome.status === 'applied' &&
        (d.targetReplicas !== d.currentReplicas || d.action === 'migrate')
      ) {
        scalingActions.set(d.variant, (scalingActions.get(d.variant) ?? 0) + 1);
        events.push({
          t,
          variant: d.variant,
          action: d.action,
          accelerator: d.accelerator,
          from: d.currentReplicas,
          to: d.targetReplicas,
          reason: d.reason,
          message: d.message,
        });
      }
    });
    timeline.push(snapshot(t, lastTimelineT, result.decisions));
    lastTimelineT = t;
    options.onProgress?.(Math.min(t / end, 1), t);
  }
  sim.runUntil(horizon);
  options.onProgress?.(1, end);

  function snapshot(t: number, since: number, decisions: readonly DecisionRecord[]): TimelinePoint {
    const state = sim.state();
    const recent = sim
      .results()
      .records.filter((r) => r.finished !== undefined && r.finished > since && r.finished <= t);
    const variants: TimelinePoint['variants'] = {};
    for (const v of config.variants) {
      const s = state.variants.find((x) => x.name === v.name);
      const desired: Record<string, number> = {};
      const ready: Record<string, number> = {};
      for (const [acc, c] of Object.entries(s?.byAccelerator ?? {})) {
        desired[acc] = c['pending-node'] + c.loading + c.ready;
        ready[acc] = c.ready;
      }
      const mine = recent.filter((r) => r.variant === v.name);
      const decision = decisions.find((d) => d.variant === v.name && d.namespace === v.namespace);
      variants[v.name] = {
        arrivalRate: (arrivedBy(v.name, t) - arrivedBy(v.name, since)) / (t - since),
        estimatedRate: decision?.inputs.arrivalRate ?? null,
        desired,
        ready,
        p95TtftMs: percentile(
          mine.flatMap((r) => (r.ttft !== undefined ? [r.ttft * 1000] : [])),
          95,
        ),
        p95ItlMs: percentile(
          mine.flatMap((r) => (r.itl !== undefined ? [r.itl * 1000] : [])),
          95,
        ),
      };
    }
    const nodes: Record<string, number> = {};
    let costPerHour = 0;
    for (const g of state.nodeGroups) {
      nodes[g.name] = g.ready + g.provisioning;
      costPerHour += (g.ready + g.provisioning) * (prices.get(g.name) ?? 0);
    }
    return { t, variants, costPerHour, nodes };
  }

  // Outcomes: every request that arrived within the scenario counts, finished or not.
  const records = sim.results().records.filter((r) => r.arrival <= end);
  const usage = sim.usage();
  const perVariant = new Map(config.variants.map((v) => [v.name, emptySloCounts()]));
  for (const r of records) {
    const v = config.variants.find((x) => x.name === r.variant);
    if (v) countRequest(perVariant.get(v.name)!, r, targetsOf(config, v));
  }
  // Node cost is shared by the variants on a node group in proportion to their replica-seconds.
  const replicaSeconds = new Map<string, number>();
  const typeSeconds = new Map<string, number>();
  for (const u of usage.replicaSeconds) {
    const s = u.seconds['pending-node'] + u.seconds.loading + u.seconds.ready + u.seconds.draining;
    replicaSeconds.set(
      `${u.variant}|${u.accelerator}`,
      (replicaSeconds.get(`${u.variant}|${u.accelerator}`) ?? 0) + s,
    );
    typeSeconds.set(u.accelerator, (typeSeconds.get(u.accelerator) ?? 0) + s);
  }
  let totalCost = 0;
  let totalGpuHours = 0;
  const costByType = new Map<string, { cost: number; gpuHours: number }>();
  for (const g of config.nodeGroups) {
    const seconds = usage.nodeSeconds[g.name] ?? 0;
    const cost = (seconds / 3600) * (prices.get(g.name) ?? 0);
    const gpuHours = (seconds * g.gpusPerNode) / 3600;
    totalCost += cost;
    totalGpuHours += gpuHours;
    const c = costByType.get(g.acceleratorType) ?? { cost: 0, gpuHours: 0 };
    costByType.set(g.acceleratorType, { cost: c.cost + cost, gpuHours: c.gpuHours + gpuHours });
  }
  const variantSummaries: VariantSummary[] = config.variants.map((v) => {
    const c = perVariant.get(v.name)!;
    let cost = 0;
    let gpuHours = 0;
    for (const [type, totals] of costByType) {
      const share = ratio(replicaSeconds.get(`${v.name}|${type}`) ?? 0, typeSeconds.get(type) ?? 0);
      if (!(typeSeconds.get(type) ?? 0)) continue;
      cost += totals.cost * share;
      gpuHours += totals.gpuHours * share;
    }
    return {
      name: v.name,
      ...attainment(c),
      gpuHours,
      cost,
      scalingActions: scalingActions.get(v.name) ?? 0,
      requests: c.requests,
      dropped: c.dropped,
      p95TtftMs: percentile(c.ttftMs, 95),
      p95ItlMs: percentile(c.itlMs, 95),
    };
  });
  const all = [...perVariant.values()].reduce<SloCounts>(
    (acc, c) => ({
      requests: acc.requests + c.requests,
      ttftMet: acc.ttftMet + c.ttftMet,
      itlMet: acc.itlMet + c.itlMet,
      bothMet: acc.bothMet + c.bothMet,
      dropped: acc.dropped + c.dropped,
      ttftMs: [],
      itlMs: [],
    }),
    emptySloCounts(),
  );
  const summary: SimulationSummary = {
    ...attainment(all),
    gpuHours: totalGpuHours,
    cost: totalCost,
    scalingActions: [...scalingActions.values()].reduce((a, b) => a + b, 0),
    requests: all.requests,
    dropped: all.dropped,
    durationSeconds: end,
    variants: variantSummaries,
  };
  const targets = Object.fromEntries(config.variants.map((v) => [v.name, targetsOf(config, v)]));
  return { summary, timeline, events, targets, elapsedMs: performance.now() - started };
}

function attainment(c: SloCounts) {
  return {
    sloAttainment: ratio(c.bothMet, c.requests),
    ttftAttainment: ratio(c.ttftMet, c.requests),
    itlAttainment: ratio(c.itlMet, c.requests),
  };
}
