/**
 * The gateway's counters (moto's DynamoDB) merged with a real Prometheus scraping an emulated
 * vLLM fleet, through `sva collect --gateway-table`: fresh counters win and say so, Prometheus
 * fills the rest; counters no event changed since vLLM's later samples give way to vLLM's gauges.
 */
import { jest } from '@jest/globals';
import { DynamoGatewayLoad, GatewayMetricsSource } from '../../../lib/adapters/gatewayEvents/index.js';
import { PrometheusMetricsSource, type LocalPrometheus } from '../../../lib/adapters/prometheus/index.js';
import { FixedLoadVariant, VllmEmulatorServer } from '../../../lib/adapters/vllmEmulator/index.js';
import { aggregateBatch } from '../../../lib/gateway/aggregate.js';
import { variantResolver } from '../../../lib/gateway/variants.js';
import { metricsQuery } from '../../../lib/policy/ports.js';
import { run, json } from '../../cli/run.js';
import { createGatewayTable, startMoto, type Moto } from '../aws/moto.js';
import { gatewayConfig, request } from '../../gateway/events.js';
import { LOAD, startPrometheus, waitForScrapes } from './helpers.js';

jest.setTimeout(90_000);

let moto: Moto | undefined;
let prom: LocalPrometheus | undefined;
let server: VllmEmulatorServer | undefined;
const config = gatewayConfig();

beforeAll(async () => {
  moto = await startMoto();
  Object.assign(process.env, moto.env);
  // chat-8b's vLLM servers at a known load (6 running, 2 waiting), and one idle pod
  server = new VllmEmulatorServer([
    new FixedLoadVariant({
      model: 'llama-3.1-8b',
      namespace: 'llm',
      pods: 2,
      naming: 'vllm-0.12',
      load: LOAD,
    }).source(),
    new FixedLoadVariant({
      model: 'llama-3.1-8b',
      namespace: 'llm',
      pods: ['chat-8b-idle'],
      naming: 'vllm-0.12',
      load: { ...LOAD, requestRate: 0, running: 0, waiting: 0, kvCacheUsage: 0 },
    }).source(),
  ]);
  prom = await startPrometheus([{ job: 'vllm', targets: [await server.start()] }]);
  await waitForScrapes(prom, 'vllm', 1, 5);
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await server?.stop();
  await moto?.stop();
});

interface Collected {
  variants: {
    name: string;
    arrivalRate: number | null;
    waiting: number | null;
    running: number | null;
    sources: Record<string, { series: string }>;
  }[];
}

async function collect(table: string) {
  const result = await run(
    'collect',
    '--prometheus',
    prom!.url,
    '--gateway-table',
    table,
    '--window',
    '60',
    '--json',
  );
  expect(result.errLines.filter((l) => /gateway/.test(l))).toEqual([]);
  return json<Collected>(result).variants.find((v) => v.name === 'chat-8b')!;
}

test('fresh gateway arrivals and in-flight counts win, Prometheus gives the rest, and each estimate names its source', async () => {
  await createGatewayTable(moto!.dynamo, 'gw-fresh');
  const store = new DynamoGatewayLoad(moto!.documents, 'gw-fresh');
  const now = Date.now() / 1000;
  // 12 requests in the last minute, the newest now; 3 still waiting for their first token
  const events = Array.from({ length: 12 }, (_, i) =>
    request(`r${i}`, {
      at: now - 33 + 3 * i,
      engine: 'chat-8b-0',
      prompt: 700,
      output: 120,
      duration: 2,
    }).slice(0, i >= 9 ? 1 : 3),
  ).flat();
  await store.apply(aggregateBatch(events, variantResolver(config), 10), 3600);
  const chat = await collect('gw-fresh');
  expect(chat.sources.arrivalRate!.series).toBe('gateway-events:arrivals');
  // in flight: the gateway's 3, of which vLLM says 12 run: none waits
  expect(chat.sources.waiting!.series).toMatch(/^gateway-events:in_prefill .* - vllm:num_requests_running/);
  expect(chat.waiting).toBe(0);
  expect(chat.sources.running!.series).toMatch(/^vllm:num_requests_running/);
  // token means over completed requests: vLLM's
  expect(chat.sources.avgOutputTokens!.series).toMatch(/^vllm:/);
  // only vLLM knows latencies and the KV cache
  expect(chat.sources.ttftMs!.series).toMatch(/^vllm:time_to_first_token_seconds/);
  expect(chat.sources.kvCacheUsage!.series).toMatch(/^vllm:/);
});

test("counters no event changed since vLLM's later samples give way to vLLM's gauges", async () => {
  await createGatewayTable(moto!.dynamo, 'gw-drifted');
  const store = new DynamoGatewayLoad(moto!.documents, 'gw-drifted');
  const now = Date.now() / 1000;
  // one dispatch 20 s ago whose completion never came: the counters say 1 in flight
  const lost = request('lost', { at: now - 20, engine: 'chat-8b-0', prompt: 700, output: 120 }).slice(0, 2);
  await store.apply(aggregateBatch(lost, variantResolver(config), 10), 3600);
  const chat = await collect('gw-drifted');
  expect(chat.sources.running!.series).toMatch(/^vllm:num_requests_running/);
  expect(chat.sources.waiting!.series).toMatch(/^vllm:num_requests_waiting/);
  expect(chat.running).toBeCloseTo(LOAD.running * 2);
  // the arrivals are still the gateway's (a measured window)
  expect(chat.sources.arrivalRate!.series).toBe('gateway-events:arrivals');
});

test("an engine's counters are reset once its own pod, sampled after its last event, is idle, while the others are busy", async () => {
  await createGatewayTable(moto!.dynamo, 'gw-per-engine');
  const store = new DynamoGatewayLoad(moto!.documents, 'gw-per-engine');
  const now = Date.now() / 1000;
  const events = [
    // a request on the idle pod 20 s ago whose completion never came
    ...request('lost', { at: now - 20, engine: 'chat-8b-idle', prompt: 700, output: 120 }).slice(0, 2),
    // one just dispatched to a busy pod, newer than any of vLLM's samples: the variant's totals stand
    ...request('new', { at: now, engine: 'llama-3.1-8b-0', prompt: 700, output: 120 }).slice(0, 1),
  ];
  await store.apply(aggregateBatch(events, variantResolver(config), 10), 3600);
  const chat8b = config.variants.find((v) => v.name === 'chat-8b')!;
  const source = new GatewayMetricsSource({
    store,
    fallback: new PrometheusMetricsSource({
      connection: { url: prom!.url, timeoutMs: 5000 },
      windowSeconds: 60,
      maxAgeSeconds: 120,
    }),
    windowSeconds: 60,
    maxAgeSeconds: 120,
    settings: config.gatewayEvents,
  });
  const [observation] = await source.collect([metricsQuery(chat8b)], now + 1);
  expect(observation!.podSampledAt?.['chat-8b-idle']).toBeGreaterThan(now - 20 + 2);
  expect(source.lastCollection[0]).toMatchObject({ reconciled: false, reset: 1 });
  const [load] = await store.load(['llm/chat-8b'], 0);
  expect(Object.fromEntries(load!.engines.map((e) => [e.engine, e.inFlight]))).toEqual({
    'chat-8b-idle': 0,
    'llama-3.1-8b-0': 1,
  });
});
