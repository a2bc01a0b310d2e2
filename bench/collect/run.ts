/**
 * Collection benchmark: a real Prometheus (Debian's package) scraping an emulated fleet of 100
 * variants (2 replicas each, one target per variant, served by a child process), then one
 * `collect` of all 100 variants timed over several runs: queries issued and wall time.
 *
 *   node bin/run-ts.js bench/collect/run.ts [--variants 100] [--replicas 2] [--runs 9]
 *                                           [--scrape-interval 2] [--json]
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalPrometheus, PrometheusMetricsSource } from '../../lib/adapters/prometheus/index.js';
import type { MetricsQuery } from '../../lib/policy/ports.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const { values } = parseArgs({
  options: {
    variants: { type: 'string', default: '100' },
    replicas: { type: 'string', default: '2' },
    runs: { type: 'string', default: '9' },
    'scrape-interval': { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n)) {
    console.error(`--${name} must be a positive number, got ${text}`);
    process.exit(2);
  }
  return n;
}

const runs = Math.round(positive('runs', values.runs));
const interval = positive('scrape-interval', values['scrape-interval']);
const window = 5 * interval;
const log = (line: string) => {
  if (!values.json) console.log(line);
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

interface Fleet {
  targets: string[];
  variants: (MetricsQuery & { arrivalRate: number })[];
}

const fleetProcess = spawn(
  process.execPath,
  [
    'bin/run-ts.js',
    'bench/collect/fleet.ts',
    '--variants',
    String(Math.round(positive('variants', values.variants))),
    '--replicas',
    String(Math.round(positive('replicas', values.replicas))),
  ],
  { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
);
let prometheus: LocalPrometheus | undefined;
try {
  const fleet = await new Promise<Fleet>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the fleet did not start within 30 s')), 30_000);
    fleetProcess.once('exit', (code) => reject(new Error(`the fleet exited (${code})`)));
    createInterface({ input: fleetProcess.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as Fleet);
    });
  });
  const queries: MetricsQuery[] = fleet.variants.map((v) => ({ ...v, gateway: false }));
  prometheus = await LocalPrometheus.start({
    jobs: [{ job: 'vllm', targets: fleet.targets }],
    scrapeIntervalSeconds: interval,
  });
  log(
    `prometheus ${prometheus.url} (pid ${prometheus.pid}) scraping ${fleet.targets.length} targets every ${interval} s (fleet pid ${fleetProcess.pid})`,
  );
  const source = new PrometheusMetricsSource({
    connection: { url: prometheus.url, timeoutMs: 20_000 },
    windowSeconds: window,
    fallbackWindowSeconds: 60,
    maxAgeSeconds: 4 * interval,
  });
  // Every target scraped (discovery takes ~5 s), then a full rate window of samples.
  let ready = false;
  for (let i = 0; i < 60 && !ready; i++) {
    await sleep(1000);
    ready = (await source.collect(queries, Date.now() / 1000)).every((o) => o.arrivalRate !== undefined);
  }
  if (!ready) throw new Error('the targets were not all scraped within 60 s');
  await sleep((window + interval) * 1000);
  const tsdb = (await (await fetch(`${prometheus.url}/api/v1/status/tsdb`)).json()) as {
    data: { headStats: { numSeries: number } };
  };

  const times: number[] = [];
  const queryTimes: number[] = [];
  let worstError = 0;
  let stats = source.lastCollection!;
  for (let run = 0; run <= runs; run++) {
    const started = performance.now();
    const observations = await source.collect(queries, Date.now() / 1000);
    const ms = performance.now() - started;
    stats = source.lastCollection!;
    if (stats.failed > 0) throw new Error(`${stats.failed} queries failed: ${stats.errors.join('; ')}`);
    observations.forEach((o, i) => {
      const want = fleet.variants[i]!.arrivalRate;
      const error = o.arrivalRate ? Math.abs(o.arrivalRate.value - want) / want : Infinity;
      worstError = Math.max(worstError, error);
    });
    // the first run warms connections and Prometheus' caches
    if (run > 0) {
      times.push(ms);
      queryTimes.push(stats.wallMs);
    }
  }
  const result = {
    variants: queries.length,
    targets: fleet.targets.length,
    headSeries: tsdb.data.headStats.numSeries,
    queriesPerCollection: stats.queries,
    runs: times.length,
    medianMs: +median(times).toFixed(1),
    minMs: +Math.min(...times).toFixed(1),
    maxMs: +Math.max(...times).toFixed(1),
    /** of which waiting for Prometheus' answers (the rest: parsing and estimation) */
    medianQueryMs: +median(queryTimes).toFixed(1),
    worstArrivalRateError: +worstError.toFixed(4),
  };
  if (values.json) console.log(JSON.stringify(result));
  log(`head series: ${result.headSeries}`);
  log(
    `collect of ${result.variants} variants: ${result.queriesPerCollection} queries, wall time median ${result.medianMs} ms (min ${result.minMs}, max ${result.maxMs}) over ${result.runs} runs, of which ${result.medianQueryMs} ms waiting for Prometheus`,
  );
  log(`largest arrival-rate error against the emulated load: ${(worstError * 100).toFixed(1)}%`);
} finally {
  await prometheus?.stop();
  if (fleetProcess.exitCode === null && fleetProcess.pid !== undefined) {
    const exited = new Promise((r) => fleetProcess.once('exit', r));
    process.kill(fleetProcess.pid, 'SIGTERM');
    await Promise.race([exited, sleep(5000)]);
  }
}
