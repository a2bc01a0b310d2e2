/** PromQL text: quoting, escaping, durations, and the batch of signal queries of a collection. */
import {
  anyOf,
  by,
  duration,
  promString,
  regexEscape,
  selector,
  tagged,
  union,
} from '../../../lib/adapters/prometheus/promql.js';
import { signalQueries, type QueryScope } from '../../../lib/adapters/prometheus/signalQueries.js';

const SCOPE: QueryScope = {
  models: ['llama-3.1-8b', 'mixtral(8x7b)'],
  namespaces: ['llm', 'llm'],
  podLevel: false,
  windows: [60, 300],
  lookbackSeconds: 600,
  lookbackStepSeconds: 5,
  gatewayModels: [],
  pools: [],
};

describe('primitives', () => {
  test('strings are Go-quoted and regular expressions escaped', () => {
    expect(promString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(regexEscape('llama-3.1-8b')).toBe('llama-3\\.1-8b');
    expect(regexEscape('a+b*(c)|[d]{e}^$?')).toBe('a\\+b\\*\\(c\\)\\|\\[d\\]\\{e\\}\\^\\$\\?');
    expect(anyOf(['b.1', 'a', 'b.1'])).toBe('a|b\\.1');
  });

  test('durations are whole seconds or milliseconds, and must be positive', () => {
    expect(duration(60)).toBe('60s');
    expect(duration(0.5)).toBe('500ms');
    expect(duration(1.25)).toBe('1250ms');
    expect(() => duration(0)).toThrow(RangeError);
    expect(() => duration(NaN)).toThrow(RangeError);
  });

  test('selectors, grouping and tagged unions', () => {
    expect(selector('up', [])).toBe('up');
    expect(
      selector('vllm:num_requests_running', [
        ['model_name', '=~', 'a\\.b|c'],
        ['engine', '!=', ''],
      ]),
    ).toBe('vllm:num_requests_running{model_name=~"a\\\\.b|c",engine!=""}');
    expect(by(['model_name', 'namespace'], ['pod', 'model_name'])).toBe('by (model_name, namespace, pod)');
    expect(tagged('up', 'sva_window', '60')).toBe('label_replace(up, "sva_window", "60", "", "")');
    expect(union(['a', 'b'])).toBe('a or b');
    expect(() => union([])).toThrow(RangeError);
  });
});

describe('signal queries', () => {
  test('one query per signal for all variants, grouped by model_name and namespace', () => {
    const queries = signalQueries(SCOPE);
    expect(queries.map((q) => q.signal)).toEqual([
      'inventory',
      'completions',
      'inFlightNow',
      'podSampledAt',
      'inFlightBefore',
      'running',
      'waiting',
      'readyReplicas',
      'kvCacheUsage',
      'promptTokens',
      'generationTokens',
      'ttft',
      'itl',
      'decodeTime',
      'ttftBuckets',
      'itlBuckets',
      'promptTokenBuckets',
      'generationTokenBuckets',
      'requestTpotBuckets',
      'cacheConfig',
    ]);
    const text = Object.fromEntries(queries.map((q) => [q.signal, q.text]));
    const sel = 'model_name=~"llama-3\\\\.1-8b|mixtral\\\\(8x7b\\\\)",namespace=~"llm"';
    expect(text.running).toBe(`sum by (model_name, namespace) (vllm:num_requests_running{${sel}})`);
    // per pod, when each was last sampled: its load compares with the gateway's counters of that pod
    expect(text.podSampledAt).toBe(
      `max by (model_name, namespace, pod) (timestamp(vllm:num_requests_running{${sel}}))`,
    );
    expect(text.completions).toBe(
      [60, 300]
        .map(
          (w) =>
            `label_replace(sum by (model_name, namespace) (increase(vllm:request_success_total{${sel}}[${w}s])), "sva_window", "${w}", "", "")`,
        )
        .join(' or '),
    );
    expect(text.inFlightBefore).toContain(
      `sum by (model_name, namespace) (vllm:num_requests_running{${sel}} offset 300s + vllm:num_requests_waiting{${sel}} offset 300s)`,
    );
    expect(text.readyReplicas).toBe(
      `count by (model_name, namespace) (count by (model_name, namespace, instance, pod) (vllm:num_requests_running{${sel}}))`,
    );
    // the token-length histograms by bucket, over both windows: the distribution, not only the mean
    for (const [signal, name] of [
      ['promptTokenBuckets', 'vllm:request_prompt_tokens_bucket'],
      ['generationTokenBuckets', 'vllm:request_generation_tokens_bucket'],
    ] as const) {
      expect(text[signal]).toBe(
        [60, 300]
          .map(
            (w) =>
              `label_replace(sum by (model_name, namespace, le) (increase(${name}{${sel}}[${w}s])), "sva_window", "${w}", "", "")`,
          )
          .join(' or '),
      );
    }
  });

  test('renamed series are read per server: the new name where present, else the old one', () => {
    const text = Object.fromEntries(signalQueries(SCOPE).map((q) => [q.signal, q.text]));
    // the time per token: vLLM 0.13's per-request series first, then ITL's new and old names
    expect(text.itl).toContain(
      'increase(vllm:request_time_per_output_token_seconds_sum{model_name=~"llama-3\\\\.1-8b|mixtral\\\\(8x7b\\\\)",namespace=~"llm"}[60s]) or increase(vllm:inter_token_latency_seconds_sum{',
    );
    expect(text.itl).toContain(
      'increase(vllm:inter_token_latency_seconds_sum{model_name=~"llama-3\\\\.1-8b|mixtral\\\\(8x7b\\\\)",namespace=~"llm"}[60s]) or increase(vllm:time_per_output_token_seconds_sum{',
    );
    expect(text.kvCacheUsage).toContain('vllm:kv_cache_usage_perc{');
    expect(text.kvCacheUsage).toContain(' or vllm:gpu_cache_usage_perc{');
    expect(text.itlBuckets).toContain(
      'label_replace(histogram_quantile(0.95, sum by (model_name, namespace, le) (increase(vllm:request_time_per_output_token_seconds_bucket{',
    );
  });

  test('the inventory dates every series live or over the lookback, and probes labels', () => {
    const inventory = signalQueries(SCOPE)[0]!.text;
    expect(inventory).toContain(
      'label_replace(max by (model_name, namespace) (timestamp(vllm:num_requests_running{model_name=~"llama-3\\\\.1-8b|mixtral\\\\(8x7b\\\\)",namespace=~"llm"})), "sva_series", "vllm:num_requests_running", "", "")',
    );
    expect(inventory).toContain(
      '(max_over_time(timestamp(vllm:num_requests_running{model_name=~"llama-3\\\\.1-8b|mixtral\\\\(8x7b\\\\)",namespace=~"llm"})[600s:5s]))',
    );
    expect(inventory).toContain('finish_reason!=""');
    expect(inventory).toContain('engine!=""');
    expect(inventory).toContain('"sva_series", "vllm:request_time_per_output_token_seconds_count"');
    expect(inventory).toContain('"sva_series", "vllm:inter_token_latency_seconds_count"');
    expect(inventory).toContain('"sva_series", "vllm:time_per_output_token_seconds_count"');
    expect(inventory).not.toContain('inference_model_request_total');
  });

  test('pod patterns group by pod; the gateway and its pools add their queries', () => {
    const queries = signalQueries({
      ...SCOPE,
      podLevel: true,
      gatewayModels: ['llama-3.1-8b'],
      pools: ['chat'],
    });
    expect(queries).toHaveLength(23);
    const text = Object.fromEntries(queries.map((q) => [q.signal, q.text]));
    expect(text.running).toMatch(/^sum by \(model_name, namespace, pod\) /);
    // per pod, buckets come back as they are, for the parser to sum per variant
    expect(text.ttftBuckets).toMatch(
      /^label_replace\(sum by \(model_name, namespace, pod, le\) \(increase\(vllm:time_to_first_token_seconds_bucket\{/,
    );
    expect(text.ttftBuckets).not.toContain('histogram_quantile');
    expect(text.promptTokenBuckets).toMatch(
      /^label_replace\(sum by \(model_name, namespace, pod, le\) \(increase\(vllm:request_prompt_tokens_bucket\{/,
    );
    expect(text.generationTokenBuckets).toMatch(
      /^label_replace\(sum by \(model_name, namespace, pod, le\) \(increase\(vllm:request_generation_tokens_bucket\{/,
    );
    // the counter as llm-d's router names it, else as EPP v1.x does, else as earlier ones did
    expect(text.gatewayRequests).toContain(
      'sum by (model_name, namespace) (increase(llm_d_epp_request_total{model_name=~"llama-3\\\\.1-8b",namespace=~"llm"}[60s]) or increase(inference_objective_request_total{model_name=~"llama-3\\\\.1-8b",namespace=~"llm"}[60s]) or increase(inference_model_request_total{model_name=~"llama-3\\\\.1-8b",namespace=~"llm"}[60s]))',
    );
    expect(text.inventory).toContain('"sva_series", "inference_objective_request_total"');
    expect(text.inventory).toContain('"sva_series", "inference_model_request_total"');
    expect(text.gatewayPool).toContain(
      'label_replace(max by (name, namespace) (inference_pool_ready_pods{name=~"chat",namespace=~"llm"}), "sva_part", "readyPods@inference_pool_ready_pods", "", "")',
    );
    expect(text.gatewayPool).toContain(
      'label_replace(max by (name, namespace) (llm_d_epp_ready_endpoints{name=~"chat",namespace=~"llm"}), "sva_part", "readyPods@llm_d_epp_ready_endpoints", "", "")',
    );
    expect(text.gatewayPool).toContain('timestamp(inference_pool_average_queue_size{');
    // the flow-control queue per model, summed over pools and priorities, under both its names
    expect(text.gatewayQueue).toContain(
      'label_replace(sum by (model_name, namespace) (llm_d_epp_flow_control_queue_size{model_name=~"llama-3\\\\.1-8b",namespace=~"llm"}), "sva_part", "llm_d_epp_flow_control_queue_size", "", "")',
    );
    expect(text.gatewayQueue).toContain(
      'max by (model_name, namespace) (timestamp(inference_extension_flow_control_queue_size{model_name=~"llama-3\\\\.1-8b",namespace=~"llm"}))',
    );
  });
});

describe('a disaggregated variant: roles grouped by their label, the KV transfers read', () => {
  test('without role labels, the queries are as before: no NIXL series', () => {
    const signals = signalQueries(SCOPE).map((q) => q.signal);
    expect(signals).not.toContain('kvTransfer');
    expect(signals).not.toContain('kvTransferFailures');
    expect(signals).not.toContain('requestTtftBuckets');
  });

  test('with a role label, every server query groups by it and the NIXL series are asked', () => {
    const text = Object.fromEntries(
      signalQueries({ ...SCOPE, groupLabels: ['llm_d_ai_role'] }).map((q) => [q.signal, q.text]),
    );
    expect(text.running).toBe(
      'sum by (model_name, namespace, llm_d_ai_role) (vllm:num_requests_running{model_name=~"llama-3\\\\.1-8b|mixtral\\\\(8x7b\\\\)",namespace=~"llm"})',
    );
    expect(text.kvTransfer).toContain('increase(vllm:nixl_xfer_time_seconds_sum{');
    expect(text.kvTransfer).toContain('increase(vllm:nixl_xfer_time_seconds_count{');
    expect(text.kvTransferFailures).toContain('increase(vllm:nixl_num_failed_transfers{');
    expect(text.kvTransferFailures).toContain('by (model_name, namespace, llm_d_ai_role)');
    // each request's time to first token by bucket (policy.burstSizing.concentration)
    expect(text.requestTtftBuckets).toContain('increase(vllm:time_to_first_token_seconds_bucket{');
    expect(text.requestTtftBuckets).toContain('by (model_name, namespace, llm_d_ai_role, le)');
  });
});
