/**
 * `npm run bench:disaggregated`: a disaggregated fleet of Llama-3-70B beside the aggregated one
 * (config/disaggregated.yaml), each on its own, under the policies of ./policies.ts (the
 * disaggregated variant) and sva and the Dynamo-style planner (the aggregated one). Prints SLO
 * attainment (both targets met, by request) and cost over the measured span, then the costs at
 * equal attainment (./equalAttainment.ts): each baseline's knob searched for the cheapest setting
 * reaching sva's attainment, and sva's margins on both variants for the same attainment, so that
 * whether disaggregation pays is judged at equal attainment; the planner also at the goal's 99%
 * (where it cannot reach sva's attainment, the ratio at the goal's). Beside the policies, the
 * searched yardsticks of ./roleOracle.ts (`oracle`, `oracle-lead`, `static-best` per role; their
 * searches cached like the runs), sva's cost against each, and the goal's bound (0.8x the
 * planner's cost at 99%) against them: whether any fleet found meets 99% within it.
 *
 * Options: --workload NAME (default: all), --duration S (default: the trace), --no-search (the
 * first table only), --no-cache (run the searches again instead of reading bench/disaggregated/.cache/),
 * --dequantise auto|S (spread the requests of a trace recorded on a timestamp grid over each tick:
 * the grid detected, or S seconds; lib/fleetSimulator/traces.ts, dequantise. Default: as given),
 * --burst-sizing (policy.burstSizing.prefill on for sva; default: the config's, on since w18d),
 * --decode-bursts (policy.burstSizing.decode on for sva; default: the config's),
 * --burst-headroom (policy.burstSizing.headroom on for sva: the learnt headroom, for the roles
 * whose burst sizing is on; default: the config's, off),
 * --window-per-startup N (policy.windowPerStartup for every run: the window of the roles whose
 * burst sizing is off; default: the config's), --policy-json '{...}' (policy fields for every run,
 * merged into the config's before it is parsed, and part of the cache key; e.g.
 * '{"fillNodes":{"enabled":true},"forecast":{"roles":false}}'), --oracle-target X (the share the
 * yardsticks' searches ask of each interval, or of the span for static-best; default 0.99: a
 * lower one trades the oracle's per-interval target for the span's, part of the search's cache key).
 */
import { parseArgs } from 'node:util';
import { dequantiseFlag } from '../../lib/cli/args.js';
import { describeDequantise, readTrace } from '../../lib/fleetSimulator/index.js';
import { DISAGGREGATED_POLICIES } from './policies.js';
import {
  describeAgainstYardsticks,
  describeGoalBound,
  describeYardstickRuns,
  ROLE_YARDSTICKS,
  runYardsticks,
} from './yardsticks.js';
import {
  runPolicy,
  WORKLOADS,
  workloadTrace,
  type Row,
  type VariantKind,
  type Workload,
} from './workloads.js';
import {
  CACHE_DIR,
  KEDA_THRESHOLD,
  PLANNER_HEADROOM,
  searchKnob,
  SVA_MARGIN,
  type KnobSpec,
  type SearchResult,
} from './equalAttainment.js';

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const GOAL_ATTAINMENT = 0.99;
const GOAL_COST_RATIO = 0.8;

function printRows(rows: readonly Row[], planner: Row): void {
  console.log(
    '| variant | policy | SLO attainment | TTFT met | ITL met | cost ($) | cost / planner (disaggregated) | pod cost ($) | p95 TTFT ms |',
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.variant} | ${r.policy} | ${pct(r.attainment)} | ${pct(r.ttft)} | ${pct(r.itl)} | ${r.cost.toFixed(2)} | ${(r.cost / planner.cost).toFixed(2)} | ${r.podCost.toFixed(2)} | ${r.p95TtftMs?.toFixed(0) ?? '-'} |`,
    );
  }
}

interface Searched {
  readonly variant: VariantKind;
  readonly policy: string;
  readonly result: SearchResult;
}

function printSearches(searches: readonly Searched[]): void {
  console.log(
    '| variant | policy | target | knob | cheapest setting reaching it | SLO attainment | cost ($) | pod cost ($) | runs (cached) |',
  );
  console.log('| --- | --- | ---: | --- | --- | ---: | ---: | ---: | --- |');
  for (const { variant, policy, result } of searches) {
    const t = result.cheapest ?? result.best;
    const setting = result.cheapest ? result.knob.show(t.knobs) : `none (best: ${result.knob.show(t.knobs)})`;
    const runs = result.trials
      .map((x) => `${result.knob.show(x.knobs)}: ${pct(x.row.attainment)} $${x.row.cost.toFixed(0)}`)
      .join('; ');
    console.log(
      `| ${variant} | ${policy} | ${pct(result.target)} | ${result.knob.name} | ${setting} | ${pct(t.row.attainment)} | ${t.row.cost.toFixed(2)} | ${t.row.podCost.toFixed(2)} | ${runs} (${result.trials.filter((x) => x.fromCache).length}) |`,
    );
  }
}

/** The cost ratio a against b at equal attainment, as words. */
function atEqual(a: SearchResult, b: SearchResult, names: [string, string]): string {
  if (!a.cheapest || !b.cheapest) {
    const missing = [!a.cheapest ? names[0] : '', !b.cheapest ? names[1] : ''].filter(Boolean).join(' and ');
    return `not comparable at ${pct(a.target)}: ${missing} never reached it (best ${[a, b]
      .filter((r) => !r.cheapest)
      .map((r) => pct(r.best.row.attainment))
      .join(', ')})`;
  }
  return `${names[0]} $${a.cheapest.row.cost.toFixed(2)} against ${names[1]} $${b.cheapest.row.cost.toFixed(2)} (${(a.cheapest.row.cost / b.cheapest.row.cost).toFixed(2)}x)`;
}

async function searchesFor(
  w: Workload,
  rows: readonly Row[],
  opts: { cacheDir?: string; duration?: number },
): Promise<void> {
  const row = (variant: VariantKind, policy: string) =>
    rows.find((r) => r.variant === variant && r.policy === policy)!;
  const sva = row('disaggregated', 'sva');
  const aggregated = row('aggregated', 'sva');
  const yardsticks = ROLE_YARDSTICKS.map((name) => row('disaggregated', name));
  const search = async (variant: VariantKind, policy: string, knob: KnobSpec, target: number) => ({
    variant,
    policy,
    result: await searchKnob(w, variant, policy, knob, target, opts),
  });
  // the baselines at sva's attainment; sva itself at the goal's when it is short of it
  const planner = await search('disaggregated', 'dynamo-planner', PLANNER_HEADROOM, sva.attainment);
  const keda = await search('disaggregated', 'keda-queue', KEDA_THRESHOLD, sva.attainment);
  const svaGoal =
    sva.attainment < GOAL_ATTAINMENT
      ? await search('disaggregated', 'sva', SVA_MARGIN, GOAL_ATTAINMENT)
      : undefined;
  // the planner at the goal's attainment too: where it cannot reach sva's, the ratio there
  const plannerGoal = await search('disaggregated', 'dynamo-planner', PLANNER_HEADROOM, GOAL_ATTAINMENT);
  // aggregated against disaggregated, both under sva, at the higher of their attainments
  const level = Math.max(sva.attainment, aggregated.attainment);
  const disaggregatedAt = await search('disaggregated', 'sva', SVA_MARGIN, level);
  const aggregatedAt = await search('aggregated', 'sva', SVA_MARGIN, level);
  console.log(`\n### ${w.name} at equal attainment\n`);
  printSearches(
    [planner, keda, svaGoal, plannerGoal, disaggregatedAt, aggregatedAt].filter(
      (s): s is Searched => s !== undefined,
    ),
  );
  console.log();
  console.log(
    `sva (disaggregated, ${pct(sva.attainment)}, $${sva.cost.toFixed(2)}) against the per-role planner at that attainment: ${
      planner.result.cheapest
        ? `${(sva.cost / planner.result.cheapest.row.cost).toFixed(2)}x (planner at headroom ${PLANNER_HEADROOM.show(planner.result.cheapest.knobs)}: $${planner.result.cheapest.row.cost.toFixed(2)})`
        : `the planner never reaches it (best ${pct(planner.result.best.row.attainment)} at headroom ${PLANNER_HEADROOM.show(planner.result.best.knobs)}, $${planner.result.best.row.cost.toFixed(2)})`
    }; against KEDA per role: ${
      keda.result.cheapest
        ? `${(sva.cost / keda.result.cheapest.row.cost).toFixed(2)}x`
        : `KEDA never reaches it (best ${pct(keda.result.best.row.attainment)})`
    }`,
  );
  if (svaGoal)
    console.log(
      `at the goal's ${pct(GOAL_ATTAINMENT)}: ${atEqual(svaGoal.result, plannerGoal.result, ['sva', 'the planner'])}`,
    );
  else
    console.log(
      `at the goal's ${pct(GOAL_ATTAINMENT)}: ${
        plannerGoal.result.cheapest
          ? `sva (${pct(sva.attainment)}) $${sva.cost.toFixed(2)} against the planner (${pct(plannerGoal.result.cheapest.row.attainment)} at headroom ${PLANNER_HEADROOM.show(plannerGoal.result.cheapest.knobs)}) $${plannerGoal.result.cheapest.row.cost.toFixed(2)} (${(sva.cost / plannerGoal.result.cheapest.row.cost).toFixed(2)}x)`
          : `the planner never reaches it (best ${pct(plannerGoal.result.best.row.attainment)})`
      }`,
    );
  const goalMet =
    sva.attainment >= GOAL_ATTAINMENT &&
    (planner.result.cheapest === undefined || sva.cost <= GOAL_COST_RATIO * planner.result.cheapest.row.cost);
  console.log(
    `goal (sva >= ${pct(GOAL_ATTAINMENT)} at <= ${GOAL_COST_RATIO}x the planner's cost at equal or better attainment): ${goalMet ? 'met' : 'missed'}${
      goalMet && !planner.result.cheapest
        ? " (the planner reaches sva's attainment at no setting searched)"
        : ''
    }`,
  );
  console.log(
    describeGoalBound(
      plannerGoal.result.cheapest?.row,
      plannerGoal.result.best.row,
      GOAL_COST_RATIO,
      GOAL_ATTAINMENT,
      yardsticks,
    ),
  );
  console.log(
    `disaggregation against the aggregated variant under sva at ${pct(level)}: ${atEqual(disaggregatedAt.result, aggregatedAt.result, ['disaggregated', 'aggregated'])}: ${
      disaggregatedAt.result.cheapest && aggregatedAt.result.cheapest
        ? disaggregatedAt.result.cheapest.row.cost <= aggregatedAt.result.cheapest.row.cost
          ? 'disaggregation pays'
          : 'disaggregation does not pay'
        : disaggregatedAt.result.cheapest
          ? 'disaggregation pays (the aggregated variant cannot reach it)'
          : aggregatedAt.result.cheapest
            ? 'disaggregation does not pay (it cannot reach it)'
            : 'neither reaches it'
    }`,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workload: { type: 'string' },
      duration: { type: 'string' },
      'no-search': { type: 'boolean', default: false },
      'no-cache': { type: 'boolean', default: false },
      dequantise: { type: 'string' },
      'burst-sizing': { type: 'boolean', default: false },
      'decode-bursts': { type: 'boolean', default: false },
      'burst-headroom': { type: 'boolean', default: false },
      'policy-json': { type: 'string' },
      'window-per-startup': { type: 'string' },
      'oracle-target': { type: 'string' },
    },
  });
  const duration = values.duration ? Number(values.duration) : undefined;
  const dequantise = dequantiseFlag(values.dequantise, '--dequantise');
  const windowPerStartup =
    values['window-per-startup'] === undefined ? undefined : Number(values['window-per-startup']);
  if (windowPerStartup !== undefined && !(windowPerStartup >= 0))
    throw new Error(`--window-per-startup: a number >= 0, not ${values['window-per-startup']}`);
  const oracleTarget = values['oracle-target'] === undefined ? undefined : Number(values['oracle-target']);
  if (oracleTarget !== undefined && !(oracleTarget > 0 && oracleTarget <= 1))
    throw new Error(`--oracle-target: a share in (0, 1], not ${values['oracle-target']}`);
  if (oracleTarget !== undefined)
    console.log(`the yardsticks' searches at ${pct(oracleTarget)} (--oracle-target)`);
  const workloads = WORKLOADS.filter((w) => !values.workload || w.name === values.workload).map((w) => ({
    ...w,
    ...(dequantise ? { dequantise } : {}),
    ...(values['burst-sizing'] ? { burstSizing: true } : {}),
    ...(values['decode-bursts'] ? { decodeBursts: true } : {}),
    ...(values['burst-headroom'] ? { burstHeadroom: true } : {}),
    ...(values['policy-json']
      ? { policyOverrides: JSON.parse(values['policy-json']) as Record<string, unknown> }
      : {}),
    ...(windowPerStartup !== undefined ? { windowPerStartup } : {}),
  }));
  if (values['burst-sizing']) console.log('policy.burstSizing.prefill on (--burst-sizing)');
  if (values['decode-bursts']) console.log('policy.burstSizing.decode on (--decode-bursts)');
  if (values['burst-headroom']) console.log('policy.burstSizing.headroom on (--burst-headroom)');
  if (windowPerStartup !== undefined)
    console.log(`policy.windowPerStartup ${windowPerStartup} (--window-per-startup)`);
  if (values['policy-json']) console.log(`policy ${values['policy-json']} (--policy-json)`);
  for (const w of workloads) {
    if (w.dequantise)
      console.log(
        `\n${w.name}: ${describeDequantise(await readTrace(workloadTrace(w)), w.dequantise)} (--dequantise)`,
      );
    const rows: Row[] = [];
    for (const policy of DISAGGREGATED_POLICIES)
      rows.push((await runPolicy(w, 'disaggregated', policy, {}, duration)).row);
    const yardsticks = await runYardsticks(w, {
      duration,
      cacheDir: values['no-cache'] ? undefined : CACHE_DIR,
      log: (line) => console.error(`${w.name}: ${line}`),
      ...(oracleTarget !== undefined ? { target: oracleTarget } : {}),
    });
    rows.push(...yardsticks.rows);
    for (const policy of ['sva', 'dynamo-planner'])
      rows.push((await runPolicy(w, 'aggregated', policy, {}, duration)).row);
    const planner = rows.find((r) => r.variant === 'disaggregated' && r.policy === 'dynamo-planner')!;
    console.log(`\n## ${w.name}\n`);
    printRows(rows, planner);
    const sva = rows.find((r) => r.variant === 'disaggregated' && r.policy === 'sva')!;
    console.log(
      `\nsva on the disaggregated variant: ${pct(sva.attainment)} at ${(sva.cost / planner.cost).toFixed(2)}x the per-role planner's cost at its default (planner ${pct(planner.attainment)})`,
    );
    console.log(describeYardstickRuns(yardsticks));
    console.log(describeAgainstYardsticks(sva, yardsticks.rows));
    console.log(
      `(run times: ${rows.map((r) => `${r.variant}/${r.policy} ${r.seconds.toFixed(1)} s`).join(', ')})`,
    );
    if (!values['no-search'])
      await searchesFor(w, rows, { cacheDir: values['no-cache'] ? undefined : CACHE_DIR, duration });
  }
}

await main();
