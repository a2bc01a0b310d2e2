/**
 * `sva invoke` with every events/ fixture against the local stack (moto + kube-apiserver), the
 * handlers wired from the environment exactly as on Lambda.
 */
import { readFileSync } from 'node:fs';
import { jest } from '@jest/globals';
import { parse } from 'yaml';
import { main } from '../../../lib/cli/main.js';
import { replicasOf } from '../kubernetes/kubeApiServer.js';
import { createGatewayTable } from './moto.js';
import { captureLogs, startStack, type Stack } from './stack.js';

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
  Object.assign(process.env, stack.env);
});

afterAll(async () => {
  await stack?.stop();
});

/** ingest's: the gateway's table, and an evaluation it triggers run in its own process with evaluate's identity */
const ingestEnv = () => ({
  ...stack!.evaluateEnv,
  SVA_GATEWAY_TABLE: 'sva-gateway',
  SVA_EVALUATION_TRIGGER: 'in-process',
});

async function invoke(fn: string, file: string) {
  // Each function with its own Kubernetes identity, as on EKS (evaluate: sva-reader).
  Object.assign(
    process.env,
    fn === 'evaluate' ? stack!.evaluateEnv : fn === 'ingest' ? ingestEnv() : stack!.env,
  );
  const out: string[] = [];
  const err: string[] = [];
  const { result: code, logs } = await captureLogs(() =>
    main(
      ['invoke', fn, file],
      (l) => out.push(l),
      (l) => err.push(l),
    ),
  );
  return { code, out: out.join('\n'), err: err.join('\n'), logs };
}

const replicas = (name: string) => replicasOf(stack!.kube.admin, 'llm', name);

test('evaluate: events/evaluate-scheduled.json queues a decision per variant', async () => {
  const r = await invoke('evaluate', 'events/evaluate-scheduled.json');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const summary = JSON.parse(r.out);
  expect(summary).toMatchObject({ pool: 'default', poolSequence: 1, held: [] });
  expect(summary.variants).toHaveLength(2);
});

test('evaluate: events/evaluate-invalid-pool.json fails with the reason', async () => {
  const r = await invoke('evaluate', 'events/evaluate-invalid-pool.json');
  expect(r.code).toBe(1);
  expect(r.err).toContain('sva invoke evaluate: the handler failed: InvalidEventError: event pool must be');
});

test('apply: one decision, several, a malformed one, a stale one', async () => {
  const one = await invoke('apply', 'events/apply-one-decision.json');
  expect(one.code).toBe(0);
  expect(JSON.parse(one.out)).toEqual({ batchItemFailures: [] });
  expect(await replicas('chat')).toBe(3);

  const several = await invoke('apply', 'events/apply-several-decisions.json');
  expect(several.code).toBe(0);
  expect(await replicas('chat')).toBe(3);
  expect(await replicas('summarize')).toBe(2);

  // capacity is the pool's intent, applied on its own: the node group grows through Auto Scaling
  const capacity = await invoke('apply', 'events/apply-capacity-intent.json');
  expect(capacity.code).toBe(0);
  expect(capacity.logs.find((l) => l.message === 'capacity intent applied')).toMatchObject({
    pool: 'default',
    poolSequence: 7,
    removalAllowed: false,
  });
  expect((await stack!.nodeGroup('gpu-l4')).desiredSize).toBe(6);

  // a malformed message goes to the dead-letter queue at once, with the field named; the other applies
  const malformed = await invoke('apply', 'events/apply-malformed-decision.json');
  expect(malformed.code).toBe(0);
  expect(JSON.parse(malformed.out).batchItemFailures).toHaveLength(0);
  expect(
    malformed.logs.find((l) => String(l.message).startsWith('message set aside in the dead-letter queue')),
  ).toMatchObject({
    level: 'WARN',
    field: 'decision.targetReplicas',
    reason: 'rejected: decision.targetReplicas: Too small: expected number to be >=0',
  });
  expect((await stack!.dlqMessages()).map((m) => m.reason)).toEqual([
    'rejected: decision.targetReplicas: Too small: expected number to be >=0',
  ]);

  const stale = await invoke('apply', 'events/apply-stale-decision.json');
  expect(stale.code).toBe(0);
  expect(stale.logs.find((l) => l.message === 'decision dropped: expired')).toBeDefined();
  expect(await replicas('chat')).toBe(3);
});

test('ingest: events/ingest-gateway-events.json counted once each, a request at zero triggers an evaluation', async () => {
  await createGatewayTable(stack!.moto.dynamo, 'sva-gateway');
  const r = await invoke('ingest', 'events/ingest-gateway-events.json');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(JSON.parse(r.out)).toMatchObject({
    batchItemFailures: [],
    messages: 6,
    events: 8,
    // req-1's dispatch came twice in the batch
    duplicates: 1,
    applied: 7,
    dropped: [],
    // one write per engine (two chat pods) and one per variant slot (chat, summarize)
    writes: 4,
    waitingForReplicas: ['llm/summarize'],
    triggered: true,
  });
  // the evaluation ran in ingest's process and queued a decision per variant, as a scheduled one would
  expect(await stack!.decisionsOf(2, 2)).toEqual(['chat', 'summarize']);

  // the same batch again (SQS redelivering it whole): nothing counted twice, no second evaluation
  const again = await invoke('ingest', 'events/ingest-gateway-events.json');
  expect(again.code).toBe(0);
  expect(JSON.parse(again.out)).toMatchObject({ writes: 0, alreadyApplied: 4, triggered: false });
});

test('ingest: events/ingest-malformed-events.json drops what does not parse with the field named, applies the rest', async () => {
  const r = await invoke('ingest', 'events/ingest-malformed-events.json');
  expect(r.code).toBe(0);
  const result = JSON.parse(r.out);
  expect(result).toMatchObject({
    batchItemFailures: [],
    messages: 5,
    events: 2,
    applied: 1,
    triggered: false,
  });
  expect(result.dropped.map((d: { reason: string }) => d.reason)).toEqual([
    'invalid message: not JSON',
    expect.stringMatching(/^invalid message: promptTokens: /),
    expect.stringMatching(/^invalid message: at: /),
    "model mistral-7b in llm is no configured variant's, or several's",
  ]);
  expect(r.logs.filter((l) => l.message === 'gateway events dropped')).toHaveLength(4);
});
