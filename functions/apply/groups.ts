/**
 * A batch from an SQS FIFO queue holds up to ten messages of several message groups (one group
 * per variant). Order matters only within a group, so each group is handed to its own Powertools
 * FIFO processor and the groups run concurrently: a batch of ten variants takes the time of its
 * slowest variant, not the sum. Within a group the processor goes one message after another and,
 * on a failure, fails the rest of that group only (skipGroupOnError), as before.
 */
import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/** The records of each message group, in the batch's order (a record without a group is its own). */
export function byMessageGroup(records: readonly SQSRecord[]): SQSRecord[][] {
  const groups = new Map<string, SQSRecord[]>();
  for (const record of records) {
    const group = record.attributes?.MessageGroupId ?? `\u0000${record.messageId}`;
    const list = groups.get(group);
    if (list) list.push(record);
    else groups.set(group, [record]);
  }
  return [...groups.values()];
}

export async function processGroupsConcurrently(
  event: SQSEvent,
  handle: (record: SQSRecord) => Promise<void>,
  context: Context,
): Promise<SQSBatchResponse> {
  const responses = await Promise.all(
    byMessageGroup(event.Records).map((records) =>
      processPartialResponse({ Records: records }, handle, new SqsFifoPartialProcessorAsync(), {
        context,
        skipGroupOnError: true,
        // A group that fails whole is reported, not thrown: the other groups' work stands.
        throwOnFullBatchFailure: false,
      }),
    ),
  );
  const failed = new Set(responses.flatMap((r) => r.batchItemFailures.map((f) => f.itemIdentifier)));
  return {
    batchItemFailures: event.Records.filter((r) => failed.has(r.messageId)).map((r) => ({
      itemIdentifier: r.messageId,
    })),
  };
}
