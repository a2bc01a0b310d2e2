/** `sva simulate`: the whole evaluate → decide → queue → apply loop on a simulated fleet replaying traces. */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { runClosedLoop, type SimulationSummary } from '../closedLoop/closedLoop.js';
import { writeReport } from '../closedLoop/report.js';
import { buildScenario } from '../closedLoop/scenario.js';
import { UsageError } from './errors.js';
import { renderTable } from './solutionTable.js';
import { positiveNumber } from './args.js';

export const DEFAULT_CONFIG = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

export const SIMULATE_USAGE = `usage: sva simulate [--config FILE] [--trace FILE ...] [--rate-scale X] [--duration S] [--out DIR] [--json]
                    [--gateway-events]
  --config FILE     sva config with a simulation section (default: config/default.yaml)
  --trace FILE      request trace (Azure CSV, Mooncake JSONL, or CSV timestamp_s,input_tokens,output_tokens);
                    the i-th --trace drives the config's i-th variant; with --trace, variants
                    without one get no traffic (the config's traces are not used)
  --rate-scale X    multiply every trace's request rate by X (shifted copies overlaid: same length)
  --duration S      simulated seconds (default: the longest trace)
  --out DIR         where report.html and summary.json go (default: out)
  --json            print the summary as JSON on stdout
  --gateway-events  the fleet's gateway sends request events through ingest; evaluate reads its
                    counters merged with the metrics, and a request at zero replicas triggers it`;

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export function formatSummary(s: SimulationSummary): string {
  const rows = s.variants.map((v) => [
    v.name,
    pct(v.sloAttainment),
    pct(v.ttftAttainment),
    pct(v.itlAttainment),
    v.p95TtftMs === null ? '-' : v.p95TtftMs.toFixed(0),
    v.p95ItlMs === null ? '-' : v.p95ItlMs.toFixed(1),
    v.gpuHours.toFixed(2),
    v.cost.toFixed(2),
    String(v.scalingActions),
    String(v.requests),
    String(v.dropped),
  ]);
  const table = renderTable(
    [
      'variant',
      'SLO met',
      'TTFT met',
      'ITL met',
      'p95 TTFT ms',
      'p95 ITL ms',
      'GPU-h',
      'cost $',
      'actions',
      'requests',
      'dropped',
    ],
    rows,
  );
  return `${table}\n\nsummary: SLO attainment ${pct(s.sloAttainment)} (TTFT ${pct(s.ttftAttainment)}, ITL ${pct(s.itlAttainment)}), ${s.gpuHours.toFixed(2)} GPU-hours, cost $${s.cost.toFixed(2)}, ${s.scalingActions} scaling actions, ${s.requests} requests, ${s.dropped} dropped, ${(s.durationSeconds / 60).toFixed(1)} simulated minutes`;
}

export async function simulateCommand(
  args: string[],
  out: (line: string) => void,
  err: (line: string) => void = () => {},
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      trace: { type: 'string', multiple: true },
      'rate-scale': { type: 'string' },
      duration: { type: 'string' },
      out: { type: 'string', default: 'out' },
      json: { type: 'boolean', default: false },
      'gateway-events': { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const configPath = values.config ?? DEFAULT_CONFIG;
  const config = loadConfig(configPath);
  const scenario = await buildScenario(config, {
    configPath,
    traceFiles: values.trace,
    rateScale: positiveNumber(values['rate-scale'], '--rate-scale'),
    durationSeconds: positiveNumber(values.duration, '--duration'),
  });
  const requests = [...scenario.traces.values()].reduce((a, t) => a + t.requests.length, 0);
  err(
    `simulating ${(scenario.durationSeconds / 60).toFixed(1)} min, ${config.variants.length} variants, ${requests} requests (${configPath})`,
  );
  let shown = -1;
  const run = await runClosedLoop(config, scenario, {
    gatewayEvents: values['gateway-events'],
    onProgress: (fraction, t) => {
      const tenth = Math.floor(fraction * 10 + 1e-9);
      if (tenth > shown) {
        shown = tenth;
        err(`  ${String(tenth * 10).padStart(3)}%  t=${(t / 60).toFixed(1)} min`);
      }
    },
  });
  const command = ['sva simulate', ...args].join(' ');
  const files = writeReport(values.out, run, {
    title: 'Serverless Variant Autoscaler: simulation report',
    command,
  });
  if (values.json) out(JSON.stringify(run.summary, null, 2));
  else out(formatSummary(run.summary));
  err(`report: ${files.html}, ${files.summary} (${(run.elapsedMs / 1000).toFixed(1)} s)`);
  const perSecond = requests / (run.elapsedMs / 1000);
  err(`speed: ${Math.round(perSecond).toLocaleString('en-US')} simulated requests per second`);
  return 0;
}
