/**
 * `sva invoke evaluate|apply|ingest EVENT_FILE`: runs a Lambda handler in this process on an event
 * file, through the same handler module (middy, logger, batch processor, wiring from the
 * environment) that runs on Lambda. Endpoints come from the standard variables (AWS_REGION,
 * AWS_ENDPOINT_URL, KUBECONFIG) and SVA_CONFIG; see functions/wiring.ts for the rest.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Context } from 'aws-lambda';
import { InputError } from '../config/errors.js';
import { UsageError } from './errors.js';

export const INVOKE_USAGE = `usage: sva invoke evaluate|apply|ingest EVENT_FILE [--timeout SECONDS]
  runs the function's handler on EVENT_FILE (JSON: an EventBridge event for evaluate, an SQS
  event for apply and ingest) with SVA_CONFIG, AWS_REGION, AWS_ENDPOINT_URL, KUBECONFIG,
  SVA_QUEUE_URL, SVA_STATE_TABLE, SVA_CLUSTER_NAME, SVA_METRICS (ingest: SVA_GATEWAY_TABLE,
  SVA_EVALUATION_TRIGGER) from the environment; prints the result.
  In EVENT_FILE, "{{now}}" and "{{now-Ns}}" become the ISO time now (N seconds ago), so
  fixtures of fresh and stale decisions stay fresh and stale.
  Exit status 1 when the handler fails or reports batch item failures.`;

const FUNCTIONS = {
  evaluate: async () => (await import('../../functions/evaluate/handler.js')).handler,
  apply: async () => (await import('../../functions/apply/handler.js')).handler,
  ingest: async () => (await import('../../functions/ingest/handler.js')).handler,
} as const;

/** The functions whose event source is an SQS queue: their event needs a Records array. */
const SQS_FUNCTIONS: ReadonlySet<string> = new Set(['apply', 'ingest']);

type FunctionName = keyof typeof FUNCTIONS;

/** Replaces the time placeholders in an event file's text. */
export function expandTimePlaceholders(text: string, nowMs: number = Date.now()): string {
  return text.replace(/\{\{now(?:-(\d+)s)?\}\}/g, (_m, ago: string | undefined) =>
    new Date(nowMs - Number(ago ?? 0) * 1000).toISOString(),
  );
}

export function readEvent(path: string, nowMs?: number): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${code})`);
  }
  try {
    return JSON.parse(expandTimePlaceholders(text, nowMs));
  } catch (err) {
    throw new InputError(`${path}: invalid JSON: ${(err as Error).message}`);
  }
}

export function lambdaContext(functionName: string, timeoutSeconds: number): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const unsupported = () => {
    throw new Error('callback-style completion is not used by these handlers');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${new Date().toISOString().slice(0, 10)}/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

export async function invokeCommand(
  args: string[],
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { timeout: { type: 'string', default: '300' } },
  });
  const [name, file, ...rest] = positionals;
  if (!name || !file || rest.length > 0)
    throw new UsageError(`invoke needs a function and an EVENT_FILE\n${INVOKE_USAGE}`);
  if (!(name in FUNCTIONS))
    throw new UsageError(`unknown function "${name}" (evaluate, apply or ingest)\n${INVOKE_USAGE}`);
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) throw new UsageError(`--timeout must be a positive number of seconds`);
  const event = readEvent(file);
  if (SQS_FUNCTIONS.has(name) && !Array.isArray((event as { Records?: unknown })?.Records)) {
    throw new InputError(`${file}: an SQS event needs a Records array`);
  }
  const handler = await FUNCTIONS[name as FunctionName]();
  let result: unknown;
  try {
    result = await (handler as (e: unknown, c: Context) => Promise<unknown>)(
      event,
      lambdaContext(`sva-${name}`, timeout),
    );
  } catch (e) {
    err(
      `sva invoke ${name}: the handler failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    );
    return 1;
  }
  out(JSON.stringify(result ?? null, null, 2));
  const failures = (result as { batchItemFailures?: unknown[] } | undefined)?.batchItemFailures?.length ?? 0;
  if (failures > 0) {
    err(`sva invoke ${name}: ${failures} message(s) reported as batch item failures (reasons in the log)`);
    return 1;
  }
  return 0;
}
