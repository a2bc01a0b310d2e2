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
  readonly scalingActions: number;
  readonly dropped: number;
}

export interface TraceResult {
  readonly trace: string;
  readonly policies: Record<string, PolicyResult>;
}

/** Rounded for reading (the simulation is not that precise anyway): attainments to 0.001%, costs to cents. */
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export function oracleCost(runs: readonly SimulationRun[]): number | null {
  const oracle = runs.find((r) => r.controller === 'oracle');
  return oracle && oracle.summary.cost > 0 ? oracle.summary.cost : null;
}

export function traceResult(trace: string, runs: readonly SimulationRun[]): TraceResult {
  const reference = oracleCost(runs);
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
      costVsOracle: reference === null ? null : round(s.cost / reference, 3),
      scalingActions: s.scalingActions,
      dropped: s.dropped,
    };
  }
  return { trace, policies };
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
  'actions',
  'dropped',
];

export function tableRows(runs: readonly SimulationRun[]): string[][] {
  const reference = oracleCost(runs);
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
      reference === null ? '-' : `${(s.cost / reference).toFixed(2)}x`,
      String(s.scalingActions),
      String(s.dropped),
    ];
  });
}

export function formatTable(runs: readonly SimulationRun[]): string {
  return renderTable(TABLE_HEADER, tableRows(runs));
}
