/**
 * The apply handler (middy + Powertools batch and logger) on the events/ fixtures and on
 * hand-made batches, with in-memory adapters: what it applies, in what order, what it reports
 * as batch item failures, and what it logs.
 */
import { ApiException } from '@kubernetes/client-node';
import { createApplyHandler } from '../../functions/apply/handler.js';
import { toKubernetesError } from '../../lib/adapters/kubernetes/index.js';
import { lambdaContext, readEvent } from '../../lib/cli/invokeCommand.js';
import type { SQSEvent } from 'aws-lambda';
import { decision, sqsEvent, sqsRecord } from './decisions.js';
import { memoryApplyWiring } from './memoryWiring.js';
import { captureLogs } from './logs.js';

const context = lambdaContext('sva-apply', 60);

async function run(event: SQSEvent, setup = memoryApplyWiring()) {
  const handler = createApplyHandler(async () => setup.wiring);
  const { result, logs } = await captureLogs(() => handler(event, context));
  // the writes to the cluster and node groups, in order
  return { ...setup, result, logs, calls: setup.log.lines };
}

const byMessage = (logs: Record<string, unknown>[], text: string) =>
  logs.filter((l) => String(l.message).startsWith(text));

test('events/apply-one-decision.json: node group grown, then the Deployment scaled', async () => {
  const { result, calls, logs, state } = await run(readEvent('events/apply-one-decision.json') as SQSEvent);
  expect(result).toEqual({ batchItemFailures: [] });
  expect(calls).toEqual(['nodes gpu-l4 3', 'scale llm/chat 3']);
  expect(await state.lastApplied('llm/chat')).toEqual({ sequence: 1, applied: true });
  const [applied] = byMessage(logs, 'decision applied');
  expect(applied).toMatchObject({
    level: 'INFO',
    service: 'sva-apply',
    decisionId: 'llm/chat#1',
    messageGroupId: 'llm/chat',
    status: 'applied',
    variant: 'llm/chat',
    sequence: 1,
    nodeGroupsChanged: ['gpu-l4'],
    function_name: 'sva-apply',
  });
});

test('events/apply-several-decisions.json: in order; nodes first when growing, pods first when shrinking', async () => {
  const { result, calls } = await run(readEvent('events/apply-several-decisions.json') as SQSEvent);
  expect(result).toEqual({ batchItemFailures: [] });
  expect(calls).toEqual([
    'nodes gpu-l4 6',
    'scale llm/chat 4',
    // summarize's decision came from the same evaluation: the node group is already at 6
    'scale llm/summarize 2',
    'scale llm/chat 3',
    'nodes gpu-l4 5',
  ]);
});

test('events/apply-malformed-decision.json: the bad message fails with its reason; the other applies', async () => {
  const event = readEvent('events/apply-malformed-decision.json') as SQSEvent;
  const { result, calls, logs } = await run(event);
  expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[0]!.messageId }] });
  expect(calls).toEqual(['nodes gpu-l4 5', 'scale llm/summarize 2']);
  const [failure] = byMessage(logs, 'malformed decision');
  expect(failure).toMatchObject({
    level: 'ERROR',
    decisionId: 'llm/chat#4',
    errorName: 'InvalidDecisionError',
    reason: 'decision.targetReplicas: Too small: expected number to be >=0',
  });
});

test('events/apply-stale-decision.json: dropped as expired, logged, not a failure', async () => {
  const { result, calls, logs } = await run(readEvent('events/apply-stale-decision.json') as SQSEvent);
  expect(result).toEqual({ batchItemFailures: [] });
  expect(calls).toEqual([]);
  const [dropped] = byMessage(logs, 'decision dropped: expired');
  expect(dropped).toMatchObject({ level: 'WARN', status: 'expired', decisionId: 'llm/chat#5' });
  expect(String(dropped!.detail)).toMatch(/^issued \d+ s ago, more than 300 s: not applied$/);
});

test('a failure holds back the rest of its message group only; other groups go on', async () => {
  const setup = memoryApplyWiring();
  setup.cluster.failScaling('llm/chat', () => new Error('apiserver unavailable'));
  const chat1 = sqsRecord(decision({ variant: 'chat', sequence: 1, target: 2 }));
  const summarize = sqsRecord(decision({ variant: 'summarize', sequence: 1, target: 3 }));
  const chat2 = sqsRecord(decision({ variant: 'chat', sequence: 2, target: 4 }));
  const { result, calls, logs } = await run(sqsEvent(chat1, summarize, chat2), setup);
  expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([chat1.messageId, chat2.messageId]);
  expect(calls).toEqual(['scale llm/chat 2 (failed)', 'scale llm/summarize 3']);
  expect(byMessage(logs, 'decision not applied')).toHaveLength(1);
});

test('duplicate and superseded decisions are deleted (no failure) and logged', async () => {
  const setup = memoryApplyWiring();
  const d5 = decision({ variant: 'chat', sequence: 5, target: 2 });
  const { calls, logs, result } = await run(
    sqsEvent(sqsRecord(d5), sqsRecord(d5), sqsRecord(decision({ variant: 'chat', sequence: 4, target: 9 }))),
    setup,
  );
  expect(result).toEqual({ batchItemFailures: [] });
  expect(calls).toEqual(['scale llm/chat 2']);
  expect(byMessage(logs, 'decision dropped').map((l) => l.status)).toEqual(['duplicate', 'superseded']);
});

test('logs carry no credentials: an API error is logged by its message only', async () => {
  const setup = memoryApplyWiring();
  const leaky = new ApiException(401, 'Unauthorized', undefined, {
    authorization: 'Bearer k8s-aws-v1.SECRET-TOKEN',
  });
  setup.cluster.failScaling('llm/chat', () => toKubernetesError(leaky, 'llm', 'chat', 'scale to 2'));
  const { logs } = await run(sqsEvent(sqsRecord(decision({ target: 2 }))), setup);
  const text = JSON.stringify(logs);
  expect(text).not.toContain('SECRET-TOKEN');
  expect(byMessage(logs, 'decision not applied')[0]).toMatchObject({
    errorName: 'KubernetesError',
    retryable: true,
    reason: 'deployment llm/chat: scale to 2: unauthorized (credentials rejected): HTTP 401',
  });
});

test('a wiring failure fails the whole invocation, and is tried again on the next one', async () => {
  let attempts = 0;
  const setup = memoryApplyWiring();
  const handler = createApplyHandler(async () => {
    if (attempts++ === 0) throw new Error('SVA_STATE_TABLE is not set');
    return setup.wiring;
  });
  const event = sqsEvent(sqsRecord(decision({ target: 2 })));
  await expect(captureLogs(() => handler(event, context))).rejects.toThrow('SVA_STATE_TABLE is not set');
  const { result } = await captureLogs(() => handler(event, context));
  expect(result).toEqual({ batchItemFailures: [] });
});
