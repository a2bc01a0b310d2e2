/**
 * A disaggregated variant in the simulator: prefill pods compute the prompt, the KV goes over
 * the prefill pod's shared link, decode pods decode with the KV admitted. Times by hand from
 * SIMPLE_PROFILE (prefill 20 + 0.1 I ms, decode step 10 + n ms).
 */
import { createFleetSim, type FleetSimConfig, type ReplicaProfile } from '../../lib/fleetSimulator/index.js';
import { SIMPLE_PROFILE, recordsOf } from './helpers.js';

function config(failureProbability = 0, prefillProfile: Partial<ReplicaProfile> = {}): FleetSimConfig {
  return {
    variants: [
      {
        name: 'chat',
        namespace: 'llm',
        model: 'llama',
        accelerator: 'H100',
        profileByAccelerator: { H100: { ...SIMPLE_PROFILE, ...prefillProfile, role: 'prefill' } },
        initialReplicas: 1,
        // 1 MB a token: a 1,000-token prompt is 1 GB, 0.1 s alone on 10 GB/s
        handoff: {
          decodeVariant: 'chat-decode',
          kvBytesPerToken: 1e6,
          bandwidthBytesPerSecond: 1e10,
          latencySeconds: 0.01,
          failureProbability,
        },
      },
      {
        name: 'chat-decode',
        namespace: 'llm',
        model: 'llama',
        accelerator: 'H100',
        profileByAccelerator: { H100: { ...SIMPLE_PROFILE, role: 'decode' } },
        initialReplicas: 1,
      },
    ],
    nodeGroups: [
      {
        name: 'h100',
        acceleratorType: 'H100',
        gpusPerNode: 8,
        maxNodes: 1,
        initialNodes: 1,
        provisionSeconds: 60,
      },
    ],
    results: { keepRecords: true, targets: { chat: { ttftMs: 300, itlMs: 20 } } },
  };
}

const request = (arrival: number) => ({ arrival, inputTokens: 1000, outputTokens: 11 });

describe('disaggregated prefill and decode', () => {
  it('one request: prefill, transfer, then the decode pod produces every token', () => {
    const sim = createFleetSim(config());
    sim.addArrivals('chat', [request(0)]);
    sim.runUntil(10);
    const [r] = recordsOf(sim);
    // prefill 20 + 0.1 x 1000 = 120 ms; transfer 1 GB / 10 GB/s = 100 ms + 10 ms; the decode's
    // first step recomputes the last prompt token: 20 + 0.1 = 20.1 ms
    expect(r!.status).toBe('completed');
    expect(r!.ttft).toBeCloseTo(0.12 + 0.11 + 0.0201, 9);
    // ten more tokens, one request decoding: 10 + 1 = 11 ms each, no prefill in between
    expect(r!.itl).toBeCloseTo(0.011, 9);
    expect(r!.replica).toBe('chat-decode-0');
    const results = sim.results();
    expect(Object.keys(results.byVariant)).toEqual(['chat']);
    expect(results.overall.completed).toBe(1);
    expect(results.overall.sloMet).toBe(1);
  });

  it('concurrent transfers of one prefill pod share its link', () => {
    const sim = createFleetSim(config());
    sim.addArrivals('chat', [request(0), request(0)]);
    sim.runUntil(10);
    const ttfts = recordsOf(sim).map((r) => r.ttft!);
    // one prefill step for both (2,000 tokens in the 2,048 budget): 20 + 0.1 x 2000 = 220 ms;
    // two 1 GB transfers at 5 GB/s each: 200 ms, + 10 ms; the decode admits both in one step:
    // 20 + 0.1 x 2 = 20.2 ms
    for (const ttft of ttfts) expect(ttft).toBeCloseTo(0.22 + 0.21 + 0.0202, 9);
  });

  it('each role exposes its metrics with the llm-d role label; the decode pod the NIXL series', () => {
    const sim = createFleetSim(config());
    sim.addArrivals('chat', [request(0)]);
    const samples = sim.scrape(10);
    const of = (name: string, pod: string) => samples.find((s) => s.name === name && s.labels.pod === pod);
    expect(of('vllm:num_requests_running', 'chat-0')!.labels.llm_d_ai_role).toBe('prefill');
    expect(of('vllm:num_requests_running', 'chat-decode-0')!.labels.llm_d_ai_role).toBe('decode');
    expect(of('vllm:nixl_xfer_time_seconds_count', 'chat-decode-0')!.value).toBe(1);
    expect(of('vllm:nixl_xfer_time_seconds_sum', 'chat-decode-0')!.value).toBeCloseTo(0.11, 9);
    expect(of('vllm:nixl_bytes_transferred_sum', 'chat-decode-0')!.value).toBe(1e9);
    expect(of('vllm:nixl_num_failed_transfers', 'chat-decode-0')!.value).toBe(0);
    expect(of('vllm:nixl_xfer_time_seconds_count', 'chat-0')).toBeUndefined();
    // the prefill pod served a one-token request; the decode pod all eleven tokens
    expect(of('vllm:generation_tokens_total', 'chat-0')!.value).toBe(1);
    expect(of('vllm:generation_tokens_total', 'chat-decode-0')!.value).toBe(11);
  });

  it('a failed transfer is counted, and the decode pod recomputes the prompt', () => {
    const sim = createFleetSim(config(1));
    sim.addArrivals('chat', [request(0)]);
    const samples = sim.scrape(10);
    const failed = samples.find((s) => s.name === 'vllm:nixl_num_failed_transfers');
    expect(failed!.value).toBe(1);
    // the decode's first step prefills the whole prompt: 20 + 0.1 x 1000 = 120 ms
    expect(recordsOf(sim)[0]!.ttft).toBeCloseTo(0.12 + 0.11 + 0.12, 9);
  });

  it('without a ready decode replica the request waits with its KV, and is served once one is ready', () => {
    const c = config();
    const sim = createFleetSim({
      ...c,
      variants: [c.variants[0]!, { ...c.variants[1]!, initialReplicas: 0 }],
    });
    sim.addArrivals('chat', [request(0)]);
    sim.runUntil(1);
    expect(sim.results().overall.queued).toBe(1);
    sim.setReplicas('chat-decode', 'H100', 1);
    sim.runUntil(100);
    expect(sim.results().overall.completed).toBe(1);
  });

  it('rejects a handoff to an unknown or prefilling variant, naming the field', () => {
    const c = config();
    expect(() =>
      createFleetSim({
        ...c,
        variants: [
          { ...c.variants[0]!, handoff: { ...c.variants[0]!.handoff!, decodeVariant: 'x' } },
          c.variants[1]!,
        ],
      }),
    ).toThrow(/variants\[0\]\.handoff\.decodeVariant|unknown variant "x"/);
  });
});
