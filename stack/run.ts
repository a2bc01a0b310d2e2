/**
 * `npm run stack`: the local real stack (see localStack.ts), with the evaluate and apply Lambda
 * handlers run on a timer against it through the same modules, middleware and wiring from the
 * environment as on Lambda: each cycle invokes evaluate with the schedule's event, then hands
 * the queued decisions to apply in SQS batches as Lambda's event source does, and prints the
 * decisions and every Deployment's replicas. Runs until Ctrl-C (or SIGTERM), or for --cycles N;
 * either way every process it started is stopped before it exits.
 */
import { parseArgs } from 'node:util';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { drainQueue } from '../lib/adapters/sqs/index.js';
import { PrometheusClient, RemoteWriteTelemetrySink } from '../lib/adapters/prometheus/index.js';
import { shadowReportFromPrometheus } from '../lib/cli/shadowReportCommand.js';
import { formatShadowReport } from '../lib/shadow/shadowReport.js';
import { lambdaContext } from '../lib/cli/invokeCommand.js';
import type { EvaluateSummary } from '../functions/evaluate/summary.js';
import { REGION } from './moto.js';
import { sendGatewayEvents } from './gatewayEvents.js';
import { startLocalStack, type LocalStack } from './localStack.js';
import type { FleetStatus } from './fleet.js';

// The AWS SDK warns that its releases from 2027 on need Node 22; the versions here are pinned
// (docs/TESTING.md), so that notice is left out of the stack's output. Other warnings show.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (!`${w.name} ${w.message}`.includes('NodeVersionSupportWarning'))
    process.stderr.write(`${w.name}: ${w.message}\n`);
});

export const STACK_USAGE = `usage: npm run stack -- [--config FILE] [--trace FILE ...] [--rate-scale X] [--interval S] [--cycles N] [--log-level LEVEL] [--shadow]
  --config FILE     sva config with a simulation section naming a trace per variant (default config/default.yaml)
  --trace FILE      trace of the i-th variant (overrides the config's)
  --rate-scale X    multiply the traces' request rates
  --interval S      seconds between evaluations (default: the config's policy.intervalSeconds)
  --cycles N        run N cycles, then stop everything and exit (default: until Ctrl-C)
  --log-level L     the handlers' Powertools log level (default WARN; INFO shows every decision applied)
  --shadow          run the pool in shadow mode (apply changes nothing) and print the shadow report at the end`;

interface Printed {
  readonly decisions: Map<string, { demand: number | null; ttftMs: number | null; itlMs: number | null }>;
  /** devices per accelerator type of the pool's capacity intents received */
  readonly capacity: Map<string, number>;
  intents: number;
}

const fmt = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

function printCycle(
  out: (line: string) => void,
  cycle: number,
  stack: LocalStack,
  summary: EvaluateSummary,
  applied: { received: number; deleted: number; failed: number },
  printed: Printed,
  fleet: FleetStatus,
  alerts: string[],
  published: string,
): void {
  const time = new Date().toISOString().slice(11, 19);
  out(
    `cycle ${cycle}  ${time}  (${Math.round(stack.fleet.simSeconds)} s into the trace)  pool ${summary.pool} #${summary.poolSequence}`,
  );
  const rows = [
    [
      '  variant',
      'action',
      'accelerator',
      'replicas',
      'reason',
      'demand req/s',
      'pred TTFT ms',
      'pred ITL ms',
    ],
  ];
  for (const v of summary.variants) {
    const d = printed.decisions.get(`${v.variant}#${v.sequence}`);
    rows.push([
      `  ${v.variant}`,
      v.action,
      v.accelerator,
      `${v.currentReplicas} -> ${v.targetReplicas}`,
      v.reason,
      fmt(d?.demand, 2),
      fmt(d?.ttftMs, 0),
      fmt(d?.itlMs, 1),
    ]);
  }
  for (const line of table(rows)) out(line);
  out(
    `  apply: ${applied.received} message(s) received (${applied.received - printed.intents} decisions, ${printed.intents} capacity intent), ${applied.deleted} done, ${applied.failed} failed` +
      (summary.held.length ? `; held: ${summary.held.join(', ')}` : ''),
  );
  out(
    `  capacity asked: ${[...printed.capacity].map(([type, devices]) => `${type} ${devices}`).join(', ') || 'none'}`,
  );
  const replicas = new Map<string, string[]>();
  for (const d of fleet.deployments) {
    if (d.replicas === 0 && d.ready === 0) continue;
    const list = replicas.get(d.variant) ?? [];
    list.push(`${d.accelerator} ${d.replicas} (${d.ready} ready)`);
    replicas.set(d.variant, list);
  }
  for (const v of new Set(fleet.deployments.map((d) => d.variant)))
    out(`  replicas ${v}: ${(replicas.get(v) ?? ['none']).join(', ')}`);
  const groups = fleet.nodeGroups.filter((g) => g.desired > 0 || g.ready > 0 || g.provisioning > 0);
  out(
    `  node groups: ${groups.length ? groups.map((g) => `${g.name} ${g.desired} (${g.ready} ready${g.provisioning ? `, ${g.provisioning} starting` : ''})`).join(', ') : 'all at 0'}`,
  );
  out(
    `  in Prometheus (remote write): ${published}; alerts firing: ${alerts.length ? alerts.join(', ') : 'none'}`,
  );
}

/**
 * What kube-state-metrics would expose for the Deployments, pushed to the stack's Prometheus
 * (there is no kube-state-metrics here): kube_deployment_spec_replicas, the "what ran" of the
 * shadow report.
 */
async function publishDeploymentReplicas(stack: LocalStack, fleet: FleetStatus): Promise<void> {
  const sink = new RemoteWriteTelemetrySink({ connection: { url: stack.prometheus.remoteWriteUrl } });
  const timestamp = Date.now();
  await sink.publish(
    fleet.deployments.map((d) => ({
      name: 'kube_deployment_spec_replicas',
      labels: { namespace: d.namespace, deployment: d.name },
      value: d.replicas,
      timestamp,
    })),
  );
}

/** The shadow report of the run so far, on a grid of the evaluation interval. */
async function shadowLines(stack: LocalStack, from: number, intervalSeconds: number): Promise<string[]> {
  const step = Math.max(1, Math.round(intervalSeconds));
  try {
    // The report's grid stops a step short of `to` (each point stands for the step after it).
    // The last cycle pushed its samples a moment ago: with `to` at now, the grid could end before
    // them, and on a busy machine, where cycles overrun the interval, before the first ones too
    // ("no day where both ... have samples"). One step past now puts the last point after them.
    const rows = await shadowReportFromPrometheus(
      new PrometheusClient({ url: stack.prometheus.url }),
      stack.config,
      { from, to: Date.now() / 1000 + step, stepSeconds: step },
    );
    return formatShadowReport(rows);
  } catch (err) {
    return [`(cannot make the shadow report: ${err instanceof Error ? err.message : String(err)})`];
  }
}

/** How many inferno_* series the handlers' remote write has put into the stack's Prometheus. */
async function publishedSeries(stack: LocalStack): Promise<string> {
  try {
    const query = 'count by (__name__) ({__name__=~"inferno_.+"})';
    const response = await fetch(`${stack.prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`, {
      signal: AbortSignal.timeout(3000),
    });
    const body = (await response.json()) as {
      data: { result: { metric: { __name__: string }; value: [number, string] }[] };
    };
    const rows = body.data.result;
    const total = rows.reduce((n, r) => n + Number(r.value[1]), 0);
    return `${total} inferno_* series of ${rows.length} metrics`;
  } catch (err) {
    return `(cannot query Prometheus: ${(err as Error).message})`;
  }
}

async function firingAlerts(stack: LocalStack): Promise<string[]> {
  try {
    const response = await fetch(`${stack.prometheus.url}/api/v1/alerts`, {
      signal: AbortSignal.timeout(3000),
    });
    const body = (await response.json()) as {
      data: { alerts: { state: string; labels: Record<string, string> }[] };
    };
    return [
      ...new Set(body.data.alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname ?? '?')),
    ];
  } catch (err) {
    return [`(cannot read alerts: ${(err as Error).message})`];
  }
}

export async function runStack(
  args: string[],
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', default: 'config/default.yaml' },
      trace: { type: 'string', multiple: true },
      'rate-scale': { type: 'string' },
      interval: { type: 'string' },
      cycles: { type: 'string' },
      'log-level': { type: 'string', default: 'WARN' },
      shadow: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    out(STACK_USAGE);
    return 0;
  }
  const cycles = values.cycles === undefined ? Infinity : Number(values.cycles);
  if (!(cycles >= 1) || (cycles !== Infinity && !Number.isInteger(cycles))) {
    process.stderr.write(`stack: --cycles needs a whole number >= 1\n${STACK_USAGE}\n`);
    return 2;
  }
  const rateScale = values['rate-scale'] === undefined ? undefined : Number(values['rate-scale']);
  if (rateScale !== undefined && !(rateScale > 0)) {
    process.stderr.write(`stack: --rate-scale needs a positive number\n`);
    return 2;
  }

  let stopping = false;
  let wake: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    out(`${signal}: stopping every process the stack started ...`);
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  out('starting the local stack on 127.0.0.1 ...');
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({
      configPath: values.config,
      traceFiles: values.trace,
      rateScale,
      log: out,
      ...(values.shadow ? { mode: 'shadow' as const } : {}),
    });
    const startedAt = Date.now() / 1000;
    if (values.shadow)
      out('pool in shadow mode: apply changes nothing; the shadow report follows the last cycle');
    const intervalSeconds =
      values.interval === undefined ? stack.config.policy.intervalSeconds : Number(values.interval);
    if (!(intervalSeconds > 0)) throw new Error('--interval needs a positive number of seconds');

    // The handlers read their wiring from the environment on first use, as on Lambda; each
    // function has its own Kubernetes identity (evaluate reads, apply scales: deploy/rbac*.yaml).
    Object.assign(process.env, stack.env, { POWERTOOLS_LOG_LEVEL: values['log-level'] });
    out('');
    out('To invoke the functions by hand against this stack (sva invoke, or osls invoke local):');
    for (const [name, value] of Object.entries(stack.env)) out(`  export ${name}=${value}`);
    out(`  # for evaluate, Kubernetes as the reader:`);
    out(`  export KUBECONFIG=${stack.evaluateEnv.KUBECONFIG}`);
    out('');
    const { createEvaluateHandler, logger: evaluateLogger } =
      await import('../functions/evaluate/handler.js');
    const { evaluateWiring } = await import('../functions/wiring.js');
    const evaluateEnv = { ...process.env, ...stack.evaluateEnv };
    const evaluate = createEvaluateHandler(() => evaluateWiring(evaluateEnv, evaluateLogger));
    const { handler: apply } = await import('../functions/apply/handler.js');
    // ingest: the fleet's gateway events, evaluate in its own process on a request at zero
    const { createIngestHandler, logger: ingestLogger } = await import('../functions/ingest/handler.js');
    const { ingestWiring } = await import('../functions/wiring.js');
    const ingestEnv = { ...process.env, ...stack.ingestEnv };
    const ingest = createIngestHandler(() => ingestWiring(ingestEnv, ingestLogger));

    // Prometheus needs a few scrapes before rates mean anything.
    await sleep(
      2 * 2000 + 500,
      () => stopping,
      (w) => (wake = w),
    );
    let failures = 0;
    for (let cycle = 1; cycle <= cycles && !stopping; cycle++) {
      const started = Date.now();
      // A failed cycle is reported and the next one tried, as the schedule would.
      try {
        await stack.sync();
        const s0 = stack;
        const events = s0.fleet.gatewayEvents();
        const sent = await sendGatewayEvents(s0.moto.sqs, s0.gatewayQueue.queueUrl, events);
        let ingested = 0;
        const gateway = await drainQueue(
          s0.moto.sqs,
          async (event: SQSEvent, context: Context) => {
            const result = await ingest(event, context);
            ingested += result.applied;
            return result;
          },
          {
            ...s0.gatewayQueue,
            region: REGION,
            context: () => lambdaContext('sva-ingest', 30),
            maxPolls: 20,
            emptyPolls: 1,
          },
        );
        const gatewayLine = `  gateway: ${events.length} events in ${sent} messages, ${ingested} applied by ingest (${gateway.received} received)`;
        const summary = (await evaluate(
          { pool: 'default' },
          lambdaContext('sva-evaluate', 60),
        )) as EvaluateSummary;
        const printed: Printed = { decisions: new Map(), capacity: new Map(), intents: 0 };
        const s = stack;
        const applied = await drainQueue(
          s.moto.sqs,
          async (event: SQSEvent, context: Context) => {
            for (const r of event.Records) {
              try {
                const d = JSON.parse(r.body);
                if (d.kind === 'capacity') {
                  printed.intents++;
                  for (const a of d.accelerators ?? []) printed.capacity.set(a.acceleratorType, a.devices);
                  continue;
                }
                printed.decisions.set(`${d.namespace}/${d.variant}#${d.sequence}`, {
                  demand: d.inputs?.demandRate ?? null,
                  ttftMs: d.prediction?.ttftMs ?? null,
                  itlMs: d.prediction?.itlMs ?? null,
                });
              } catch {
                /* a malformed body is the handler's to report */
              }
            }
            return (await apply(event, context)) as SQSBatchResponse;
          },
          {
            queueUrl: s.queues.queueUrl,
            queueArn: s.queues.queueArn,
            region: REGION,
            context: () => lambdaContext('sva-apply', 30),
            maxPolls: 20,
            emptyPolls: 1,
          },
        );
        const fleet = await stack.sync();
        await publishDeploymentReplicas(stack, fleet);
        const [alerts, published] = await Promise.all([firingAlerts(stack), publishedSeries(stack)]);
        printCycle(out, cycle, stack, summary, applied, printed, fleet, alerts, published);
        out(gatewayLine);
      } catch (err) {
        failures++;
        out(`cycle ${cycle} failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
      }
      if (cycle < cycles)
        await sleep(
          Math.max(0, started + intervalSeconds * 1000 - Date.now()),
          () => stopping,
          (w) => (wake = w),
        );
    }
    if (values.shadow) {
      out('');
      out('shadow report (sva shadow-report over this run):');
      for (const line of await shadowLines(stack, startedAt, intervalSeconds)) out(`  ${line}`);
    }
    return failures > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`stack: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await stack?.stop();
    if (stack) out(`stopped: ${stack.processes.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}`);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Waits `ms`, or less when woken (a signal). */
function sleep(ms: number, stopped: () => boolean, setWake: (wake: () => void) => void): Promise<void> {
  if (stopped()) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    setWake(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// Keep-alive sockets of the SDK clients would hold the process open: exit once stopped.
process.exit(await runStack(process.argv.slice(2)));
