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

/** One receive → invoke → delete round. */
export async function pollOnce(
  client: Pick<SQSClient, 'send'>,
  handler: SqsBatchHandler,
  opts: LocalEventSourceOptions,
): Promise<PollResult> {
  const received = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: opts.queueUrl,
      MaxNumberOfMessages: Math.min(Math.max(opts.batchSize ?? 10, 1), 10),
      WaitTimeSeconds: opts.waitTimeSeconds ?? 0,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  const messages = received.Messages ?? [];
  if (messages.length === 0) return { received: 0, deleted: 0, failed: [] };
  const records = messages.map((m) => toSqsRecord(m, opts));
  let failedIds: Set<string>;
  try {
    const response = await handler({ Records: records }, opts.context());
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
  if (failed.length > 0 && opts.failedVisibilitySeconds !== undefined) {
    await client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: opts.queueUrl,
        Entries: failed.map((r, i) => ({
          Id: String(i),
          ReceiptHandle: r.receiptHandle,
          VisibilityTimeout: opts.failedVisibilitySeconds,
        })),
      }),
    );
  }
  return { received: records.length, deleted: done.length, failed: failed.map((r) => r.messageId) };
}

/**
 * Polls until `emptyPolls` receives in a row come back empty, or `maxPolls` rounds have run
 * (bounded either way). Returns the totals.
 */
export async function drainQueue(
  client: Pick<SQSClient, 'send'>,
  handler: SqsBatchHandler,
  opts: LocalEventSourceOptions & { readonly maxPolls: number; readonly emptyPolls?: number },
): Promise<{ polls: number; received: number; deleted: number; failed: number }> {
  const totals = { polls: 0, received: 0, deleted: 0, failed: 0 };
  let empty = 0;
  while (totals.polls < opts.maxPolls && empty < (opts.emptyPolls ?? 1)) {
    const r = await pollOnce(client, handler, opts);
    totals.polls++;
    totals.received += r.received;
    totals.deleted += r.deleted;
    totals.failed += r.failed.length;
    empty = r.received === 0 ? empty + 1 : 0;
  }
  return totals;
}
