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
  await moto?.stop();
});

async function dynamoState(): Promise<DynamoDecisionState> {
  const name = `sva-state-${++tables}`;
  await createStateTable(moto!.dynamo, name);
  return new DynamoDecisionState(moto!.documents, name);
}

/** A script of calls and the answers both implementations must give. */
async function transcript(state: DecisionState): Promise<unknown[]> {
  const v = 'llm/chat';
  const reached = async (variants: string[], generation?: number) =>
    Object.fromEntries(await state.poolsReached(variants, generation));
  return [
    await state.lastApplied(v),
    await state.claim(v, 3),
    await state.lastApplied(v),
    await state.claim(v, 3), // same sequence, not applied yet: a retry after a crash may act
    await state.claim(v, 2), // older: refused, with the mark in its way
    await state.markDone(v, { poolSequence: 4, appliedSequence: 2 }), // not the claimed one: not applied
    await state.lastApplied(v),
    await state.markDone(v, { poolSequence: 5, appliedSequence: 3, count: { direction: 'up' } }),
    await state.lastApplied(v),
    await state.claim(v, 3), // already applied: duplicate
    await state.claim(v, 4),
    await state.lastApplied('llm/other'),
    await state.claimCapacity('default', 5),
    await state.claimCapacity('default', 5), // the same intent again (a redelivery)
    await state.claimCapacity('default', 4), // an older evaluation's intent
    await state.claimCapacity('default', 6),
    await state.markDone(v, { poolSequence: 3 }), // a late, older decision: the mark stays at 5
    await reached([v, 'llm/other']),
    // applied, counted, but the pool mark already further: the other parts still hold
    await state.markDone(v, { poolSequence: 4, appliedSequence: 4, count: { direction: 'up' } }),
    await state.lastApplied(v),
    await reached([v]),
    // generations: a newer one resets the comparison, an older one is refused
    await state.claim(v, 1, 2000), // a fresh memory: sequence 1 of a newer generation
    await state.lastApplied(v),
    await state.claim(v, 9, 1000), // a restored memory's generation: refused
    await state.markDone(v, { poolSequence: 9, generation: 1000, appliedSequence: 1 }), // not this generation
    await state.lastApplied(v),
    await reached([v], 1000),
    await state.markDone(v, { poolSequence: 1, generation: 2000, appliedSequence: 1 }), // starts the mark again
    await state.lastApplied(v),
    await reached([v], 2000),
    await reached([v], 1000), // gone on to a newer one
    await reached([v], 3000), // only in an older one
    await state.claimCapacity('default', 1, 2000),
    await state.claimCapacity('default', 7, 1000),
    await state.capacityMark('default'),
    await state.capacityMark('other'),
    await state.incrementCounter('inferno_decisions_dropped_total', { reason: 'expired' }),
    await state.incrementCounter('inferno_decisions_dropped_total', { reason: 'expired' }),
    await state.markDone('llm/code', { poolSequence: 1, count: { variant_name: 'code', direction: 'up' } }),
    // same labels, any order
    await state.markDone('llm/code', { poolSequence: 2, count: { direction: 'up', variant_name: 'code' } }),
    await state.markDone('llm/code', { poolSequence: 3, count: { variant_name: 'code', direction: 'down' } }),
    await state.loadPolicy('default'),
  ];
}

test('answers exactly as the in-memory state does', async () => {
  const expected = await transcript(new MemoryDecisionState());
  expect(await transcript(await dynamoState())).toEqual(expected);
  expect(expected.slice(0, 9)).toEqual([
    { sequence: 0, applied: false },
    { claimed: true },
    { sequence: 3, applied: false },
    { claimed: true },
    { claimed: false, last: { sequence: 3, applied: false } },
    {},
    { sequence: 3, applied: false },
    { count: 1 },
    { sequence: 3, applied: true },
  ]);
  expect(expected.slice(17, 21)).toEqual([
    { 'llm/chat': 5, 'llm/other': 0 },
    { count: 2 },
    { sequence: 4, applied: true },
    { 'llm/chat': 5 },
  ]);
});

test('pool marks of more variants than one BatchGetItem takes come back whole', async () => {
  const state = await dynamoState();
  const variants = Array.from({ length: 150 }, (_, i) => `llm/v${i}`);
  await Promise.all(
    variants.slice(0, 120).map((v, i) => state.markDone(v, { poolSequence: i + 1, generation: 7 })),
  );
  const reached = await state.poolsReached(variants, 7);
  expect([...reached.keys()]).toEqual(variants);
  expect(variants.map((v) => reached.get(v))).toEqual(variants.map((_, i) => (i < 120 ? i + 1 : 0)));
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
  expect(await a.claim('llm/chat', 5)).toEqual({ claimed: true });
  await b.markDone('llm/chat', { poolSequence: 5, appliedSequence: 5 });
  // Marked applied by one consumer: the other cannot take it on again.
  expect(await a.claim('llm/chat', 5)).toEqual({ claimed: false, last: { sequence: 5, applied: true } });

  const claims = await Promise.all(
    Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).claim('llm/code', i + 1)),
  );
  expect(claims[7]).toEqual({ claimed: true }); // the newest always gets through, whatever the order
  expect(await a.lastApplied('llm/code')).toEqual({ sequence: 8, applied: false });

  const groups = await Promise.all(
    Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).claimCapacity('default', 10 + i)),
  );
  expect(groups[5]).toBe(true);
  expect(await a.claimCapacity('default', 14)).toBe(false); // 15 is held: an older intent cannot undo it

  const counts = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      (i % 2 ? a : b).markDone('llm/code', { poolSequence: i, count: { variant_name: 'code' } }),
    ),
  );
  expect(counts.map((c) => c.count!).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});
