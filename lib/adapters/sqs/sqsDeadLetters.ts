/**
 * The dead-letter queue as apply's own outlet: a message apply rejects or a permanent error
 * ends is sent here at once (SQS redrive alone would first hold the message group for
 * maxReceiveCount receives), on the message group it came from, with the reason as the
 * `reason` message attribute. A FIFO queue needs the deduplication id: the original message id.
 */
import { SendMessageCommand, type SendMessageCommandOutput } from '@aws-sdk/client-sqs';
import type { DeadLetters } from '../../policy/ports.js';

export interface SqsMessageSender {
  send(command: SendMessageCommand): Promise<SendMessageCommandOutput>;
}

/** SQS message attributes hold up to 256 KiB; a reason is a line. */
const MAX_REASON = 1000;

export class SqsDeadLetters implements DeadLetters {
  constructor(
    private readonly client: SqsMessageSender,
    private readonly queueUrl: string,
  ) {}

  async send(m: { body: string; groupId: string; deduplicationId: string; reason: string }): Promise<void> {
    const fifo = this.queueUrl.endsWith('.fifo');
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: m.body,
        ...(fifo ? { MessageGroupId: m.groupId, MessageDeduplicationId: m.deduplicationId } : {}),
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: m.reason.slice(0, MAX_REASON) || 'rejected' },
        },
      }),
    );
  }
}
