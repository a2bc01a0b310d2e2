/** SqsDeadLetters: the body as received, its group and deduplication id on a FIFO queue, the reason as an attribute. */
import type { SendMessageCommand } from '@aws-sdk/client-sqs';
import { SqsDeadLetters } from '../../../lib/adapters/sqs/index.js';

function recorder() {
  const sent: SendMessageCommand['input'][] = [];
  return { sent, client: { send: async (c: SendMessageCommand) => (sent.push(c.input), { $metadata: {} }) } };
}

test('FIFO: same message group, the original message id as deduplication id, reason attribute', async () => {
  const r = recorder();
  await new SqsDeadLetters(r.client, 'https://sqs/q-dlq.fifo').send({
    body: '{"id":"x"}',
    groupId: 'llm/chat',
    deduplicationId: 'm-1',
    reason: 'rejected: decision.variant: llm/ghost is not a variant of the config',
  });
  expect(r.sent).toEqual([
    {
      QueueUrl: 'https://sqs/q-dlq.fifo',
      MessageBody: '{"id":"x"}',
      MessageGroupId: 'llm/chat',
      MessageDeduplicationId: 'm-1',
      MessageAttributes: {
        reason: {
          DataType: 'String',
          StringValue: 'rejected: decision.variant: llm/ghost is not a variant of the config',
        },
      },
    },
  ]);
});

test('a standard queue gets no group; a long reason is cut to 1000 characters', async () => {
  const r = recorder();
  await new SqsDeadLetters(r.client, 'https://sqs/q-dlq').send({
    body: 'b',
    groupId: 'g',
    deduplicationId: 'd',
    reason: 'x'.repeat(5000),
  });
  expect(r.sent[0]!.MessageGroupId).toBeUndefined();
  expect(r.sent[0]!.MessageAttributes!.reason!.StringValue).toHaveLength(1000);
});
