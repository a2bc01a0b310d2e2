/**
 * SqsDecisionQueue against SQS FIFO (moto): batches of 10, a message group per variant in
 * order, deduplication of a re-sent decision, and the local event source's redrive to the DLQ.
 */
import { jest } from '@jest/globals';
import { ReceiveMessageCommand, type SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { drainQueue, SqsDecisionQueue } from '../../../lib/adapters/sqs/index.js';
import type { DecisionRecord } from '../../../lib/policy/decisionRecord.js';
import { lambdaContext } from '../../../lib/cli/invokeCommand.js';
import { decision } from '../../functions/decisions.js';
import { createDecisionQueues, REGION, startMoto, type Moto } from './moto.js';

jest.setTimeout(60_000);

let moto: Moto | undefined;
let queues = 0;

beforeAll(async () => {
  moto = await startMoto();
});

afterAll(async () => {
  await moto?.stop();
});

function countingClient() {
  const calls: number[] = [];
  const client = {
    send: (command: SendMessageBatchCommand) => {
      calls.push(command.input.Entries?.length ?? 0);
      return moto!.sqs.send(command);
    },
  };
  return { client, calls };
}

async function receiveAll(queueUrl: string, max = 200) {
  const out: { body: DecisionRecord; group?: string; dedup?: string }[] = [];
  for (let polls = 0; polls < 50 && out.length < max; polls++) {
    const r = await moto!.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (!r.Messages?.length) break;
    for (const m of r.Messages) {
      out.push({
        body: JSON.parse(m.Body!) as DecisionRecord,
        group: m.Attributes?.MessageGroupId,
        dedup: m.Attributes?.MessageDeduplicationId,
      });
    }
  }
  return out;
}

test('23 decisions go out in 3 batches, one message group per variant, deduplicated on re-send', async () => {
  const { queueUrl } = await createDecisionQueues(moto!.sqs, `send-${++queues}`, 3);
  const { client, calls } = countingClient();
  const queue = new SqsDecisionQueue(client, queueUrl);
  const decisions = Array.from({ length: 23 }, (_, i) => decision({ variant: `v${i}`, sequence: 4 }));
  await queue.send(decisions);
  expect(calls).toEqual([10, 10, 3]);
  await queue.send(decisions.slice(0, 5)); // a retried evaluation re-sending: SQS drops the copies
  const received = await receiveAll(queueUrl);
  expect(received).toHaveLength(23);
  expect(new Set(received.map((m) => m.group))).toEqual(new Set(decisions.map((d) => `llm/${d.variant}`)));
  const v7 = received.find((m) => m.body.variant === 'v7')!;
  expect(v7).toMatchObject({ group: 'llm/v7', dedup: 'llm.v7.4' });
  expect(v7.body).toEqual(decisions[7]);
});

test('decisions of one variant are delivered in the order sent', async () => {
  const { queueUrl } = await createDecisionQueues(moto!.sqs, `order-${++queues}`, 3);
  const queue = new SqsDecisionQueue(moto!.sqs, queueUrl);
  for (let sequence = 1; sequence <= 4; sequence++) {
    await queue.send([decision({ variant: 'chat', sequence }), decision({ variant: 'code', sequence })]);
  }
  const received = await receiveAll(queueUrl);
  const order = (variant: string) =>
    received.filter((m) => m.body.variant === variant).map((m) => m.body.sequence);
  expect(order('chat')).toEqual([1, 2, 3, 4]);
  expect(order('code')).toEqual([1, 2, 3, 4]);
});

test('a message failed maxReceiveCount times moves to the DLQ; the rest of its group follows it', async () => {
  const { queueUrl, queueArn, dlqUrl } = await createDecisionQueues(moto!.sqs, `redrive-${++queues}`, 2);
  await new SqsDecisionQueue(moto!.sqs, queueUrl).send([decision({ variant: 'bad', sequence: 1 })]);
  await new SqsDecisionQueue(moto!.sqs, queueUrl).send([decision({ variant: 'bad', sequence: 2 })]);
  const seen: number[] = [];
  const totals = await drainQueue(
    moto!.sqs,
    async (event) => {
      // Fails sequence 1 always; FIFO order means sequence 2 waits behind it.
      const failures = event.Records.filter((r) => {
        const d = JSON.parse(r.body) as DecisionRecord;
        seen.push(d.sequence);
        return d.sequence === 1;
      });
      return { batchItemFailures: failures.map((r) => ({ itemIdentifier: r.messageId })) };
    },
    {
      queueUrl,
      queueArn,
      region: REGION,
      context: () => lambdaContext('sva-apply', 60),
      failedVisibilitySeconds: 0,
      batchSize: 1,
      maxPolls: 20,
      emptyPolls: 2,
    },
  );
  expect(seen).toEqual([1, 1, 2]);
  expect(totals.failed).toBe(2);
  const dead = await receiveAll(dlqUrl);
  expect(dead.map((m) => m.body.sequence)).toEqual([1]);
});

test('the local event source applies batches of different groups concurrently, each group in order', async () => {
  const { queueUrl, queueArn } = await createDecisionQueues(moto!.sqs, `concurrent-${++queues}`, 3);
  const queue = new SqsDecisionQueue(moto!.sqs, queueUrl);
  const variants = Array.from({ length: 12 }, (_, i) => `v${i}`);
  for (let sequence = 1; sequence <= 3; sequence++)
    await queue.send(variants.map((variant) => decision({ variant, sequence })));
  const inFlight = new Set<string>();
  let mostBatches = 0;
  let batches = 0;
  const overlapping: string[] = [];
  const order = new Map<string, number[]>();
  const totals = await drainQueue(
    moto!.sqs,
    async (event) => {
      const groups = new Set(event.Records.map((r) => r.attributes.MessageGroupId!));
      for (const g of groups) if (inFlight.has(g)) overlapping.push(g);
      groups.forEach((g) => inFlight.add(g));
      mostBatches = Math.max(mostBatches, ++batches);
      for (const r of event.Records) {
        const d = JSON.parse(r.body) as DecisionRecord;
        order.set(d.variant, [...(order.get(d.variant) ?? []), d.sequence]);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      groups.forEach((g) => inFlight.delete(g));
      batches--;
      return { batchItemFailures: [] };
    },
    {
      queueUrl,
      queueArn,
      region: REGION,
      context: () => lambdaContext('sva-apply', 60),
      maxPolls: 100,
      emptyPolls: 2,
      concurrency: 4,
    },
  );
  expect(totals).toMatchObject({ received: 36, deleted: 36, failed: 0 });
  expect(mostBatches).toBeGreaterThan(1);
  // SQS FIFO gives no poller a group another has in flight
  expect(overlapping).toEqual([]);
  for (const v of variants) expect(order.get(v)).toEqual([1, 2, 3]);
});

test('while its producer still sends, the event source polls on and applies what has arrived', async () => {
  const { queueUrl, queueArn } = await createDecisionQueues(moto!.sqs, `producing-${++queues}`, 3);
  const queue = new SqsDecisionQueue(moto!.sqs, queueUrl);
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  let producerDone = 0;
  // An evaluation that takes a while before its first send, and sends in two parts.
  const producing = (async () => {
    await pause(1500);
    await queue.send(['a', 'b', 'c'].map((variant) => decision({ variant, sequence: 1 })));
    await pause(1500);
    await queue.send(['d', 'e'].map((variant) => decision({ variant, sequence: 1 })));
    producerDone = Date.now();
  })();
  const applied: { variant: string; at: number }[] = [];
  const totals = await drainQueue(
    moto!.sqs,
    async (event) => {
      for (const r of event.Records)
        applied.push({ variant: (JSON.parse(r.body) as DecisionRecord).variant, at: Date.now() });
      return { batchItemFailures: [] };
    },
    {
      queueUrl,
      queueArn,
      region: REGION,
      context: () => lambdaContext('sva-apply', 60),
      maxPolls: 50,
      emptyPolls: 1,
      producing,
    },
  );
  expect(totals).toMatchObject({ received: 5, deleted: 5, failed: 0 });
  expect(applied.map((a) => a.variant).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  // the first part was applied before the producer had sent the second
  expect(
    applied
      .filter((a) => a.at < producerDone)
      .map((a) => a.variant)
      .sort(),
  ).toEqual(expect.arrayContaining(['a', 'b', 'c']));
  // long polls while waiting: a few requests, not one every few milliseconds
  expect(totals.polls).toBeLessThan(12);
});
