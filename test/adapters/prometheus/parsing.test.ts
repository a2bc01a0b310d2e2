/**
 * From Prometheus' JSON answers to RawSignals and observations: windows and their fallback,
 * zero for a seen series without a value, stale and missing names, failures with their reason,
 * NaN and Inf, pod patterns, p95 from buckets, token-length buckets, the naming of the servers.
 */
import { QueryResult } from 'prometheus-query';
import { histogramQuantile, parseLe } from '../../../lib/adapters/prometheus/histogramQuantile.js';
import { toQueryError } from '../../../lib/adapters/prometheus/prometheusClient.js';
import { CollectedResults, rowsOf, type QueryOutcome } from '../../../lib/adapters/prometheus/queryRows.js';
import { describeServerNaming } from '../../../lib/adapters/prometheus/serverNaming.js';
import type { SignalName } from '../../../lib/adapters/prometheus/signalQueries.js';
import { variantSignals } from '../../../lib/adapters/prometheus/variantSignals.js';
import { FixedLoadVariant } from '../../../lib/adapters/vllmEmulator/index.js';
import { SampleStore } from '../../../lib/metrics/sampleStore.js';
import { estimateObservation } from '../../../lib/metrics/signals.js';
import { updateTokenHistogram } from '../../../lib/policy/distribution.js';
import type { MetricsQuery } from '../../../lib/policy/ports.js';
// the emulated servers' known load of the tests against a real Prometheus (no server started here)
import { LOAD } from '../../integration/prometheus/helpers.js';

const T = 1_800_000_000;
const WINDOWS = [60, 300];
const CHAT: MetricsQuery = { variant: 'llm/chat', namespace: 'llm', modelName: 'chat', gateway: false };

/** An instant-query answer's `data` exactly as Prometheus sends it, parsed by prometheus-query. */
const answer = (json: string) => QueryResult.fromJSON(JSON.parse(json));

type Labels = Record<string, string>;
const vector = (rows: [Labels, string][]) =>
  QueryResult.fromJSON({
    resultType: 'vector',
    result: rows.map(([metric, value]) => ({ metric, value: [T, value] })),
  });
const at = (labels: Labels, value: number | string): [Labels, string] => [
  { model_name: 'chat', namespace: 'llm', ...labels },
  String(value),
];
const windowed = (values: Record<number, number>, labels: Labels = {}) =>
  Object.entries(values).map(([w, v]) => at({ ...labels, sva_window: w }, v));
const histogram = (values: Record<number, [number, number]>) =>
  Object.entries(values).flatMap(([w, [sum, count]]) => [
    at({ sva_window: w, sva_part: 'sum' }, sum),
    at({ sva_window: w, sva_part: 'count' }, count),
  ]);

const FRESH_SERIES = [
  'vllm:num_requests_running',
  'vllm:num_requests_waiting',
  'vllm:request_success_total',
  'vllm:request_prompt_tokens_count',
  'vllm:request_generation_tokens_count',
  'vllm:time_to_first_token_seconds_count',
  'vllm:inter_token_latency_seconds_count',
  'vllm:kv_cache_usage_perc',
  'vllm:cache_config_info',
  'vllm:num_requests_running{engine}',
];

/** What Prometheus answers for a fresh variant of two vLLM 0.12 replicas at 10 req/s. */
function freshAnswers(): Map<SignalName, QueryResult> {
  return new Map<SignalName, QueryResult>([
    ['inventory', vector(FRESH_SERIES.map((s) => at({ sva_series: s }, T - 1.5)))],
    ['completions', vector(windowed({ 60: 600, 300: 2900 }))],
    ['inFlightNow', vector([at({}, 12)])],
    ['inFlightBefore', vector(windowed({ 60: 6, 300: 0 }))],
    ['running', vector([at({}, 10)])],
    ['waiting', vector([at({}, 2)])],
    ['readyReplicas', vector([at({}, 2)])],
    ['kvCacheUsage', vector([at({ sva_part: 'sum' }, 0.8), at({ sva_part: 'count' }, 2)])],
    ['promptTokens', vector(histogram({ 60: [420_000, 600], 300: [2_030_000, 2900] }))],
    ['generationTokens', vector(histogram({ 60: [60_000, 600], 300: [290_000, 2900] }))],
    ['ttft', vector(histogram({ 60: [180, 600], 300: [870, 2900] }))],
    ['itl', vector(histogram({ 60: [2376, 59_400], 300: [11_484, 287_100] }))],
    [
      'ttftBuckets',
      vector([
        at({ sva_window: '60', le: '0.25' }, 0),
        at({ sva_window: '60', le: '0.5' }, 600),
        at({ sva_window: '60', le: '+Inf' }, 600),
      ]),
    ],
    [
      'itlBuckets',
      vector([
        at({ sva_window: '60', le: '0.025' }, 0),
        at({ sva_window: '60', le: '0.05' }, 59_400),
        at({ sva_window: '60', le: '+Inf' }, 59_400),
      ]),
    ],
    [
      'cacheConfig',
      vector([
        at({ pod: 'a', engine: '0', block_size: '16', num_gpu_blocks: '1000' }, 1),
        at({ pod: 'a', engine: '1', block_size: '16', num_gpu_blocks: '1000' }, 1),
        at({ pod: 'b', engine: '0', block_size: '16', num_gpu_blocks: '1000' }, 1),
      ]),
    ],
  ]);
}

function collected(
  answers: Map<SignalName, QueryResult>,
  failures: Partial<Record<SignalName, string>> = {},
) {
  const outcomes = new Map<SignalName, QueryOutcome>();
  for (const [signal, result] of answers) outcomes.set(signal, { ok: true, rows: rowsOf(result) });
  for (const [signal, error] of Object.entries(failures))
    outcomes.set(signal as SignalName, { ok: false, error });
  return new CollectedResults(outcomes);
}

const observe = (results: CollectedResults, q = CHAT, maxAgeSeconds = 10) =>
  estimateObservation(variantSignals(q, results, WINDOWS).raw, { now: T, maxAgeSeconds });

describe('rows', () => {
  test('an answer as Prometheus sends it becomes labelled rows; NaN and Inf become NaN', () => {
    const result = answer(`{
      "resultType": "vector",
      "result": [
        { "metric": { "model_name": "chat", "namespace": "llm", "sva_part": "sum" }, "value": [${T}, "0.8"] },
        { "metric": { "__name__": "up", "job": "vllm" }, "value": [${T}, "NaN"] },
        { "metric": {}, "value": [${T}, "+Inf"] }
      ]
    }`);
    const rows = rowsOf(result);
    expect(rows[0]).toEqual({
      labels: { model_name: 'chat', namespace: 'llm', sva_part: 'sum' },
      value: 0.8,
    });
    expect(rows[1]!.labels).toEqual({ job: 'vllm' });
    expect(rows[1]!.value).toBeNaN();
    expect(rows[2]!.value).toBeNaN();
    expect(rowsOf(answer(`{ "resultType": "scalar", "result": [${T}, "3"] }`))).toEqual([
      { labels: {}, value: 3 },
    ]);
    expect(rowsOf(answer(`{ "resultType": "matrix", "result": [] }`))).toEqual([]);
  });
});

describe('a variant from its rows', () => {
  test('fresh servers: every estimate, from the rate window', () => {
    const signals = variantSignals(CHAT, collected(freshAnswers()), WINDOWS);
    const o = estimateObservation(signals.raw, { now: T, maxAgeSeconds: 10 });
    expect(o.windowSeconds).toBe(60);
    expect(o.arrivalRate).toEqual({
      value: (600 + 12 - 6) / 60,
      source: 'vllm:request_success_total + d(vllm:num_requests_running+vllm:num_requests_waiting)/dt',
      timestamp: T - 1.5,
    });
    expect(o.completionRate?.value).toBe(10);
    expect(o.avgInputTokens?.value).toBe(700);
    expect(o.avgOutputTokens?.value).toBe(100);
    expect(o.ttftMs?.value).toBeCloseTo(300, 9);
    expect(o.itlMs).toEqual({ value: 40, source: 'vllm:inter_token_latency_seconds', timestamp: T - 1.5 });
    expect(o.running?.value).toBe(10);
    expect(o.waiting?.value).toBe(2);
    expect(o.kvCacheUsage).toEqual({ value: 0.4, source: 'vllm:kv_cache_usage_perc', timestamp: T - 1.5 });
    expect(o.readyReplicas?.value).toBe(2);
    expect(o.vllmNaming).toBe('vllm>=0.12');
    expect(o.stale).toEqual([]);
    expect(o.missing).toEqual([]);
    expect(signals.ttftP95Seconds?.value).toBeCloseTo(0.4875, 12);
    expect(signals.itlP95Seconds?.value).toBeCloseTo(0.04875, 12);
    expect(signals.kvCapacityTokens?.value).toBe((32_000 + 16_000) / 2);
    expect(signals.errors).toEqual([]);
  });

  test('servers exposing the decode time: the mean time per output token is it over the tokens decoded', () => {
    const answers = freshAnswers();
    const inventory = [...FRESH_SERIES, 'vllm:request_decode_time_seconds_count'];
    answers.set('inventory', vector(inventory.map((s) => at({ sva_series: s }, T - 1.5))));
    // 600 requests of 100 tokens decoded in 2.97 s each: 30 ms a token, where ITL's mean says 40
    answers.set('decodeTime', vector(histogram({ 60: [600 * 2.97, 600], 300: [2900 * 2.97, 2900] })));
    const o = observe(collected(answers));
    expect(o.itlMs?.value).toBeCloseTo(30, 9);
    expect(o.itlMs?.source).toBe('vllm:request_decode_time_seconds');
    // a server without it keeps the ITL histogram's mean, and nothing is named missing
    const without = observe(collected(freshAnswers()));
    expect(without.itlMs?.value).toBeCloseTo(40, 9);
    expect(without.missing).toEqual([]);
  });

  test('without data in the rate window, every windowed value comes from the fallback', () => {
    const answers = freshAnswers();
    answers.set('completions', vector(windowed({ 300: 2900 })));
    const o = observe(collected(answers));
    expect(o.windowSeconds).toBe(300);
    expect(o.completionRate?.value).toBeCloseTo(2900 / 300, 12);
    expect(o.arrivalRate?.value).toBeCloseTo((2900 + 12 - 0) / 300, 12);
    expect(o.avgInputTokens?.value).toBe(700);
  });

  test('servers that went away: their values count as zero at their last sample, so they turn stale', () => {
    const answers = new Map<SignalName, QueryResult>([
      [
        'inventory',
        vector(
          ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:request_success_total'].map((s) =>
            at({ sva_series: s }, T - 30),
          ),
        ),
      ],
      ['completions', vector(windowed({ 60: 120 }))],
    ]);
    const results = collected(answers);
    const raw = variantSignals(CHAT, results, WINDOWS).raw;
    expect(raw.running).toEqual({ value: 0, timestamp: T - 30, series: 'vllm:num_requests_running' });
    expect(raw.completions).toEqual({ value: 120, timestamp: T - 30, series: 'vllm:request_success_total' });
    const old = observe(results, CHAT, 10);
    expect(old.arrivalRate).toBeUndefined();
    expect(old.running).toBeUndefined();
    expect(old.stale).toEqual([
      'vllm:num_requests_running',
      'vllm:num_requests_running+vllm:num_requests_waiting',
      'vllm:num_requests_waiting',
      'vllm:request_success_total',
    ]);
    // Within the allowed age the zero is a measurement (as in the simulation's sample store).
    expect(observe(results, CHAT, 60).running?.value).toBe(0);
  });

  test('a series never seen is missing by name; a variant with nothing has no estimate and no naming', () => {
    const answers = freshAnswers();
    answers.set(
      'inventory',
      vector(
        FRESH_SERIES.filter((s) => !s.startsWith('vllm:time_to_first')).map((s) =>
          at({ sva_series: s }, T - 1),
        ),
      ),
    );
    expect(observe(collected(answers)).missing).toEqual(['vllm:time_to_first_token_seconds']);
    const nobody = observe(collected(answers), { ...CHAT, modelName: 'other' });
    expect(nobody.arrivalRate).toBeUndefined();
    expect(nobody.vllmNaming).toBeUndefined();
    expect(nobody.missing).toContain('vllm:request_success_total');
    expect(nobody.missing).toContain('vllm:cache_config_info');
  });

  test('NaN and Inf values are reported missing, not used; a zero count is idle, not NaN', () => {
    const answers = freshAnswers();
    answers.set('kvCacheUsage', vector([at({ sva_part: 'sum' }, 'NaN'), at({ sva_part: 'count' }, 2)]));
    answers.set('waiting', vector([at({}, '+Inf')]));
    answers.set('ttft', vector(histogram({ 60: [0, 0] })));
    answers.set(
      'ttftBuckets',
      vector([at({ sva_window: '60', le: '0.5' }, 0), at({ sva_window: '60', le: '+Inf' }, 0)]),
    );
    const signals = variantSignals(CHAT, collected(answers), WINDOWS);
    const o = estimateObservation(signals.raw, { now: T, maxAgeSeconds: 10 });
    expect(o.kvCacheUsage).toBeUndefined();
    expect(o.waiting).toBeUndefined();
    expect(o.missing).toEqual(['vllm:kv_cache_usage_perc', 'vllm:num_requests_waiting']);
    expect(o.ttftMs).toBeUndefined();
    expect(signals.ttftP95Seconds).toBeUndefined();
    expect(o.arrivalRate?.value).toBeCloseTo(10.1, 12);
  });

  test('a failed query makes its series missing with the reason; a failed inventory, every series', () => {
    const reason = 'prometheus at http://prom:9090 answered HTTP 503: overloaded';
    const one = variantSignals(CHAT, collected(freshAnswers(), { completions: reason }), WINDOWS);
    const o = estimateObservation(one.raw, { now: T, maxAgeSeconds: 10 });
    expect(o.arrivalRate).toBeUndefined();
    expect(o.completionRate).toBeUndefined();
    expect(o.running?.value).toBe(10);
    expect(o.missing).toEqual([`(${reason})`, 'vllm:request_success_total']);
    expect(one.errors).toEqual([reason]);

    const all = estimateObservation(
      variantSignals(
        CHAT,
        collected(freshAnswers(), { inventory: 'prometheus unreachable at x: ECONNREFUSED' }),
        WINDOWS,
      ).raw,
      { now: T, maxAgeSeconds: 10 },
    );
    expect(all.arrivalRate).toBeUndefined();
    expect(all.running).toBeUndefined();
    expect(all.missing[0]).toBe('(prometheus unreachable at x: ECONNREFUSED)');
    expect(all.missing).toContain('vllm:num_requests_running');
  });

  test('pod patterns select rows by pod; the gateway counter belongs to the variant whatever its pods', () => {
    const pods = (values: Record<string, number>, labels: Labels = {}) =>
      Object.entries(values).map(([pod, v]) => at({ ...labels, pod }, v));
    const answers = new Map<SignalName, QueryResult>([
      [
        'inventory',
        vector([
          ...['a-0', 'a-1', 'b-0'].flatMap((pod) =>
            ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:request_success_total'].map(
              (s) => at({ pod, sva_series: s }, T - 1),
            ),
          ),
          at({ sva_series: 'inference_model_request_total' }, T - 1),
        ]),
      ],
      ['completions', vector(pods({ 'a-0': 60, 'a-1': 60, 'b-0': 300 }, { sva_window: '60' }))],
      ['inFlightNow', vector(pods({ 'a-0': 1, 'a-1': 1, 'b-0': 5 }))],
      ['inFlightBefore', vector(pods({ 'a-0': 1, 'a-1': 1, 'b-0': 5 }, { sva_window: '60' }))],
      ['running', vector(pods({ 'a-0': 1, 'a-1': 1, 'b-0': 5 }))],
      ['readyReplicas', vector(pods({ 'a-0': 1, 'a-1': 1, 'b-0': 1 }))],
      ['gatewayRequests', vector(windowed({ 60: 900 }))],
    ]);
    const results = collected(answers);
    const a = observe(results, { ...CHAT, variant: 'llm/a', podPattern: '^a-' });
    const b = observe(results, { ...CHAT, variant: 'llm/b', podPattern: '^b-', gateway: true });
    expect(a.arrivalRate?.value).toBe(2);
    expect(a.readyReplicas?.value).toBe(2);
    expect(a.running?.value).toBe(2);
    expect(b.completionRate?.value).toBe(5);
    expect(b.arrivalRate).toEqual({ value: 15, source: 'inference_model_request_total', timestamp: T - 1 });
    expect(b.readyReplicas?.value).toBe(1);
    // each pod's running + waiting now, for a scale-down's deletion costs: the variant's pods only
    const loads = (q: MetricsQuery) => variantSignals(q, results, WINDOWS).podLoads;
    expect(loads({ ...CHAT, variant: 'llm/a', podPattern: '^a-' })).toEqual([
      { pod: 'a-0', load: 1 },
      { pod: 'a-1', load: 1 },
    ]);
    expect(loads({ ...CHAT, variant: 'llm/b', podPattern: '^b-' })).toEqual([{ pod: 'b-0', load: 5 }]);
  });

  test('without a pod label on the servers, no pod loads', () => {
    expect(variantSignals(CHAT, collected(freshAnswers()), WINDOWS).podLoads).toBeUndefined();
  });

  test('gateway pool gauges are read by pool name, with their own sample times', () => {
    const answers = freshAnswers();
    answers.set(
      'gatewayPool',
      vector([
        [
          { name: 'chat', namespace: 'llm', sva_part: 'averageQueueSize@inference_pool_average_queue_size' },
          '4',
        ],
        [
          {
            name: 'chat',
            namespace: 'llm',
            sva_part: 'averageQueueSize:ts@inference_pool_average_queue_size',
          },
          String(T - 2),
        ],
        // an EPP exposing both names (llm-d's router during its renaming): the newer one is read
        [{ name: 'chat', namespace: 'llm', sva_part: 'readyPods@llm_d_epp_ready_endpoints' }, '3'],
        [
          { name: 'chat', namespace: 'llm', sva_part: 'readyPods:ts@llm_d_epp_ready_endpoints' },
          String(T - 2),
        ],
        [{ name: 'chat', namespace: 'llm', sva_part: 'readyPods@inference_pool_ready_pods' }, '9'],
        [
          { name: 'chat', namespace: 'llm', sva_part: 'readyPods:ts@inference_pool_ready_pods' },
          String(T - 2),
        ],
      ]),
    );
    const signals = variantSignals(CHAT, collected(answers), WINDOWS, 'chat');
    expect(signals.pool).toEqual({
      averageQueueSize: { value: 4, timestamp: T - 2, series: 'inference_pool_average_queue_size' },
      readyPods: { value: 3, timestamp: T - 2, series: 'llm_d_epp_ready_endpoints' },
    });
    expect(signals.raw.absent).toEqual(['inference_pool_average_kv_cache_utilization']);
  });
});

describe('token-length buckets', () => {
  /** cumulative bucket rows of one window (and pod, when given) */
  const bucketRows = (window: number, counts: Record<string, number | string>, labels: Labels = {}) =>
    Object.entries(counts).map(([le, v]) => at({ ...labels, sva_window: String(window), le }, v));
  const PROMPT = { '500': 100, '1000': 550, '2000': 600, '+Inf': 600 };
  const OUTPUT = { '50': 60, '100': 500, '200': 600, '+Inf': 600 };
  const withBuckets = (prompt: [Labels, string][], output = bucketRows(60, OUTPUT)) => {
    const answers = freshAnswers();
    answers.set('promptTokenBuckets', vector(prompt));
    answers.set('generationTokenBuckets', vector(output));
    return answers;
  };

  test("the rate window's increases by bound become the observation's histograms, +Inf last", () => {
    const answers = withBuckets([
      // the fallback window's rows are not mixed in
      ...bucketRows(300, { '500': 500, '1000': 2700, '2000': 2900, '+Inf': 2900 }),
      ...bucketRows(60, { '+Inf': 600, '1000': 550, '500': 100, '2000': 600 }),
    ]);
    const signals = variantSignals(CHAT, collected(answers), WINDOWS);
    expect(signals.raw.promptTokenBuckets).toEqual([
      { le: 500, count: 100 },
      { le: 1000, count: 550 },
      { le: 2000, count: 600 },
      { le: Infinity, count: 600 },
    ]);
    expect(signals.warnings).toEqual([]);
    const o = estimateObservation(signals.raw, { now: T, maxAgeSeconds: 10 });
    expect(o.inputTokenBuckets).toEqual({ bounds: [500, 1000, 2000, Infinity], counts: [100, 450, 50, 0] });
    expect(o.outputTokenBuckets).toEqual({ bounds: [50, 100, 200, Infinity], counts: [60, 440, 100, 0] });
    expect(o.missing).toEqual([]);
  });

  test("with pods selected by pattern, the rows of the variant's pods are summed per bound", () => {
    const answers = withBuckets([
      ...bucketRows(60, { '1000': 10, '2000': 30, '+Inf': 30 }, { pod: 'a-0' }),
      ...bucketRows(60, { '1000': 5, '2000': 5, '+Inf': 6 }, { pod: 'a-1' }),
      ...bucketRows(60, { '1000': 0, '2000': 900, '+Inf': 900 }, { pod: 'b-0' }),
    ]);
    const raw = variantSignals({ ...CHAT, podPattern: '^a-' }, collected(answers), WINDOWS).raw;
    expect(raw.promptTokenBuckets).toEqual([
      { le: 1000, count: 15 },
      { le: 2000, count: 35 },
      { le: Infinity, count: 36 },
    ]);
  });

  test.each([
    ['no +Inf bucket', { '500': 100, '1000': 600 }, 'vllm:request_prompt_tokens_bucket: no +Inf bucket'],
    [
      'counts falling as the bound grows',
      { '500': 100, '1000': 550, '2000': 500, '+Inf': 600 },
      'vllm:request_prompt_tokens_bucket: cumulative counts fall from 550 at le=1000 to 500 at le=2000',
    ],
    [
      'a NaN count',
      { '500': 100, '1000': 'NaN', '+Inf': 600 },
      'vllm:request_prompt_tokens_bucket: rows[1].value: ',
    ],
    [
      'a bound that is no number',
      { '500': 100, big: 550, '+Inf': 600 },
      'vllm:request_prompt_tokens_bucket: rows[1].labels.le: not a bucket bound',
    ],
  ])('%s: no buckets, never wrong ones, and the reason; nothing else is missing', (_, counts, reason) => {
    const signals = variantSignals(CHAT, collected(withBuckets(bucketRows(60, counts))), WINDOWS);
    expect(signals.raw.promptTokenBuckets).toBeUndefined();
    expect(signals.warnings).toHaveLength(1);
    expect(signals.warnings[0]).toContain(reason);
    // the output lengths are still read; a refinement lost is no missing series and no held decision
    expect(signals.raw.generationTokenBuckets).toHaveLength(4);
    const o = estimateObservation(signals.raw, { now: T, maxAgeSeconds: 10 });
    expect(o.inputTokenBuckets).toBeUndefined();
    expect(o.missing).toEqual([]);
    expect(o.arrivalRate?.value).toBeCloseTo(10.1, 12);
  });

  test('pods that bucket differently are not summed; a failed query is a warning, not a missing series', () => {
    const mixed = withBuckets([
      ...bucketRows(60, { '1000': 10, '2000': 30, '+Inf': 30 }, { pod: 'a-0' }),
      ...bucketRows(60, { '1000': 5, '+Inf': 6 }, { pod: 'a-1' }),
    ]);
    const signals = variantSignals({ ...CHAT, podPattern: '^a-' }, collected(mixed), WINDOWS);
    expect(signals.raw.promptTokenBuckets).toBeUndefined();
    expect(signals.warnings).toEqual([
      "vllm:request_prompt_tokens_bucket: the servers' buckets differ (1000,2000,Infinity vs 1000,Infinity)",
    ]);

    const reason = 'prometheus at http://prom:9090 answered HTTP 422: too many samples';
    const failed = variantSignals(
      CHAT,
      collected(withBuckets(bucketRows(60, PROMPT)), { generationTokenBuckets: reason }),
      WINDOWS,
    );
    expect(failed.raw.promptTokenBuckets).toHaveLength(4);
    expect(failed.raw.generationTokenBuckets).toBeUndefined();
    expect(failed.warnings).toEqual([`vllm:request_generation_tokens_bucket: ${reason}`]);
    expect(failed.errors).toEqual([]);
    expect(estimateObservation(failed.raw, { now: T, maxAgeSeconds: 10 }).missing).toEqual([]);
    // with every query failing for the same reason, the reason is said once, as the error it is
    const down = 'prometheus unreachable at x: ECONNREFUSED';
    const all = variantSignals(
      CHAT,
      collected(new Map(), {
        inventory: down,
        completions: down,
        promptTokenBuckets: down,
        generationTokenBuckets: down,
      }),
      WINDOWS,
    );
    expect(all.errors).toEqual([down]);
    expect(all.warnings).toEqual([]);
  });

  test('servers without the buckets (none in the answer): no buckets and nothing to say', () => {
    const signals = variantSignals(CHAT, collected(freshAnswers()), WINDOWS);
    expect(signals.raw.promptTokenBuckets).toBeUndefined();
    expect(signals.raw.generationTokenBuckets).toBeUndefined();
    expect(signals.warnings).toEqual([]);
  });

  test("the same scrapes give the same histograms as the simulation's sample store", () => {
    const t0 = T - 60;
    const load = { ...LOAD, requestRate: 4 };
    const fleet = new FixedLoadVariant({
      model: 'chat',
      namespace: 'llm',
      pods: 2,
      naming: 'vllm-0.12',
      load,
      startSeconds: t0 - 30,
    });
    const before = fleet.samples(t0);
    fleet.setLoad({ ...load, inputTokens: 3000, outputTokens: 40 }, t0 + 20);
    const after = fleet.samples(T);
    const store = new SampleStore();
    store.ingest(t0, before);
    store.ingest(T, after);
    const fromStore = estimateObservation(
      store.rawSignals({ variant: CHAT.variant, model: 'chat', namespace: 'llm' }, T, 60),
      { now: T, maxAgeSeconds: 10 },
    );
    // what Prometheus answers for the same two scrapes: the increase per pod and bound, summed by bound
    const increases = (family: string) => {
      const sums = new Map<string, number>();
      const key = (labels: Readonly<Record<string, string>>) => `${labels.pod}|${labels.le}`;
      const first = new Map(before.filter((x) => x.name === family).map((x) => [key(x.labels), x.value]));
      for (const x of after.filter((y) => y.name === family)) {
        const le = x.labels.le!;
        sums.set(le, (sums.get(le) ?? 0) + x.value - (first.get(key(x.labels)) ?? 0));
      }
      return [...sums].map(([le, v]) => at({ sva_window: '60', le }, v));
    };
    const answers = withBuckets(
      increases('vllm:request_prompt_tokens_bucket'),
      increases('vllm:request_generation_tokens_bucket'),
    );
    const fromPrometheus = observe(collected(answers));
    expect(fromStore.inputTokenBuckets?.counts.some((c) => c > 0)).toBe(true);
    expect(fromPrometheus.inputTokenBuckets).toEqual(fromStore.inputTokenBuckets);
    expect(fromPrometheus.outputTokenBuckets).toEqual(fromStore.outputTokenBuckets);
    // both long and short prompts of the window: what the ITL sizing needs, from either source
    const histogram = updateTokenHistogram(undefined, fromPrometheus, T, 600);
    expect(histogram?.input.filter((c) => c > 0)).toHaveLength(2);
    expect(histogram?.output.filter((c) => c > 0)).toHaveLength(2);
  });
});

describe('naming', () => {
  const none = {
    itlNew: false,
    itlOld: false,
    kvNew: false,
    kvOld: false,
    finishReason: false,
    engine: true,
    anyServer: true,
  };
  test.each([
    [{ itlOld: true, kvOld: true }, 'vllm<=0.10'],
    [{ itlNew: true, itlOld: true, kvNew: true }, 'vllm 0.11'],
    [{ itlNew: true, kvNew: true }, 'vllm>=0.12'],
    [{ itlNew: true, itlOld: true, kvNew: true, finishReason: true, engine: false }, 'llm-d-sim'],
    [{ itlNew: true, itlOld: true, kvNew: true, kvOld: true }, 'mixed'],
    [{ itlNew: true, kvNew: true, engine: false }, 'vllm>=0.12, no engine label'],
    [{}, 'unknown'],
  ])('%j is %s', (evidence, naming) => {
    expect(describeServerNaming({ ...none, ...evidence })).toBe(naming);
  });
  test('no server, no naming', () => {
    expect(describeServerNaming({ ...none, anyServer: false })).toBeUndefined();
  });
});

describe('histogram quantile', () => {
  test('interpolates within the bucket, as PromQL does', () => {
    const buckets = [
      { le: 0.1, count: 10 },
      { le: 0.5, count: 30 },
      { le: Infinity, count: 40 },
    ];
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.3, 12);
    expect(histogramQuantile(0.1, buckets)).toBeCloseTo(0.04, 12);
    expect(histogramQuantile(0.95, buckets)).toBe(0.5);
    expect(histogramQuantile(0.5, [...buckets].reverse())).toBeCloseTo(0.3, 12);
  });
  test('NaN when nothing was observed or without a +Inf bucket', () => {
    expect(
      histogramQuantile(0.95, [
        { le: 1, count: 0 },
        { le: Infinity, count: 0 },
      ]),
    ).toBeNaN();
    expect(
      histogramQuantile(0.95, [
        { le: 1, count: 3 },
        { le: 2, count: 3 },
      ]),
    ).toBeNaN();
    expect(histogramQuantile(2, [])).toBe(Infinity);
  });
  test('le labels', () => {
    expect(parseLe('+Inf')).toBe(Infinity);
    expect(parseLe('1.0')).toBe(1);
    expect(parseLe('2.5e-05')).toBe(0.000025);
  });
});

describe('query errors', () => {
  const url = 'http://user:secret@prom:9090';
  test.each([
    [
      {
        status: 'error',
        errorType: 'timeout_error',
        error: 'timeout of 500ms exceeded',
        code: 'ECONNABORTED',
      },
      'timeout',
      'prometheus at http://prom:9090 did not answer within 500 ms',
    ],
    [
      {
        status: 'error',
        errorType: 'network_error',
        error: 'connect ECONNREFUSED 127.0.0.1:9',
        code: 'ECONNREFUSED',
      },
      'unreachable',
      'prometheus unreachable at http://prom:9090: connect ECONNREFUSED 127.0.0.1:9',
    ],
    [
      { status: 'error', errorType: 'network_error', error: 'getaddrinfo failed', code: 'ENOTFOUND' },
      'unreachable',
      'prometheus unreachable at http://prom:9090: ENOTFOUND getaddrinfo failed',
    ],
    [
      { status: 'error', errorType: 'http_error', httpStatus: 400, error: 'parse error at char 3' },
      'http',
      'prometheus at http://prom:9090 answered HTTP 400: parse error at char 3',
    ],
    [
      { status: 'error', errorType: 'client_error', error: 'unexpected client error' },
      'bad-response',
      'unexpected answer from prometheus at http://prom:9090: unexpected client error',
    ],
    [
      new Error('Unexpected resultType: foo'),
      'bad-response',
      'unexpected answer from prometheus at http://prom:9090: Unexpected resultType: foo',
    ],
  ])('%j', (thrown, kind, message) => {
    const error = toQueryError(thrown, url, 500);
    expect(error).toBeInstanceOf(Error);
    expect(error.kind).toBe(kind);
    expect(error.message).toBe(message);
  });
});
