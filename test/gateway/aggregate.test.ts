/** One batch of events becomes one change per engine and one per variant slot. */
import { parseConfig } from '../../lib/config/load.js';
import { aggregateBatch } from '../../lib/gateway/aggregate.js';
import { inputBucket, parseGatewayMessage } from '../../lib/gateway/events.js';
import { variantResolver } from '../../lib/gateway/variants.js';
import { CHAT, CHAT_MODEL, gatewayConfig, request, T } from './events.js';

const resolve = variantResolver(gatewayConfig());

describe('gateway events', () => {
  it('names the field of an event that does not parse', () => {
    expect(parseGatewayMessage('{')).toEqual({ ok: false, reason: 'not JSON' });
    const bad = parseGatewayMessage(
      JSON.stringify({ type: 'dispatch', id: 'r', at: T, model: CHAT_MODEL, promptTokens: -3, engine: 'p' }),
    );
    expect(bad).toEqual({ ok: false, reason: expect.stringContaining('promptTokens') });
    const ms = parseGatewayMessage(
      JSON.stringify({ type: 'queued', id: 'r', at: T * 1000, model: CHAT_MODEL, promptTokens: 3 }),
    );
    expect(ms).toEqual({ ok: false, reason: expect.stringContaining('at') });
    const unknown = parseGatewayMessage(JSON.stringify({ type: 'retry', id: 'r' }));
    expect(unknown.ok).toBe(false);
  });

  it('takes one event or an array of them', () => {
    const events = request('a', { at: T, engine: 'p1', prompt: 100, output: 20 });
    const one = parseGatewayMessage(JSON.stringify(events[0]));
    const many = parseGatewayMessage(JSON.stringify(events));
    expect(one.ok && one.events).toHaveLength(1);
    expect(many.ok && many.events).toHaveLength(3);
  });

  it('buckets input lengths by log2', () => {
    expect([0, 1, 2, 3, 4, 511, 512, 1023, 126_000].map(inputBucket)).toEqual([0, 0, 1, 1, 2, 8, 9, 9, 16]);
  });
});

describe('aggregateBatch', () => {
  it('folds a burst into one change per engine and per slot', () => {
    const events = [
      ...request('a', { at: T, engine: 'p1', prompt: 100, output: 20 }),
      ...request('b', { at: T + 1, engine: 'p1', prompt: 1000, output: 300 }),
      ...request('c', { at: T + 2, engine: 'p2', prompt: 120, output: 40 }).slice(0, 1),
    ];
    const batch = aggregateBatch(events, resolve, 10);
    expect(batch.applied).toBe(7);
    expect(batch.engines).toHaveLength(2);
    const p1 = batch.engines.find((e) => e.engine === 'p1')!;
    expect(p1).toMatchObject({ variant: CHAT, inFlight: 0, inPrefill: 0, promptTokensInPrefill: 0 });
    const p2 = batch.engines.find((e) => e.engine === 'p2')!;
    expect(p2).toMatchObject({ inFlight: 1, inPrefill: 1, promptTokensInPrefill: 120, lastEventAt: T + 2 });
    expect(batch.slots).toHaveLength(1);
    const buckets = batch.slots[0]!.buckets;
    expect(buckets.get(6)).toEqual({ arrivals: 2, inputTokens: 220, completions: 1, outputTokens: 20 });
    expect(buckets.get(9)).toEqual({ arrivals: 1, inputTokens: 1000, completions: 1, outputTokens: 300 });
  });

  it('counts an event seen twice in a batch once', () => {
    const events = request('a', { at: T, engine: 'p1', prompt: 100, output: 20 });
    const batch = aggregateBatch([events[0]!, events[0]!, events[0]!], resolve, 10);
    expect(batch.duplicates).toBe(2);
    expect(batch.engines[0]).toMatchObject({ inFlight: 1, inPrefill: 1 });
  });

  it('drops events for no configured variant with the reason, and keeps the rest', () => {
    const events = [
      ...request('a', { at: T, engine: 'p1', prompt: 100, output: 20, model: 'gpt-5' }),
      ...request('b', { at: T, engine: 'p1', prompt: 100, output: 20 }),
    ];
    const batch = aggregateBatch(events, resolve, 10);
    expect(batch.dropped).toEqual([{ reason: expect.stringContaining('gpt-5'), count: 3 }]);
    expect(batch.applied).toBe(3);
  });

  it('counts a queued request as an arrival once, and names its variant as waiting for replicas', () => {
    const events = [
      { type: 'queued' as const, id: 'q', at: T, model: CHAT_MODEL, promptTokens: 64 },
      {
        type: 'dispatch' as const,
        id: 'q',
        at: T + 3,
        model: CHAT_MODEL,
        promptTokens: 64,
        engine: 'p1',
        wasQueued: true,
      },
    ];
    const batch = aggregateBatch(events, resolve, 10);
    expect(batch.waitingForReplicas).toEqual([CHAT]);
    expect(batch.slots[0]!.buckets.get(6)!.arrivals).toBe(1);
    expect(batch.engines[0]).toMatchObject({ inFlight: 1, inPrefill: 1 });
  });

  it('takes a request that ends before its first token out of prefill', () => {
    const [dispatch] = request('a', { at: T, engine: 'p1', prompt: 100, output: 0 });
    const batch = aggregateBatch(
      [
        dispatch!,
        {
          type: 'completion',
          id: 'a',
          at: T + 1,
          model: CHAT_MODEL,
          promptTokens: 100,
          engine: 'p1',
          outputTokens: 0,
          afterFirstToken: false,
        },
      ],
      resolve,
      10,
    );
    expect(batch.engines[0]).toMatchObject({ inFlight: 0, inPrefill: 0, promptTokensInPrefill: 0 });
  });
});

describe('gatewayEvents config', () => {
  it('refuses a statistics window shorter than the rate window, naming the field', () => {
    const config = gatewayConfig();
    expect(() =>
      parseConfig(
        { ...JSON.parse(JSON.stringify(config)), gatewayEvents: { statsWindowSeconds: 30 } },
        'test config',
      ),
    ).toThrow(/gatewayEvents\.statsWindowSeconds/);
  });
});
