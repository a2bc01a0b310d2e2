/**
 * Policy benchmark (issue 7): every policy on the same simulated fleet (bench/policies/fleet-code.yaml or fleet-chat.yaml, by trace),
 * one closed-loop run per policy per trace, side by side with a perfect-foresight oracle.
 *
 *   npm run bench -- [--trace FILE ...] [--rate-scale X] [--json] [--out DIR]
 *                    [--policy NAME ...] [--duration S]
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
import { describeOracle } from './oracle.js';
import { createController, isPolicyName, POLICY_NAMES, type PolicyName } from './policies.js';
import { writeBenchReport, type TraceReport } from './report.js';
import { formatTable, traceResult, type TraceResult } from './results.js';
import { staticPeakSizing } from './staticPeak.js';
import { positiveNumber } from '../../lib/cli/args.js';
import { UsageError } from '../../lib/cli/errors.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CODE_FLEET = fileURLToPath(new URL('./fleet-code.yaml', import.meta.url));
const CHAT_FLEET = fileURLToPath(new URL('./fleet-chat.yaml', import.meta.url));
const DEFAULT_OUT = fileURLToPath(new URL('./out/', import.meta.url));

/**
 * The default traces (copies of ../shared/data/traces) and the rate scale each runs at. A rate
 * scale of x overlays x copies of the trace shifted round its length (lib/fleetSimulator amplify, as
 * `sva simulate --rate-scale`): x times the users, same hour, same burst shapes.
 *
 * Azure code (2k-token prompts, short answers) at x1 averages 2.6 req/s, a replica or two. At x4
 * it averages 10.3 req/s over 57 min, in bursts of up to 40 req/s: several L40S replicas, up to
 * the node group's 16 at the peaks.
 *
 * Mooncake conversation (12k-token prompts, up to 126k) at x1 (3.4 req/s) fits in one 8-GPU H100
 * node whatever a policy decides. At x2 it averages 6.8 req/s over 59 min: two to three nodes.
 */
export const DEFAULT_TRACES: readonly { path: string; rateScale: number; why: string; fleet: string }[] = [
  {
    path: 'data/traces/azure-llm-2023-code.csv',
    fleet: CODE_FLEET,
    rateScale: 4,
    why:
      'x4 (four shifted copies overlaid: 10.3 req/s over 57 min, bursts up to 40 req/s), so that the load needs ' +
      'several replicas; at x1 it needs one or two',
  },
  {
    path: 'data/traces/mooncake-conversation.jsonl',
    fleet: CHAT_FLEET,
    rateScale: 2,
    why:
      'x2 (two shifted copies overlaid: 6.8 req/s over 59 min), so that the load needs two to three H100 nodes ' +
      'of 8 GPUs; at x1 every policy fits in one node',
  },
];

const USAGE = `usage: npm run bench -- [--trace FILE ...] [--rate-scale X] [--json] [--out DIR] [--policy NAME ...] [--duration S]
  --trace FILE      request trace (Azure CSV, Mooncake JSONL or CSV timestamp_s,input_tokens,output_tokens);
                    each runs on the fleet on its own (default: ${DEFAULT_TRACES.map((t) => t.path).join(', ')})
  --fleet FILE      the fleet every trace runs on (default: fleet-code.yaml for the Azure code trace,
                    fleet-chat.yaml for Mooncake and any other trace)
  --rate-scale X    multiply every trace's request rate by X (default: ${DEFAULT_TRACES.map((t) => `x${t.rateScale} for ${basename(t.path)}`).join(', ')}, x1 for other files)
  --json            print { trace, policies: { name: {...} } } (an array with several traces) instead of tables
  --out DIR         where report.html and results.json go (default: bench/policies/out)
  --policy NAME     run only these policies (default: all: ${POLICY_NAMES.join(', ')})
  --duration S      simulate only the first S seconds of each trace`;

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
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const rateScale = positiveNumber(values['rate-scale'], '--rate-scale');
  const durationSeconds = positiveNumber(values.duration, '--duration');
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
  const notes = [
    ...traces.map((t) => {
      const c = fleets.get(t.fleet)!;
      const v = c.variants[0]!;
      const targets = serviceClassOf(c, v)?.targets[v.model];
      return `${t.given}: rate ${t.why}; fleet ${relative(REPO_ROOT, t.fleet)} (${v.model} on ${c.accelerators.map((a) => a.name).join(', ')}; TTFT ${targets?.ttftMs} ms, ITL ${targets?.itlMs} ms)`;
    }),
    describeOracle(fleets.values().next().value!),
    `keda-queue, hpa-kv, wva and static-peak scale Deployments only; a cluster-autoscaler adds nodes for pending replicas at once and removes a node after ${SCALE_DOWN_UNNEEDED_SECONDS / 60} min empty; sva and oracle size node groups themselves`,
    'static-peak: the optimizer for the busiest minute, with the same margins as the autoscaler; wva: completion rate, targets without margins, accelerator pinned to the one the run starts on',
  ];

  const results: TraceResult[] = [];
  const reports: TraceReport[] = [];
  const tables: string[] = [];
  for (const [k, trace] of traces.entries()) {
    const config = fleets.get(trace.fleet)!;
    const scenario = await buildScenario(config, {
      configPath: trace.fleet,
      traceFiles: [trace.path],
      rateScale: trace.rateScale,
      durationSeconds,
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
    const runs: SimulationRun[] = [];
    for (const name of policies) {
      const label = `  ${name.padEnd(12)}`;
      let shown = 0;
      process.stderr.write(label);
      const run = await runClosedLoop(config, scenario, {
        controller: createController(name, config),
        onProgress: (fraction) => {
          const quarter = Math.floor(fraction * 4 + 1e-9);
          while (shown < quarter) process.stderr.write(` ${++shown * 25}%`);
        },
      });
      process.stderr.write(`  (${(run.elapsedMs / 1000).toFixed(1)} s)\n`);
      runs.push(run);
    }
    results.push(traceResult(trace.given, runs));
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
