/**
 * SampleStore: windowed counter increases (resets, series born in the window), gauges of series
 * that ended, and which vLLM naming generation the servers use.
 */
import { SampleStore, type Sample } from '../../lib/metrics/sampleStore.js';
import { estimateObservation } from '../../lib/metrics/signals.js';
import { describeNaming, GATEWAY_REQUESTS, VLLM } from '../../lib/metrics/vllmNaming.js';

const SEL = { variant: 'llm/chat', model: 'm', namespace: 'llm' };
const labels = (pod: string, extra: Record<string, string> = {}) => ({
  model_name: 'm',
  namespace: 'llm',
  pod,
  ...extra,
});

interface Pod {
  readonly pod: string;
  readonly success?: number;
  readonly running?: number;
  readonly waiting?: number;
}

/** One scrape: the series of each pod given (absent pods have ended). */
function scrape(pods: readonly Pod[], extra: Sample[] = []): Sample[] {
  return [
    ...pods.flatMap((p) => [
      ...(p.success !== undefined ? [{ name: VLLM.success, labels: labels(p.pod), value: p.success }] : []),
      ...(p.running !== undefined ? [{ name: VLLM.running, labels: labels(p.pod), value: p.running }] : []),
      ...(p.waiting !== undefined ? [{ name: VLLM.waiting, labels: labels(p.pod), value: p.waiting }] : []),
    ]),
    ...extra,
  ];
}

describe('SampleStore counters', () => {
  it('sums a counter increase over the window across a counter reset', () => {
    const store = new SampleStore();
    const values = [100, 110, 5, 15, 20];
    values.forEach((v, i) => store.ingest(i * 15, scrape([{ pod: 'a', success: v }])));
    // window (0, 60]: +10, reset to 5 counts 5, +10, +5
    const signals = store.rawSignals(SEL, 60, 60);
    expect(signals.completions).toEqual({ value: 30, timestamp: 60, series: VLLM.success });
    // a shorter window (30, 60]: +10 (5 -> 15), +5
    expect(store.rawSignals(SEL, 60, 30).completions!.value).toBe(15);
  });

  it('counts a series born inside the window from 0', () => {
    const store = new SampleStore();
    store.ingest(0, scrape([{ pod: 'a', success: 50 }]));
    store.ingest(15, scrape([{ pod: 'a', success: 60 }]));
    store.ingest(
      30,
      scrape([
        { pod: 'a', success: 70 },
        { pod: 'b', success: 7 },
      ]),
    );
    store.ingest(
      45,
      scrape([
        { pod: 'a', success: 80 },
        { pod: 'b', success: 9 },
      ]),
    );
    // a: +30 in (0, 45]; b born at 30 with 7 done, then +2
    expect(store.rawSignals(SEL, 45, 45).completions!.value).toBe(39);
  });

  it('takes a window reaching before the origin as the time since the origin', () => {
    const store = new SampleStore(3600, 0);
    store.ingest(15, scrape([{ pod: 'a', success: 6, running: 0, waiting: 0 }]));
    store.ingest(30, scrape([{ pod: 'a', success: 12, running: 0, waiting: 0 }]));
    const signals = store.rawSignals(SEL, 30, 60);
    expect(signals.windowSeconds).toBe(30);
    const o = estimateObservation(signals, { now: 30, maxAgeSeconds: 120 });
    expect(o.arrivalRate!.value).toBeCloseTo(12 / 30, 12);
  });

  it('selects by model, namespace and pod pattern', () => {
    const store = new SampleStore();
    const other = [
      { name: VLLM.success, labels: { ...labels('x'), model_name: 'other' }, value: 1000 },
      { name: VLLM.success, labels: { ...labels('y'), namespace: 'prod' }, value: 1000 },
    ];
    store.ingest(
      0,
      scrape(
        [
          { pod: 'chat-0', success: 0 },
          { pod: 'code-0', success: 0 },
        ],
        other,
      ),
    );
    store.ingest(
      30,
      scrape(
        [
          { pod: 'chat-0', success: 10 },
          { pod: 'code-0', success: 100 },
        ],
        other.map((s) => ({ ...s, value: 5000 })),
      ),
    );
    expect(store.rawSignals(SEL, 30, 30).completions!.value).toBe(110);
    expect(store.rawSignals({ ...SEL, podPattern: /^chat-/ }, 30, 30).completions!.value).toBe(10);
  });
});

describe('SampleStore gauges and ended series', () => {
  it('does not count a series absent from a later scrape as a ready replica, nor its gauge', () => {
    const store = new SampleStore();
    store.ingest(
      0,
      scrape([
        { pod: 'a', success: 0, running: 4, waiting: 1 },
        { pod: 'b', success: 0, running: 6, waiting: 2 },
      ]),
    );
    store.ingest(15, scrape([{ pod: 'a', success: 5, running: 3, waiting: 0 }]));
    const s = store.rawSignals(SEL, 15, 15);
    expect(s.readyReplicas!.value).toBe(1);
    expect(s.running!.value).toBe(3);
    expect(s.waiting!.value).toBe(0);
    // in flight now counts only a; a window ago both
    expect(s.inFlightNow!.value).toBe(3);
    expect(s.inFlightBefore!.value).toBe(13);
  });

  it('counts a series again once it reappears', () => {
    const store = new SampleStore();
    store.ingest(
      0,
      scrape([
        { pod: 'a', running: 1, waiting: 0 },
        { pod: 'b', running: 1, waiting: 0 },
      ]),
    );
    store.ingest(15, scrape([{ pod: 'a', running: 1, waiting: 0 }]));
    store.ingest(
      30,
      scrape([
        { pod: 'a', running: 1, waiting: 0 },
        { pod: 'b', running: 2, waiting: 0 },
      ]),
    );
    expect(store.rawSignals(SEL, 30, 30).readyReplicas!.value).toBe(2);
  });

  it('reads zero in flight (not unknown) when no replica exposed the gauges a window ago', () => {
    const store = new SampleStore();
    store.ingest(0, scrape([]));
    store.ingest(60, scrape([{ pod: 'a', success: 5, running: 2, waiting: 1 }]));
    const s = store.rawSignals(SEL, 60, 60);
    expect(s.inFlightBefore!.value).toBe(0);
    expect(s.inFlightNow!.value).toBe(3);
  });

  it('names the series that were never seen', () => {
    const store = new SampleStore();
    store.ingest(0, scrape([{ pod: 'a', running: 1 }]));
    const s = store.rawSignals(SEL, 0, 60);
    expect(s.completions).toBeUndefined();
    expect(s.absent).toEqual(
      expect.arrayContaining([VLLM.success, VLLM.waiting, VLLM.promptTokens, VLLM.ttft, VLLM.itl[0]]),
    );
    expect(s.absent).not.toContain(VLLM.running);
    const o = estimateObservation(s, { now: 0, maxAgeSeconds: 120 });
    expect(o.arrivalRate).toBeUndefined();
    expect(o.missing).toContain(VLLM.success);
  });

  it.each([GATEWAY_REQUESTS, 'inference_objective_request_total'])(
    'reads the gateway counter (%s) whatever the pod pattern',
    (name) => {
      const store = new SampleStore();
      const gw = (v: number) => [{ name, labels: { model_name: 'm', namespace: 'llm' }, value: v }];
      store.ingest(0, gw(100));
      store.ingest(30, gw(190));
      const s = store.rawSignals({ ...SEL, podPattern: /^chat-/ }, 30, 30);
      expect(s.gatewayRequests).toEqual({ value: 90, timestamp: 30, series: name });
    },
  );

  it("reads the time per token from vLLM 0.13's per-request series where a server has it", () => {
    const store = new SampleStore();
    const at = (t: number, k: number) => [
      { name: `${VLLM.requestTpot}_sum`, labels: labels('chat-0'), value: 0.04 * k },
      { name: `${VLLM.requestTpot}_count`, labels: labels('chat-0'), value: k },
      // speculative decoding: a step of three tokens per ITL observation
      { name: `${VLLM.itl[0]}_sum`, labels: labels('chat-0'), value: 0.12 * 40 * k },
      { name: `${VLLM.itl[0]}_count`, labels: labels('chat-0'), value: 40 * k },
    ];
    store.ingest(0, at(0, 10));
    store.ingest(30, at(30, 20));
    const s = store.rawSignals(SEL, 30, 30);
    expect(s.itlSeconds?.sum.series).toBe(`${VLLM.requestTpot}_sum`);
    expect(s.itlSeconds!.sum.value / s.itlSeconds!.count.value).toBeCloseTo(0.04);
  });
});

describe('the decode time', () => {
  it('is read beside the generation tokens, for the mean time per output token', () => {
    const store = new SampleStore();
    const at = (k: number) => [
      { name: `${VLLM.decodeTime}_sum`, labels: labels('chat-0'), value: 2.97 * k },
      { name: `${VLLM.decodeTime}_count`, labels: labels('chat-0'), value: k },
      { name: `${VLLM.generationTokens}_sum`, labels: labels('chat-0'), value: 100 * k },
      { name: `${VLLM.generationTokens}_count`, labels: labels('chat-0'), value: k },
    ];
    store.ingest(0, at(10));
    store.ingest(30, at(20));
    const s = store.rawSignals(SEL, 30, 30);
    expect(s.decodeSeconds?.sum.value).toBeCloseTo(29.7, 9);
    expect(estimateObservation(s, { now: 30, maxAgeSeconds: 120 }).itlMs?.value).toBeCloseTo(30, 9);
  });
});

describe('vLLM naming', () => {
  const hist = (name: string, pod: string, sum: number, count: number): Sample[] => [
    { name: `${name}_sum`, labels: labels(pod), value: sum },
    { name: `${name}_count`, labels: labels(pod), value: count },
  ];

  it('finds the ITL and KV series under the old names (vLLM <= 0.10)', () => {
    const store = new SampleStore();
    const at = (n: number) => [
      ...hist('vllm:time_per_output_token_seconds', 'a', 0.05 * n, n),
      { name: 'vllm:gpu_cache_usage_perc', labels: labels('a'), value: 0.4 },
    ];
    store.ingest(0, at(0));
    store.ingest(30, at(100));
    const s = store.rawSignals(SEL, 30, 30);
    expect(s.vllmNaming).toBe('vllm<=0.10');
    expect(s.itlSeconds!.sum.series).toBe('vllm:time_per_output_token_seconds_sum');
    expect(s.kvCacheUsage!.series).toBe('vllm:gpu_cache_usage_perc');
    expect(s.kvCacheUsage!.value).toBeCloseTo(0.4, 12);
    expect(s.absent).not.toContain(VLLM.itl[0]);
    expect(estimateObservation(s, { now: 30, maxAgeSeconds: 120 }).itlMs!.value).toBeCloseTo(50, 9);
  });

  it('finds them under the new names (vLLM >= 0.11), and averages KV usage over replicas', () => {
    const store = new SampleStore();
    const at = (n: number) => [
      ...hist('vllm:inter_token_latency_seconds', 'a', 0.03 * n, n),
      { name: 'vllm:kv_cache_usage_perc', labels: labels('a'), value: 0.2 },
      { name: 'vllm:kv_cache_usage_perc', labels: labels('b'), value: 0.6 },
    ];
    store.ingest(0, at(0));
    store.ingest(30, at(100));
    const s = store.rawSignals(SEL, 30, 30);
    expect(s.vllmNaming).toBe('vllm>=0.11');
    expect(s.itlSeconds!.sum.series).toBe('vllm:inter_token_latency_seconds_sum');
    expect(s.kvCacheUsage!.value).toBeCloseTo(0.4, 12);
  });

  it('prefers the new ITL name when a server exposes both', () => {
    const store = new SampleStore();
    store.ingest(0, [
      ...hist('vllm:inter_token_latency_seconds', 'a', 0, 0),
      ...hist('vllm:time_per_output_token_seconds', 'a', 0, 0),
    ]);
    expect(store.rawSignals(SEL, 0, 30).itlSeconds!.sum.series).toBe('vllm:inter_token_latency_seconds_sum');
  });

  it('describeNaming names the generation from the series found', () => {
    expect(describeNaming(VLLM.itl[0], VLLM.kvUsage[0])).toBe('vllm>=0.11');
    expect(describeNaming(VLLM.itl[1], VLLM.kvUsage[1])).toBe('vllm<=0.10');
    expect(describeNaming(VLLM.itl[0], VLLM.kvUsage[1])).toBe('vllm 0.11 (both names)');
    expect(describeNaming(VLLM.itl[1], VLLM.kvUsage[0])).toBe('mixed');
    expect(describeNaming(undefined, undefined)).toBe('unknown');
    expect(describeNaming(VLLM.itl[1], undefined)).toBe('vllm<=0.10');
  });
});

describe('SampleStore arrivals per step (policy.burstSizing)', () => {
  const STEPS = { stepSeconds: 15, lookbackSeconds: 60 };

  it('counts completions plus the growth of what is in flight per step, a reset and a new pod included', () => {
    const store = new SampleStore();
    // pod a: completions 0, 10, 12, reset to 3, 8; in flight 0, 5, 1, 1, 1; pod b born at 45 s with 4 done
    store.ingest(0, scrape([{ pod: 'a', success: 0, running: 0, waiting: 0 }]));
    store.ingest(15, scrape([{ pod: 'a', success: 10, running: 4, waiting: 1 }]));
    store.ingest(30, scrape([{ pod: 'a', success: 12, running: 1, waiting: 0 }]));
    store.ingest(
      45,
      scrape([
        { pod: 'a', success: 3, running: 1, waiting: 0 },
        { pod: 'b', success: 4, running: 0, waiting: 0 },
      ]),
    );
    store.ingest(
      60,
      scrape([
        { pod: 'a', success: 8, running: 1, waiting: 0 },
        { pod: 'b', success: 4, running: 0, waiting: 0 },
      ]),
    );
    const steps = store.arrivalSteps(SEL, 60, { ...STEPS, gateway: false });
    // (0,15]: 10 done + 5 more in flight; (15,30]: 2 done, 4 fewer in flight; (30,45]: 3 + 4 done; (45,60]: 5
    expect(steps).toEqual({
      stepSeconds: 15,
      counts: [15, 0, 7, 5],
      source: `${VLLM.success} + d(${VLLM.running}+${VLLM.waiting})/dt`,
      timestamp: 60,
    });
    // the steps add up to what the arrival rate counts over the same minute
    const raw = store.rawSignals(SEL, 60, 60);
    const rate = estimateObservation(raw, { now: 60, maxAgeSeconds: 120 }).arrivalRate!.value;
    expect(steps!.counts.reduce((a, c) => a + c, 0)).toBeCloseTo(
      rate * 60 + 2 /* the dip in flight clamped at 0 */,
      9,
    );
  });

  it("counts a disaggregated variant's prefill role apart from its decode pods (the role's query labels)", () => {
    const store = new SampleStore(3600, 0);
    const role = (pod: string, r: string, success: number, running: number) => [
      { name: VLLM.success, labels: labels(pod, { llm_d_ai_role: r }), value: success },
      { name: VLLM.running, labels: labels(pod, { llm_d_ai_role: r }), value: running },
      { name: VLLM.waiting, labels: labels(pod, { llm_d_ai_role: r }), value: 0 },
    ];
    // prefill: 0, 20, 50 prompts done, 2 in flight from 15 s; decode: 0, 5, 45 done, nothing in flight
    [
      [0, 0, 0, 0],
      [20, 2, 5, 0],
      [50, 2, 45, 0],
    ].forEach(([p, inFlight, d], i) =>
      store.ingest(i * 15, [...role('p-0', 'prefill', p!, inFlight!), ...role('d-0', 'decode', d!, 0)]),
    );
    const at = (r: string) =>
      store.arrivalSteps({ ...SEL, labels: { llm_d_ai_role: r } }, 30, { ...STEPS, gateway: false })!.counts;
    expect(at('prefill')).toEqual([22, 30]);
    expect(at('decode')).toEqual([5, 40]);
  });

  it("reads the gateway's counter when the arrival rate does", () => {
    const store = new SampleStore();
    const gateway = (count: number) => [
      { name: GATEWAY_REQUESTS, labels: { model_name: 'm', namespace: 'llm' }, value: count },
    ];
    [0, 30, 30, 90].forEach((c, i) =>
      store.ingest(i * 15, scrape([{ pod: 'a', success: 0, running: 0, waiting: 0 }], gateway(c))),
    );
    expect(store.arrivalSteps(SEL, 45, { ...STEPS, gateway: true })).toMatchObject({
      counts: [0, 30, 0, 60],
      source: GATEWAY_REQUESTS,
    });
  });

  it('gives nothing without the series (no burst information), and only whole steps since the start', () => {
    const store = new SampleStore(3600, 0);
    store.ingest(15, scrape([{ pod: 'a', running: 0 }]));
    expect(store.arrivalSteps(SEL, 15, { ...STEPS, gateway: false })).toBeUndefined();
    expect(store.arrivalSteps(SEL, 15, { ...STEPS, gateway: true })).toBeUndefined();
    store.ingest(30, scrape([{ pod: 'a', success: 3, running: 0, waiting: 0 }]));
    // 30 s since the store's origin: two steps, not the four of the look-back
    expect(store.arrivalSteps(SEL, 30, { ...STEPS, gateway: false })!.counts).toHaveLength(2);
  });
});

describe('SampleStore histogram buckets', () => {
  it('reads the per-request time per output token by bucket over the window, summed over pods, into the observation', () => {
    const store = new SampleStore();
    const tpot = (pod: string, counts: readonly number[]): Sample[] =>
      ['0.05', '0.075', '+Inf'].map((le, i) => ({
        name: `${VLLM.requestTpot}_bucket`,
        labels: labels(pod, { le }),
        value: counts[i]!,
      }));
    store.ingest(0, [...tpot('a', [10, 12, 12]), ...tpot('b', [5, 5, 6])]);
    store.ingest(60, [...tpot('a', [100, 110, 112]), ...tpot('b', [50, 55, 60])]);
    const raw = store.rawSignals(SEL, 60, 60);
    expect(raw.requestTpotBuckets).toEqual([
      { le: 0.05, count: 135 },
      { le: 0.075, count: 148 },
      { le: Infinity, count: 154 },
    ]);
    const obs = estimateObservation(raw, { now: 60, maxAgeSeconds: 120 });
    expect(obs.requestTpotBuckets).toEqual({ bounds: [0.05, 0.075, Infinity], counts: [135, 13, 6] });
    // servers without the histogram: none, and nothing reported missing for it
    const without = new SampleStore();
    without.ingest(0, scrape([{ pod: 'a', success: 1 }]));
    expect(without.rawSignals(SEL, 0, 60).requestTpotBuckets).toBeUndefined();
    expect(without.rawSignals(SEL, 0, 60).absent).not.toContain(VLLM.requestTpot);
  });

  it("the time to first token's buckets over the window, summed over pods (policy.burstSizing.concentration)", () => {
    const store = new SampleStore();
    const ttft = (pod: string, counts: readonly number[]): Sample[] =>
      ['1', '2.5', '+Inf'].map((le, i) => ({
        name: `${VLLM.ttft}_bucket`,
        labels: labels(pod, { le }),
        value: counts[i]!,
      }));
    store.ingest(0, [...ttft('a', [10, 12, 12]), ...ttft('b', [5, 5, 6])]);
    store.ingest(60, [...ttft('a', [90, 100, 104]), ...ttft('b', [45, 50, 52])]);
    const raw = store.rawSignals(SEL, 60, 60);
    expect(raw.requestTtftBuckets).toEqual([
      { le: 1, count: 120 },
      { le: 2.5, count: 133 },
      { le: Infinity, count: 138 },
    ]);
    const obs = estimateObservation(raw, { now: 60, maxAgeSeconds: 120 });
    expect(obs.requestTtftBuckets).toEqual({ bounds: [1, 2.5, Infinity], counts: [120, 13, 5] });
  });
});
