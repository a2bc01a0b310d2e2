/**
 * Scale from zero on the first request (issue 16, item 3), on the local real stack: the time
 * from a gateway's `queued` event for a variant at zero replicas, sent to the gateway's SQS
 * queue, to that variant's Deployment patched above zero in the kube-apiserver.
 *
 *   npm run bench:zero -- [--runs 30] [--json]
 *
 * The path is the deployed one, with the local stack's stand-ins for Lambda: an event source
 * polls the gateway queue (every 20 ms) and runs the ingest handler, which claims the
 * pool's trigger in DynamoDB and starts evaluate in its own process (the `in-process`
 * EvaluationTrigger: moto runs no Lambda functions); evaluate reads Prometheus, the gateway's
 * counters, the cluster and the node groups, decides and sends to the SQS FIFO decision queue;
 * an event source polls that queue and runs the apply handler, which patches the Deployment's
 * scale. The variant has no replica and no traffic of its own in the emulated fleet, so vLLM has
 * no series of it: only the event can make the evaluation scale it up. Before each run every
 * Deployment of the variant is put back to 0 replicas (none ready) and the debounce period is let
 * pass. Target: p99 ≤ 2 s.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AppsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSBatchResponse } from 'aws-lambda';
import { parse, stringify } from 'yaml';
import { pollOnce } from '../../lib/adapters/sqs/index.js';
import { lambdaContext } from '../../lib/cli/invokeCommand.js';
import { startLocalStack, type LocalStack } from '../../stack/localStack.js';
import { setReadyReplicas } from '../../stack/kubeApiServer.js';
import { REGION } from '../../stack/moto.js';

const VARIANT = 'chat-8b';
const NAMESPACE = 'llm';
const MODEL = 'llama-3.1-8b';
const DEBOUNCE_SECONDS = 1;
const POLL_MS = 20;

const percentile = (xs: readonly number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** config/default.yaml with the variant allowed to scale to zero and a short debounce. */
function benchConfig(dir: string): string {
  const source = resolve('config/default.yaml');
  const doc = parse(readFileSync(source, 'utf8')) as {
    variants: { name: string; minReplicas: number }[];
    simulation?: {
      variants: Record<string, { trace: string; rateScale?: number; initialReplicas?: number }>;
    };
    gatewayEvents?: Record<string, number>;
  };
  for (const v of doc.variants) if (v.name === VARIANT) v.minReplicas = 0;
  doc.gatewayEvents = { debounceSeconds: DEBOUNCE_SECONDS };
  // the traces, relative to the original config's folder
  for (const v of Object.values(doc.simulation?.variants ?? {})) v.trace = resolve(dirname(source), v.trace);
  // No replica and no traffic of its own in the emulated fleet: vLLM has no series of it, so only
  // the gateway's event can tell an evaluation that a request waits.
  const zero = doc.simulation?.variants[VARIANT];
  if (zero) Object.assign(zero, { rateScale: 1e-9, initialReplicas: 0 });
  const path = join(dir, 'config.yaml');
  writeFileSync(path, stringify(doc));
  return path;
}

/** Polls a queue and hands its batches to a handler until stopped, as Lambda's event source. */
function eventSource(
  stack: LocalStack,
  queue: { queueUrl: string; queueArn: string },
  name: string,
  handler: (event: never, context: never) => Promise<unknown>,
  stopped: () => boolean,
): Promise<void> {
  return (async () => {
    // Short polls 20 ms apart: SQS's long poll answers as a message arrives, moto's may wait
    // out its second while holding other requests behind it.
    while (!stopped()) {
      const polled = await pollOnce(stack.moto.sqs, handler as never, {
        ...queue,
        region: REGION,
        context: () => lambdaContext(name, 30),
        waitTimeSeconds: 0,
      });
      if (polled.received === 0) await sleep(POLL_MS);
    }
  })();
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { runs: { type: 'string', default: '30' }, json: { type: 'boolean', default: false } },
  });
  const runs = Number(values.runs);
  if (!(Number.isInteger(runs) && runs >= 1)) throw new Error('--runs needs a whole number >= 1');
  const dir = mkdtempSync(join(tmpdir(), 'sva-zero-'));
  let stack: LocalStack | undefined;
  let stop = false;
  const pollers: Promise<void>[] = [];
  try {
    stack = await startLocalStack({
      configPath: benchConfig(dir),
      log: (l) => process.stderr.write(`${l}\n`),
    });
    Object.assign(process.env, stack.env, { POWERTOOLS_LOG_LEVEL: 'ERROR' });
    const { createIngestHandler } = await import('../../functions/ingest/handler.js');
    const { ingestWiring } = await import('../../functions/wiring.js');
    const { handler: apply } = await import('../../functions/apply/handler.js');
    const ingestEnv = { ...process.env, ...stack.ingestEnv, POWERTOOLS_LOG_LEVEL: 'ERROR' };
    const ingest = createIngestHandler(() =>
      ingestWiring(ingestEnv, new Logger({ serviceName: 'sva-ingest' })),
    );
    const s = stack;
    pollers.push(
      eventSource(s, s.gatewayQueue, 'sva-ingest', ingest as never, () => stop),
      eventSource(
        s,
        s.queues,
        'sva-apply',
        (async (event: never, context: never) => (await apply(event, context)) as SQSBatchResponse) as never,
        () => stop,
      ),
    );
    const apps = s.kube.admin.makeApiClient(AppsV1Api);
    const deployments = s.fleet.deployments.filter((d) => d.variant === `${NAMESPACE}/${VARIANT}`);
    const atZero = async () => {
      for (const d of deployments) {
        await apps.patchNamespacedDeploymentScale(
          { name: d.name, namespace: d.namespace, body: { spec: { replicas: 0 } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        await setReadyReplicas(s.kube.admin, d.namespace, d.name, 0);
      }
    };
    const scaledUp = async () => {
      const list = await apps.listNamespacedDeployment({ namespace: NAMESPACE });
      return list.items.some(
        (x) => deployments.some((d) => d.name === x.metadata?.name) && (x.spec?.replicas ?? 0) > 0,
      );
    };
    // Prometheus needs a few scrapes before its rates mean anything.
    await sleep(5000);
    // Control: an evaluation without any event leaves the variant at zero, so what scales it up
    // in the runs below is the event (and the evaluation it triggers), not the fleet's metrics.
    await atZero();
    const { createEvaluateHandler, logger: evaluateLogger } =
      await import('../../functions/evaluate/handler.js');
    const { evaluateWiring } = await import('../../functions/wiring.js');
    const evaluateEnv = { ...process.env, ...s.evaluateEnv };
    await createEvaluateHandler(() => evaluateWiring(evaluateEnv, evaluateLogger))(
      { pool: 'default' },
      lambdaContext('sva-evaluate', 60),
    );
    await sleep(2500);
    if (await scaledUp()) throw new Error(`control: an evaluation without events scaled ${VARIANT} up`);
    process.stderr.write(`control: an evaluation without events leaves ${VARIANT} at 0\n`);
    const latencies: number[] = [];
    const failures: string[] = [];
    // run 0 warms the handlers up (cold start: wiring, first connections) and is not counted
    for (let run = 0; run <= runs; run++) {
      await atZero();
      await sleep(DEBOUNCE_SECONDS * 1000 + 200);
      const started = performance.now();
      await s.moto.sqs.send(
        new SendMessageCommand({
          QueueUrl: s.gatewayQueue.queueUrl,
          MessageBody: JSON.stringify({
            type: 'queued',
            id: `zero-${run}-${Date.now()}`,
            at: Date.now() / 1000,
            model: MODEL,
            promptTokens: 512,
          }),
        }),
      );
      let done = false;
      while (!done && performance.now() - started < 20_000) {
        done = await scaledUp();
        if (!done) await sleep(10);
      }
      const ms = performance.now() - started;
      if (!done) failures.push(`run ${run}: not scaled up within 20 s`);
      else if (run > 0) latencies.push(ms);
      process.stderr.write(`run ${run}: ${done ? `${ms.toFixed(0)} ms` : 'timed out'}\n`);
    }
    const result = {
      runs: latencies.length,
      p50Ms: latencies.length ? Math.round(percentile(latencies, 50)) : null,
      p99Ms: latencies.length ? Math.round(percentile(latencies, 99)) : null,
      maxMs: latencies.length ? Math.round(Math.max(...latencies)) : null,
      targetP99Ms: 2000,
      failures,
    };
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else
      process.stdout.write(
        `first request for ${NAMESPACE}/${VARIANT} at zero → its Deployment patched (${result.runs} runs): ` +
          `p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms (target p99 ≤ 2000 ms)` +
          (failures.length ? `; ${failures.length} failed: ${failures.join('; ')}` : '') +
          '\n',
      );
    return failures.length === 0 && result.p99Ms !== null && result.p99Ms <= 2000 ? 0 : 1;
  } finally {
    stop = true;
    await Promise.all(pollers).catch(() => undefined);
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exit(await main());
