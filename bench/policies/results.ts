/** The benchmark's results: the JSON shape of issue 7 and the table printed per trace. */
import { renderTable } from '../../lib/cli/solutionTable.js';
import type { SimulationRun } from '../../lib/closedLoop/closedLoop.js';

export interface PolicyResult {
  readonly sloAttainment: number;
  readonly ttftAttainment: number;
  readonly itlAttainment: number;
  readonly p99TtftMs: number | null;
  readonly p99ItlMs: number | null;
  readonly gpuHours: number;
  readonly cost: number;
  /** cost / the oracle's cost; null without an oracle run (or when it cost nothing) */
  readonly costVsOracle: number | null;
  /** cost / oracle-lead's cost */
  readonly costVsOracleLead: number | null;
  /** cost / static-best's cost */
  readonly costVsStatic: number | null;
  readonly scalingActions: number;
  readonly dropped: number;
}

/** A searched yardstick's own outcome: it must attain the target to be a row at all. */
export interface YardstickResult {
  readonly sloAttainment: number;
  readonly ttftAttainment: number;
  readonly itlAttainment: number;
  readonly cost: number;
  readonly target: number;
  readonly attainsTarget: boolean;
}

export interface TraceResult {
  readonly trace: string;
  readonly policies: Record<string, PolicyResult>;
  /** oracle, oracle-lead and static-best as run, whether or not they attained the target */
  readonly yardsticks: Record<string, YardstickResult>;
  /** yardsticks that did not attain the target (not rows of `policies`) */
  readonly errors: readonly string[];
}

/** Rounded for reading (the simulation is not that precise anyway): attainments to 0.001%, costs to cents. */
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export function referenceCost(runs: readonly SimulationRun[], name = 'oracle'): number | null {
  const run = runs.find((r) => r.controller === name);
  return run && run.summary.cost > 0 ? run.summary.cost : null;
}

export const oracleCost = (runs: readonly SimulationRun[]) => referenceCost(runs, 'oracle');

const versus = (cost: number, reference: number | null) =>
  reference === null ? null : round(cost / reference, 3);

/**
 * The JSON of one trace. `runs` are the rows (yardsticks that missed the target left out);
 * `yardsticks` every searched yardstick as run, with the target it had to attain.
 */
export function traceResult(
  trace: string,
  runs: readonly SimulationRun[],
  yardsticks: readonly SimulationRun[] = [],
  target = 0.99,
): TraceResult {
  const reference = oracleCost(runs);
  const lead = referenceCost(runs, 'oracle-lead');
  const fixed = referenceCost(runs, 'static-best');
  const policies: Record<string, PolicyResult> = {};
  for (const run of runs) {
    const s = run.summary;
    policies[run.controller] = {
      sloAttainment: round(s.sloAttainment, 5),
      ttftAttainment: round(s.ttftAttainment, 5),
      itlAttainment: round(s.itlAttainment, 5),
      p99TtftMs: s.p99TtftMs === null ? null : round(s.p99TtftMs, 1),
      p99ItlMs: s.p99ItlMs === null ? null : round(s.p99ItlMs, 2),
      gpuHours: round(s.gpuHours, 3),
      cost: round(s.cost, 2),
      costVsOracle: versus(s.cost, reference),
      costVsOracleLead: versus(s.cost, lead),
      costVsStatic: versus(s.cost, fixed),
      scalingActions: s.scalingActions,
      dropped: s.dropped,
    };
  }
  const results: Record<string, YardstickResult> = {};
  const errors: string[] = [];
  for (const run of yardsticks) {
    const s = run.summary;
    const attainsTarget = s.sloAttainment >= target - 1e-12;
    results[run.controller] = {
      sloAttainment: round(s.sloAttainment, 5),
      ttftAttainment: round(s.ttftAttainment, 5),
      itlAttainment: round(s.itlAttainment, 5),
      cost: round(s.cost, 2),
      target,
      attainsTarget,
    };
    if (!attainsTarget) errors.push(yardstickError(trace, run, target));
  }
  return { trace, policies, yardsticks: results, errors };
}

export function yardstickError(trace: string, run: SimulationRun, target: number): string {
  return `ERROR: ${trace}: ${run.controller} attains ${(run.summary.sloAttainment * 100).toFixed(2)}% of requests within both targets, below its target of ${(target * 100).toFixed(2)}%: not a yardstick, left out of the table`;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const ms = (x: number | null, digits: number) => (x === null ? '-' : x.toFixed(digits));

export const TABLE_HEADER = [
  'policy',
  'SLO met',
  'TTFT met',
  'ITL met',
  'p95 TTFT ms',
  'p99 TTFT ms',
  'p95 ITL ms',
  'p99 ITL ms',
  'GPU-h',
  'cost $',
  'vs oracle',
  'vs oracle-lead',
  'vs static-best',
  'actions',
  'dropped',
];

export function tableRows(runs: readonly SimulationRun[]): string[][] {
  const reference = oracleCost(runs);
  const lead = referenceCost(runs, 'oracle-lead');
  const fixed = referenceCost(runs, 'static-best');
  const times = (cost: number, r: number | null) => (r === null ? '-' : `${(cost / r).toFixed(2)}x`);
  return runs.map((run) => {
    const s = run.summary;
    return [
      run.controller,
      pct(s.sloAttainment),
      pct(s.ttftAttainment),
      pct(s.itlAttainment),
      ms(s.p95TtftMs, 0),
      ms(s.p99TtftMs, 0),
      ms(s.p95ItlMs, 1),
      ms(s.p99ItlMs, 1),
      s.gpuHours.toFixed(2),
      s.cost.toFixed(2),
      times(s.cost, reference),
      times(s.cost, lead),
      times(s.cost, fixed),
      String(s.scalingActions),
      String(s.dropped),
    ];
  });
}

export function formatTable(runs: readonly SimulationRun[]): string {
  return renderTable(TABLE_HEADER, tableRows(runs));
}
