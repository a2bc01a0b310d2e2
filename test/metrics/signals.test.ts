/**
 * estimateObservation: raw windowed signals to what the policy may size from. An idle variant is
 * a measured zero; stale and non-finite values are named and never used.
 */
import { estimateObservation, type RawSignals, type Signal } from '../../lib/metrics/signals.js';

const NOW = 10_000;
const W = 60;
const opts = { now: NOW, maxAgeSeconds: 120 };

const sig = (series: string, value: number, timestamp = NOW - 10): Signal => ({ value, timestamp, series });
const hist = (base: string, sum: number, count: number, timestamp = NOW - 10) => ({
  sum: sig(`${base}_sum`, sum, timestamp),
  count: sig(`${base}_count`, count, timestamp),
});

const raw = (over: Partial<RawSignals> = {}): RawSignals => ({
  variant: 'llm/chat',
  model: 'm',
  windowSeconds: W,
  completions: sig('vllm:request_success_total', 120),
  inFlightNow: sig('running+waiting', 14),
  inFlightBefore: sig('running+waiting', 8),
  promptTokens: hist('vllm:request_prompt_tokens', 120 * 500, 120),
  generationTokens: hist('vllm:request_generation_tokens', 120 * 100, 120),
  ttftSeconds: hist('vllm:time_to_first_token_seconds', 120 * 0.25, 120),
  itlSeconds: hist('vllm:inter_token_latency_seconds', 11880 * 0.04, 11880),
  running: sig('vllm:num_requests_running', 12),
  waiting: sig('vllm:num_requests_waiting', 2),
  kvCacheUsage: sig('vllm:kv_cache_usage_perc', 0.35),
  readyReplicas: sig('vllm:num_requests_running', 3),
  vllmNaming: 'vllm>=0.11',
  absent: [],
  ...over,
});

describe('estimateObservation', () => {
  it('estimates arrivals as completions plus the growth in flight, and every mean from its histogram', () => {
    const o = estimateObservation(raw(), opts);
    // (120 + 14 - 8) / 60
    expect(o.arrivalRate).toEqual({
      value: 2.1,
      source: 'vllm:request_success_total + d(running+waiting)/dt',
      timestamp: NOW - 10,
    });
    expect(o.completionRate!.value).toBe(2);
    expect(o.avgInputTokens!.value).toBe(500);
    expect(o.avgInputTokens!.source).toBe('vllm:request_prompt_tokens');
    expect(o.avgOutputTokens!.value).toBe(100);
    expect(o.ttftMs!.value).toBeCloseTo(250, 9);
    expect(o.itlMs!.value).toBeCloseTo(40, 9);
    expect(o.waiting!.value).toBe(2);
    expect(o.running!.value).toBe(12);
    expect(o.kvCacheUsage!.value).toBe(0.35);
    expect(o.readyReplicas!.value).toBe(3);
    expect(o).toMatchObject({ variant: 'llm/chat', at: NOW, windowSeconds: W, stale: [], missing: [] });
    expect(o.vllmNaming).toBe('vllm>=0.11');
  });

  it('never reports negative arrivals when in flight falls faster than completions', () => {
    // 120 completed while in flight fell from 500 to 14
    expect(estimateObservation(raw({ inFlightBefore: sig('x', 500) }), opts).arrivalRate!.value).toBe(0);
    const o = estimateObservation(raw({ completions: sig('vllm:request_success_total', 3) }), opts);
    expect(o.arrivalRate!.value).toBeCloseTo((3 + 6) / 60, 12);
  });

  it('idle (nothing completed, nothing in flight): arrivals a measured 0, no token means, nothing missing', () => {
    const o = estimateObservation(
      raw({
        completions: sig('vllm:request_success_total', 0),
        inFlightNow: sig('running+waiting', 0),
        inFlightBefore: sig('running+waiting', 0),
        promptTokens: hist('vllm:request_prompt_tokens', 0, 0),
        generationTokens: hist('vllm:request_generation_tokens', 0, 0),
        ttftSeconds: hist('vllm:time_to_first_token_seconds', 0, 0),
        itlSeconds: hist('vllm:inter_token_latency_seconds', 0, 0),
        running: sig('vllm:num_requests_running', 0),
        waiting: sig('vllm:num_requests_waiting', 0),
      }),
      opts,
    );
    expect(o.arrivalRate).toBeDefined();
    expect(o.arrivalRate!.value).toBe(0);
    expect(o.completionRate!.value).toBe(0);
    expect(o.avgInputTokens).toBeUndefined();
    expect(o.avgOutputTokens).toBeUndefined();
    expect(o.ttftMs).toBeUndefined();
    expect(o.itlMs).toBeUndefined();
    expect(o.missing).toEqual([]);
    expect(o.stale).toEqual([]);
    for (const e of [o.arrivalRate, o.completionRate, o.running, o.waiting])
      expect(Number.isNaN(e!.value)).toBe(false);
  });

  it('lists stale series by name and does not use them', () => {
    const old = NOW - 121;
    const o = estimateObservation(
      raw({
        completions: sig('vllm:request_success_total', 120, old),
        ttftSeconds: hist('vllm:time_to_first_token_seconds', 30, 120, old),
        running: sig('vllm:num_requests_running', 12, old),
      }),
      opts,
    );
    expect(o.arrivalRate).toBeUndefined();
    expect(o.completionRate).toBeUndefined();
    expect(o.ttftMs).toBeUndefined();
    expect(o.running).toBeUndefined();
    expect(o.stale).toEqual(
      expect.arrayContaining([
        'vllm:num_requests_running',
        'vllm:request_success_total',
        'vllm:time_to_first_token_seconds_sum',
      ]),
    );
    expect(o.stale.every((s) => !s.startsWith('vllm:request_prompt_tokens'))).toBe(true);
    // the fresh ones are still used
    expect(o.waiting!.value).toBe(2);
    expect(o.avgInputTokens!.value).toBe(500);
  });

  it('accepts a sample exactly maxAgeSeconds old', () => {
    const o = estimateObservation(
      raw({ completions: sig('vllm:request_success_total', 120, NOW - 120) }),
      opts,
    );
    expect(o.arrivalRate).toBeDefined();
    expect(o.stale).toEqual([]);
  });

  it('treats NaN and infinite values as missing, never as numbers', () => {
    const o = estimateObservation(
      raw({
        completions: sig('vllm:request_success_total', NaN),
        waiting: sig('vllm:num_requests_waiting', Infinity),
        promptTokens: hist('vllm:request_prompt_tokens', -Infinity, 10),
      }),
      opts,
    );
    expect(o.arrivalRate).toBeUndefined();
    expect(o.completionRate).toBeUndefined();
    expect(o.waiting).toBeUndefined();
    expect(o.avgInputTokens).toBeUndefined();
    expect(o.missing).toEqual([
      'vllm:num_requests_waiting',
      'vllm:request_prompt_tokens_sum',
      'vllm:request_success_total',
    ]);
  });

  it('carries the series the backend found absent, and has no arrivals without in-flight gauges', () => {
    const o = estimateObservation(
      raw({
        inFlightNow: undefined,
        inFlightBefore: undefined,
        waiting: undefined,
        absent: ['vllm:num_requests_waiting'],
      }),
      opts,
    );
    expect(o.arrivalRate).toBeUndefined();
    expect(o.completionRate!.value).toBe(2);
    expect(o.missing).toEqual(['vllm:num_requests_waiting']);
  });

  it('prefers the gateway request counter when present', () => {
    const o = estimateObservation(raw({ gatewayRequests: sig('inference_model_request_total', 150) }), opts);
    expect(o.arrivalRate).toEqual({
      value: 2.5,
      source: 'inference_model_request_total',
      timestamp: NOW - 10,
    });
    // completions are still reported as completions
    expect(o.completionRate!.value).toBe(2);
  });

  it('measures arrivals from the gateway alone when no server runs (scale from zero)', () => {
    const o = estimateObservation(
      {
        variant: 'llm/chat',
        model: 'm',
        windowSeconds: W,
        gatewayRequests: sig('inference_model_request_total', 30),
        absent: ['vllm:request_success_total', 'vllm:num_requests_waiting'],
      },
      opts,
    );
    expect(o.arrivalRate!.value).toBe(0.5);
    expect(o.missing).toEqual(['vllm:num_requests_waiting', 'vllm:request_success_total']);
  });

  it('falls back to completions + in flight when the gateway counter is stale, and says so', () => {
    const o = estimateObservation(
      raw({ gatewayRequests: sig('inference_model_request_total', 150, NOW - 600) }),
      opts,
    );
    expect(o.arrivalRate!.value).toBeCloseTo(2.1, 12);
    expect(o.stale).toEqual(['inference_model_request_total']);
  });
});

describe("the gateway's flow-control queue", () => {
  const opts = { now: NOW, maxAgeSeconds: 120 };
  it("adds to the engines' waiting requests: none of them has reached an engine", () => {
    const o = estimateObservation(
      raw({
        waiting: sig('vllm:num_requests_waiting', 2),
        gatewayQueued: sig('llm_d_epp_flow_control_queue_size', 5),
      }),
      opts,
    );
    expect(o.waiting).toEqual({
      value: 7,
      source: 'vllm:num_requests_waiting + llm_d_epp_flow_control_queue_size',
      timestamp: NOW - 10,
    });
  });
  it('is all that waits for a variant at zero replicas, and is left out when stale', () => {
    const atZero = raw({
      waiting: undefined,
      gatewayQueued: sig('inference_extension_flow_control_queue_size', 3),
    });
    expect(estimateObservation(atZero, opts).waiting).toEqual({
      value: 3,
      source: 'inference_extension_flow_control_queue_size',
      timestamp: NOW - 10,
    });
    const stale = raw({
      waiting: undefined,
      gatewayQueued: sig('llm_d_epp_flow_control_queue_size', 3, NOW - 600),
    });
    expect(estimateObservation(stale, opts)).toMatchObject({
      waiting: undefined,
      stale: expect.arrayContaining(['llm_d_epp_flow_control_queue_size']),
    });
  });
});

describe('arrivals per step (policy.burstSizing)', () => {
  const steps = (counts: number[], timestamp = NOW - 10) => ({
    stepSeconds: 15,
    counts,
    source: 'vllm:request_success_total + d(in flight)/dt',
    timestamp,
  });

  it('passes fresh counts through', () => {
    expect(estimateObservation(raw({ arrivalSteps: steps([3, 0, 45]) }), opts).arrivalSteps).toEqual(
      steps([3, 0, 45]),
    );
  });

  it('drops stale or non-finite counts without naming them stale or missing: their absence must hold nothing', () => {
    for (const bad of [steps([3, 45], NOW - 500), steps([3, NaN]), steps([])]) {
      const o = estimateObservation(raw({ arrivalSteps: bad }), opts);
      expect(o.arrivalSteps).toBeUndefined();
      expect([o.stale, o.missing]).toEqual([[], []]);
      expect(o.arrivalRate?.value).toBeCloseTo((120 + 14 - 8) / 60, 9);
    }
  });
});

describe('the mean time per output token', () => {
  // Two requests in the window: 10 tokens decoded in 1 s (a prefill stalled them) and 1,000 in 20 s.
  const perRequest = hist('vllm:request_time_per_output_token_seconds', 1 / 9 + 20 / 999, 2);
  const decode = hist('vllm:request_decode_time_seconds', 21, 2);
  const generation = hist('vllm:request_generation_tokens', 1010, 2);

  it('is the decode time over the tokens decoded, weighted by tokens as the model predicts it', () => {
    const o = estimateObservation(
      raw({ itlSeconds: perRequest, decodeSeconds: decode, generationTokens: generation }),
      opts,
    );
    expect(o.itlMs?.value).toBeCloseTo((21 / 1008) * 1000, 9);
    expect(o.itlMs?.source).toBe('vllm:request_decode_time_seconds');
    // the per-request mean would read an engine three times as slow
    expect((perRequest.sum.value / 2) * 1000).toBeGreaterThan(3 * o.itlMs!.value);
  });

  it('falls back to the ITL histogram without the decode time, or when nothing was decoded', () => {
    expect(estimateObservation(raw(), opts).itlMs?.value).toBeCloseTo(40, 9);
    const oneToken = hist('vllm:request_generation_tokens', 2, 2);
    const o = estimateObservation(
      raw({ decodeSeconds: hist('vllm:request_decode_time_seconds', 0, 2), generationTokens: oneToken }),
      opts,
    );
    expect(o.itlMs?.value).toBeCloseTo(40, 9);
  });

  it('is not used when its generation tokens are stale, and names them', () => {
    const old = hist('vllm:request_generation_tokens', 1010, 2, NOW - 500);
    const o = estimateObservation(raw({ decodeSeconds: decode, generationTokens: old }), opts);
    expect(o.itlMs).toBeUndefined();
    expect(o.stale).toContain('vllm:request_generation_tokens_sum');
  });
});
