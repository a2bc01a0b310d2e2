/**
 * The decision queue on SQS FIFO: one message per decision, MessageGroupId = namespace/variant
 * (decisions of a variant are delivered in order), MessageDeduplicationId from variant and
 * sequence (a re-sent decision is delivered once), sent with SendMessageBatch, 10 per call,
 * SEND_CONCURRENCY calls at once when no message group spans two calls (one decision per
 * variant and the pool's capacity intent, as an evaluation sends them): order only matters
 * within a group, and a group in one call keeps its order. Otherwise the calls go in turn.
 * Entries SQS reports as failed are re-sent with bounded backoff (the SDK retries only whole
 * calls); what still fails is named in the error, so the evaluation fails loudly instead of
 * silently losing a variant's decision.
 */
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import { deduplicationIdOf, groupIdOf, type PoolMessage } from '../../policy/messages.js';
import type { DecisionQueue } from '../../policy/ports.js';
import { describeError } from '../aws/errors.js';
import { retryRemaining, type BackoffPolicy } from '../backoff.js';
import { mapLimit } from '../concurrency.js';

/** The part of SQSClient this adapter uses. */
export interface SqsSender {
  send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput>;
}

export const SQS_BATCH_SIZE = 10;
/** SendMessageBatch calls at once. */
export const SEND_CONCURRENCY = 4;

/** Re-sends of the entries SQS reports as failed: tries of an entry, the first included. */
export const SQS_ENTRY_BACKOFF: BackoffPolicy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 2000 };

export class SqsSendError extends Error {
  override readonly name = 'SqsSendError';
  constructor(
    message: string,
    /** deduplication ids of the decisions not sent */
    readonly failed: readonly string[],
  ) {
    super(message);
  }
}

interface Pending {
  readonly entry: SendMessageBatchRequestEntry;
  lastError: string;
}

export class SqsDecisionQueue implements DecisionQueue {
  constructor(
    private readonly client: SqsSender,
    private readonly queueUrl: string,
    private readonly backoff: BackoffPolicy = SQS_ENTRY_BACKOFF,
  ) {}

  async send(decisions: readonly PoolMessage[]): Promise<void> {
    const batches: SendMessageBatchRequestEntry[][] = [];
    for (let i = 0; i < decisions.length; i += SQS_BATCH_SIZE)
      batches.push(decisions.slice(i, i + SQS_BATCH_SIZE).map(toEntry));
    const failed = (
      await mapLimit(batches, groupsApart(batches) ? SEND_CONCURRENCY : 1, (b) => this.sendBatch(b))
    ).flat();
    if (failed.length > 0) {
      const ids = failed.map((p) => p.entry.MessageDeduplicationId!);
      throw new SqsSendError(
        `${failed.length} of ${decisions.length} decisions not queued: ` +
          failed.map((p) => `${p.entry.MessageDeduplicationId} (${p.lastError})`).join(', '),
        ids,
      );
    }
  }

  /** Sends up to 10 entries; returns those that still failed after the allowed attempts. */
  private async sendBatch(entries: SendMessageBatchRequestEntry[]): Promise<Pending[]> {
    const givenUp: Pending[] = [];
    const left = await retryRemaining(
      entries.map((entry): Pending => ({ entry, lastError: '' })),
      async (pending) => {
        const byId = new Map(pending.map((p) => [p.entry.Id!, p]));
        const retry: Pending[] = [];
        try {
          const out = await this.client.send(
            new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending.map((p) => p.entry) }),
          );
          for (const f of out.Failed ?? []) {
            const p = byId.get(f.Id ?? '');
            if (!p) continue;
            p.lastError = `${f.Code ?? 'error'}${f.Message ? `: ${f.Message}` : ''}`;
            // A sender fault (bad parameter, too large) fails again however often it is sent.
            (f.SenderFault ? givenUp : retry).push(p);
          }
        } catch (err) {
          // The whole call failed after the SDK's own retries (clientConfig.ts): the evaluation
          // fails, naming these decisions, and the next scheduled one decides again.
          for (const p of pending) p.lastError = describeError(err);
          givenUp.push(...pending);
        }
        return retry;
      },
      this.backoff,
    );
    return [...givenUp, ...left];
  }
}

/** Whether every message group is within one batch. */
function groupsApart(batches: readonly SendMessageBatchRequestEntry[][]): boolean {
  const seen = new Map<string, number>();
  return batches.every((batch, i) =>
    batch.every((e) => {
      const at = seen.get(e.MessageGroupId!);
      seen.set(e.MessageGroupId!, i);
      return at === undefined || at === i;
    }),
  );
}

function toEntry(d: PoolMessage, index: number): SendMessageBatchRequestEntry {
  return {
    Id: String(index),
    MessageBody: JSON.stringify(d),
    MessageGroupId: groupIdOf(d),
    MessageDeduplicationId: deduplicationIdOf(d),
  };
}
