/** The ingest use case on the memory doubles: one write per engine and slot, one evaluation per burst. */
import {
  InProcessEvaluationTrigger,
  ManualClock,
  MemoryGatewayLoad,
} from '../../lib/adapters/memory/index.js';
import { ingestBatch } from '../../lib/loop/ingest.js';
import { CHAT, CHAT_MODEL, gatewayConfig, request, T } from './events.js';

const config = gatewayConfig();

function setup() {
  const store = new MemoryGatewayLoad();
  const evaluations: string[] = [];
  const trigger = new InProcessEvaluationTrigger(async (pool) => {
    evaluations.push(pool);
  });
  const clock = new ManualClock(T);
  return { store, trigger, clock, evaluations, deps: { store, trigger, clock } };
}

const message = (id: string, body: unknown) => ({ id, body: JSON.stringify(body) });
const queued = (id: string, at = T) => ({ type: 'queued', id, at, model: CHAT_MODEL, promptTokens: 200 });

describe('ingestBatch', () => {
  it('writes once per engine and once per slot whatever the number of events', async () => {
    const { deps, store } = setup();
    const events = Array.from({ length: 50 }, (_, i) =>
      request(`r${i}`, { at: T + (i % 5), engine: `p${i % 2}`, prompt: 300, output: 50 }),
    ).flat();
    const result = await ingestBatch(
      deps,
      events.map((e, i) => message(`m${i}`, e)),
      config,
      'default',
    );
    expect(result).toMatchObject({ messages: 150, events: 150, applied: 150, writes: 3, dropped: [] });
    expect(store.writes).toBe(3);
  });

  it('counts and drops bad messages with their reason and applies the rest', async () => {
    const { deps } = setup();
    const good = request('a', { at: T, engine: 'p1', prompt: 100, output: 20 });
    const result = await ingestBatch(
      deps,
      [
        message('1', good),
        { id: '2', body: 'not json' },
        message('3', { ...good[0], promptTokens: 'many' }),
        message('4', { ...good[0], promptTokens: 'many' }),
      ],
      config,
      'default',
    );
    expect(result.applied).toBe(3);
    expect(result.dropped).toEqual([
      { reason: 'invalid message: not JSON', count: 1 },
      { reason: expect.stringMatching(/^invalid message: promptTokens/), count: 2 },
    ]);
  });

  it('triggers one evaluation for a burst of requests at zero replicas, across batches', async () => {
    const { deps, evaluations, trigger, clock } = setup();
    const first = await ingestBatch(
      deps,
      [message('1', queued('a')), message('2', queued('b'))],
      config,
      'default',
    );
    expect(first).toMatchObject({ triggered: true, waitingForReplicas: [CHAT] });
    clock.set(T + 2);
    const second = await ingestBatch(deps, [message('3', queued('c', T + 2))], config, 'default');
    expect(second.triggered).toBe(false);
    expect(second.triggerSkipped).toMatch(/less than 10 s ago/);
    await trigger.settled();
    expect(evaluations).toEqual(['default']);
    // after the debounce period, requests still waiting trigger again
    clock.set(T + 12);
    expect((await ingestBatch(deps, [message('4', queued('d', T + 12))], config, 'default')).triggered).toBe(
      true,
    );
  });

  it('does not trigger on requests that found an engine', async () => {
    const { deps, evaluations } = setup();
    const result = await ingestBatch(
      deps,
      [message('1', request('a', { at: T, engine: 'p1', prompt: 100, output: 20 }))],
      config,
      'default',
    );
    expect(result.triggered).toBe(false);
    expect(evaluations).toEqual([]);
  });

  it('skips writes of a redelivered batch', async () => {
    const { deps, store } = setup();
    const batch = [message('1', request('a', { at: T, engine: 'p1', prompt: 100, output: 20 }).slice(0, 1))];
    await ingestBatch(deps, batch, config, 'default');
    const again = await ingestBatch(deps, batch, config, 'default');
    expect(again).toMatchObject({ writes: 0, alreadyApplied: 2 });
    const [load] = await store.load([CHAT], 0);
    expect(load!.engines[0]).toMatchObject({ inFlight: 1, inPrefill: 1 });
  });

  it('reports a failed trigger without failing the batch', async () => {
    const { store, clock } = setup();
    const deps = {
      store,
      clock,
      trigger: {
        trigger: async () => {
          throw new Error('throttled');
        },
      },
    };
    const result = await ingestBatch(deps, [message('1', queued('a'))], config, 'default');
    expect(result).toMatchObject({ triggered: false, triggerError: 'throttled', applied: 1 });
  });
});
