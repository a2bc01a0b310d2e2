/** What a run achieved: SLO attainment per request, GPU-hours and cost from node lifetimes. */
import { everyVariant, ROLES, simRoleVariant } from '../config/roles.js';
import type { Config } from '../config/schema.js';
import { targetsOf } from '../config/resolved.js';
import type { FleetSim, FleetUsage, WindowStats } from '../fleetSimulator/index.js';

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

/** Every request that arrived counts; one that never completed (or was dropped) missed. */
function attainment(w: WindowStats) {
  return {
    sloAttainment: ratio(w.sloMet, w.arrived),
    ttftAttainment: ratio(w.ttftMet, w.arrived),
    itlAttainment: ratio(w.itlMet, w.arrived),
  };
}

const ms = (seconds: number) => (Number.isNaN(seconds) ? null : seconds * 1000);

/** Tail latencies of the completed requests, within the simulator's sketch accuracy (1%). */
const tails = (w: WindowStats) => ({
  p95TtftMs: ms(w.ttft.p95),
  p95ItlMs: ms(w.itl.p95),
  p99TtftMs: ms(w.ttft.p99),
  p99ItlMs: ms(w.itl.p99),
});

/** The measured span [from, end] of a run, and the fleet's usage counters when it began. */
export interface MeasuredSpan {
  readonly from: number;
  readonly end: number;
  readonly usageAtStart: FleetUsage;
}

/** The per-request targets the simulator checks completions against: the variants' SLOs. */
export function sloTargets(config: Config): Record<string, { ttftMs: number; itlMs: number }> {
  return Object.fromEntries(
    everyVariant(config).map((v) => {
      const t = targetsOf(config, v);
      return [v.name, { ttftMs: t.ttftMs, itlMs: t.itlMs }];
    }),
  );
}

export function summarizeRun(
  config: Config,
  sim: FleetSim,
  span: MeasuredSpan,
  prices: ReadonlyMap<string, number>,
  scalingActions: ReadonlyMap<string, number>,
): SimulationSummary {
  const { from, end } = span;
  // Every request that arrived within the measured span counts, finished or not: the simulator
  // checked each against its variant's targets (sloTargets) as it completed. Its bins start at
  // `from`; no request arrives after `end` (the scenario's traces stop there).
  const perVariant = new Map(
    everyVariant(config).map((v) => [v.name, sim.window({ variant: v.name, from })]),
  );
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
  const variants: VariantSummary[] = everyVariant(config).map((v) => {
    const w = perVariant.get(v.name)!;
    let cost = 0;
    let gpuHours = 0;
    // a disaggregated variant's decode role is a variant of its own in the fleet
    const names = v.roles ? ROLES.map((r) => simRoleVariant(v, r)) : [v.name];
    for (const [type, totals] of byType) {
      const seconds = names.reduce((s, n) => s + (replicaSeconds.get(`${n}|${type}`) ?? 0), 0);
      const share = ratio(seconds, typeSeconds.get(type) ?? 0);
      if (!(typeSeconds.get(type) ?? 0)) continue;
      cost += totals.cost * share;
      gpuHours += totals.gpuHours * share;
    }
    return {
      name: v.name,
      ...attainment(w),
      gpuHours,
      cost,
      scalingActions: scalingActions.get(v.name) ?? 0,
      requests: w.arrived,
      dropped: w.dropped + w.rejected,
      ...tails(w),
    };
  });
  const all = sim.window({ from });
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
    requests: all.arrived,
    dropped: all.dropped + all.rejected,
    durationSeconds: end - from,
    ...tails(all),
    variants,
  };
}
