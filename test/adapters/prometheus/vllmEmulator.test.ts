/**
 * The vLLM metrics emulator: names and labels per emulated version, counters consistent with a
 * known load over time, prom-client's exposition over HTTP, and the simulator as a source.
 */
import {
  applyNaming,
  EMULATED_NAMINGS,
  FixedLoadVariant,
  gatewaySource,
  simSource,
  VllmEmulatorServer,
  type FixedLoad,
} from '../../../lib/adapters/vllmEmulator/index.js';
import { createFleetSim, poisson, type MetricSample } from '../../../lib/fleetSimulator/index.js';
import { oneVariantConfig } from '../../fleetSimulator/helpers.js';

const LOAD: FixedLoad = {
  requestRate: 3,
  inputTokens: 100,
  outputTokens: 21,
  ttftSeconds: 0.3,
  itlSeconds: 0.05,
  running: 4,
  waiting: 1,
  kvCacheUsage: 0.25,
};
const T0 = 1_000;

const families = (samples: readonly MetricSample[]) => new Set(samples.map((s) => s.family));
const value = (samples: readonly MetricSample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);

describe('namings', () => {
  const variant = (naming: (typeof EMULATED_NAMINGS)[number]) =>
    new FixedLoadVariant({
      model: 'm',
      namespace: 'ns',
      pods: 1,
      naming,
      load: LOAD,
      startSeconds: T0,
    }).samples(T0 + 10);

  test.each([
    [
      'vllm-0.8',
      ['vllm:time_per_output_token_seconds', 'vllm:gpu_cache_usage_perc'],
      ['vllm:inter_token_latency_seconds', 'vllm:kv_cache_usage_perc'],
    ],
    [
      'vllm-0.10',
      ['vllm:time_per_output_token_seconds', 'vllm:gpu_cache_usage_perc'],
      ['vllm:inter_token_latency_seconds', 'vllm:kv_cache_usage_perc'],
    ],
    [
      'vllm-0.11',
      ['vllm:inter_token_latency_seconds', 'vllm:time_per_output_token_seconds', 'vllm:kv_cache_usage_perc'],
      ['vllm:gpu_cache_usage_perc'],
    ],
    [
      'vllm-0.12',
      ['vllm:inter_token_latency_seconds', 'vllm:kv_cache_usage_perc'],
      ['vllm:time_per_output_token_seconds', 'vllm:gpu_cache_usage_perc'],
    ],
    [
      'llm-d-sim',
      ['vllm:inter_token_latency_seconds', 'vllm:time_per_output_token_seconds', 'vllm:kv_cache_usage_perc'],
      ['vllm:gpu_cache_usage_perc'],
    ],
  ] as const)('%s exposes %j and not %j', (naming, present, absent) => {
    const f = families(variant(naming));
    for (const name of present) expect(f.has(name)).toBe(true);
    for (const name of absent) expect(f.has(name)).toBe(false);
  });

  test("vLLM labels completions finished_reason with an engine; llm-d's simulator finish_reason without", () => {
    const vllm = variant('vllm-0.12').find((s) => s.name === 'vllm:request_success_total')!;
    expect(vllm.labels).toEqual({
      model_name: 'm',
      namespace: 'ns',
      pod: 'm-0',
      engine: '0',
      finished_reason: 'stop',
    });
    const llmd = variant('llm-d-sim');
    expect(llmd.find((s) => s.name === 'vllm:request_success_total')!.labels).toEqual({
      model_name: 'm',
      namespace: 'ns',
      pod: 'm-0',
      finish_reason: 'stop',
    });
    expect(llmd.some((s) => 'engine' in s.labels)).toBe(false);
  });

  test('renaming keeps values and bucket labels', () => {
    const renamed = applyNaming(variant('vllm-0.12'), 'vllm-0.8');
    expect(value(renamed, 'vllm:time_per_output_token_seconds_count')).toBe(30 * 20);
    expect(
      renamed.filter((s) => s.name === 'vllm:time_per_output_token_seconds_bucket').map((s) => s.labels.le),
    ).toContain('+Inf');
  });
});

describe('a fixed load', () => {
  test('counters and histograms grow as the load implies, in whole requests', () => {
    const v = new FixedLoadVariant({
      model: 'm',
      namespace: 'ns',
      pods: ['a', 'b'],
      naming: 'vllm-0.12',
      load: LOAD,
      startSeconds: T0,
    });
    const at10 = v.samples(T0 + 10);
    expect(value(at10, 'vllm:request_success_total')).toBe(2 * 30);
    expect(value(at10, 'vllm:request_success_total', { pod: 'a' })).toBe(30);
    expect(value(at10, 'vllm:prompt_tokens_total')).toBe(2 * 30 * 100);
    expect(
      value(at10, 'vllm:request_prompt_tokens_sum') / value(at10, 'vllm:request_prompt_tokens_count'),
    ).toBe(100);
    expect(value(at10, 'vllm:time_to_first_token_seconds_count')).toBe(60);
    expect(value(at10, 'vllm:inter_token_latency_seconds_count')).toBe(60 * 20);
    expect(value(at10, 'vllm:inter_token_latency_seconds_sum')).toBeCloseTo(60 * 20 * 0.05, 9);
    expect(value(at10, 'vllm:num_requests_running')).toBe(8);
    expect(value(at10, 'vllm:time_to_first_token_seconds_bucket', { pod: 'a', le: '0.25' })).toBe(0);
    expect(value(at10, 'vllm:time_to_first_token_seconds_bucket', { pod: 'a', le: '0.5' })).toBe(30);
    expect(value(v.samples(T0 + 10.2), 'vllm:request_success_total')).toBe(2 * 30);
    expect(value(v.samples(T0 + 10.4), 'vllm:request_success_total')).toBe(2 * 31);
    expect(v.kvCapacityTokens).toBe(16 * 2048);
  });

  test('load changes, freezing and removed replicas', () => {
    const v = new FixedLoadVariant({
      model: 'm',
      namespace: 'ns',
      pods: ['a', 'b'],
      naming: 'vllm-0.12',
      load: LOAD,
      startSeconds: T0,
    });
    v.setLoad({ ...LOAD, requestRate: 10 }, T0 + 10, 'a');
    v.freeze(T0 + 10, true, 'b');
    const at20 = v.samples(T0 + 20);
    expect(value(at20, 'vllm:request_success_total', { pod: 'a' })).toBe(30 + 100);
    expect(value(at20, 'vllm:request_success_total', { pod: 'b' })).toBe(30);
    v.removeReplica('b');
    expect(new Set(v.samples(T0 + 21).map((s) => s.labels.pod))).toEqual(new Set(['a']));
    expect(
      v
        .podSource('a')(T0 + 22)
        .every((s) => s.labels.pod === 'a'),
    ).toBe(true);
    expect(() => v.podSource('b')).toThrow('no replica b');
  });

  test('omitted families are left out', () => {
    const v = new FixedLoadVariant({
      model: 'm',
      namespace: 'ns',
      pods: 1,
      naming: 'vllm-0.12',
      load: LOAD,
      omitFamilies: ['vllm:time_to_first_token_seconds'],
    });
    expect(families(v.samples(Date.now() / 1000)).has('vllm:time_to_first_token_seconds')).toBe(false);
  });

  test('a gateway counts requests at its rate, with its pool gauges', () => {
    const samples = gatewaySource({
      model: 'm',
      namespace: 'ns',
      requestRate: 2.5,
      startSeconds: T0,
      pool: { name: 'p', averageQueueSize: 1, averageKvCacheUtilization: 0.2, readyPods: 3 },
    })(T0 + 10);
    expect(value(samples, 'inference_model_request_total', { model_name: 'm', target_model_name: 'm' })).toBe(
      25,
    );
    expect(value(samples, 'inference_pool_ready_pods', { name: 'p', namespace: 'ns' })).toBe(3);
  });
});

describe('the server', () => {
  let server: VllmEmulatorServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  test("serves prom-client's text exposition on 127.0.0.1 at /metrics, 404 elsewhere", async () => {
    let t = T0 + 10;
    const v = new FixedLoadVariant({
      model: 'm.1',
      namespace: 'ns',
      pods: 1,
      naming: 'vllm-0.11',
      load: { ...LOAD, kvCacheUsage: NaN },
      startSeconds: T0,
    });
    server = new VllmEmulatorServer([v.source()], () => t);
    const target = await server.start();
    expect(target).toMatch(/^127\.0\.0\.1:\d+$/);
    const response = await fetch(server.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    expect(text).toContain('# TYPE vllm:request_success_total counter\n');
    expect(text).toContain(
      'vllm:request_success_total{model_name="m.1",namespace="ns",pod="m.1-0",engine="0",finished_reason="stop"} 30\n',
    );
    expect(text).toContain('# TYPE vllm:time_to_first_token_seconds histogram\n');
    expect(text).toContain(
      'vllm:time_to_first_token_seconds_bucket{model_name="m.1",namespace="ns",pod="m.1-0",engine="0",le="+Inf"} 30\n',
    );
    expect(text).toContain(
      'vllm:time_per_output_token_seconds_count{model_name="m.1",namespace="ns",pod="m.1-0",engine="0"} 600\n',
    );
    expect(text).toMatch(/^vllm:kv_cache_usage_perc\{.*\} Nan$/m);
    expect(text).toContain(
      'vllm:cache_config_info{model_name="m.1",namespace="ns",pod="m.1-0",engine="0",block_size="16",num_gpu_blocks="2048"} 1\n',
    );
    t = T0 + 20;
    expect(await (await fetch(server.url)).text()).toContain('finished_reason="stop"} 60\n');
    expect(server.scrapes).toBe(2);
    expect((await fetch(`http://${target}/other`)).status).toBe(404);
  });

  test('serves what the fleet simulator scrapes, renamed for the emulated version', async () => {
    const sim = createFleetSim(oneVariantConfig({ initialReplicas: 2 }));
    sim.addArrivals(
      'chat',
      poisson({ rate: 5, duration: 120, inputTokens: 200, outputTokens: 20, seed: 3 }).requests,
    );
    const source = simSource(sim, { naming: 'vllm-0.10', speed: 10, startSeconds: T0 });
    const before = source(T0);
    const after = source(T0 + 6);
    expect(sim.now).toBe(60);
    expect(families(after).has('vllm:time_per_output_token_seconds')).toBe(true);
    expect(families(after).has('vllm:inter_token_latency_seconds')).toBe(false);
    expect(value(after, 'vllm:request_success_total')).toBeGreaterThan(
      value(before, 'vllm:request_success_total'),
    );
    expect(new Set(after.map((s) => s.labels.model_name))).toEqual(new Set(['llama-8b']));
    expect(simSource(sim, { models: ['other'] })(T0)).toEqual([]);
  });
});
