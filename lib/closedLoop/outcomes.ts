/** What a run achieved: SLO attainment per request, GPU-hours and cost from node lifetimes. */
import type { Config } from '../config/schema.js';
import { targetsOf } from '../config/resolved.js';
import type { FleetSim, FleetUsage } from '../fleetSimulator/index.js';
import { countRequest, emptySloCounts, percentile, type SloCounts } from './slo.js';

export interface Outcome {
  readonly sloAttainment: number;
  readonly ttftAttainment: number;
  readonly itlAttainment: number;
  readonly gpuHours: number;
  readonly cost: number;
  readonly scalingActions: number;
  readonly requests: number;
  readonly dropped: number;
}

export interface VariantSummary extends Outcome {
  readonly name: string;
  readonly p95TtftMs: number | null;
  readonly p95ItlMs: number | null;
  readonly p99TtftMs: number | null;
  readonly p99ItlMs: number | null;
}

export interface SimulationSummary extends Outcome {
  readonly durationSeconds: number;
  readonly p95TtftMs: number | null;
  readonly p95ItlMs: number | null;
  readonly p99TtftMs: number | null;
  readonly p99ItlMs: number | null;
  readonly variants: VariantSummary[];
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : 1);

function attainment(c: SloCounts) {
  return {
    sloAttainment: ratio(c.bothMet, c.requests),
    ttftAttainment: ratio(c.ttftMet, c.requests),
    itlAttainment: ratio(c.itlMet, c.requests),
  };
}

const tails = (c: SloCounts) => ({
  p95TtftMs: percentile(c.ttftMs, 95),
  p95ItlMs: percentile(c.itlMs, 95),
  p99TtftMs: percentile(c.ttftMs, 99),
  p99ItlMs: percentile(c.itlMs, 99),
});

/** The measured span [from, end] of a run, and the fleet's usage counters when it began. */
export interface MeasuredSpan {
  readonly from: number;
  readonly end: number;
  readonly usageAtStart: FleetUsage;
}

export function summarizeRun(
  config: Config,
  sim: FleetSim,
  span: MeasuredSpan,
  prices: ReadonlyMap<string, number>,
  scalingActions: ReadonlyMap<string, number>,
): SimulationSummary {
  const { from, end } = span;
  // Every request that arrived within the measured span counts, finished or not.
  const perVariant = new Map(config.variants.map((v) => [v.name, emptySloCounts()]));
  const targets = new Map(config.variants.map((v) => [v.name, targetsOf(config, v)]));
  for (const r of sim.results().records) {
    const counts = perVariant.get(r.variant);
    if (counts && r.arrival >= from && r.arrival <= end) countRequest(counts, r, targets.get(r.variant)!);
  }
  // Node cost is shared by the variants on a node group's type in proportion to their replica-seconds.
  const usage = sim.usage();
  const before = span.usageAtStart;
  const replicaSeconds = new Map<string, number>();
  const typeSeconds = new Map<string, number>();
  const add = (u: FleetUsage['replicaSeconds'][number], sign: number) => {
    const s = sign * (u.seconds['pending-node'] + u.seconds.loading + u.seconds.ready + u.seconds.draining);
    const key = `${u.variant}|${u.accelerator}`;
    replicaSeconds.set(key, (replicaSeconds.get(key) ?? 0) + s);
    typeSeconds.set(u.accelerator, (typeSeconds.get(u.accelerator) ?? 0) + s);
  };
  for (const u of usage.replicaSeconds) add(u, 1);
  for (const u of before.replicaSeconds) add(u, -1);
  const byType = new Map<string, { cost: number; gpuHours: number }>();
  for (const g of config.nodeGroups) {
    const seconds = (usage.nodeSeconds[g.name] ?? 0) - (before.nodeSeconds[g.name] ?? 0);
    const c = byType.get(g.acceleratorType) ?? { cost: 0, gpuHours: 0 };
    byType.set(g.acceleratorType, {
      cost: c.cost + (seconds / 3600) * (prices.get(g.name) ?? 0),
      gpuHours: c.gpuHours + (seconds * g.gpusPerNode) / 3600,
    });
  }
  const variants: VariantSummary[] = config.variants.map((v) => {
    const c = perVariant.get(v.name)!;
    let cost = 0;
    let gpuHours = 0;
    for (const [type, totals] of byType) {
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
      ...tails(c),
    };
  });
  const all = emptySloCounts();
  for (const c of perVariant.values()) {
    all.requests += c.requests;
    all.ttftMet += c.ttftMet;
    all.itlMet += c.itlMet;
    all.bothMet += c.bothMet;
    all.dropped += c.dropped;
    // Concatenated in place: spreading a long trace's latencies as arguments would overflow the stack.
    for (const x of c.ttftMs) all.ttftMs.push(x);
    for (const x of c.itlMs) all.itlMs.push(x);
  }
  const totals = [...byType.values()].reduce(
    (a, b) => ({ cost: a.cost + b.cost, gpuHours: a.gpuHours + b.gpuHours }),
    {
      cost: 0,
      gpuHours: 0,
    },
  );
  return {
    ...attainment(all),
    ...totals,
    scalingActions: [...scalingActions.values()].reduce((a, b) => a + b, 0),
    requests: all.requests,
    dropped: all.dropped,
    durationSeconds: end - from,
    ...tails(all),
    variants,
  };
}
