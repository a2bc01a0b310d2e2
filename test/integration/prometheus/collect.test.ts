/**
 * PrometheusMetricsSource and `sva collect` against a real Prometheus scraping emulated vLLM
 * servers of every naming at a known load, every second: the estimates match the load, the
 * token-length histograms arrive by bucket for the ITL sizing; idle,
 * NaN, missing and stale series are reported as such; 100 variants or 10 cost the same queries.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PrometheusMetricsSource,
  type LocalPrometheus,
  type PrometheusObservation,
} from '../../../lib/adapters/prometheus/index.js';
import {
  EMULATED_NAMINGS,
  FixedLoadVariant,
  gatewaySource,
  VllmEmulatorServer,
  type EmulatedNaming,
  type SampleSource,
} from '../../../lib/adapters/vllmEmulator/index.js';
import { oneTwoFiveBuckets } from '../../../lib/fleetSimulator/vllmMetrics.js';
import { tokenDistributions, updateTokenHistogram } from '../../../lib/policy/distribution.js';
import type { MetricsQuery } from '../../../lib/policy/ports.js';
import { run } from '../../cli/run.js';
import { LOAD, now, query as promQuery, startPrometheus, waitFor, waitForScrapes } from './helpers.js';

const WINDOW = 5;
const MAX_AGE = 4;
const NS = 'llm';

const modelOf = (naming: EmulatedNaming) => `model-${naming}`;
const query = (name: string, modelName: string, extra: Partial<MetricsQuery> = {}): MetricsQuery => ({
  variant: `${NS}/${name}`,
  namespace: NS,
  modelName,
  gateway: false,
  ...extra,
});

const QUERIES: MetricsQuery[] = [
  ...EMULATED_NAMINGS.map((n) => query(`v-${n}`, modelOf(n))),
  query('idle', 'model-idle'),
  query('nan-kv', 'model-nan-kv'),
  query('no-ttft', 'model-no-ttft'),
  query('nobody', 'model-nobody'),
  query('gw', 'model-gw', { gateway: true }),
  query('shared-a', 'model-shared', { podPattern: '^shared-a-' }),
  query('shared-b', 'model-shared', { podPattern: '^shared-b-' }),
  query('stale', 'model-stale'),
  query('partial', 'model-partial'),
  query('spec', 'model-spec'),
  query('gw1', 'model-gw1', { gateway: true }),
  query('gw2', 'model-gw2', { gateway: true }),
];

const servers: VllmEmulatorServer[] = [];
const staleServers: VllmEmulatorServer[] = [];
let partialServers: VllmEmulatorServer[] = [];
let slowServer: VllmEmulatorServer | undefined;
let prom: LocalPrometheus | undefined;
let source: PrometheusMetricsSource;
let first: Map<string, PrometheusObservation>;
let tmp: string | undefined;

const serve = (...sources: SampleSource[]) => {
  const s = new VllmEmulatorServer(sources);
  servers.push(s);
  return s;
};
const fixed = (model: string, pods: number | string[], extra: Partial<FixedLoadVariant['options']> = {}) =>
  new FixedLoadVariant({ model, namespace: NS, pods, naming: 'vllm-0.12', load: LOAD, ...extra });

beforeAll(async () => {
  // `sva collect` loads its command module on first use, and jest compiles it then, on this
  // thread. Loaded later, that compilation would hold the emulators' answers to Prometheus's
  // scrapes back by up to seconds on a busy machine: samples stamped at the scrape but counted
  // late, a rate off by more than the tolerance. Load it before the first scrape instead.
  await import('../../../lib/cli/collectCommand.js');
  for (const naming of EMULATED_NAMINGS) serve(fixed(modelOf(naming), 2, { naming }).source());
  serve(
    fixed('model-idle', 1, {
      load: { ...LOAD, requestRate: 0, running: 0, waiting: 0, kvCacheUsage: 0 },
    }).source(),
  );
  serve(fixed('model-nan-kv', 1, { load: { ...LOAD, kvCacheUsage: NaN } }).source());
  serve(fixed('model-no-ttft', 1, { omitFamilies: ['vllm:time_to_first_token_seconds'] }).source());
  serve(
    fixed('model-gw', 2).source(),
    gatewaySource({
      model: 'model-gw',
      namespace: NS,
      requestRate: 20,
      pool: { name: 'gw', averageQueueSize: 3, averageKvCacheUtilization: 0.5, readyPods: 2 },
    }),
  );
  serve(fixed('model-shared', ['shared-a-0', 'shared-a-1', 'shared-b-0']).source());
  // today's names only: vLLM 0.13 servers behind an EPP of v1.x
  serve(
    fixed('model-gw1', 2, { naming: 'vllm-0.13' }).source(),
    gatewaySource({
      model: 'model-gw1',
      namespace: NS,
      requestRate: 20,
      naming: 'v1',
      // the pool gauges keep their inference_pool_* names in v1.x
      pool: { name: 'gw1', averageQueueSize: 1, averageKvCacheUtilization: 0.25, readyPods: 2 },
    }),
  );
  // and behind llm-d's router, whose EPP names its series llm_d_epp_*
  serve(
    fixed('model-gw2', 2, { naming: 'vllm-0.13' }).source(),
    gatewaySource({
      model: 'model-gw2',
      namespace: NS,
      requestRate: 12,
      naming: 'llm-d',
      pool: { name: 'gw2', averageQueueSize: 4, averageKvCacheUtilization: 0.75, readyPods: 2 },
    }),
  );
  // vLLM 0.13 with speculative decoding: three tokens per engine step
  serve(fixed('model-spec', 2, { naming: 'vllm-0.13', load: { ...LOAD, tokensPerStep: 3 } }).source());
  // One target per replica, so that replicas can go away on their own.
  const stale = fixed('model-stale', 2);
  staleServers.push(...stale.pods.map((p) => serve(stale.podSource(p))));
  const partial = fixed('model-partial', 2);
  partialServers = partial.pods.map((p) => serve(partial.podSource(p)));

  const targets: string[] = [];
  for (const s of servers) targets.push(await s.start());
  // Scraped every 4 s: too seldom for a 3 s rate window, so its rates come from the fallback.
  slowServer = new VllmEmulatorServer([fixed('model-slow', 1).source()]);
  const slowTarget = await slowServer.start();
  prom = await startPrometheus([
    { job: 'vllm', targets },
    { job: 'slow', targets: [slowTarget], intervalSeconds: 4 },
  ]);
  await waitForScrapes(prom, 'vllm', targets.length, WINDOW + 2);
  await waitForScrapes(prom, 'slow', 1, 3);
  source = new PrometheusMetricsSource({
    connection: { url: prom.url, timeoutMs: 5000 },
    windowSeconds: WINDOW,
    fallbackWindowSeconds: 30,
    maxAgeSeconds: MAX_AGE,
    lookbackSeconds: 60,
    lookbackStepSeconds: 1,
  });
  const observations = await source.collect(QUERIES, now());
  first = new Map(observations.map((o) => [o.variant, o]));
}, 50_000);

afterAll(async () => {
  await prom?.stop();
  for (const s of servers) await s.stop();
  await slowServer?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const obs = (name: string) => {
  const o = first.get(`${NS}/${name}`);
  if (!o) throw new Error(`no observation for ${name}`);
  return o;
};
const near = (actual: number | undefined, expected: number, tolerance: number) => {
  expect(actual).toBeDefined();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(tolerance * expected);
};
const total = (b: PrometheusObservation['inputTokenBuckets']) => b?.counts.reduce((a, c) => a + c, 0);
/** a histogram of these bounds with every observation in the bucket up to `le` */
const expectOnlyIn = (b: PrometheusObservation['inputTokenBuckets'], bounds: number[], le: number) => {
  expect(b?.bounds).toEqual(bounds);
  expect(b!.counts.map((c, i) => (c > 0 ? b!.bounds[i] : undefined)).filter((x) => x !== undefined)).toEqual([
    le,
  ]);
};

const NAMING_NAMES: Record<EmulatedNaming, { naming: string; itl: string; kv: string }> = {
  'vllm-0.8': {
    naming: 'vllm<=0.10',
    itl: 'vllm:time_per_output_token_seconds',
    kv: 'vllm:gpu_cache_usage_perc',
  },
  'vllm-0.10': {
    naming: 'vllm<=0.10',
    itl: 'vllm:time_per_output_token_seconds',
    kv: 'vllm:gpu_cache_usage_perc',
  },
  'vllm-0.11': {
    naming: 'vllm 0.11',
    itl: 'vllm:inter_token_latency_seconds',
    kv: 'vllm:kv_cache_usage_perc',
  },
  'vllm-0.12': {
    naming: 'vllm>=0.12',
    itl: 'vllm:inter_token_latency_seconds',
    kv: 'vllm:kv_cache_usage_perc',
  },
  'vllm-0.13': {
    naming: 'vllm>=0.13',
    itl: 'vllm:request_time_per_output_token_seconds',
    kv: 'vllm:kv_cache_usage_perc',
  },
  'llm-d-sim': {
    naming: 'llm-d-sim',
    itl: 'vllm:inter_token_latency_seconds',
    kv: 'vllm:kv_cache_usage_perc',
  },
};

describe.each(EMULATED_NAMINGS)('servers named as %s', (naming) => {
  test('estimates match the known load of 2 replicas', () => {
    const o = obs(`v-${naming}`);
    expect(o.stale).toEqual([]);
    expect(o.missing).toEqual([]);
    expect(o.windowSeconds).toBe(WINDOW);
    near(o.arrivalRate?.value, 2 * LOAD.requestRate, 0.12);
    near(o.completionRate?.value, 2 * LOAD.requestRate, 0.12);
    near(o.avgInputTokens?.value, LOAD.inputTokens, 0.001);
    near(o.avgOutputTokens?.value, LOAD.outputTokens, 0.001);
    near(o.ttftMs?.value, LOAD.ttftSeconds * 1000, 0.001);
    near(o.itlMs?.value, LOAD.itlSeconds * 1000, 0.001);
    expect(o.running?.value).toBe(2 * LOAD.running);
    expect(o.waiting?.value).toBe(2 * LOAD.waiting);
    near(o.kvCacheUsage?.value, LOAD.kvCacheUsage, 0.001);
    expect(o.readyReplicas?.value).toBe(2);
    // all observations in one bucket: PromQL's interpolation within (0.25, 0.5] and (0.025, 0.05]
    near(o.ttftP95Ms?.value, 487.5, 0.001);
    near(o.itlP95Ms?.value, 48.75, 0.001);
    expect(o.kvCapacityTokens?.value).toBe(16 * 2048);
  });

  test('the token-length histograms arrive by bucket, and give the ITL sizing its distributions', () => {
    const o = obs(`v-${naming}`);
    expect(o.errors).toEqual([]);
    // vLLM's 1-2-5 buckets up to the emulated max model length (8192), then +Inf
    const bounds = [...oneTwoFiveBuckets(8192), Infinity];
    expectOnlyIn(o.inputTokenBuckets, bounds, 1000);
    expectOnlyIn(o.outputTokenBuckets, bounds, 200);
    // the window's completions, every one in its bucket
    near(total(o.inputTokenBuckets), o.completionRate!.value * o.windowSeconds, 0.001);
    near(total(o.outputTokenBuckets), total(o.inputTokenBuckets)!, 1e-9);
    // what the ITL cap and its sizing over steps read: every prompt of (500, 1000] tokens and
    // every answer of (100, 200]
    const histogram = updateTokenHistogram(undefined, o, o.at, 600);
    expect(histogram?.bounds).toEqual(bounds.slice(0, -1));
    const d = tokenDistributions(histogram, {
      input: o.avgInputTokens?.value,
      output: o.avgOutputTokens?.value,
    });
    expect(d?.input.values.length).toBeGreaterThan(0);
    expect(Math.min(...d!.input.values)).toBe(501);
    expect(Math.max(...d!.input.values)).toBe(1000);
    expect(Math.min(...d!.output.values)).toBe(101);
    expect(Math.max(...d!.output.values)).toBe(200);
    // the per-request time per output token by bucket, where the server has it (vLLM >= 0.13):
    // what policy.itlMissCorrection reads the share over the ITL target from
    if (NAMING_NAMES[naming].itl === 'vllm:request_time_per_output_token_seconds') {
      expect(o.requestTpotBuckets?.counts.length).toBeGreaterThan(0);
      near(total(o.requestTpotBuckets), o.completionRate!.value * o.windowSeconds, 0.001);
    } else expect(o.requestTpotBuckets).toBeUndefined();
  });

  test('names the naming and the series each value came from, with fresh timestamps', () => {
    const o = obs(`v-${naming}`);
    const expected = NAMING_NAMES[naming];
    expect(o.vllmNaming).toBe(expected.naming);
    // every vLLM generation has the decode time: the mean time per token is it over the tokens
    expect(o.itlMs?.source).toBe('vllm:request_decode_time_seconds');
    expect(o.kvCacheUsage?.source).toBe(expected.kv);
    expect(o.completionRate?.source).toBe('vllm:request_success_total');
    expect(o.avgInputTokens?.source).toBe('vllm:request_prompt_tokens');
    for (const e of [o.arrivalRate, o.running, o.ttftMs, o.kvCacheUsage]) {
      expect(o.at - e!.timestamp).toBeGreaterThanOrEqual(0);
      expect(o.at - e!.timestamp).toBeLessThan(MAX_AGE);
    }
  });
});

test('with speculative decoding (vLLM 0.13) the time per token is the decode time over the tokens, and its p95 the per-request series, not the per-step ITL', async () => {
  const o = obs('spec');
  expect(o.vllmNaming).toBe('vllm>=0.13');
  expect(o.itlMs?.source).toBe('vllm:request_decode_time_seconds');
  near(o.itlMs?.value, LOAD.itlSeconds * 1000, 0.001);
  near(o.itlP95Ms?.value, 48.75, 0.001);
  // what reading the ITL series would have given: a step of three tokens per observation
  const [step] = await promQuery(
    prom!,
    `sum(increase(vllm:inter_token_latency_seconds_sum{model_name="model-spec"}[${WINDOW}s])) / sum(increase(vllm:inter_token_latency_seconds_count{model_name="model-spec"}[${WINDOW}s]))`,
  );
  near(Number(step?.value?.[1]), 3 * LOAD.itlSeconds, 0.01);
});

test("a fleet exposing only today's names (vLLM 0.13, EPP v1.x) is read with the same query config as the older ones", () => {
  const o = obs('gw1');
  expect(o.missing).toEqual([]);
  expect(o.stale).toEqual([]);
  expect(o.arrivalRate?.source).toBe('inference_objective_request_total');
  near(o.arrivalRate?.value, 20, 0.12);
  expect(o.itlMs?.source).toBe('vllm:request_decode_time_seconds');
  near(o.itlMs?.value, LOAD.itlSeconds * 1000, 0.001);
  expect(o.vllmNaming).toBe('vllm>=0.13');
  expect(o.gatewayPool?.readyPods?.value).toBe(2);
  expect(o.gatewayPool?.readyPods?.source).toBe('inference_pool_ready_pods');
  // behind llm-d's router: llm_d_epp_* for the counter and the pool gauges
  const llmd = obs('gw2');
  expect(llmd.missing).toEqual([]);
  expect(llmd.arrivalRate?.source).toBe('llm_d_epp_request_total');
  near(llmd.arrivalRate?.value, 12, 0.12);
  expect(llmd.gatewayPool).toMatchObject({
    averageQueueSize: { value: 4, source: 'llm_d_epp_average_queue_size' },
    averageKvCacheUtilization: { value: 0.75, source: 'llm_d_epp_average_kv_cache_utilization' },
    readyPods: { value: 2, source: 'llm_d_epp_ready_endpoints' },
  });
  // the older gateway, the same query shape: its old names
  expect(obs('gw').arrivalRate?.source).toBe('inference_model_request_total');
  expect(obs('gw').gatewayPool?.averageQueueSize?.source).toBe('inference_pool_average_queue_size');
});

test('one collection is one batch of queries, whatever the number of variants', () => {
  expect(source.lastCollection).toMatchObject({ queries: 23, failed: 0 });
  expect(source.queriesFor(QUERIES.slice(0, 2))).toHaveLength(20);
});

test('an idle variant is a measured zero, not NaN and not missing', () => {
  const o = obs('idle');
  expect(o.missing).toEqual([]);
  expect(o.stale).toEqual([]);
  expect(o.arrivalRate?.value).toBe(0);
  expect(o.completionRate?.value).toBe(0);
  expect(o.running?.value).toBe(0);
  expect(o.waiting?.value).toBe(0);
  expect(o.readyReplicas?.value).toBe(1);
  expect(o.avgInputTokens).toBeUndefined();
  expect(o.ttftMs).toBeUndefined();
  expect(o.ttftP95Ms).toBeUndefined();
  // buckets with nothing in them: no histogram
  expect(o.inputTokenBuckets).toBeUndefined();
  expect(o.errors).toEqual([]);
  expect(JSON.stringify(o)).not.toMatch(/NaN|null|Infinity/);
});

test('a NaN gauge is reported missing by name, never used', () => {
  const o = obs('nan-kv');
  expect(o.kvCacheUsage).toBeUndefined();
  expect(o.missing).toEqual(['vllm:kv_cache_usage_perc']);
  near(o.arrivalRate?.value, LOAD.requestRate, 0.12);
});

test('a series a server does not expose is missing by name, the rest is measured', () => {
  const o = obs('no-ttft');
  expect(o.ttftMs).toBeUndefined();
  expect(o.missing).toEqual(['vllm:time_to_first_token_seconds']);
  near(o.arrivalRate?.value, LOAD.requestRate, 0.12);
  near(o.itlMs?.value, LOAD.itlSeconds * 1000, 0.001);
});

test('a variant nobody serves has everything missing and no estimate', () => {
  const o = obs('nobody');
  expect(o.arrivalRate).toBeUndefined();
  expect(o.running).toBeUndefined();
  expect(o.vllmNaming).toBeUndefined();
  expect(o.missing).toEqual(
    expect.arrayContaining([
      'vllm:request_success_total',
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
      'vllm:request_prompt_tokens',
      'vllm:time_to_first_token_seconds',
      'vllm:inter_token_latency_seconds',
      'vllm:kv_cache_usage_perc',
    ]),
  );
});

test('demand comes from the gateway counter when configured, with the pool gauges', () => {
  const o = obs('gw');
  expect(o.missing).toEqual([]);
  expect(o.arrivalRate?.source).toBe('inference_model_request_total');
  near(o.arrivalRate?.value, 20, 0.12);
  near(o.completionRate?.value, 2 * LOAD.requestRate, 0.12);
  expect(o.gatewayPool?.averageQueueSize?.value).toBe(3);
  expect(o.gatewayPool?.averageKvCacheUtilization?.value).toBe(0.5);
  expect(o.gatewayPool?.readyPods?.value).toBe(2);
});

test('variants of one model are told apart by their pod pattern', () => {
  const a = obs('shared-a');
  const b = obs('shared-b');
  expect(a.readyReplicas?.value).toBe(2);
  expect(b.readyReplicas?.value).toBe(1);
  near(a.arrivalRate?.value, 2 * LOAD.requestRate, 0.12);
  near(b.arrivalRate?.value, LOAD.requestRate, 0.12);
  expect(b.running?.value).toBe(LOAD.running);
  // the token buckets, per pod and summed per variant: each variant's own completions
  const bounds = [...oneTwoFiveBuckets(8192), Infinity];
  for (const v of [a, b]) {
    expect(v.errors).toEqual([]);
    expectOnlyIn(v.inputTokenBuckets, bounds, 1000);
    expectOnlyIn(v.outputTokenBuckets, bounds, 200);
    near(total(v.inputTokenBuckets), v.completionRate!.value * v.windowSeconds, 0.001);
  }
  near(total(a.inputTokenBuckets), 2 * total(b.inputTokenBuckets)!, 0.2);
});

test('a variant without samples enough in the rate window is measured over the fallback window', async () => {
  const short = new PrometheusMetricsSource({
    connection: { url: prom!.url },
    windowSeconds: 3,
    fallbackWindowSeconds: 12,
    maxAgeSeconds: 10,
  });
  const [slow, fast] = await short.collect(
    [query('slow', 'model-slow'), query('v-12', modelOf('vllm-0.12'))],
    now(),
  );
  expect(slow!.windowSeconds).toBe(12);
  expect(slow!.stale).toEqual([]);
  expect(slow!.missing).toEqual([]);
  near(slow!.arrivalRate?.value, LOAD.requestRate, 0.15);
  near(slow!.avgInputTokens?.value, LOAD.inputTokens, 0.001);
  expect(fast!.windowSeconds).toBe(3);
  expect(fast!.arrivalRate).toBeDefined();
});

test('sva collect prints the estimates read from Prometheus', async () => {
  tmp = mkdtempSync(join(tmpdir(), 'sva-collect-'));
  const config = join(tmp, 'config.yaml');
  writeFileSync(
    config,
    [
      'accelerators: [{ name: L4, costPerHour: 1 }]',
      'models: [{ name: m, profiles: { L4: { alpha: 20, beta: 0.3, maxBatchSize: 32, atTokens: 512 } } }]',
      'serviceClasses: [{ name: c, priority: 1, targets: { m: { ttftMs: 1000, itlMs: 60 } } }]',
      'variants:',
      `  - { name: v-012, namespace: ${NS}, model: m, serviceClass: c, metrics: { modelName: model-vllm-0.12 } }`,
      `  - { name: gw, namespace: ${NS}, model: m, serviceClass: c, metrics: { modelName: model-gw, gateway: true } }`,
      `  - { name: nobody, namespace: ${NS}, model: m, serviceClass: c, metrics: { modelName: model-nobody } }`,
      '',
    ].join('\n'),
  );
  const args = ['collect', '--prometheus', prom!.url, '--config', config, '--window', String(WINDOW)];
  const json = await run(...args, '--max-age', String(MAX_AGE), '--json');
  expect(json.errLines.filter((l) => l !== '')).toEqual([]);
  expect(json.code).toBe(0);
  const { variants } = JSON.parse(json.out[0]!) as { variants: Record<string, unknown>[] };
  expect(variants.map((v) => v.name)).toEqual(['v-012', 'gw', 'nobody']);
  const v = variants[0]!;
  expect(v).toMatchObject({
    namespace: NS,
    model: 'model-vllm-0.12',
    running: 2 * LOAD.running,
    waiting: 2 * LOAD.waiting,
    readyReplicas: 2,
    vllmNaming: 'vllm>=0.12',
    stale: [],
    missing: [],
  });
  near(v.arrivalRate as number, 2 * LOAD.requestRate, 0.12);
  // a ratio of two increases, each extrapolated over the window: equal to the load up to rounding
  near(v.avgInputTokens as number, LOAD.inputTokens, 1e-9);
  near(v.avgOutputTokens as number, LOAD.outputTokens, 1e-9);
  near(v.ttftMs as number, 300, 0.001);
  near(v.itlMs as number, 40, 0.001);
  // without pod patterns, Prometheus computes the p95 itself
  near(v.ttftP95Ms as number, 487.5, 0.001);
  near(v.itlP95Ms as number, 48.75, 0.001);
  expect(Object.keys(v).slice(0, 16)).toEqual([
    'name',
    'namespace',
    'model',
    'arrivalRate',
    'completionRate',
    'avgInputTokens',
    'avgOutputTokens',
    'ttftMs',
    'itlMs',
    'waiting',
    'running',
    'kvCacheUsage',
    'readyReplicas',
    'vllmNaming',
    'stale',
    'missing',
  ]);
  expect(variants[1]).toMatchObject({ gatewayPool: { readyPods: 2 } });
  expect(variants[2]).toMatchObject({ arrivalRate: null });
  expect(variants[2]!.missing).toContain('vllm:request_success_total');

  const table = await run(...args);
  expect(table.code).toBe(0);
  const text = table.out.join('\n');
  expect(text).toMatch(/^llm\/v-012 {2}model model-vllm-0\.12, naming vllm>=0\.12, window 5 s$/m);
  expect(text).toMatch(/^arrivalRate\s+\d+(\.\d+)?\s+req\/s\s+\d+\.\d\s+vllm:request_success_total/m);
  expect(text).toMatch(/^missing: .*vllm:request_success_total/m);
});

test('replicas that went away turn stale past the maximum age; the survivors stay fresh', async () => {
  for (const s of [...staleServers, partialServers[0]!]) await s.stop();
  let latest = new Map<string, PrometheusObservation>();
  await waitFor(
    'the stale variant reported stale',
    async () => {
      latest = new Map((await source.collect(QUERIES, now())).map((o) => [o.variant, o]));
      return (latest.get(`${NS}/stale`)?.stale.length ?? 0) > 0;
    },
    15_000,
    500,
  );
  const stale = latest.get(`${NS}/stale`)!;
  expect(stale.stale).toEqual(
    expect.arrayContaining([
      'vllm:request_success_total',
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
    ]),
  );
  expect(stale.missing).toEqual([]);
  expect(stale.arrivalRate).toBeUndefined();
  expect(stale.running).toBeUndefined();
  const partial = latest.get(`${NS}/partial`)!;
  expect(partial.stale).toEqual([]);
  expect(partial.missing).toEqual([]);
  expect(partial.readyReplicas?.value).toBe(1);
  expect(partial.running?.value).toBe(LOAD.running);
}, 25_000);
