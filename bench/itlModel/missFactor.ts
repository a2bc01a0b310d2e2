/**
 * The factor policy.itlMissCorrection learns on a trace, hour by hour (docs/SIZING.md, "Correcting
 * the ITL miss share from the replicas"): runs sva as `npm run bench` does (default the ServeGen
 * day on bench/policies/fleet-chat.yaml) with the simulated servers exposing
 * vllm:request_time_per_output_token_seconds and the correction on, and prints per hour the
 * factor's mean, lowest and highest, the misses the windows showed and the model predicted at the
 * load carried (the evidence the factor learns from), the hour's replicas asked for and the share
 * of its requests that missed ITL, and how many that is: the simulator's own verdict on each
 * request, beside the misses vLLM's histogram would count for the same requests (each request's
 * time per output token binned in ITL_BUCKETS, the target's bucket split linearly as
 * requestsOverTarget does): the bucket's error alone, whatever windows the factor learnt from. --fleet
 * takes another fleet file (with its policy.itlMissCorrection settings, e.g. against: target;
 * the correction is switched on whatever the file says).
 *
 *   node bin/run-ts.js bench/itlModel/missFactor.ts [--trace FILE] [--fleet FILE] [--json]
 */
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/schema.js';
import { buildScenario } from '../../lib/closedLoop/scenario.js';
import { ITL_BUCKETS } from '../../lib/fleetSimulator/index.js';
import { requestsOverTarget } from '../../lib/policy/itlMissCorrection.js';
import { runRecordingSva } from '../policies/excessByHour.js';
import { CHAT_FLEET, DEFAULT_TRACES } from '../policies/traces.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HOUR = 3600;

interface HourRow {
  readonly hour: number;
  readonly factorMean: number;
  readonly factorMin: number;
  readonly factorMax: number;
  /** requests, misses observed and predicted over the hour's windows (each window's new part) */
  readonly requests: number;
  readonly observedMisses: number;
  readonly predictedMisses: number;
  readonly meanReplicas: number;
  readonly itlMissed: number;
  /** requests arriving in the hour that the simulator judged over the ITL target */
  readonly trueMisses: number;
  /** the same requests' misses as the histogram counts them (the target's bucket split linearly) */
  readonly bucketMisses: number;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      trace: { type: 'string' },
      fleet: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const given = values.trace ?? DEFAULT_TRACES[2]!.path;
  const known = DEFAULT_TRACES.find((t) => basename(t.path) === basename(given));
  const fleet = values.fleet ? resolve(values.fleet) : (known?.fleet ?? CHAT_FLEET);
  const loaded = loadConfig(fleet);
  const config: Config = {
    ...loaded,
    policy: { ...loaded.policy, itlMissCorrection: { ...loaded.policy.itlMissCorrection, enabled: true } },
  };
  const built = await buildScenario(config, {
    configPath: fleet,
    traceFiles: [resolve(REPO_ROOT, given)],
    rateScale: known?.rateScale ?? 1,
  });
  const scenario = { ...built, fleet: { ...built.fleet, requestTimePerOutputToken: true } };
  const { sim, decisions } = await runRecordingSva(config, scenario, { keepRecords: true });
  const records = sim.results().records ?? [];
  const variant = config.variants[0]!;
  const from = scenario.measuredFrom;
  const itlMs = Object.values(config.serviceClasses[0]!.targets)[0]!.itlMs;
  const rows: HourRow[] = [];
  let previousT: number | undefined;
  const steps = [...decisions.entries()].sort(([a], [b]) => a - b);
  for (let h = 0; from + h * HOUR < scenario.durationSeconds; h++) {
    const start = from + h * HOUR;
    const end = Math.min(start + HOUR, scenario.durationSeconds);
    const factors: number[] = [];
    let requests = 0;
    let observed = 0;
    let predicted = 0;
    let replicas = 0;
    let count = 0;
    for (const [t, ds] of steps) {
      if (t < start || t >= end) continue;
      const d = ds.find((x) => x.variant === variant.name);
      if (!d) continue;
      count++;
      replicas += d.targetReplicas;
      const m = d.inputs.itlMiss;
      if (!m) continue;
      factors.push(m.factor);
      const w = m.window;
      if (w) {
        // each window's new part, as the pool counts it
        const fresh = previousT === undefined ? 1 : Math.min((t - previousT) / 60, 1);
        requests += fresh * w.requests;
        observed += fresh * w.misses;
        predicted += fresh * w.requests * w.predictedShare;
      }
      previousT = t;
    }
    const stats = sim.window({ variant: variant.name, from: start, to: end, by: 'arrival' });
    const bounds = [...ITL_BUCKETS, Infinity];
    const counts = bounds.map(() => 0);
    for (const r of records) {
      if (r.variant !== variant.name || r.arrival < start || r.arrival >= end || r.itl === undefined)
        continue;
      if (r.status !== 'completed') continue;
      counts[bounds.findIndex((upper) => r.itl! <= upper)]!++;
    }
    const binned = requestsOverTarget({ bounds, counts }, itlMs);
    rows.push({
      hour: h,
      factorMean: factors.length ? factors.reduce((a, f) => a + f, 0) / factors.length : NaN,
      factorMin: factors.length ? Math.min(...factors) : NaN,
      factorMax: factors.length ? Math.max(...factors) : NaN,
      requests,
      observedMisses: observed,
      predictedMisses: predicted,
      meanReplicas: count ? replicas / count : NaN,
      itlMissed: stats.completed > 0 ? 1 - stats.itlMet / stats.completed : 0,
      trueMisses: stats.completed - stats.itlMet,
      bucketMisses: binned?.misses ?? 0,
    });
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ trace: given, itlMs, rows }, null, 2)}\n`);
    return 0;
  }
  const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  process.stdout.write(
    `${basename(given)}: policy.itlMissCorrection on, ITL target ${itlMs} ms\n` +
      'hour  factor mean (min-max)  requests  misses seen  predicted  replicas  ITL missed  true misses  as binned\n',
  );
  for (const r of rows) {
    process.stdout.write(
      `${String(r.hour).padStart(4)}  ${f(r.factorMean).padStart(11)} (${f(r.factorMin)}-${f(r.factorMax)})` +
        `  ${r.requests.toFixed(0).padStart(8)}  ${r.observedMisses.toFixed(0).padStart(11)}` +
        `  ${r.predictedMisses.toFixed(0).padStart(9)}  ${f(r.meanReplicas, 1).padStart(8)}` +
        `  ${(100 * r.itlMissed).toFixed(2).padStart(9)}%  ${r.trueMisses.toFixed(0).padStart(11)}  ${r.bucketMisses.toFixed(0).padStart(9)}\n`,
    );
  }
  const sum = (k: 'requests' | 'observedMisses' | 'predictedMisses' | 'trueMisses' | 'bucketMisses') =>
    rows.reduce((a, r) => a + r[k], 0);
  process.stdout.write(
    `all: ${sum('requests').toFixed(0)} requests, ${sum('observedMisses').toFixed(0)} misses seen, ` +
      `${sum('predictedMisses').toFixed(0)} predicted (ratio ${f(sum('observedMisses') / sum('predictedMisses'))}), ` +
      `${sum('trueMisses').toFixed(0)} true misses, ${sum('bucketMisses').toFixed(0)} as the histogram counts them ` +
      `(x${f(sum('bucketMisses') / sum('trueMisses'))})\n`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
