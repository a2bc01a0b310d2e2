/**
 * The role yardsticks of ./roleOracle.ts run in the closed loop on a workload, measured, reported
 * and billed as every policy of the benchmark is (./workloads.ts, runWith): `oracle`,
 * `oracle-lead` and `static-best`, each a row beside the policies. The searches are cached in
 * the benchmark's cache directory by a hash of what decides them (bench/policies/oracleSearch.ts,
 * cacheKey: the scenario's fleet and traces, the variant, the transfer, the search's rules).
 */
import type { Config } from '../../lib/config/schema.js';
import type { Scenario } from '../../lib/closedLoop/scenario.js';
import {
  roleOracleLeadRun,
  roleOracleRun,
  roleStaticRun,
  searchRoleOracle,
  searchRoleStatic,
  type RoleSchedule,
  type RoleStaticChoice,
} from './roleOracle.js';
import { runWith, type Row, type Workload } from './workloads.js';

export const ROLE_YARDSTICKS = ['oracle', 'oracle-lead', 'static-best'] as const;

export interface YardstickRuns {
  readonly rows: readonly Row[];
  readonly schedule: RoleSchedule;
  readonly staticChoice: RoleStaticChoice;
  /** seconds the searches took (0 when both came from the cache) */
  readonly searchSeconds: number;
}

export async function runYardsticks(
  w: Workload,
  opts: {
    duration?: number;
    cacheDir?: string;
    log?: (line: string) => void;
    /** the share each search's fleets must meet (per interval for the oracle); default 0.99 */
    target?: number;
  },
): Promise<YardstickRuns> {
  let schedule: RoleSchedule | undefined;
  let staticChoice: RoleStaticChoice | undefined;
  let searchSeconds = 0;
  const searched = <T>(search: () => T): T => {
    const started = performance.now();
    const result = search();
    searchSeconds += (performance.now() - started) / 1000;
    return result;
  };
  const options = { cacheDir: opts.cacheDir, log: opts.log, target: opts.target };
  const scheduleFor = (config: Config, scenario: Scenario) =>
    (schedule ??= searched(() => searchRoleOracle(config, scenario, options)));
  const rows: Row[] = [];
  for (const name of ROLE_YARDSTICKS) {
    const { row } = await runWith(
      w,
      'disaggregated',
      name,
      (config, scenario) => {
        switch (name) {
          case 'oracle':
            return roleOracleRun(config, scenario, scheduleFor(config, scenario));
          case 'oracle-lead':
            return roleOracleLeadRun(config, scenario, scheduleFor(config, scenario));
          case 'static-best':
            staticChoice = searched(() => searchRoleStatic(config, scenario, options));
            return roleStaticRun(config, scenario, staticChoice);
        }
      },
      { duration: opts.duration },
    );
    rows.push(row);
  }
  return { rows, schedule: schedule!, staticChoice: staticChoice!, searchSeconds };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** What the searches found, in words. */
export function describeYardstickRuns(y: YardstickRuns): string {
  const s = y.schedule;
  const infeasible = s.choices.filter((c) => !c.feasible).length;
  const peak = s.choices.reduce((m, c) => Math.max(m, c.replicas.prefill + c.replicas.decode), 0);
  const st = y.staticChoice;
  const pairs = new Map<string, number>();
  for (const c of s.choices) {
    const pair = `${c.accelerators.prefill} prefill / ${c.accelerators.decode} decode`;
    pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
  }
  const on = [...pairs].map(([pair, n]) => `${pair} in ${n}`).join(', ');
  return (
    `oracle per role: ${s.choices.length} intervals of ${s.intervalSeconds / 60} min (${on})` +
    `${s.fromCache ? ' (cached)' : `, ${s.trials} trials`}, at most ${peak} pods in an interval` +
    `${infeasible > 0 ? `, ${infeasible} intervals where no fleet met ${pct(s.target)}` : ''}; ` +
    `static-best: ${st.replicas.prefill} ${st.accelerators.prefill} prefill + ${st.replicas.decode} ${st.accelerators.decode} decode ($${st.costPerHour.toFixed(2)}/h)` +
    `${st.fromCache ? ' (cached)' : `, ${st.trials} trials`}${st.feasible ? '' : ` (no constant fleet meets ${pct(s.target)}: the closest)`}; ` +
    `searches ${y.searchSeconds.toFixed(1)} s; cheapest found, not proven bounds`
  );
}

const YARDSTICK_TARGET = 0.99;

/** A yardstick's row as words: cost and attainment, flagged when it misses the target itself. */
function shown(r: Row): string {
  const flag =
    r.attainment < YARDSTICK_TARGET - 1e-12 ? `, below ${pct(YARDSTICK_TARGET)}: no yardstick` : '';
  return `$${r.cost.toFixed(2)} (${pct(r.attainment)}${flag})`;
}

/** sva's cost against each yardstick's, as ratios. */
export function describeAgainstYardsticks(sva: Row, yardsticks: readonly Row[]): string {
  return `sva (disaggregated, ${pct(sva.attainment)}, $${sva.cost.toFixed(2)}) against the yardsticks: ${yardsticks
    .map((r) => `${(sva.cost / r.cost).toFixed(2)}x ${r.policy}'s ${shown(r)}`)
    .join(', ')}`;
}

/**
 * Whether the goal's bound (`ratio` times the planner's cost at the goal's attainment) lies at
 * or above a yardstick that itself meets the goal's attainment: if one does, some policy reaches
 * "<= ratio x the planner at >= the goal"; if none does, no policy FOUND does (the yardsticks
 * are not proven lower bounds, so it is not shown unreachable either).
 */
export function describeGoalBound(
  planner: { cost: number; attainment: number } | undefined,
  plannerBest: { cost: number; attainment: number },
  ratio: number,
  goal: number,
  yardsticks: readonly Row[],
): string {
  if (!planner)
    return `the goal's bound (${ratio}x the planner at >= ${pct(goal)}) is not defined: the planner reaches ${pct(goal)} at no setting searched (best ${pct(plannerBest.attainment)}, $${plannerBest.cost.toFixed(2)}); the yardsticks: ${yardsticks.map((r) => `${r.policy} ${shown(r)}`).join(', ')}`;
  const bound = ratio * planner.cost;
  const valid = yardsticks.filter((r) => r.attainment >= goal - 1e-12);
  const within = valid.filter((r) => r.cost <= bound + 1e-9);
  return `the goal's bound: ${ratio}x the planner's $${planner.cost.toFixed(2)} (${pct(planner.attainment)}) = $${bound.toFixed(2)}; ${yardsticks
    .map((r) => `${r.policy} ${shown(r)} ${r.cost <= bound + 1e-9 ? 'within' : 'above'} it`)
    .join(', ')}: ${
    within.length > 0
      ? `reachable (${within.map((r) => r.policy).join(', ')} at >= ${pct(goal)} within it)`
      : `no yardstick found meets ${pct(goal)} within it (found, not proven: not shown unreachable)`
  }`;
}
