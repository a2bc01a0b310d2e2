/** SqsDecisionQueue with a scripted SQS: which entries are re-sent, how often, and what is reported. */
import type { SendMessageBatchCommand, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { SqsDecisionQueue, SqsSendError } from '../../../lib/adapters/sqs/index.js';
import { SEND_CONCURRENCY } from '../../../lib/adapters/sqs/sqsDecisionQueue.js';
import { decision } from '../../functions/decisions.js';

type Reply = (ids: string[]) => Partial<SendMessageBatchCommandOutput> | Error;

function scriptedSqs(replies: Reply[]) {
  const calls: { ids: string[]; dedup: string[]; groups: string[] }[] = [];
  const client = {
    send: async (command: SendMessageBatchCommand) => {
      const entries = command.input.Entries ?? [];
      calls.push({
        ids: entries.map((e) => e.Id!),
        dedup: entries.map((e) => e.MessageDeduplicationId!),
        groups: entries.map((e) => e.MessageGroupId!),
      });
      const reply = replies[calls.length - 1] ?? (() => ({ Successful: [], Failed: [] }));
      const out = reply(entries.map((e) => e.Id!));
      if (out instanceof Error) throw out;
      return { $metadata: {}, Successful: [], Failed: [], ...out } as SendMessageBatchCommandOutput;
    },
  };
  return { client, calls };
}

const sleeps: number[] = [];
const backoff = {
  attempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 300,
  random: () => 1,
  sleep: async (ms: number) => void sleeps.push(ms),
};
const decisions = (n: number) =>
  Array.from({ length: n }, (_, i) => decision({ variant: `v${i}`, sequence: 2 }));

beforeEach(() => {
  sleeps.length = 0;
});

test('sends 10 per call with group and deduplication ids from the decision', async () => {
  const { client, calls } = scriptedSqs([]);
  await new SqsDecisionQueue(client, 'q', backoff).send(decisions(12));
  expect(calls.map((c) => c.ids.length)).toEqual([10, 2]);
  expect(calls[1]).toEqual({
    ids: ['0', '1'],
    dedup: ['llm.v10.2', 'llm.v11.2'],
    groups: ['llm/v10', 'llm/v11'],
  });
  expect(sleeps).toEqual([]);
});

test('re-sends only the failed entries, with growing delays, until they go through', async () => {
  const failed =
    (...ids: string[]) =>
    () => ({
      Failed: ids.map((Id) => ({ Id, Code: 'InternalError', SenderFault: false })),
    });
  const { client, calls } = scriptedSqs([failed('3', '7'), failed('7')]);
  await new SqsDecisionQueue(client, 'q', backoff).send(decisions(10));
  expect(calls.map((c) => c.ids)).toEqual([
    ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    ['3', '7'],
    ['7'],
  ]);
  expect(sleeps).toEqual([100, 200]);
});

test('the delay between re-sends of failed entries is capped', async () => {
  const failing = () => ({ Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }] });
  const { client, calls } = scriptedSqs([failing, failing, failing]);
  await new SqsDecisionQueue(client, 'q', backoff).send(decisions(1));
  expect(calls).toHaveLength(4);
  expect(sleeps).toEqual([100, 200, 300]);
});

test('a whole call that still fails after the SDK retried it is reported, not re-sent', async () => {
  // The client's own retry strategy (aws/clientConfig.ts) has retried throttling already.
  const throttled = () =>
    Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' });
  const { client, calls } = scriptedSqs([throttled]);
  await expect(new SqsDecisionQueue(client, 'q', backoff).send(decisions(2))).rejects.toThrow(
    '2 of 2 decisions not queued: llm.v0.2 (ThrottlingException: Rate exceeded), llm.v1.2 (ThrottlingException: Rate exceeded)',
  );
  expect(calls).toHaveLength(1);
  expect(sleeps).toEqual([]);
});

test('what still fails after the attempts is named in the error; sender faults are not re-sent', async () => {
  const { client, calls } = scriptedSqs([
    () => ({
      Failed: [
        { Id: '1', Code: 'InvalidParameterValue', Message: 'bad group', SenderFault: true },
        { Id: '2', Code: 'ServiceUnavailable', SenderFault: false },
      ],
    }),
    () => ({ Failed: [{ Id: '2', Code: 'ServiceUnavailable', SenderFault: false }] }),
    () => ({ Failed: [{ Id: '2', Code: 'ServiceUnavailable', SenderFault: false }] }),
    () => ({ Failed: [{ Id: '2', Code: 'ServiceUnavailable', SenderFault: false }] }),
  ]);
  const err = await new SqsDecisionQueue(client, 'q', backoff).send(decisions(4)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SqsSendError);
  expect((err as SqsSendError).failed).toEqual(['llm.v1.2', 'llm.v2.2']);
  expect((err as Error).message).toBe(
    '2 of 4 decisions not queued: llm.v1.2 (InvalidParameterValue: bad group), llm.v2.2 (ServiceUnavailable)',
  );
  expect(calls.map((c) => c.ids)).toEqual([['0', '1', '2', '3'], ['2'], ['2'], ['2']]);
});

test('a client error on the whole call (access denied) is not retried', async () => {
  const denied = () => Object.assign(new Error('not authorized'), { name: 'AccessDenied', $fault: 'client' });
  const { client, calls } = scriptedSqs([denied]);
  await expect(new SqsDecisionQueue(client, 'q', backoff).send(decisions(2))).rejects.toThrow(
    '2 of 2 decisions not queued: llm.v0.2 (AccessDenied: not authorized), llm.v1.2 (AccessDenied: not authorized)',
  );
  expect(calls).toHaveLength(1);
});

test('nothing to send makes no call', async () => {
  const { client, calls } = scriptedSqs([]);
  await new SqsDecisionQueue(client, 'q', backoff).send([]);
  expect(calls).toHaveLength(0);
});

/** An SQS whose calls take a while, recording how many are in flight at once. */
function slowSqs() {
  let inFlight = 0;
  const seen = { most: 0, order: [] as string[][] };
  const client = {
    send: async (command: SendMessageBatchCommand) => {
      seen.order.push((command.input.Entries ?? []).map((e) => e.MessageGroupId!));
      seen.most = Math.max(seen.most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return { $metadata: {}, Successful: [], Failed: [] } as SendMessageBatchCommandOutput;
    },
  };
  return { client, seen };
}

test('calls go out together when every message group is within one call', async () => {
  const { client, seen } = slowSqs();
  await new SqsDecisionQueue(client, 'q', backoff).send(decisions(101));
  expect(seen.order).toHaveLength(11);
  expect(seen.most).toBe(SEND_CONCURRENCY);
});

test('calls go in turn when a message group spans two of them, so its order holds', async () => {
  const { client, seen } = slowSqs();
  const spread = [...decisions(10), decision({ variant: 'v0', sequence: 3 })];
  await new SqsDecisionQueue(client, 'q', backoff).send(spread);
  expect(seen.order.map((groups) => groups.length)).toEqual([10, 1]);
  expect(seen.most).toBe(1);
});
