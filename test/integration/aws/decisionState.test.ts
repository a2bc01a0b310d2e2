/**
 * DynamoDecisionState against DynamoDB (moto), case by case against MemoryDecisionState: the
 * same calls give the same answers, and concurrent claims of one decision let exactly one win.
 */
import { jest } from '@jest/globals';
import { DynamoDecisionState, PolicyConflictError } from '../../../lib/adapters/dynamodb/index.js';
import { MemoryDecisionState } from '../../../lib/adapters/memory/index.js';
import type { PolicyMemory } from '../../../lib/policy/memory.js';
import type { DecisionState } from '../../../lib/policy/ports.js';
import { createStateTable, startMoto, type Moto } from './moto.js';

jest.setTimeout(60_000);

let moto: Moto | undefined;
let tables = 0;

beforeAll(async () => {
  moto = await startMoto();
});

afterAll(async () => {
  await moto?.server.stop();
});

async function dynamoState(): Promise<DynamoDecisionState> {
  const name = `sva-state-${++tables}`;
  await createStateTable(moto!.dynamo, name);
  return new DynamoDecisionState(moto!.documents, name);
}

/** A script of calls and the answers both implementations must give. */
async function transcript(state: DecisionState): Promise<unknown[]> {
  const v = 'llm/chat';
  return [
    await state.lastApplied(v),
    await state.claim(v, 3),
    await state.lastApplied(v),
    await state.claim(v, 3), // same sequence, not applied yet: a retry after a crash may act
    await state.claim(v, 2), // older
    await state.markApplied(v, 2), // not the claimed one: no effect
    await state.lastApplied(v),
    await state.markApplied(v, 3),
    await state.lastApplied(v),
    await state.claim(v, 3), // already applied: duplicate
    await state.claim(v, 4),
    await state.lastApplied('llm/other'),
    await state.claimCapacity('default', 5),
    await state.claimCapacity('default', 5), // the same intent again (a redelivery)
    await state.claimCapacity('default', 4), // an older evaluation's intent
    await state.claimCapacity('default', 6),
    await state.markPoolReached('llm/chat', 5),
    await state.markPoolReached('llm/chat', 3), // a late, older decision: the mark stays at 5
    await state.poolReached('llm/chat'),
    await state.poolReached('llm/other'),
    // generations: a newer one resets the comparison, an older one is refused
    await state.claim(v, 1, 2000), // a fresh memory: sequence 1 of a newer generation
    await state.lastApplied(v),
    await state.claim(v, 9, 1000), // a restored memory's generation: refused
    await state.markApplied(v, 1, 1000), // not this generation: no effect
    await state.markApplied(v, 1, 2000),
    await state.lastApplied(v),
    await state.markPoolReached('llm/chat', 1, 2000), // a newer generation starts the mark again
    await state.poolReached('llm/chat', 2000),
    await state.poolReached('llm/chat', 1000), // gone on to a newer one
    await state.poolReached('llm/chat', 3000), // only in an older one
    await state.claimCapacity('default', 1, 2000),
    await state.claimCapacity('default', 7, 1000),
    await state.capacityMark('default'),
    await state.capacityMark('other'),
    await state.incrementCounter('inferno_decisions_dropped_total', { reason: 'expired' }),
    await state.incrementCounter('inferno_decisions_dropped_total', { reason: 'expired' }),
    await state.incrementScalingCounter({ variant_name: 'chat', direction: 'up' }),
    await state.incrementScalingCounter({ direction: 'up', variant_name: 'chat' }), // same labels, any order
    await state.incrementScalingCounter({ variant_name: 'chat', direction: 'down' }),
    await state.loadPolicy('default'),
  ];
}

test('answers exactly as the in-memory state does', async () => {
  const expected = await transcript(new MemoryDecisionState());
  expect(await transcript(await dynamoState())).toEqual(expected);
  expect(expected.slice(0, 5)).toEqual([
    { sequence: 0, applied: false },
    true,
    { sequence: 3, applied: false },
    true,
    false,
  ]);
});

test('policy memory round-trips per pool', async () => {
  const state = await dynamoState();
  const memory: PolicyMemory = {
    poolSequence: 7,
    variants: {
      'llm/chat': {
        sequence: 7,
        recommendations: [{ t: 1000, accelerator: 'L4', replicas: 3 }],
        demand: [{ t: 1000, rate: 2.5 }],
        correction: { ttft: 1.2, itl: 1 },
      },
    },
  };
  await state.savePolicy('gpu-a', memory);
  expect(await state.loadPolicy('gpu-a')).toEqual(memory);
  expect(await state.loadPolicy('gpu-b')).toEqual({ poolSequence: 0, variants: {} });
});

test('an overlapping evaluation cannot save the same pool sequence twice', async () => {
  const state = await dynamoState();
  await state.savePolicy('default', { poolSequence: 1, variants: {} });
  await state.savePolicy('default', { poolSequence: 2, variants: {} });
  await expect(state.savePolicy('default', { poolSequence: 2, variants: {} })).rejects.toBeInstanceOf(
    PolicyConflictError,
  );
  expect((await state.loadPolicy('default')).poolSequence).toBe(2);
});

test('concurrent consumers settle on the newest sequence and never lose a count', async () => {
  const a = await dynamoState();
  // A second consumer of the same table.
  const b = new DynamoDecisionState(moto!.documents, `sva-state-${tables}`);
  expect(await a.claim('llm/chat', 5)).toBe(true);
  await b.markApplied('llm/chat', 5);
  // Marked applied by one consumer: the other cannot take it on again.
  expect(await a.claim('llm/chat', 5)).toBe(false);

  const claims = await Promise.all(
    Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).claim('llm/code', i + 1)),
  );
  expect(claims[7]).toBe(true); // the newest always gets through, whatever the order
  expect(await a.lastApplied('llm/code')).toEqual({ sequence: 8, applied: false });

  const groups = await Promise.all(
    Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).claimCapacity('default', 10 + i)),
  );
  expect(groups[5]).toBe(true);
  expect(await a.claimCapacity('default', 14)).toBe(false); // 15 is held: an older intent cannot undo it

  const counts = await Promise.all(
    Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).incrementScalingCounter({ variant_name: 'code' })),
  );
  expect([...counts].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});
