/**
 * Apply benchmark (issue 12, item 7): how big the functions are, how fast they start, and how
 * fast one evaluation reaches every Deployment.
 *
 *   npm run bench:apply -- [--imports 15] [--runs 7] [--variants 100] [--concurrency 5]
 *                          [--skip-package] [--skip-stack] [--json] [--profile]
 *
 *  1. zip sizes per function, from `osls package` (the deployment's own packaging);
 *  2. handler import time: p50 (and max) over --imports fresh `node` processes importing the
 *     bundle taken from each zip;
 *  3. on the local real stack (moto + etcd + kube-apiserver, as test/integration/aws): the time
 *     from the start of an evaluation of --variants variants to the last Deployment patched
 *     (evaluate → SQS FIFO → the local event source → apply → PATCH …/scale), p50 and p99 over
 *     --runs runs, after a warm-up run. Before each run every Deployment is put back to 1 replica,
 *     so each run patches. The event source polls from the evaluation's start, as Lambda's
 *     does (a message is applied while the rest are still being sent); --after-evaluate starts
 *     it only once the evaluation has returned, as this benchmark did at first. --concurrency: apply invocations at once (Lambda's event source
 *     starts with 5 for a queue and scales with the message groups). --profile prints, per run,
 *     each kind of request made (./requests.ts): how many, their time in all, when.
 *
 * Targets (issue 12): zips ≤ 1.5 MB, import ≤ 300 ms, evaluation to last patch p99 ≤ 2 s.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { AppsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { stringify } from 'yaml';
import { DEFAULT_CONCURRENCY, drainQueue } from '../../lib/adapters/sqs/localEventSource.js';
import { lambdaContext } from '../../lib/cli/invokeCommand.js';
import { manyVariantsConfig } from '../../stack/manyVariants.js';
import {
  applyManifest,
  createDeployment,
  createNamespace,
  READER_TOKEN,
  SCALER_TOKEN,
  startKubeApiServer,
  type KubeServer,
} from '../../stack/kubeApiServer.js';
import {
  createCluster,
  createDecisionQueues,
  createStateTable,
  REGION,
  startMoto,
  type Moto,
} from '../../stack/moto.js';
// the nearest-rank quantile the learnt burst headroom uses
import { quantile } from '../../lib/policy/burstHeadroom.js';
import { formatSummary, processCpuMs, recordRequests, summarise } from './requests.js';
import { readZip } from './zip.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FUNCTIONS = ['evaluate', 'apply'] as const;
const TARGETS = { zipBytes: 1.5 * 1024 * 1024, importMs: 300, p99Ms: 2000 };

const { values } = parseArgs({
  options: {
    imports: { type: 'string', default: '15' },
    runs: { type: 'string', default: '7' },
    variants: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: String(DEFAULT_CONCURRENCY) },
    'skip-package': { type: 'boolean', default: false },
    'skip-stack': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'after-evaluate': { type: 'boolean', default: false },
  },
});

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, got ${text}`);
    process.exit(2);
  }
  return n;
}

const imports = positiveInt('imports', values.imports);
const runs = positiveInt('runs', values.runs);
const variantCount = positiveInt('variants', values.variants);
const concurrency = positiveInt('concurrency', values.concurrency);
const progress = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------- 1 + 2: packages, import time

interface PackageFigures {
  readonly zipBytes: Record<string, number>;
  readonly bundleBytes: Record<string, number>;
  readonly importMs: Record<string, { p50: number; max: number; samples: number[] }>;
}

function packageAndImport(): PackageFigures {
  const dir = mkdtempSync(join(tmpdir(), 'sva-bench-apply-'));
  try {
    progress('osls package ...');
    const env: NodeJS.ProcessEnv = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' };
    for (const k of Object.keys(env)) if (/^AWS_(ACCESS|SECRET|SESSION|PROFILE)/.test(k)) delete env[k];
    const r = spawnSync(
      process.execPath,
      ['node_modules/osls/bin/serverless.js', 'package', '--stage', 'bench', '--package', join(dir, 'pkg')],
      { cwd: REPO_ROOT, encoding: 'utf8', env, timeout: 300_000 },
    );
    if (r.status !== 0) throw new Error(`osls package failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    const figures: PackageFigures = { zipBytes: {}, bundleBytes: {}, importMs: {} };
    for (const fn of FUNCTIONS) {
      const zip = join(dir, 'pkg', `${fn}.zip`);
      figures.zipBytes[fn] = statSync(zip).size;
      // unpacked as Lambda does, under /var/task's layout
      const root = join(dir, fn);
      for (const [name, data] of readZip(zip)) {
        mkdirSync(dirname(join(root, name)), { recursive: true });
        writeFileSync(join(root, name), data);
      }
      const handler = join(root, 'functions', fn, 'handler.js');
      figures.bundleBytes[fn] = statSync(handler).size;
      const samples: number[] = [];
      progress(`importing the ${fn} handler in ${imports} fresh processes ...`);
      for (let i = 0; i < imports; i++) {
        const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(handler).href)}); process.stdout.write(String(performance.now() - t));`;
        const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
          cwd: root,
          encoding: 'utf8',
          // what the handler module needs at import: nothing is wired until the first invocation
          env: { PATH: process.env.PATH, AWS_REGION: REGION },
        });
        if (run.status !== 0) throw new Error(`importing ${handler} failed:\n${run.stderr}`);
        samples.push(Number(run.stdout));
      }
      figures.importMs[fn] = { p50: quantile(samples, 0.5), max: Math.max(...samples), samples };
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- 3: the local real stack

const CLUSTER = 'gpu-cluster';
const TABLE = 'sva-state';

// 1.05 to 5.45 req/s: each variant needs 2 replicas or more, so each run patches all of them
const benchRate = (i: number) => 1.05 + (i % 9) * 0.55;

interface StackFigures {
  readonly variants: number;
  readonly runs: { evaluateMs: number; totalMs: number; patched: number }[];
  readonly p50Ms: number;
  readonly p99Ms: number;
}

async function endToEnd(): Promise<StackFigures> {
  const names = Array.from({ length: variantCount }, (_, i) => `v${String(i).padStart(3, '0')}`);
  let moto: Moto | undefined;
  let kube: KubeServer | undefined;
  try {
    progress('starting moto and kube-apiserver ...');
    [moto, kube] = await Promise.all([startMoto(), startKubeApiServer()]);
    const queues = await createDecisionQueues(moto.sqs, 'sva-bench', 3);
    await createStateTable(moto.dynamo, TABLE);
    await createCluster(
      moto.eks,
      CLUSTER,
      [{ name: 'gpu-l4', minSize: 0, maxSize: 1000, desiredSize: 0 }],
      moto.autoScaling,
    );
    await createNamespace(kube.admin, 'llm');
    for (const name of names) await createDeployment(kube.admin, 'llm', name, 1);
    await applyManifest(kube.admin, join(REPO_ROOT, 'deploy/rbac.yaml'));
    await applyManifest(kube.admin, join(REPO_ROOT, 'deploy/rbac-capacity.yaml'));
    const configPath = join(kube.dir, 'config.yaml');
    writeFileSync(configPath, stringify(manyVariantsConfig(names, benchRate)));
    const env = {
      ...moto.env,
      SVA_CONFIG: configPath,
      SVA_STATE_TABLE: TABLE,
      SVA_QUEUE_URL: queues.queueUrl,
      SVA_CLUSTER_NAME: CLUSTER,
      SVA_METRICS: 'config-load',
      SVA_TELEMETRY: 'none',
      KUBECONFIG: kube.writeKubeconfig(SCALER_TOKEN),
    };
    const evaluateEnv = { ...env, KUBECONFIG: kube.writeKubeconfig(READER_TOKEN) };
    // The handlers' loggers read the level when their modules load: only errors, for the timing.
    Object.assign(process.env, moto.env, { POWERTOOLS_LOG_LEVEL: 'ERROR' });
    const { createEvaluateHandler, logger: evaluateLogger } =
      await import('../../functions/evaluate/handler.js');
    const { createApplyHandler, logger: applyLogger } = await import('../../functions/apply/handler.js');
    const { applyWiring, evaluateWiring } = await import('../../functions/wiring.js');
    const evaluate = createEvaluateHandler(() => evaluateWiring(evaluateEnv, evaluateLogger));
    const apply = createApplyHandler(() => applyWiring(env, applyLogger));
    const apps = kube.admin.makeApiClient(AppsV1Api);
    const replicas = async () =>
      new Map(
        (await apps.listNamespacedDeployment({ namespace: 'llm' })).items.map((d) => [
          d.metadata!.name!,
          d.spec!.replicas ?? 1,
        ]),
      );

    const results: StackFigures['runs'] = [];
    // one warm-up run (cold wiring, the first token and connections), then the measured ones
    for (let run = 0; run <= runs; run++) {
      for (const name of names) {
        await apps.patchNamespacedDeploymentScale(
          { name, namespace: 'llm', body: { spec: { replicas: 1 } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      }
      const recorder = values.profile ? recordRequests() : undefined;
      const servers = [
        ...moto.servers.map((s) => [s.name, s.pid] as const),
        ['etcd', kube.pids[0]],
        ['kube-apiserver', kube.pids[1]],
      ] as const;
      const cpu0 = servers.map(([, pid]) => processCpuMs(pid));
      const loop0 = performance.eventLoopUtilization();
      const t0 = performance.now();
      let t1 = t0;
      const evaluation = evaluate({ pool: 'default' }, lambdaContext('sva-evaluate', 60)).then(() => {
        t1 = performance.now();
      });
      if (values['after-evaluate']) await evaluation;
      let lastPatch = t0;
      const drained = drainQueue(
        moto.sqs,
        async (event: SQSEvent, context: Context) => {
          const response = (await apply(event, context)) as SQSBatchResponse;
          lastPatch = performance.now();
          return response;
        },
        {
          queueUrl: queues.queueUrl,
          queueArn: queues.queueArn,
          region: REGION,
          context: () => lambdaContext('sva-apply', 30),
          maxPolls: 10 * variantCount,
          emptyPolls: 1,
          concurrency,
          producing: evaluation,
        },
      );
      const [totals] = await Promise.all([drained, evaluation]);
      const busy = performance.eventLoopUtilization(loop0).utilization;
      const spans = recorder?.stop();
      const cpu = servers.map(([name, pid], i) => {
        const used = (processCpuMs(pid) ?? NaN) - (cpu0[i] ?? NaN);
        return `${name} ${used.toFixed(0)} ms`;
      });
      const after = await replicas();
      const patched = names.filter((n) => (after.get(n) ?? 1) > 1).length;
      // a decision per variant and the pool's capacity intent
      const messages = variantCount + 1;
      if (totals.failed > 0 || totals.deleted !== messages)
        throw new Error(
          `run ${run}: ${totals.deleted} of ${messages} messages applied, ${totals.failed} failed`,
        );
      const figures = { evaluateMs: t1 - t0, totalMs: lastPatch - t0, patched };
      progress(
        `${run === 0 ? 'warm-up' : `run ${run}`}: evaluate ${figures.evaluateMs.toFixed(0)} ms, to the last patch ${figures.totalMs.toFixed(0)} ms (${patched} Deployments patched)`,
      );
      if (spans) {
        progress(
          `  this process's event loop busy ${(busy * 100).toFixed(0)}% of the run; CPU used by ${cpu.join(', ')}; requests (ms from the evaluation's start):\n${formatSummary(summarise(spans, t0, lastPatch))}`,
        );
      }
      if (run > 0) results.push(figures);
    }
    const totals = results.map((r) => r.totalMs);
    return {
      variants: variantCount,
      runs: results,
      p50Ms: quantile(totals, 0.5),
      p99Ms: quantile(totals, 0.99),
    };
  } finally {
    await Promise.all([moto?.stop(), kube?.stop()]);
  }
}

// ---------------------------------------------------------------- report

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const mark = (ok: boolean) => (ok ? 'ok' : 'OVER TARGET');

const packaged = values['skip-package'] ? undefined : packageAndImport();
const stack = values['skip-stack'] ? undefined : await endToEnd();

if (values.json) {
  console.log(JSON.stringify({ targets: TARGETS, packaged, stack }, null, 2));
} else {
  if (packaged) {
    console.log('function   zip        bundle     import p50   import max');
    for (const fn of FUNCTIONS) {
      const i = packaged.importMs[fn]!;
      console.log(
        `${fn.padEnd(10)} ${kb(packaged.zipBytes[fn]!).padEnd(10)} ${kb(packaged.bundleBytes[fn]!).padEnd(10)} ${`${i.p50.toFixed(0)} ms`.padEnd(12)} ${i.max.toFixed(0)} ms` +
          `   zip ${mark(packaged.zipBytes[fn]! <= TARGETS.zipBytes)}, import ${mark(i.p50 <= TARGETS.importMs)}`,
      );
    }
  }
  if (stack) {
    console.log(
      `evaluation → last Deployment patched, ${stack.variants} variants, ${stack.runs.length} runs: p50 ${stack.p50Ms.toFixed(0)} ms, p99 ${stack.p99Ms.toFixed(0)} ms (${mark(stack.p99Ms <= TARGETS.p99Ms)}; evaluate alone p50 ${quantile(
        stack.runs.map((r) => r.evaluateMs),
        0.5,
      ).toFixed(0)} ms)`,
    );
  }
}
