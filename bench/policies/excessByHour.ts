/**
 * sva's cost above the oracle's, hour by hour, split by cause (issue 14; the CLI is excess.ts):
 * idle devices on paid nodes, replicas the stabilisation window held above sva's own
 * recommendation, and the rest.
 */
import type { Config } from '../../lib/config/schema.js';
import { nodePricePerHour } from '../../lib/config/nodePrice.js';
import { runClosedLoop, type RunOptions, type SimulationRun } from '../../lib/closedLoop/closedLoop.js';
import { observeSteps, svaController, type Controller } from '../../lib/closedLoop/controller.js';
import type { Scenario } from '../../lib/closedLoop/scenario.js';
import type { FleetSim } from '../../lib/fleetSimulator/index.js';
import { HOUR_SECONDS } from '../../lib/closedLoop/hourly.js';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';

export interface ExcessRow {
  readonly hour: number;
  readonly sva: number;
  readonly oracle: number;
  readonly idleDevices: number;
  readonly heldByWindow: number;
  readonly rest: number;
}

/** sva as the benchmark runs it, keeping each step's decisions by the time they were taken. */
export function recordingSva(config: Config, decisions: Map<number, DecisionRecord[]>): Controller {
  return observeSteps(svaController(config), (ctx, result) =>
    decisions.set(ctx.t, [...(result.decisions ?? [])]),
  );
}

export interface RecordedSvaRun {
  readonly run: SimulationRun;
  /** the fleet simulator, for its request records where the scenario keeps them */
  readonly sim: FleetSim;
  readonly decisions: Map<number, DecisionRecord[]>;
}

/**
 * sva on the scenario in the closed loop (recordingSva), with the fleet it ran on; `keepRecords`
 * keeps every request's record for the diagnostics that classify them.
 */
export async function runRecordingSva(
  config: Config,
  scenario: Scenario,
  options: Omit<RunOptions, 'controller'> & { readonly keepRecords?: boolean } = {},
): Promise<RecordedSvaRun> {
  const { keepRecords, ...runOptions } = options;
  const played = keepRecords
    ? { ...scenario, fleet: { ...scenario.fleet, results: { ...scenario.fleet.results, keepRecords: true } } }
    : scenario;
  const decisions = new Map<number, DecisionRecord[]>();
  let sim: FleetSim | undefined;
  const run = await runClosedLoop(config, played, {
    ...runOptions,
    controller: observeSteps(recordingSva(config, decisions), (ctx) => (sim = ctx.sim)),
  });
  return { run, sim: sim!, decisions };
}

const devicePrice = (config: Config) =>
  new Map(config.nodeGroups.map((g) => [g.acceleratorType, nodePricePerHour(config, g) / g.gpusPerNode]));

function recommendedOf(d: DecisionRecord): number {
  const m = /\(recommended (\d+)\)/.exec(d.message);
  return m ? Number(m[1]) : d.targetReplicas;
}

export function excessByHour(
  config: Config,
  sva: SimulationRun,
  oracle: SimulationRun,
  decisions: ReadonlyMap<number, readonly DecisionRecord[]>,
  measuredFrom: number,
): ExcessRow[] {
  const price = devicePrice(config);
  const groups = new Map(config.nodeGroups.map((g) => [g.name, g]));
  const rows = new Map<number, { sva: number; oracle: number; idleDevices: number; heldByWindow: number }>();
  const row = (t: number) => {
    const hour = Math.floor((t - 1e-9) / HOUR_SECONDS);
    if (!rows.has(hour)) rows.set(hour, { sva: 0, oracle: 0, idleDevices: 0, heldByWindow: 0 });
    return rows.get(hour)!;
  };
  let before = 0;
  for (const p of sva.timeline) {
    const hours = (p.t - before) / HOUR_SECONDS;
    before = p.t;
    const r = row(p.t);
    r.sva += p.costPerHour * hours;
    const asked = new Map<string, number>();
    for (const v of Object.values(p.variants))
      for (const [acc, n] of Object.entries(v.desired)) asked.set(acc, (asked.get(acc) ?? 0) + n);
    for (const [name, nodes] of Object.entries(p.nodes)) {
      const g = groups.get(name);
      if (!g) continue;
      const idle = Math.max(nodes * g.gpusPerNode - (asked.get(g.acceleratorType) ?? 0), 0);
      r.idleDevices += idle * (price.get(g.acceleratorType) ?? 0) * hours;
    }
    for (const d of decisions.get(p.t + measuredFrom) ?? []) {
      // a spill's decision says so in its reason; what the window held is in its message still
      const held =
        d.reason === 'stabilization' || d.reason === 'spill' ? d.targetReplicas - recommendedOf(d) : 0;
      if (held > 0) r.heldByWindow += held * (price.get(d.accelerator) ?? 0) * hours;
    }
  }
  before = 0;
  for (const p of oracle.timeline) {
    row(p.t).oracle += (p.costPerHour * (p.t - before)) / HOUR_SECONDS;
    before = p.t;
  }
  return [...rows]
    .sort(([a], [b]) => a - b)
    .map(([hour, r]) => ({ hour, ...r, rest: r.sva - r.oracle - r.idleDevices - r.heldByWindow }));
}
