import { createFleetSim } from '../../lib/fleetSimulator/index.js';
import { ms, oneVariantConfig, requests, sampleSum, recordsOf } from './helpers.js';

// Profile: alpha 10, beta 1, gamma 20, delta 0.1 (ms). Rule under test: a step lasts
// (alpha + beta * d if d requests decode in it) + (gamma + delta * prefill tokens if it prefills);
// a prompt's first token ends the step that prefilled its last chunk. Steps take at most
// maxNumBatchedTokens tokens, decodes and prefill chunks together (rules in replica.ts).

function run(specs: Parameters<typeof requests>, profile = {}, until = 10) {
  const sim = createFleetSim(oneVariantConfig({ profile }));
  sim.addArrivals('chat', requests(...specs));
  sim.runUntil(until);
  return { sim, records: recordsOf(sim) };
}

describe('continuous batching on one replica', () => {
  test('a request alone: TTFT = gamma + delta * I, ITL = alpha + beta', () => {
    const { records } = run([[1, 100, 5]]);
    const [r] = records;
    expect(r!.status).toBe('completed');
    expect(r!.ttft).toBeCloseTo(ms(20 + 0.1 * 100), 9); // 30 ms
    expect(r!.itl).toBeCloseTo(ms(10 + 1), 9);
    expect(r!.e2e).toBeCloseTo(ms(30 + 4 * 11), 9);
    expect(r!.queueTime).toBeCloseTo(0, 12);
  });

  test('two simultaneous requests share the prefill iteration, then decode at alpha + 2 beta', () => {
    const { records } = run([
      [1, 100, 5],
      [1, 100, 5],
    ]);
    for (const r of records) {
      expect(r.ttft).toBeCloseTo(ms(20 + 0.1 * 200), 9); // one prefill pass for both prompts
      expect(r.itl).toBeCloseTo(ms(10 + 2 * 1), 9);
      expect(r.e2e).toBeCloseTo(ms(40 + 4 * 12), 9);
    }
  });

  test('a request arriving mid-decode is prefilled alongside the running one', () => {
    // A: prefill [1, 1.030], decodes of 11 ms end at 1.041, 1.052, ... B arrives at 1.035 and is
    // admitted at the boundary 1.041, in an iteration of 11 ms (A's decode) + 30 ms (B's prefill).
    const { records } = run([
      [1, 100, 10],
      [1.035, 100, 2],
    ]);
    const [a, b] = records;
    expect(b!.queueTime).toBeCloseTo(ms(6), 9);
    expect(b!.ttft).toBeCloseTo(ms(6 + 41), 9);
    // B's second token: one decode iteration with both running, alpha + 2 beta
    expect(b!.itl).toBeCloseTo(ms(12), 9);
    // A: 9 gaps: 11 (alone), 41 (with B's prefill), 12 (with B), then 6 x 11
    expect(a!.itl).toBeCloseTo(ms((11 + 41 + 12 + 6 * 11) / 9), 9);
  });

  test('outputTokens 0 counts as one token and has no ITL', () => {
    const { records } = run([[0, 50, 0]]);
    expect(records[0]!.outputTokens).toBe(1);
    expect(records[0]!.e2e).toBeCloseTo(ms(25), 9);
    expect(records[0]!.itl).toBeUndefined();
  });

  test('maxBatchSize makes requests wait, and the scrape shows them waiting', () => {
    const sim = createFleetSim(oneVariantConfig({ profile: { maxBatchSize: 1 } }));
    sim.addArrivals('chat', requests([1, 100, 5], [1, 100, 5], [1, 100, 5]));
    const mid = sim.scrape(1.05);
    expect(sampleSum(mid, 'vllm:num_requests_running')).toBe(1);
    expect(sampleSum(mid, 'vllm:num_requests_waiting')).toBe(2);
    sim.runUntil(10);
    const [a, b, c] = recordsOf(sim);
    expect(a!.queueTime).toBeCloseTo(0, 12);
    expect(b!.queueTime).toBeCloseTo(ms(74), 9); // A's whole life: 30 + 4 x 11
    expect(c!.queueTime).toBeCloseTo(ms(148), 9);
    expect(b!.ttft).toBeCloseTo(ms(74 + 30), 9);
  });

  test('legacy reserve allocation admits only what fits in input + output tokens, FIFO', () => {
    // 250 tokens of KV; each request reserves 100 + 5, so two run and the third waits.
    const sim = createFleetSim(
      oneVariantConfig({ profile: { kvCacheTokens: 250, kvAllocation: 'reserve' } }),
    );
    sim.addArrivals('chat', requests([1, 100, 5], [1, 100, 5], [1, 100, 5]));
    const mid = sim.scrape(1.045);
    expect(sampleSum(mid, 'vllm:num_requests_running')).toBe(2);
    expect(sampleSum(mid, 'vllm:num_requests_waiting')).toBe(1);
    // filled KV: 2 x (100 input + 1 first token) at the end of the prefill iteration (1.040)
    expect(sampleSum(mid, 'vllm:kv_cache_usage_perc')).toBeCloseTo(202 / 250, 12);
    sim.runUntil(10);
    const third = recordsOf(sim)[2]!;
    expect(third.queueTime).toBeCloseTo(ms(40 + 4 * 12), 9);
    expect(third.ttft).toBeCloseTo(ms(88 + 30), 9);
  });

  test('a head-of-line request that does not fit blocks smaller ones behind it', () => {
    const sim = createFleetSim(
      oneVariantConfig({ profile: { kvCacheTokens: 1000, kvAllocation: 'reserve' } }),
    );
    sim.addArrivals('chat', requests([1, 500, 5], [1.001, 600, 5], [1.002, 10, 5]));
    sim.runUntil(10);
    const [, big, small] = recordsOf(sim);
    expect(big!.scheduled).toBeGreaterThan(1.05); // after the first one finished
    expect(small!.scheduled).toBe(big!.scheduled);
  });

  test('maxNumBatchedTokens chunks prefill: a long prompt takes several steps', () => {
    // 1000 prompt tokens at 300 per iteration: 3 x (20 + 30) + (20 + 10) ms
    const { records } = run([[1, 1000, 2]], { maxNumBatchedTokens: 300 });
    expect(records[0]!.ttft).toBeCloseTo(ms(180), 9);
    expect(records[0]!.itl).toBeCloseTo(ms(11), 9);
  });

  test('chunks of a new prompt interleave with the decoding of running requests', () => {
    // Budget 150: iteration 1 prefills A (100) and half of B (50): 20 + 15 = 35 ms, A's first
    // token. Iteration 2: A decodes (11) + B's last 50 tokens (20 + 5) = 36 ms, B's first token.
    // Iteration 3: both decode, 12 ms (A done). Iteration 4: B alone, 11 ms.
    const { records } = run(
      [
        [1, 100, 3],
        [1, 100, 3],
      ],
      { maxNumBatchedTokens: 150 },
    );
    const [a, b] = records;
    expect(a!.ttft).toBeCloseTo(ms(35), 9);
    expect(b!.ttft).toBeCloseTo(ms(71), 9);
    expect(a!.itl).toBeCloseTo(ms((36 + 12) / 2), 9);
    expect(b!.itl).toBeCloseTo(ms((12 + 11) / 2), 9);
    expect(b!.queueTime).toBeCloseTo(0, 12); // admitted at once; its prefill was just chunked
  });

  test('a request larger than the KV cache is rejected, not queued forever', () => {
    const sim = createFleetSim(oneVariantConfig({ profile: { kvCacheTokens: 1000 } }));
    sim.addArrivals('chat', requests([1, 999, 2], [1, 10, 2]));
    sim.runUntil(5);
    const { overall } = sim.results();
    const records = recordsOf(sim);
    expect(records.map((r) => r.status)).toEqual(['rejected', 'completed']);
    expect(overall.rejected).toBe(1);
  });

  test('decode tokens and prefill chunks share one budget per step', () => {
    // Budget 100. A (50 prompt, 5 out): step 1 prefills it, 20 + 5 = 25 ms, first token 1.025.
    // Step 2 (A decodes, 11 ms) ends 1.036; B (200 prompt) arrived at 1.030 meanwhile.
    // Step 3: A's 1 token + 99 of B = 11 + 20 + 9.9 = 40.9 ms; step 4 the same: ends 1.1178.
    // Step 5: A's token + B's last 2 = 11 + 20.2 = 31.2 ms: B's first token at 1.149, A done.
    // (Counting prompt tokens only, B would have needed two chunks, not three.)
    const { records } = run(
      [
        [1, 50, 5],
        [1.03, 200, 2],
      ],
      { maxNumBatchedTokens: 100 },
    );
    const [a, b] = records;
    expect(a!.ttft).toBeCloseTo(ms(25), 9);
    expect(a!.e2e).toBeCloseTo(ms(149), 9);
    expect(a!.itl).toBeCloseTo(ms((11 + 40.9 + 40.9 + 31.2) / 4), 9);
    expect(b!.queueTime).toBeCloseTo(ms(6), 9); // admitted at the step boundary 1.036
    expect(b!.ttft).toBeCloseTo(ms(119), 9);
    expect(b!.itl).toBeCloseTo(ms(11), 9); // then alone
  });

  test('without chunked prefill a prompt longer than the budget left waits for a later step', () => {
    // Same arrivals, budget 300 unchunked: at step 3 only 299 tokens are left after A's decode,
    // and B's 200 fit whole: 11 + 20 + 20 = 51 ms, first token at 1.087.
    const { records } = run(
      [
        [1, 50, 5],
        [1.03, 200, 2],
      ],
      { maxNumBatchedTokens: 300, chunkedPrefill: false, maxModelLen: 300 },
    );
    expect(records[1]!.ttft).toBeCloseTo(ms(6 + 51), 9);
    // and a profile whose budget could never hold a whole prompt is refused up front
    expect(() =>
      createFleetSim(oneVariantConfig({ profile: { maxNumBatchedTokens: 200, chunkedPrefill: false } })),
    ).toThrow(
      /must be >= maxModelLen \(10000\) without chunked prefill\n.*profileByAccelerator\.H100\.maxNumBatchedTokens/,
    );
    expect(() => createFleetSim(oneVariantConfig({ profile: { maxNumBatchedTokens: 4 } }))).toThrow(
      /must be >= maxBatchSize \(8\)/,
    );
  });

  test('when the KV cache runs out the newest request is preempted, then recomputed', () => {
    // 120 tokens of KV, two requests of 50 + 40. Step 1 prefills both (100 tokens, 30 ms): first
    // tokens at 1.030. Steps 2..11 (12 ms each, to 1.150) each add 2 tokens: 120 full. Step 12
    // would need 122: B, the newest, is preempted with 11 tokens generated; its 60 tokens of KV
    // are freed. A decodes alone (11 ms a step) to its 40th token at step 40, ending 1.469;
    // until then B's recompute (50 + 11 = 61 tokens) does not fit. Step 41 recomputes B:
    // 20 + 6.1 ms, its 12th token at 1.4951; 28 more steps of 11 ms end it at 1.8031.
    const sim = createFleetSim(oneVariantConfig({ profile: { kvCacheTokens: 120 } }));
    sim.addArrivals('chat', requests([1, 50, 40], [1, 50, 40]));
    const full = sim.scrape(1.149);
    expect(sampleSum(full, 'vllm:kv_cache_usage_perc')).toBeCloseTo(1, 12);
    const preempted = sim.scrape(1.2);
    expect(sampleSum(preempted, 'vllm:num_preemptions_total')).toBe(1);
    expect(sampleSum(preempted, 'vllm:num_requests_running')).toBe(1);
    expect(sampleSum(preempted, 'vllm:num_requests_waiting')).toBe(1);
    sim.runUntil(10);
    const [a, b] = recordsOf(sim);
    expect(a!.ttft).toBeCloseTo(ms(30), 9);
    expect(a!.e2e).toBeCloseTo(ms(469), 9);
    expect(b!.status).toBe('completed');
    expect(b!.ttft).toBeCloseTo(ms(30), 9); // the first token stays the first
    expect(b!.e2e).toBeCloseTo(ms(803.1), 9);
    const end = sim.scrape();
    expect(sampleSum(end, 'vllm:num_preemptions_total')).toBe(1);
    expect(sampleSum(end, 'vllm:generation_tokens_total')).toBe(80); // no token counted twice
    expect(sampleSum(end, 'vllm:kv_cache_usage_perc')).toBe(0);
    // B's 12th token came 345.1 ms after its 11th: the ITL histogram holds that gap
    expect(sampleSum(end, 'vllm:inter_token_latency_seconds_count')).toBe(78);
    const itlSum = sampleSum(end, 'vllm:inter_token_latency_seconds_sum');
    const expected = 20 * 0.012 + (29 + 28) * 0.011 + 0.3451;
    expect(itlSum).toBeCloseTo(expected, 9);
  });

  test('legacy reserve allocation never preempts the same load', () => {
    const sim = createFleetSim(
      oneVariantConfig({ profile: { kvCacheTokens: 120, kvAllocation: 'reserve' } }),
    );
    sim.addArrivals('chat', requests([1, 50, 40], [1, 50, 40]));
    sim.runUntil(10);
    const [a, b] = recordsOf(sim);
    expect(sampleSum(sim.scrape(), 'vllm:num_preemptions_total')).toBe(0);
    // B waits for A's reservation: admitted when A finishes (25 + 39 x 11 ms)
    expect(b!.scheduled).toBeCloseTo(a!.finished!, 12);
    expect(a!.e2e).toBeCloseTo(ms(25 + 39 * 11), 9);
  });
});
