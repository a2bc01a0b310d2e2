/** DynamoDecisionState with a scripted document client: the conditions it writes and how it reads failures. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  DynamoDecisionState,
  MAX_POLICY_BYTES,
  PolicyConflictError,
} from '../../../lib/adapters/dynamodb/index.js';
import type { PolicyMemory } from '../../../lib/policy/memory.js';

const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

function fakeDb(faults: Error[] = []) {
  const commands: (PutCommand | UpdateCommand)[] = [];
  const db = {
    send: async (command: PutCommand | UpdateCommand) => {
      commands.push(command);
      const fault = faults.shift();
      if (fault) throw fault;
      return { Attributes: { value: 3 } };
    },
  };
  return { db: db as unknown as ConstructorParameters<typeof DynamoDecisionState>[0], commands };
}

test('claim writes its condition on the stored sequence and reports a failed condition as false', async () => {
  const { db, commands } = fakeDb([conditionFailed()]);
  const state = new DynamoDecisionState(db, 't');
  expect(await state.claim('llm/chat', 4)).toBe(false);
  expect(commands[0]!.input).toMatchObject({
    TableName: 't',
    Key: { pk: 'applied#llm/chat' },
    ConditionExpression:
      'attribute_not_exists(pk) OR #g < :g OR ((attribute_not_exists(#g) OR #g = :g) AND (#s < :s OR (#s = :s AND applied = :no)))',
    ExpressionAttributeValues: { ':s': 4, ':no': false },
  });
  expect(await state.claim('llm/chat', 4)).toBe(true);
});

test('other errors are not mistaken for a lost race', async () => {
  const throttled = Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' });
  const { db } = fakeDb([throttled]);
  await expect(new DynamoDecisionState(db, 't').claimCapacity('default', 3)).rejects.toThrow('slow down');
});

test('counters are one atomic ADD per label set, labels in any order', async () => {
  const { db, commands } = fakeDb();
  const state = new DynamoDecisionState(db, 't');
  expect(await state.incrementScalingCounter({ reason: 'load', direction: 'up' })).toBe(3);
  await state.incrementScalingCounter({ direction: 'up', reason: 'load' });
  expect(commands.map((c) => (c.input as UpdateCommand['input']).Key)).toEqual([
    { pk: 'counter#direction=up,reason=load' },
    { pk: 'counter#direction=up,reason=load' },
  ]);
  expect((commands[0]!.input as UpdateCommand['input']).UpdateExpression).toBe(
    'ADD #v :one SET labels = :labels',
  );
});

test('policy memory is saved compressed, only over an older pool sequence', async () => {
  const { db, commands } = fakeDb([conditionFailed()]);
  const state = new DynamoDecisionState(db, 't');
  const err = await state.savePolicy('default', { poolSequence: 9, variants: {} }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PolicyConflictError);
  expect((err as Error).message).toContain('pool default: evaluation 9 overlaps another');
  expect((commands[0]!.input as PutCommand['input']).ConditionExpression).toBe(
    'attribute_not_exists(pk) OR poolSequence < :p',
  );
});

test('a pool too large for one item is refused with advice, before any write', async () => {
  const { db, commands } = fakeDb();
  // Incompressible: random recommendations.
  const variants: PolicyMemory['variants'] = {};
  for (let i = 0; i < 15_000; i++) {
    variants[`ns/${Math.random().toString(36)}`] = {
      sequence: i,
      recommendations: [{ t: Math.random() * 1e9, accelerator: Math.random().toString(36), replicas: i }],
      demand: [{ t: Math.random() * 1e9, rate: Math.random() }],
    };
  }
  await expect(
    new DynamoDecisionState(db, 't').savePolicy('huge', { poolSequence: 1, variants }),
  ).rejects.toThrow(
    /policy memory of pool huge is \d+ bytes compressed, more than a DynamoDB item holds; split the fleet into smaller pools/,
  );
  expect(commands).toEqual([]);
  expect(MAX_POLICY_BYTES).toBe(350 * 1024);
});
