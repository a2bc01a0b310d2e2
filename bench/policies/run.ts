/**
 * Policy benchmark (issues 7 and 13): every policy on the same simulated fleet
 * (bench/policies/fleet-code.yaml or fleet-chat.yaml, by trace), one closed-loop run per policy
 * per trace, side by side with yardsticks found by searching the simulator (oracleSearch.ts):
 * `oracle`, `oracle-lead` and `static-best`, each of which must attain the target itself.
 *
 *   npm run bench -- [--trace FILE ...] [--rate-scale X] [--json] [--out DIR]
 *                    [--policy NAME ...] [--duration S] [--interval S] [--target X] [--no-cache]
 *                    [--trace-dequantise auto|S] [--warmup S]
 *
 * Prints a table per trace (or, with --json, `{ trace, policies: { name: {...} } }`, an array of
 * them with several traces) and writes out/report.html and out/results.json under
 * bench/policies/ (or --out DIR). Progress goes to stderr. Each trace runs on the fleet on its
 * own; --rate-scale multiplies every trace's rate, otherwise the default traces (also when named
 * with --trace, known by file name) run at the scale chosen for them below and other traces at 1.
 */
import { serviceClassOf } from '../../lib/config/resolved.js';
import { basename, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { InputError } from '../../lib/config/errors.js';
import { loadConfig } from '../../lib/config/load.js';
import { runClosedLoop, type SimulationRun } from '../../lib/closedLoop/closedLoop.js';
import { buildScenario } from '../../lib/closedLoop/scenario.js';
import { startingAccelerator } from './common.js';
import { SCALE_DOWN_UNNEEDED_SECONDS } from './clusterAutoscaler.js';
import { describeYardsticks } from './oracle.js';
import {
  DEFAULT_ORACLE_INTERVAL_SECONDS,
  DEFAULT_ORACLE_TARGET,
  searchOracle,
  searchStatic,
} from './oracleSearch.js';
import {
  createPolicyRun,
  isPolicyName,
  POLICY_NAMES,
  YARDSTICKS,
  type PolicyName,
  type Searches,
} from './policies.js';
import { writeBenchReport, type TraceReport } from './report.js';
import { hourlyRows } from '../../lib/closedLoop/hourly.js';
import { formatTable, traceResult, type TraceResult } from './results.js';
import { staticPeakSizing } from './staticPeak.js';
import { CHAT_FLEET, DEFAULT_TRACES } from './traces.js';
import { dequantiseFlag, positiveNumber } from '../../lib/cli/args.js';
import { describeDequantise, readTrace } from '../../lib/fleetSimulator/index.js';
import { UsageError } from '../../lib/cli/errors.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_OUT = fileURLToPath(new URL('./out/', import.meta.url));
const CACHE_DIR = fileURLToPath(new URL('./.cache/', import.meta.url));

const USAGE = `usage: npm run bench -- [--trace FILE ...] [--rate-scale X] [--json] [--out DIR] [--policy NAME ...] [--duration S]
  --trace FILE      request trace (Azure CSV, Mooncake JSONL or CSV timestamp_s,input_tokens,output_tokens);
                    each runs on the fleet on its own (default: ${DEFAULT_TRACES.map((t) => t.path).join(', ')})
  --fleet FILE      the fleet every trace runs on (default: fleet-code.yaml for the Azure code trace,
                    fleet-chat.yaml for Mooncake and any other trace)
  --rate-scale X    multiply every trace's request rate by X (default: ${DEFAULT_TRACES.map((t) => `x${t.rateScale} for ${basename(t.path)}`).join(', ')}, x1 for other files)
  --trace-dequantise auto|S
                    spread the requests of a trace recorded on a timestamp grid (the Mooncake trace: 3 s)
                    uniformly over each tick, seeded, before the rate scaling: auto detects the grid (a
                    trace without one runs as given), S gives its step in seconds (default: as given)
  --json            print { trace, policies: { name: {...} } } (an array with several traces) instead of tables
  --out DIR         where report.html and results.json go (default: bench/policies/out)
  --policy NAME     run only these policies (default: all: ${POLICY_NAMES.join(', ')})
  --duration S      simulate only the first S seconds of each trace (a short slice: CI runs one)
  --warmup S        seconds every policy runs on the trace's last minutes before the measured span (default: the
                    fleet's simulation.warmupSeconds, else its longest lead time plus the burst look-back:
                    docs/ARCHITECTURE.md "Warm-up"; at most half the span)
  --interval S      the oracle's interval (default ${DEFAULT_ORACLE_INTERVAL_SECONDS} s)
  --target X        share of requests the yardsticks must serve within both targets (default ${DEFAULT_ORACLE_TARGET})
  --no-cache        search the yardsticks again instead of reading bench/policies/.cache/`;

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      trace: { type: 'string', multiple: true },
      'rate-scale': { type: 'string' },
      fleet: { type: 'string' },
      json: { type: 'boolean', default: false },
      out: { type: 'string' },
      policy: { type: 'string', multiple: true },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      interval: { type: 'string' },
      target: { type: 'string' },
      'no-cache': { type: 'boolean', default: false },
      'trace-dequantise': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const rateScale = positiveNumber(values['rate-scale'], '--rate-scale');
  const dequantise = dequantiseFlag(values['trace-dequantise'], '--trace-dequantise');
  const durationSeconds = positiveNumber(values.duration, '--duration');
  const warmupSeconds = positiveNumber(values.warmup, '--warmup');
  const intervalSeconds = positiveNumber(values.interval, '--interval') ?? DEFAULT_ORACLE_INTERVAL_SECONDS;
  const target = positiveNumber(values.target, '--target') ?? DEFAULT_ORACLE_TARGET;
  if (target > 1) throw new UsageError('--target must be at most 1');
  const cacheDir = values['no-cache'] ? undefined : CACHE_DIR;
  const suiteStarted = performance.now();
  const policies: PolicyName[] = [];
  for (const name of values.policy ?? POLICY_NAMES) {
    if (!isPolicyName(name))
      throw new UsageError(`unknown policy "${name}" (known: ${POLICY_NAMES.join(', ')})`);
    if (!policies.includes(name)) policies.push(name);
  }
  policies.sort((a, b) => POLICY_NAMES.indexOf(a) - POLICY_NAMES.indexOf(b));
  const traces = (values.trace ?? DEFAULT_TRACES.map((t) => t.path)).map((given) => {
    // A default trace keeps its scale when named on the command line (by file name).
    const known = DEFAULT_TRACES.find((t) =>
      values.trace ? basename(t.path) === basename(given) : t.path === given,
    );
    return {
      given,
      path: values.trace ? resolve(given) : resolve(REPO_ROOT, given),
      rateScale: rateScale ?? known?.rateScale ?? 1,
      why: rateScale !== undefined ? `x${rateScale} from --rate-scale` : (known?.why ?? 'x1'),
      fleet: values.fleet ? resolve(values.fleet) : (known?.fleet ?? CHAT_FLEET),
    };
  });
  const outDir = resolve(values.out ?? DEFAULT_OUT);

  const fleets = new Map(traces.map((t) => [t.fleet, loadConfig(t.fleet)]));
  const grids = new Map<string, string>();
  if (dequantise)
    for (const t of traces) grids.set(t.path, describeDequantise(await readTrace(t.path), dequantise));
  const notes = [
    ...[...grids].map(([path, words]) => `${relative(REPO_ROOT, path)}: ${words} (--trace-dequantise)`),
    ...traces.map((t) => {
      const c = fleets.get(t.fleet)!;
      const v = c.variants[0]!;
      const targets = serviceClassOf(c, v)?.targets[v.model];
      return `${t.given}: rate ${t.why}; fleet ${relative(REPO_ROOT, t.fleet)} (${v.model} on ${c.accelerators.map((a) => a.name).join(', ')}; TTFT ${targets?.ttftMs} ms, ITL ${targets?.itlMs} ms)`;
    }),
    `keda-epp, dynamo-planner, keda-queue, hpa-kv, wva and static-peak scale Deployments only; a cluster-autoscaler adds nodes for pending replicas at once and removes a node after ${SCALE_DOWN_UNNEEDED_SECONDS / 60} min empty; sva and the yardsticks size node groups themselves`,
    'keda-epp: KEDA on the gateway (llm-d EPP) flow-control queue (5 per replica) and in-flight requests (80% of the profiled batch per replica), 300 s scale-down stabilisation, behind the simulated gateway; keda-epp and dynamo-planner run on the accelerator of static-best (what a load test would settle on; the cheapest allowed one may not meet the targets at all); dynamo-planner: constant predictor, replicas = predicted rate / per-replica throughput at the targets (model), every 180 s',
    'static-peak: the optimizer for the busiest minute, with the same margins as the autoscaler; wva: completion rate, targets without margins, accelerator pinned to the one the run starts on',
  ];

  const results: TraceResult[] = [];
  const errors: string[] = [];
  const reports: TraceReport[] = [];
  const tables: string[] = [];
  for (const [k, trace] of traces.entries()) {
    const config = fleets.get(trace.fleet)!;
    const scenario = await buildScenario(config, {
      configPath: trace.fleet,
      traceFiles: [trace.path],
      rateScale: trace.rateScale,
      durationSeconds,
      dequantise,
      ...(warmupSeconds !== undefined ? { warmupSeconds } : {}),
    });
    const requests = [...scenario.traces.values()].reduce(
      (a, t) =>
        a +
        t.requests.filter((r) => r.arrival >= scenario.measuredFrom && r.arrival <= scenario.durationSeconds)
          .length,
      0,
    );
    const v = config.variants[0]!;
    const start = startingAccelerator(config, scenario, v);
    const startReplicas = scenario.fleet.variants[0]?.initialReplicas ?? 0;
    const peak = staticPeakSizing(config, v, scenario.traces.get(v.name));
    log(
      `[${k + 1}/${traces.length}] ${trace.given} x${trace.rateScale}: ${requests} requests over ${((scenario.durationSeconds - scenario.measuredFrom) / 60).toFixed(1)} min (after ${(scenario.measuredFrom / 60).toFixed(0)} min of warm-up), starting on ${startReplicas} ${start}; static-peak ${peak.replicas} ${peak.accelerator}`,
    );
    const searches: { schedule?: Searches['schedule']; staticChoice?: Searches['staticChoice'] } = {};
    const needsSchedule = policies.some((p) => p === 'oracle' || p === 'oracle-lead');
    if (needsSchedule || policies.includes('static-best')) {
      const started = performance.now();
      const options = { intervalSeconds, target, cacheDir, log: (line: string) => log(`  ${line}`) };
      if (needsSchedule) {
        const schedule = searchOracle(config, scenario, options);
        searches.schedule = schedule;
        log(
          `  oracle schedule: ${schedule.choices.length} intervals${schedule.fromCache ? ' (cached)' : `, ${schedule.trials} trials`}; ${schedule.choices.filter((c) => !c.feasible).length} without a fleet meeting the target`,
        );
      }
      if (policies.includes('static-best')) {
        const choice = searchStatic(config, scenario, options);
        searches.staticChoice = choice;
        log(
          `  static-best: ${choice.replicas} ${choice.accelerator}${choice.fromCache ? ' (cached)' : `, ${choice.trials} trials`}${choice.feasible ? '' : ' (no constant fleet meets the target)'}`,
        );
      }
      log(`  searches: ${((performance.now() - started) / 1000).toFixed(1)} s`);
      notes.push(`${trace.given}: ${describeYardsticks(searches.schedule, searches.staticChoice)}`);
    }
    const runs: SimulationRun[] = [];
    const yardsticks: SimulationRun[] = [];
    for (const name of policies) {
      const label = `  ${name.padEnd(15)}`;
      let shown = 0;
      process.stderr.write(label);
      const setup = createPolicyRun(name, config, scenario, searches);
      const run = await runClosedLoop(config, setup.scenario, {
        controller: setup.controller,
        onProgress: (fraction) => {
          const quarter = Math.floor(fraction * 4 + 1e-9);
          while (shown < quarter) process.stderr.write(` ${++shown * 25}%`);
        },
      });
      process.stderr.write(`  (${(run.elapsedMs / 1000).toFixed(1)} s)\n`);
      if (YARDSTICKS.includes(name)) {
        yardsticks.push(run);
        if (run.summary.sloAttainment < target - 1e-12) continue;
      }
      runs.push(run);
    }
    const measured = scenario.durationSeconds - scenario.measuredFrom;
    const result = {
      ...traceResult(trace.given, runs, yardsticks, target),
      // A run of two hours or more, hour by hour (the report's view of the day).
      ...(measured >= 7200
        ? { hourly: Object.fromEntries(runs.map((r) => [r.controller, hourlyRows(r)])) }
        : {}),
    };
    for (const e of result.errors) log(e);
    errors.push(...result.errors);
    results.push(result);
    reports.push({
      trace: trace.given,
      rateScale: trace.rateScale,
      requests,
      durationSeconds: scenario.durationSeconds - scenario.measuredFrom,
      runs,
    });
    tables.push(
      `${trace.given} (rate x${trace.rateScale}, ${requests} requests, ${((scenario.durationSeconds - scenario.measuredFrom) / 60).toFixed(1)} min)\n\n${formatTable(runs)}`,
    );
  }

  const command = ['npm run bench --', ...argv].join(' ').replace(/ --$/, '');
  const files = writeBenchReport(outDir, reports, results, {
    title: 'Serverless Variant Autoscaler: policy benchmark',
    command,
    notes,
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`);
  } else {
    process.stdout.write(`${notes.map((n) => `- ${n}`).join('\n')}\n\n${tables.join('\n\n')}\n`);
  }
  log(`report: ${files.html}, ${files.json}`);
  log(`suite run time: ${((performance.now() - suiteStarted) / 1000).toFixed(1)} s`);
  if (errors.length > 0) {
    process.stdout.write(`\n${errors.join('\n')}\n`);
    return 1;
  }
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  const parseError = (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  if (e instanceof UsageError || parseError) {
    log(`bench: ${(e as Error).message}\n${USAGE}`);
    process.exitCode = 2;
  } else if (e instanceof InputError) {
    log(`bench: ${e.message}`);
    process.exitCode = 1;
  } else {
    throw e;
  }
}
