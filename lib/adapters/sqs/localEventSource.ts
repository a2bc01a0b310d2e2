/**
 * What Lambda's SQS event source mapping does, for running the apply handler locally and in
 * tests against a real SQS API: receive a batch, hand it over as an SQSEvent, delete what the
 * handler did not report in batchItemFailures, and leave the failures to the queue (they come
 * back after the visibility timeout, and go to the DLQ after the redrive policy's max receives).
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface LocalEventSourceOptions {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  /** the Lambda context of each invocation */
  readonly context: () => Context;
  /** messages per invocation, 1..10 */
  readonly batchSize?: number;
  /** long-poll wait per receive, seconds */
  readonly waitTimeSeconds?: number;
  /**
   * Visibility given to failed messages; Lambda leaves them for the queue's visibility timeout,
   * tests shorten it to 0 to see the redelivery at once.
   */
  readonly failedVisibilitySeconds?: number;
}

export interface PollResult {
  readonly received: number;
  readonly deleted: number;
  readonly failed: string[];
}

export function toSqsRecord(
  m: Message,
  opts: Pick<LocalEventSourceOptions, 'queueArn' | 'region'>,
): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(a.SequenceNumber !== undefined ? { SequenceNumber: a.SequenceNumber } : {}),
      ...(a.MessageGroupId !== undefined ? { MessageGroupId: a.MessageGroupId } : {}),
      ...(a.MessageDeduplicationId !== undefined ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: opts.queueArn,
    awsRegion: opts.region,
  };
}

/** Receives up to a batch of messages, as records. */
async function receive(
  client: Pick<SQSClient, 'send'>,
  opts: LocalEventSourceOptions,
  max = opts.batchSize ?? 10,
  waitTimeSeconds = opts.waitTimeSeconds ?? 0,
): Promise<SQSRecord[]> {
  const received = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: opts.queueUrl,
      MaxNumberOfMessages: Math.min(Math.max(max, 1), 10),
      WaitTimeSeconds: waitTimeSeconds,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return (received.Messages ?? []).map((m) => toSqsRecord(m, opts));
}

/** Gives received messages the visibility of failed ones (when the options say), so they come back. */
async function release(
  client: Pick<SQSClient, 'send'>,
  records: readonly SQSRecord[],
  opts: LocalEventSourceOptions,
): Promise<void> {
  if (records.length === 0 || opts.failedVisibilitySeconds === undefined) return;
  for (let i = 0; i < records.length; i += 10) {
    await client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: opts.queueUrl,
        Entries: records.slice(i, i + 10).map((r, j) => ({
          Id: String(j),
          ReceiptHandle: r.receiptHandle,
          VisibilityTimeout: opts.failedVisibilitySeconds,
        })),
      }),
    );
  }
}

/** Invokes the handler with received records, deletes what it did not report failed. */
async function invoke(
  client: Pick<SQSClient, 'send'>,
  handler: SqsBatchHandler,
  opts: LocalEventSourceOptions,
  records: readonly SQSRecord[],
): Promise<PollResult> {
  let failedIds: Set<string>;
  try {
    const response = await handler({ Records: [...records] }, opts.context());
    failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  } catch {
    // A thrown invocation fails the whole batch, as on Lambda.
    failedIds = new Set(records.map((r) => r.messageId));
  }
  const done = records.filter((r) => !failedIds.has(r.messageId));
  const failed = records.filter((r) => failedIds.has(r.messageId));
  if (done.length > 0) {
    await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: opts.queueUrl,
        Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
      }),
    );
  }
  await release(client, failed, opts);
  return { received: records.length, deleted: done.length, failed: failed.map((r) => r.messageId) };
}

/** One receive → invoke → delete round. */
export async function pollOnce(
  client: Pick<SQSClient, 'send'>,
  handler: SqsBatchHandler,
  opts: LocalEventSourceOptions,
): Promise<PollResult> {
  const records = await receive(client, opts);
  if (records.length === 0) return { received: 0, deleted: 0, failed: [] };
  return invoke(client, handler, opts, records);
}

/** Invocations drainQueue runs at once, as Lambda's SQS event source starts with five. */
export const DEFAULT_CONCURRENCY = 5;

/** The long poll of drainQueue while its producer still sends, seconds. */
export const PRODUCING_WAIT_SECONDS = 1;

const groupOf = (r: SQSRecord) => r.attributes.MessageGroupId ?? `\u0000${r.messageId}`;

/**
 * Polls until `emptyPolls` receives in a row come back empty with nothing left in flight, or
 * `maxPolls` receives have run (bounded either way). Returns the totals.
 *
 * As Lambda's event source does, batches go to up to `concurrency` invocations at once, and a
 * message group is in one invocation at a time: its later messages wait, received, until the
 * invocation holding the group returns. If that invocation failed a message of the group, the
 * waiting ones are given back to the queue with the failed one, so the group's order holds.
 * (SQS itself keeps a group's later messages back while one is in flight; moto, behind the local
 * stack and the tests, does not, hence the bookkeeping here.)
 *
 * With `producing` (the send in progress, an evaluation), it polls from the start, as Lambda's
 * event source always does: messages are applied while the rest are still being sent, and the
 * empty-poll count starts only once the producer is done. Meanwhile it long-polls
 * (PRODUCING_WAIT_SECONDS), so waiting for the first message costs a request a second.
 */
export async function drainQueue(
  client: Pick<SQSClient, 'send'>,
  handler: SqsBatchHandler,
  opts: LocalEventSourceOptions & {
    readonly maxPolls: number;
    readonly emptyPolls?: number;
    /** invocations at once; default DEFAULT_CONCURRENCY */
    readonly concurrency?: number;
    /** poll while this runs, and from then on until the queue is empty */
    readonly producing?: Promise<unknown>;
  },
): Promise<{ polls: number; received: number; deleted: number; failed: number }> {
  const totals = { polls: 0, received: 0, deleted: 0, failed: 0 };
  const batchSize = Math.min(Math.max(opts.batchSize ?? 10, 1), 10);
  const concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
  /** received, not yet handed to an invocation, per group in the order received */
  const pending = new Map<string, SQSRecord[]>();
  /** groups in an invocation */
  const busy = new Set<string>();
  const running = new Set<Promise<void>>();

  const start = (records: SQSRecord[]) => {
    const groups = new Set(records.map(groupOf));
    groups.forEach((g) => busy.add(g));
    const run = invoke(client, handler, opts, records).then(async (r) => {
      totals.deleted += r.deleted;
      totals.failed += r.failed.length;
      const failed = new Set(records.filter((x) => r.failed.includes(x.messageId)).map(groupOf));
      for (const g of groups) {
        busy.delete(g);
        const waiting = pending.get(g);
        if (failed.has(g) && waiting) {
          pending.delete(g);
          await release(client, waiting, opts);
        }
      }
    });
    const tracked = run.finally(() => running.delete(tracked));
    running.add(tracked);
  };
  /** Hands pending messages of free groups to invocations, a batch at a time. */
  const dispatch = () => {
    while (running.size < concurrency) {
      const batch: SQSRecord[] = [];
      for (const [g, records] of pending) {
        if (busy.has(g)) continue;
        batch.push(...records.splice(0, batchSize - batch.length));
        if (records.length === 0) pending.delete(g);
        if (batch.length === batchSize) break;
      }
      if (batch.length === 0) return;
      start(batch);
    }
  };

  let produced = opts.producing === undefined;
  // Its failure is the producer's to report: here it only ends the waiting.
  opts.producing?.then(
    () => (produced = true),
    () => (produced = true),
  );
  let empty = 0;
  const idle = () => running.size === 0 && pending.size === 0;
  while (totals.polls < opts.maxPolls && (!produced || empty < (opts.emptyPolls ?? 1) || !idle())) {
    dispatch();
    if (running.size >= concurrency) {
      await Promise.race(running);
      continue;
    }
    const producing = !produced;
    const wait = producing ? Math.max(PRODUCING_WAIT_SECONDS, opts.waitTimeSeconds ?? 0) : undefined;
    const records = await receive(client, opts, batchSize, wait);
    totals.polls++;
    totals.received += records.length;
    for (const r of records) pending.set(groupOf(r), [...(pending.get(groupOf(r)) ?? []), r]);
    if (records.length > 0) empty = 0;
    else if (producing)
      continue; // the long poll waited: poll again
    else if (idle()) empty++;
    // Nothing new while invocations run: wait for one, or a moment, before receiving again.
    else await Promise.race([...running, new Promise((resolve) => setTimeout(resolve, 10))]);
  }
  await Promise.all(running);
  return totals;
}
