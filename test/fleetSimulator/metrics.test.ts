import {
  createFleetSim,
  formatPrometheusNumber,
  poisson,
  ITL_BUCKETS,
  TTFT_BUCKETS,
} from '../../lib/fleetSimulator/index.js';
import { ms, oneVariantConfig, sampleSum, recordsOf } from './helpers.js';

const HISTOGRAMS = [
  'vllm:time_to_first_token_seconds',
  'vllm:inter_token_latency_seconds',
  'vllm:e2e_request_latency_seconds',
  'vllm:request_queue_time_seconds',
  'vllm:request_prefill_time_seconds',
  'vllm:request_decode_time_seconds',
  'vllm:request_inference_time_seconds',
  'vllm:request_prompt_tokens',
  'vllm:request_generation_tokens',
];

function loadedSim(maxNumBatchedTokens?: number, requestTimePerOutputToken = false) {
  const sim = createFleetSim({
    ...oneVariantConfig({
      initialReplicas: 3,
      profile: { maxBatchSize: 16, kvCacheTokens: 40_000, maxNumBatchedTokens },
    }),
    requestTimePerOutputToken,
  });
  const trace = poisson({
    rate: 20,
    duration: 60,
    inputTokens: { mean: 800, dist: 'exp' },
    outputTokens: { mean: 60, dist: 'exp' },
    seed: 7,
  });
  sim.addArrivals('chat', trace.requests);
  return { sim, trace };
}

describe('vLLM metrics of simulated replicas', () => {
  const { sim, trace } = loadedSim();
  sim.runUntil(600);
  const samples = sim.scrape();
  const { overall } = sim.results();
  const records = recordsOf(sim);
  const pods = [...new Set(samples.map((s) => s.labels.pod!))];

  test('every sample carries model_name, engine="0", pod and namespace', () => {
    expect(pods).toEqual(['chat-0', 'chat-1', 'chat-2']);
    for (const s of samples) {
      expect(s.labels).toMatchObject({ model_name: 'llama-8b', engine: '0', namespace: 'llm' });
    }
  });

  test('counters match the request records', () => {
    expect(overall.completed).toBe(trace.requests.length);
    expect(sampleSum(samples, 'vllm:request_success_total')).toBe(overall.completed);
    expect(sampleSum(samples, 'vllm:request_success_total', { finished_reason: 'stop' })).toBe(
      overall.completed,
    );
    expect(sampleSum(samples, 'vllm:prompt_tokens_total')).toBe(
      records.reduce((s, r) => s + r.inputTokens, 0),
    );
    expect(sampleSum(samples, 'vllm:generation_tokens_total')).toBe(
      records.reduce((s, r) => s + r.outputTokens, 0),
    );
    expect(sampleSum(samples, 'vllm:num_requests_running')).toBe(0);
    expect(sampleSum(samples, 'vllm:num_requests_waiting')).toBe(0);
    expect(sampleSum(samples, 'vllm:kv_cache_usage_perc')).toBe(0);
  });

  test('per-request histograms count each completed request once; sums match the records', () => {
    for (const name of HISTOGRAMS.filter((n) => n !== 'vllm:inter_token_latency_seconds')) {
      expect(sampleSum(samples, `${name}_count`)).toBe(overall.completed);
    }
    // Nobody waited in the variant queue, so replica-side TTFT equals the record's TTFT.
    const ttftSum = records.reduce((s, r) => s + r.ttft!, 0);
    expect(sampleSum(samples, 'vllm:time_to_first_token_seconds_sum')).toBeCloseTo(ttftSum, 6);
    const e2eSum = records.reduce((s, r) => s + r.e2e!, 0);
    expect(sampleSum(samples, 'vllm:e2e_request_latency_seconds_sum')).toBeCloseTo(e2eSum, 6);
    expect(sampleSum(samples, 'vllm:request_prompt_tokens_sum')).toBe(
      records.reduce((s, r) => s + r.inputTokens, 0),
    );
  });

  test('the ITL histogram observes every token gap, as vLLM does', () => {
    const gaps = records.reduce((s, r) => s + r.outputTokens - 1, 0);
    expect(sampleSum(samples, 'vllm:inter_token_latency_seconds_count')).toBe(gaps);
    const decodeTime = records.reduce((s, r) => s + (r.finished! - r.firstToken!), 0);
    expect(sampleSum(samples, 'vllm:inter_token_latency_seconds_sum')).toBeCloseTo(decodeTime, 6);
  });

  test('buckets are cumulative, monotone, end at +Inf = _count, and use vLLM bounds', () => {
    for (const pod of pods) {
      for (const name of HISTOGRAMS) {
        const buckets = samples.filter((s) => s.name === `${name}_bucket` && s.labels.pod === pod);
        const values = buckets.map((b) => b.value);
        for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]!);
        expect(buckets.at(-1)!.labels.le).toBe('+Inf');
        expect(values.at(-1)).toBe(sampleSum(samples, `${name}_count`, { pod }));
      }
    }
    const les = (name: string) =>
      samples.filter((s) => s.name === `${name}_bucket` && s.labels.pod === 'chat-0').map((s) => s.labels.le);
    expect(les('vllm:time_to_first_token_seconds')).toEqual([
      ...TTFT_BUCKETS.map(formatPrometheusNumber),
      '+Inf',
    ]);
    expect(les('vllm:inter_token_latency_seconds')).toEqual([
      ...ITL_BUCKETS.map(formatPrometheusNumber),
      '+Inf',
    ]);
    expect(les('vllm:request_prompt_tokens').slice(0, 4)).toEqual(['1.0', '2.0', '5.0', '10.0']);
    // 1-2-5 steps up to max_model_len, which defaults to the KV capacity (40,000)
    expect(les('vllm:request_prompt_tokens').at(-2)).toBe('20000.0');
  });

  test('cache_config_info reports the KV capacity as blocks', () => {
    const info = samples.find((s) => s.name === 'vllm:cache_config_info')!;
    expect(info.value).toBe(1);
    expect(info.labels).toMatchObject({ block_size: '16', num_gpu_blocks: '2500' });
  });

  test('mid-run gauges show load and KV use', () => {
    const { sim: busy } = loadedSim();
    const mid = busy.scrape(30);
    const running = sampleSum(mid, 'vllm:num_requests_running');
    expect(running).toBeGreaterThan(0);
    const kv = mid.filter((s) => s.name === 'vllm:kv_cache_usage_perc');
    expect(kv).toHaveLength(3);
    for (const s of kv) expect(s.value).toBeGreaterThanOrEqual(0);
    expect(kv.some((s) => s.value > 0)).toBe(true);
    // counters only grow between scrapes
    const later = busy.scrape(45);
    expect(sampleSum(later, 'vllm:generation_tokens_total')).toBeGreaterThan(
      sampleSum(mid, 'vllm:generation_tokens_total'),
    );
  });
});

test('with chunked prefill the counters still match the records and the KV cache empties', () => {
  const { sim, trace } = loadedSim(256);
  sim.runUntil(600);
  const samples = sim.scrape();
  const { overall } = sim.results();
  const records = recordsOf(sim);
  expect(overall.completed).toBe(trace.requests.length);
  expect(sampleSum(samples, 'vllm:request_success_total')).toBe(overall.completed);
  expect(sampleSum(samples, 'vllm:prompt_tokens_total')).toBe(records.reduce((s, r) => s + r.inputTokens, 0));
  expect(sampleSum(samples, 'vllm:generation_tokens_total')).toBe(
    records.reduce((s, r) => s + r.outputTokens, 0),
  );
  expect(sampleSum(samples, 'vllm:inter_token_latency_seconds_count')).toBe(
    records.reduce((s, r) => s + r.outputTokens - 1, 0),
  );
  expect(sampleSum(samples, 'vllm:kv_cache_usage_perc')).toBe(0);
  // prompts of about 800 tokens need several 256-token chunks
  expect(overall.ttft.p50).toBeGreaterThan(ms(3 * (20 + 25.6)));
});

describe('scrape samples, ready for text exposition', () => {
  test('each family is contiguous, of one type, and its samples carry its name', () => {
    const { sim } = loadedSim();
    const samples = sim.scrape(20);
    const seen = new Map<string, string>();
    let previous = '';
    for (const sample of samples) {
      if (sample.family !== previous) {
        expect(seen.has(sample.family)).toBe(false);
        seen.set(sample.family, sample.type);
        previous = sample.family;
      }
      expect(sample.type).toBe(seen.get(sample.family));
      expect(sample.name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
      const f = sample.family;
      expect([f, `${f}_bucket`, `${f}_sum`, `${f}_count`]).toContain(sample.name);
      for (const label of Object.keys(sample.labels)) expect(label).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
    }
    expect(seen.get('vllm:request_success_total')).toBe('counter');
    expect(seen.get('vllm:time_to_first_token_seconds')).toBe('histogram');
    expect(seen.get('vllm:num_requests_running')).toBe('gauge');
    expect(
      samples.some(
        (s) =>
          s.name === 'vllm:time_to_first_token_seconds_bucket' &&
          s.labels['le'] === '0.001' &&
          s.labels['pod'] === 'chat-0',
      ),
    ).toBe(true);
  });

  test('formats numbers like prometheus_client', () => {
    expect(formatPrometheusNumber(0.25)).toBe('0.25');
    expect(formatPrometheusNumber(2560)).toBe('2560.0');
    expect(formatPrometheusNumber(1_000_000)).toBe('1e+06');
    expect(formatPrometheusNumber(12_345_678)).toBe('1.2345678e+07');
    expect(formatPrometheusNumber(0.00005)).toBe('5e-05');
    expect(formatPrometheusNumber(Infinity)).toBe('+Inf');
  });
});

test("requestTimePerOutputToken: each request's mean gap after the first token, as the results judge it, in ITL buckets", () => {
  const run = (expose: boolean) => {
    const { sim } = loadedSim(undefined, expose);
    sim.runUntil(600);
    return { samples: sim.scrape(), records: recordsOf(sim) };
  };
  const name = 'vllm:request_time_per_output_token_seconds';
  expect(run(false).samples.some((s) => s.name.startsWith(name))).toBe(false);
  const { samples, records } = run(true);
  const judged = records.filter((r) => r.itl !== undefined);
  expect(sampleSum(samples, `${name}_count`)).toBe(judged.length);
  expect(sampleSum(samples, `${name}_sum`)).toBeCloseTo(
    judged.reduce((s, r) => s + r.itl!, 0),
    6,
  );
  // requests at or under 50 ms, bucket by bucket as the records put them
  const le = formatPrometheusNumber(0.05);
  expect(sampleSum(samples, `${name}_bucket`, { le })).toBe(judged.filter((r) => r.itl! <= 0.05).length);
});
