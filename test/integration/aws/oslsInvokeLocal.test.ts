/**
 * `npx osls invoke local -f evaluate -p events/scheduled.json` against the local stack (moto and
 * kube-apiserver), with SVA_METRICS=config-load and events/local-config.yaml: serverless-esbuild
 * bundles the handler, and deploy/serverless-invoke-local.cjs lets the shell's variables stand in
 * for the CloudFormation references of serverless.yml.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { jest } from '@jest/globals';
import { parse } from 'yaml';
import { createGatewayTable } from './moto.js';
import { startStack, type Stack } from './stack.js';

jest.setTimeout(180_000);

let stack: Stack | undefined;

beforeAll(async () => {
  stack = await startStack({
    config: parse(readFileSync('events/local-config.yaml', 'utf8')),
    maxReceiveCount: 3,
    nodeGroups: [
      { name: 'gpu-l4', minSize: 0, maxSize: 12, desiredSize: 1 },
      { name: 'gpu-h100', minSize: 0, maxSize: 2, desiredSize: 0 },
    ],
    deployments: { llm: { chat: 1, summarize: 1 } },
  });
});

afterAll(async () => {
  await stack?.stop();
});

/** This process's environment without any stack's variables (another test file may have set them). */
function shellEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(SVA_|AWS_|KUBECONFIG$)/.test(k)) delete env[k];
  return env;
}

function oslsInvokeLocal(fn: string, event: string, env: Record<string, string>) {
  return spawnSync(
    process.execPath,
    ['node_modules/osls/bin/serverless.js', 'invoke', 'local', '-f', fn, '-p', event],
    { encoding: 'utf8', env: { ...shellEnv(), ...env }, timeout: 150_000 },
  );
}

/** The result osls prints after the handler's log lines (one JSON object each): the one spread over several lines. */
const printedResult = (stdout: string) => JSON.parse(stdout.slice(stdout.search(/^\{\n/m)));

test('evaluate: a decision per variant queued, the summary printed', () => {
  const r = oslsInvokeLocal('evaluate', 'events/scheduled.json', {
    ...stack!.evaluateEnv,
    SVA_CONFIG: 'events/local-config.yaml',
    SVA_METRICS: 'config-load',
    SVA_TELEMETRY: 'none',
  });
  if (r.status !== 0) throw new Error(`osls invoke local failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const summary = printedResult(r.stdout);
  expect(summary).toMatchObject({ pool: 'default', held: [] });
  expect(summary.variants.map((v: { variant: string }) => v.variant)).toEqual(['llm/chat', 'llm/summarize']);
});

test('ingest: the gateway events counted, the request at zero triggers an evaluation in the same process', async () => {
  await createGatewayTable(stack!.moto.dynamo, 'sva-gateway');
  const r = oslsInvokeLocal('ingest', 'events/ingest-gateway-events.json', {
    ...stack!.evaluateEnv,
    SVA_CONFIG: 'events/local-config.yaml',
    SVA_METRICS: 'config-load',
    SVA_TELEMETRY: 'none',
    SVA_GATEWAY_TABLE: 'sva-gateway',
    // moto runs no Lambda function: the evaluation runs in ingest's process (docs/GATEWAY.md)
    SVA_EVALUATION_TRIGGER: 'in-process',
  });
  if (r.status !== 0) throw new Error(`osls invoke local failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  expect(printedResult(r.stdout)).toMatchObject({
    batchItemFailures: [],
    applied: 7,
    duplicates: 1,
    waitingForReplicas: ['llm/summarize'],
    triggered: true,
  });
  // the triggered evaluation finished before the process exited: a decision per variant queued
  expect(await stack!.decisionsOf(2, 2)).toEqual(['chat', 'summarize']);
});

test('without the stack in the shell, the handler names what is missing', () => {
  const r = oslsInvokeLocal('evaluate', 'events/scheduled.json', {
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  expect(r.status).toBe(1);
  expect(r.stdout).toContain(
    'set SVA_PROMETHEUS_URL or SVA_GATEWAY_TABLE (or SVA_METRICS=config-load for fixed loads)',
  );
});
