/**
 * DynamoSeasonStore against DynamoDB (moto), beside MemorySeasonStore: the same states come back,
 * more variants than one BatchGetItem takes are all read, and a stored state that does not parse
 * is dropped with a warning (the variant starts over) instead of failing the evaluation.
 */
import { jest } from '@jest/globals';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoSeasonStore } from '../../../lib/adapters/dynamodb/index.js';
import { MemorySeasonStore } from '../../../lib/adapters/memory/index.js';
import { observeSeason, type SeasonState } from '../../../lib/policy/seasonal.js';
import { createStateTable, startMoto, type Moto } from './moto.js';

jest.setTimeout(60_000);

let moto: Moto | undefined;

beforeAll(async () => {
  moto = await startMoto();
  await createStateTable(moto.dynamo, 'sva-seasons');
});

afterAll(async () => {
  await moto?.stop();
});

/** A state with a few slots learnt, distinct per variant. */
function stateFor(i: number): SeasonState {
  let s: SeasonState | undefined;
  for (let t = 0; t < 1800; t += 30)
    s = observeSeason(s, t, i + Math.sin(t / 300), { level: 0.2, trend: 0.02, season: 0.3 });
  return s!;
}

describe('DynamoSeasonStore', () => {
  it('gives back what was saved, as the memory double does, and nothing for unknown variants', async () => {
    const warnings: string[] = [];
    const dynamo = new DynamoSeasonStore(moto!.documents, 'sva-seasons', (m) => warnings.push(m));
    const memory = new MemorySeasonStore();
    const states = new Map([
      ['llm/chat', stateFor(1)],
      ['llm/code', stateFor(2)],
    ]);
    await dynamo.save(states);
    await memory.save(states);
    const keys = ['llm/chat', 'llm/code', 'llm/new'];
    const fromDynamo = await dynamo.load(keys);
    expect(fromDynamo).toEqual(await memory.load(keys));
    expect(fromDynamo.get('llm/chat')).toEqual(states.get('llm/chat'));
    expect(fromDynamo.has('llm/new')).toBe(false);
    expect(warnings).toEqual([]);
  });

  it('reads more variants than one batch takes', async () => {
    const dynamo = new DynamoSeasonStore(moto!.documents, 'sva-seasons');
    const states = new Map(Array.from({ length: 130 }, (_, i) => [`ns/v${i}`, stateFor(i)] as const));
    await dynamo.save(states);
    const loaded = await dynamo.load([...states.keys()]);
    expect(loaded.size).toBe(130);
    expect(loaded.get('ns/v129')).toEqual(states.get('ns/v129'));
  });

  it('drops a stored state that does not parse, naming the field, and the variant starts over', async () => {
    const warnings: string[] = [];
    const dynamo = new DynamoSeasonStore(moto!.documents, 'sva-seasons', (m) => warnings.push(m));
    const bad = { ...stateFor(3), season: [1, 2, 3] };
    await moto!.documents.send(
      new PutCommand({
        TableName: 'sva-seasons',
        Item: { pk: 'season#llm/bad', state: JSON.stringify(bad) },
      }),
    );
    await moto!.documents.send(
      new PutCommand({ TableName: 'sva-seasons', Item: { pk: 'season#llm/garbled', state: '{not json' } }),
    );
    const loaded = await dynamo.load(['llm/bad', 'llm/garbled', 'llm/chat']);
    expect([...loaded.keys()]).toEqual(['llm/chat']);
    expect(warnings.sort()).toEqual([
      expect.stringMatching(/season#llm\/bad dropped: season: /),
      'season store: season#llm/garbled dropped: not JSON',
    ]);
  });
});
