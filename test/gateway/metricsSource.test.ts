/**
 * The gateway's counters merged with another source: fresh counters win, the other source
 * fills the rest, vLLM's gauges sampled after the last event overrule drifted counters.
 */
import { GatewayMetricsSource } from '../../lib/adapters/gatewayEvents/index.js';
import { MemoryGatewayLoad, MemoryMetricsSource } from '../../lib/adapters/memory/index.js';
import { aggregateBatch } from '../../lib/gateway/aggregate.js';
import type { GatewayEvent } from '../../lib/gateway/events.js';
import { variantResolver } from '../../lib/gateway/variants.js';
import type { VariantObservation } from '../../lib/metrics/observation.js';
import { metricsQuery } from '../../lib/policy/ports.js';
import { CHAT, gatewayConfig, request, T } from './events.js';

const config = gatewayConfig();
const queries = config.variants.map(metricsQuery);
const resolve = variantResolver(config);

async function source(events: GatewayEvent[], prometheus?: (now: number) => VariantObservation) {
  const store = new MemoryGatewayLoad();
  await store.apply(aggregateBatch(events, resolve, 10), 3600);
  const fallback = new MemoryMetricsSource();
  if (prometheus) fallback.observations.set(CHAT, prometheus);
  const gateway = new GatewayMetricsSource({
    store,
    fallback,
    windowSeconds: 60,
    maxAgeSeconds: 120,
    settings: config.gatewayEvents,
  });
  return { store, gateway };
}

const est = (value: number, source: string, timestamp: number) => ({ value, source, timestamp });

function vllm(now: number, o: { running: number; waiting: number; at: number }): VariantObservation {
  return {
    variant: CHAT,
    model: 'llama-3.1-8b',
    at: now,
    windowSeconds: 60,
    arrivalRate: est(9, 'vllm:request_success_total', o.at),
    avgOutputTokens: est(111, 'vllm:request_generation_tokens', o.at),
    ttftMs: est(300, 'vllm:time_to_first_token_seconds', o.at),
    running: est(o.running, 'vllm:num_requests_running', o.at),
    waiting: est(o.waiting, 'vllm:num_requests_waiting', o.at),
    stale: [],
    missing: [],
  };
}

describe('GatewayMetricsSource', () => {
  it('takes fresh gateway arrivals and in-flight counts, the rest from the other source, naming each source', async () => {
    // 30 requests in the last minute, 10 still in prefill on p1
    const done = Array.from({ length: 20 }, (_, i) =>
      request(`d${i}`, { at: T - 40 + i, engine: 'p0', prompt: 100 + i, output: 50, duration: 3 }),
    ).flat();
    const open = Array.from({ length: 10 }, (_, i) =>
      request(`o${i}`, { at: T - 5, engine: 'p1', prompt: 1000, output: 0 }).slice(0, 1),
    ).flat();
    const { gateway } = await source([...done, ...open], (now) =>
      vllm(now, { running: 3, waiting: 4, at: T - 10 }),
    );
    const [chat, code] = await gateway.collect(queries, T);
    expect(chat!.arrivalRate).toMatchObject({ source: 'gateway-events:arrivals' });
    expect(chat!.arrivalRate!.value).toBeCloseTo(30 / 60, 6); // whole slots from T - 60
    // in flight: the gateway's 10, of which vLLM runs 3: 7 wait
    expect(chat!.running).toMatchObject({ value: 3, source: 'vllm:num_requests_running' });
    expect(chat!.waiting).toMatchObject({
      value: 7,
      source: 'gateway-events:in_prefill + gateway-events:in_flight_decoding - vllm:num_requests_running',
    });
    // token means over completed requests are vLLM's
    expect(chat!.avgOutputTokens).toMatchObject({ value: 111, source: 'vllm:request_generation_tokens' });
    expect(chat!.ttftMs).toMatchObject({ source: 'vllm:time_to_first_token_seconds' });
    expect(chat!.outputByInputBucket?.expectedOutputTokens).toBeCloseTo(50);
    // no events for code-70b: what the other source said
    expect(code!.arrivalRate).toBeUndefined();
    expect(code!.missing).toEqual(['vllm:request_success_total']);
  });

  it('leaves counters no event changed within the age limit to the other source', async () => {
    const old = request('a', { at: T - 600, engine: 'p0', prompt: 100, output: 50 }).slice(0, 1);
    const { gateway } = await source(old, (now) => vllm(now, { running: 2, waiting: 0, at: T - 5 }));
    const [chat] = await gateway.collect(queries, T);
    expect(chat!.running).toMatchObject({ value: 2, source: 'vllm:num_requests_running' });
    expect(chat!.arrivalRate!.source).toBe('vllm:request_success_total');
  });

  it("resets counters a lost completion left behind once vLLM's gauges, sampled later, say idle", async () => {
    // a dispatch whose completion was lost: in flight 1 for ever
    const lost = request('a', { at: T - 30, engine: 'p0', prompt: 100, output: 50 }).slice(0, 2);
    const { gateway, store } = await source(lost, (now) => vllm(now, { running: 0, waiting: 0, at: T - 2 }));
    const [chat] = await gateway.collect(queries, T);
    expect(chat!.running).toMatchObject({ value: 0, source: 'vllm:num_requests_running' });
    expect(gateway.lastCollection[0]).toMatchObject({ reconciled: true, reset: 1 });
    const [load] = await store.load([CHAT], 0);
    expect(load!.engines[0]).toMatchObject({ inFlight: 0, inPrefill: 0 });
    // vLLM's sample is older than the newest event: the counters stand
    const again = await source(lost, (now) => vllm(now, { running: 0, waiting: 0, at: T - 31 }));
    const [kept] = await again.gateway.collect(queries, T);
    expect(kept!.waiting).toMatchObject({
      value: 1,
      source: expect.stringMatching(/^gateway-events:in_prefill/),
    });
  });

  it("resets one engine's counters once its own pod, sampled later, is idle, while another engine is busy", async () => {
    // p0: a dispatch whose completion was lost; p1: a request just dispatched, before vLLM's sample
    const events = [
      ...request('a', { at: T - 30, engine: 'p0', prompt: 100, output: 50 }).slice(0, 2),
      ...request('b', { at: T - 1, engine: 'p1', prompt: 100, output: 50 }).slice(0, 2),
    ];
    const pods = (p0SampledAt: number) => (now: number) => ({
      ...vllm(now, { running: 1, waiting: 0, at: T - 2 }),
      podLoads: [
        { pod: 'p0', load: 0 },
        { pod: 'p1', load: 1 },
      ],
      podSampledAt: { p0: p0SampledAt, p1: T - 2 },
    });
    const { gateway, store } = await source(events, pods(T - 2));
    const [chat] = await gateway.collect(queries, T);
    // the variant's totals are not overruled (p1's event is newer than vLLM's sample) ...
    expect(gateway.lastCollection[0]).toMatchObject({ reconciled: false, reset: 1 });
    // ... but p0's phantom request is left out of what is in flight: vLLM runs the one there is
    expect(chat!.waiting!.value).toBe(0);
    const [load] = await store.load([CHAT], 0);
    const byEngine = Object.fromEntries(load!.engines.map((e) => [e.engine, e.inFlight]));
    expect(byEngine).toEqual({ p0: 0, p1: 1 });

    // p0 sampled before its last event: its counters stand
    const again = await source(events, pods(T - 31));
    const [kept] = await again.gateway.collect(queries, T);
    expect(again.gateway.lastCollection[0]).toMatchObject({ reset: 0 });
    expect(kept!.waiting!.value).toBe(1);
  });

  it('falls back to the other source when the counters cannot be read', async () => {
    const fallback = new MemoryMetricsSource();
    fallback.observations.set(CHAT, (now) => vllm(now, { running: 1, waiting: 1, at: T }));
    const gateway = new GatewayMetricsSource({
      store: {
        ...new MemoryGatewayLoad(),
        load: async () => {
          throw new Error('table gone');
        },
      } as unknown as MemoryGatewayLoad,
      fallback,
      windowSeconds: 60,
      maxAgeSeconds: 120,
      settings: config.gatewayEvents,
    });
    const [chat] = await gateway.collect(queries, T);
    expect(chat!.running!.source).toBe('vllm:num_requests_running');
    expect(gateway.lastCollection[0]).toMatchObject({ error: 'table gone' });
  });

  it('fills in what the other source lacks (a variant at zero), and predicts output length from the input mix', async () => {
    // over the stats window: short prompts answer 20 tokens, long ones 400
    const learned = Array.from({ length: 40 }, (_, i) =>
      request(`l${i}`, {
        at: T - 800 + i * 10,
        engine: 'p0',
        prompt: i % 2 ? 4000 : 50,
        output: i % 2 ? 400 : 20,
      }),
    ).flat();
    // the last minute: only long prompts arrive
    const recent = Array.from({ length: 6 }, (_, i) =>
      request(`r${i}`, { at: T - 30 + i, engine: 'p0', prompt: 4000, output: 0 }).slice(0, 1),
    ).flat();
    const { gateway } = await source([...learned, ...recent]);
    const [chat] = await gateway.collect(queries, T);
    expect(chat!.avgInputTokens).toMatchObject({ value: 4000, source: 'gateway-events:prompt_tokens' });
    expect(chat!.running).toMatchObject({ source: 'gateway-events:in_flight_decoding' });
    const byBucket = chat!.outputByInputBucket!;
    expect(byBucket.overallMeanOutputTokens).toBeCloseTo(210);
    // 20 long completions of 400, shrunk toward 210 by 20 completions' worth: (20 x 400 + 20 x 210) / 40
    expect(byBucket.expectedOutputTokens).toBeCloseTo(305);
    expect(byBucket.buckets.find((b) => b.bucket === 5)!.meanOutputTokens).toBeCloseTo(115);
  });
});
