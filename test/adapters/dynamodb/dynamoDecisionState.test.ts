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

test('claim writes its condition on the stored sequence; a refusal brings the mark in its way', async () => {
  // As DynamoDB returns the item of a failed condition: in its typed form.
  const refused = Object.assign(conditionFailed(), {
    Item: {
      pk: { S: 'applied#llm/chat' },
      sequence: { N: '6' },
      applied: { BOOL: true },
      generation: { N: '2000' },
    },
  });
  const { db, commands } = fakeDb([refused]);
  const state = new DynamoDecisionState(db, 't');
  expect(await state.claim('llm/chat', 4)).toEqual({
    claimed: false,
    last: { sequence: 6, applied: true, generation: 2000 },
  });
  expect(commands).toHaveLength(1); // no read before or after
  expect(commands[0]!.input).toMatchObject({
    TableName: 't',
    Key: { pk: 'applied#llm/chat' },
    ConditionExpression:
      'attribute_not_exists(pk) OR #g < :g OR ((attribute_not_exists(#g) OR #g = :g) AND (#s < :s OR (#s = :s AND applied = :no)))',
    ExpressionAttributeValues: { ':s': 4, ':no': false },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  });
  expect(await state.claim('llm/chat', 4)).toEqual({ claimed: true });
});

test('other errors are not mistaken for a lost race', async () => {
  const throttled = Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' });
  const { db } = fakeDb([throttled]);
  await expect(new DynamoDecisionState(db, 't').claimCapacity('default', 3)).rejects.toThrow('slow down');
});

test('markDone is one write: pool mark, applied mark and the scaling counter, their conditions together', async () => {
  const { db, commands } = fakeDb();
  const state = new DynamoDecisionState(db, 't');
  const labels = { reason: 'load', direction: 'up' };
  const fake = { Attributes: { 'scaling#direction=up,reason=load': 3 } };
  (db as { send: unknown }).send = async (command: UpdateCommand) => (commands.push(command), fake);
  expect(await state.markDone('llm/chat', { poolSequence: 7, appliedSequence: 4, count: labels })).toEqual({
    count: 3,
  });
  expect(commands).toHaveLength(1);
  const input = commands[0]!.input as UpdateCommand['input'];
  expect(input).toMatchObject({
    Key: { pk: 'applied#llm/chat' },
    UpdateExpression: 'SET #rp = :rp, #rg = :rg, applied = :yes, appliedAt = :now ADD #c :one',
    ConditionExpression:
      '(attribute_not_exists(#rp) OR #rg < :rg OR (#rg = :rg AND #rp < :rp)) AND (#s = :s AND (attribute_not_exists(#g) OR #g = :g))',
    ReturnValues: 'UPDATED_NEW',
  });
  // the same label set, keys in any order
  expect(input.ExpressionAttributeNames!['#c']).toBe('scaling#direction=up,reason=load');
});

test('when one part of markDone is refused, the others are written on their own', async () => {
  const { db, commands } = fakeDb([conditionFailed(), conditionFailed()]);
  const state = new DynamoDecisionState(db, 't');
  expect(
    await state.markDone('llm/chat', { poolSequence: 7, appliedSequence: 4, count: { direction: 'up' } }),
  ).toEqual({ count: 0 }); // the fake answers without the counter
  const expressions = commands.map((c) => (c.input as UpdateCommand['input']).UpdateExpression).sort();
  expect(expressions).toEqual([
    'ADD #c :one',
    'SET #rp = :rp, #rg = :rg',
    'SET #rp = :rp, #rg = :rg, applied = :yes, appliedAt = :now ADD #c :one',
    'SET applied = :yes, appliedAt = :now',
  ]);
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
