/**
 * Sizing a disaggregated variant: each role's queue, the KV transfer in the TTFT budget, the
 * ratio bound, the cheapest accelerators per role, capacity. Numbers small enough to check by hand.
 */
import { evaluateAt } from '../../lib/analyzer/index.js';
import {
  decodeBatch,
  decodeModel,
  kvConcurrency,
  kvRateCap,
  prefillModel,
  sizeDisaggregated,
  transferMs,
  withinRatio,
  withinRatioBound,
  type DisaggregatedInput,
  type RoleOption,
} from '../../lib/optimizer/disaggregated.js';

const fast: RoleOption = {
  accelerator: 'fast',
  profile: { alpha: 20, beta: 1, gamma: 10, delta: 0.1, maxBatchedTokens: 2048, kvCacheTokens: 100_000 },
  costPerReplica: 10,
  deviceType: 'F',
  devicesPerReplica: 4,
};
const slow: RoleOption = {
  accelerator: 'slow',
  profile: { alpha: 40, beta: 1, gamma: 20, delta: 0.3, maxBatchedTokens: 2048, kvCacheTokens: 100_000 },
  costPerReplica: 2,
  deviceType: 'S',
  devicesPerReplica: 4,
};

function input(over: Partial<DisaggregatedInput> = {}): DisaggregatedInput {
  return {
    load: { rate: 4, inputTokens: 1000, outputTokens: 100 },
    targets: { ttftMs: 1000, itlMs: 50 },
    // 100 kB a token: a 1,000-token prompt is 1e8 bytes, 10 ms alone on a 10 GB/s link
    kv: { bytesPerToken: 100_000, bandwidthBytesPerSecond: 1e10, latencyMs: 5 },
    prefill: { options: [fast, slow], minReplicas: 1 },
    decode: { options: [fast, slow], minReplicas: 1 },
    ...over,
  };
}

describe('the roles as queues', () => {
  it('prefill: one output token, the prompt in chunks of the step budget, each paying gamma', () => {
    // 1,000 tokens: one chunk, two prompts fit a 2,048-token step; alone: 10 + 0.1 x 1000 = 110 ms
    const short = prefillModel(fast.profile, 1000);
    expect(short.config.maxBatchSize).toBe(2);
    expect(evaluateAt(short, short.rateRange.min).ttft).toBeCloseTo(110, 0);
    // 4,096 tokens: two chunks, so 2 x 10 + 0.1 x 4096 = 429.6 ms, one prompt at a time
    const long = prefillModel(fast.profile, 4096);
    expect(long.config.maxBatchSize).toBe(1);
    expect(evaluateAt(long, long.rateRange.min).ttft).toBeCloseTo(429.6, 0);
  });

  it('decode: the batch the KV cache holds at I + O/2 tokens, no prefill in the ITL', () => {
    // 100,000 / (1000 + 50) = 95.2
    expect(decodeBatch(fast.profile, 1000, 100)).toBe(95);
    expect(decodeBatch({ ...fast.profile, kvCacheTokens: undefined }, 1000, 100)).toBe(256);
    const model = decodeModel(fast.profile, 1000, 100);
    // alone: one decode step, 20 + 1 x 1 = 21 ms, whatever the prompt
    expect(evaluateAt(model, model.rateRange.min).itl).toBeCloseTo(21, 0);
    expect(evaluateAt(model, model.rateRange.min).wait).toBeCloseTo(0, 3);
  });

  it('transfer: bytes over the link shared by the transfers in flight, plus the latency', () => {
    // alone 10 ms + 5 ms; at 20 req/s per pod the link is busy 20 x 0.01 = 20%: 10 / 0.8 + 5
    expect(transferMs(input(), 0).ms).toBeCloseTo(15, 9);
    expect(transferMs(input(), 20).ms).toBeCloseTo(17.5, 9);
    expect(transferMs(input(), 20).utilisation).toBeCloseTo(0.2, 9);
    expect(transferMs(input(), 95).ms).toBe(Infinity);
    // a longer measured time replaces the model's
    expect(transferMs(input({ kv: { ...input().kv, observedTransferMs: 40 } }), 20).ms).toBe(40);
  });

  it('the ratio bound raises the smaller side', () => {
    expect(withinRatio(3, 2, { min: 2 })).toEqual({ prefill: 4, decode: 2 });
    expect(withinRatio(6, 2, { max: 2 })).toEqual({ prefill: 6, decode: 3 });
    expect(withinRatio(3, 2, undefined)).toEqual({ prefill: 3, decode: 2 });
  });
});

describe('sizeDisaggregated', () => {
  it('meets both targets with the fewest replicas per role, TTFT counting the transfer', () => {
    const s = sizeDisaggregated(input());
    if (!s.feasible) throw new Error(s.reason);
    const { plan } = s;
    expect(plan.ttft.totalMs).toBeLessThanOrEqual(1000);
    expect(plan.itlMs).toBeLessThanOrEqual(50);
    expect(plan.ttft.transferMs).toBeGreaterThan(15);
    expect(plan.ttft.totalMs).toBeCloseTo(
      plan.ttft.prefillWaitMs +
        plan.ttft.prefillMs +
        plan.ttft.transferMs +
        plan.ttft.decodeWaitMs +
        plan.ttft.firstStepMs,
      9,
    );
    // decode on the cheap accelerator: 40 + n within 50 ms for batches up to 10, at a fifth of the price
    expect(plan.decode.accelerator).toBe('slow');
    // one fewer prefill pod on the chosen accelerator misses the TTFT budget
    const p = plan.prefill;
    const chosen = p.accelerator === 'fast' ? fast : slow;
    if (p.replicas > 1) {
      const m = prefillModel(chosen.profile, 1000);
      const rate = 4 / (p.replicas - 1);
      const worse =
        rate >= m.rateRange.max
          ? Infinity
          : evaluateAt(m, rate).ttft +
            transferMs(input(), rate).ms +
            plan.ttft.decodeWaitMs +
            plan.ttft.firstStepMs;
      expect(worse).toBeGreaterThan(1000);
    }
    expect(plan.costPerHour).toBe(plan.prefill.costPerHour + plan.decode.costPerHour);
  });

  it('prefill-heavy load grows prefill, not decode', () => {
    const light = sizeDisaggregated(
      input({ prefill: { options: [fast], minReplicas: 1 }, decode: { options: [fast], minReplicas: 1 } }),
    );
    const heavy = sizeDisaggregated(
      input({
        load: { rate: 4, inputTokens: 4000, outputTokens: 100 },
        prefill: { options: [fast], minReplicas: 1 },
        decode: { options: [fast], minReplicas: 1 },
      }),
    );
    if (!light.feasible || !heavy.feasible) throw new Error('infeasible');
    expect(heavy.plan.prefill.replicas).toBeGreaterThan(light.plan.prefill.replicas);
    expect(heavy.plan.decode.replicas).toBe(light.plan.decode.replicas);
  });

  it('an ITL target below one decode step on an accelerator leaves it out of the decode role', () => {
    // slow decodes at >= 41 ms a token
    const s = sizeDisaggregated(input({ targets: { ttftMs: 1000, itlMs: 30 } }));
    if (!s.feasible) throw new Error(s.reason);
    expect(s.plan.decode.accelerator).toBe('fast');
    expect(s.notes.some((n) => n.startsWith('decode on slow'))).toBe(true);
  });

  it('a TTFT budget the transfer alone exceeds is infeasible, and says why', () => {
    const s = sizeDisaggregated(
      input({ kv: { bytesPerToken: 100_000, bandwidthBytesPerSecond: 1e8, latencyMs: 5 } }),
    );
    // 1e8 bytes at 0.1 GB/s: a second per transfer
    expect(s.feasible).toBe(false);
    if (!s.feasible) expect(s.reason).toMatch(/transfer alone/);
  });

  it('keeps within the free devices: the next cheapest plan, or none with what it needs', () => {
    const free = sizeDisaggregated(input());
    if (!free.feasible) throw new Error(free.reason);
    const noSlow = sizeDisaggregated(
      input({
        freeDevices: new Map([
          ['F', 400],
          ['S', 0],
        ]),
      }),
    );
    if (!noSlow.feasible) throw new Error(noSlow.reason);
    expect([noSlow.plan.prefill.accelerator, noSlow.plan.decode.accelerator]).toEqual(['fast', 'fast']);
    expect(noSlow.plan.costPerHour).toBeGreaterThan(free.plan.costPerHour);
    const none = sizeDisaggregated(
      input({
        freeDevices: new Map([
          ['F', 4],
          ['S', 0],
        ]),
      }),
    );
    expect(none.feasible).toBe(false);
    if (!none.feasible) expect(none.needed?.costPerHour).toBe(free.plan.costPerHour);
  });

  it('the ratio bound and maxReplicas hold', () => {
    const s = sizeDisaggregated(input({ ratio: { min: 3 } }));
    if (!s.feasible) throw new Error(s.reason);
    expect(s.plan.prefill.replicas).toBeGreaterThanOrEqual(3 * s.plan.decode.replicas);
    const capped = sizeDisaggregated(
      input({ ratio: { min: 3 }, prefill: { options: [fast, slow], minReplicas: 1, maxReplicas: 2 } }),
    );
    expect(capped.feasible).toBe(false);
  });

  it('idle: each role at its minimum on its cheapest accelerator', () => {
    const s = sizeDisaggregated(input({ load: { rate: 0, inputTokens: 0, outputTokens: 0 } }));
    if (!s.feasible) throw new Error('infeasible');
    expect(s.plan.prefill).toMatchObject({ accelerator: 'slow', replicas: 1 });
    expect(s.plan.decode).toMatchObject({ accelerator: 'slow', replicas: 1 });
  });
});

describe("the prompts' spread (load.spread)", () => {
  const point = (tokens: number) => ({ values: [tokens], weights: [1] });
  // half the prompts of 100 tokens, half of 1,900: the mean 1,000, E[I^2] = 1,810,000
  const spreadOut = { values: [100, 1900], weights: [1, 1] };

  it('decode: the mean concurrency whose KV stays within the cache but for the share', () => {
    // m = 1,050 and E[K^2] = 1,000^2 + 2 x 1,000 x 50 + 50^2 = 1,102,500 for a point at 1,000;
    // z(0.99) = 2.326: n + 2.326 sqrt(n) = 95.24 at sqrt(n) = 8.665, n = 75.1 (the mean alone: 95.2)
    const n = kvConcurrency(100_000, 1000, 100, { input: point(1000), missShare: 0.01, ttftMs: 0 });
    expect(n).toBeGreaterThan(74.5);
    expect(n).toBeLessThan(75.5);
    expect(1050 * n + 2.3263 * Math.sqrt(n * 1_102_500)).toBeCloseTo(100_000, -2);
    // spread prompts leave room for fewer, a larger share for more
    const spread = kvConcurrency(100_000, 1000, 100, { input: spreadOut, missShare: 0.01, ttftMs: 0 });
    expect(spread).toBeLessThan(n);
    expect(
      kvConcurrency(100_000, 1000, 100, { input: spreadOut, missShare: 0.2, ttftMs: 0 }),
    ).toBeGreaterThan(spread);
  });

  it("decode: the rate cap keeps the model's mean concurrency at that bound; none without a spread", () => {
    const load = { inputTokens: 1000, outputTokens: 100 };
    expect(kvRateCap(fast.profile, load)).toBe(Infinity);
    const spread = { input: spreadOut, missShare: 0.01, ttftMs: 0 };
    const cap = kvRateCap(fast.profile, { ...load, spread });
    const n = kvConcurrency(100_000, 1000, 100, spread);
    expect(evaluateAt(decodeModel(fast.profile, 1000, 100), cap).numInService).toBeCloseTo(n, 3);
  });

  it('sizes each role for the spread: more decode pods for the KV, more prefill pods for the long prompts', () => {
    // long, spread prompts on a small cache: 10% of 20,000 tokens, 90% of 2,000 (mean 3,800)
    const long = { values: [2000, 20_000], weights: [9, 1] };
    const load = { rate: 2, inputTokens: 3800, outputTokens: 200 };
    const only = { options: [fast], minReplicas: 1 };
    const mean = sizeDisaggregated(
      input({ load, targets: { ttftMs: 6000, itlMs: 50 }, prefill: only, decode: only }),
    );
    const spread = sizeDisaggregated(
      input({
        load: { ...load, spread: { input: long, missShare: 0.01, ttftMs: 3000 } },
        targets: { ttftMs: 6000, itlMs: 50 },
        prefill: only,
        decode: only,
      }),
    );
    expect(mean.feasible && spread.feasible).toBe(true);
    if (!mean.feasible || !spread.feasible) return;
    expect(spread.plan.decode.replicas).toBeGreaterThan(mean.plan.decode.replicas);
    expect(spread.plan.prefill.replicas).toBeGreaterThan(mean.plan.prefill.replicas);
    // a point at the mean with a lenient target changes nothing on the prefill side
    const lenient = sizeDisaggregated(
      input({
        load: { ...load, spread: { input: point(3800), missShare: 0.01, ttftMs: 60_000 } },
        targets: { ttftMs: 6000, itlMs: 50 },
        prefill: only,
        decode: only,
      }),
    );
    expect(lenient.feasible && lenient.plan.prefill.replicas).toBe(mean.plan.prefill.replicas);
  });

  it('says when the prompts missing even alone are more than the share allowed', () => {
    // a tenth of the prompts of 20,000 tokens, over a target of 1.2 s however many pods
    const long = { values: [2000, 20_000], weights: [9, 1] };
    const only = { options: [fast], minReplicas: 1 };
    const sized = (ttftMs: number) =>
      sizeDisaggregated(
        input({
          load: {
            rate: 2,
            inputTokens: 3800,
            outputTokens: 200,
            spread: { input: long, missShare: 0.01, ttftMs },
          },
          targets: { ttftMs: 6000, itlMs: 50 },
          prefill: only,
          decode: only,
        }),
      );
    const hopeless = sized(1200);
    expect(hopeless.feasible).toBe(true);
    expect(hopeless.notes.join('\n')).toMatch(
      /10\.00% of the prompts miss the 1200 ms TTFT target even alone/,
    );
    expect(sized(60_000).notes.join('\n')).not.toMatch(/even alone/);
  });

  it('the tail asks no more prefill pods than the role may have', () => {
    const long = { values: [2000, 20_000], weights: [9, 1] };
    const only = { options: [fast], minReplicas: 1 };
    const sizing = sizeDisaggregated(
      input({
        load: {
          rate: 2,
          inputTokens: 3800,
          outputTokens: 200,
          spread: { input: long, missShare: 0.001, ttftMs: 2100 },
        },
        targets: { ttftMs: 6000, itlMs: 50 },
        prefill: { ...only, maxReplicas: 3 },
        decode: only,
      }),
    );
    expect(sizing.feasible && sizing.plan.prefill.replicas).toBe(3);
  });
});

describe('withinRatioBound', () => {
  const noMax = { prefill: Infinity, decode: Infinity };
  it('raises the smaller side, as withinRatio does', () => {
    expect(withinRatioBound({ prefill: 12, decode: 1 }, { max: 8 }, noMax)).toEqual({
      prefill: 12,
      decode: 2,
    });
    expect(withinRatioBound({ prefill: 1, decode: 3 }, { min: 1 }, noMax)).toEqual({ prefill: 3, decode: 3 });
  });
  it('lowers the other side only where the smaller one is at its maxReplicas', () => {
    expect(withinRatioBound({ prefill: 12, decode: 1 }, { max: 8 }, { prefill: 12, decode: 1 })).toEqual({
      prefill: 8,
      decode: 1,
    });
    expect(withinRatioBound({ prefill: 2, decode: 5 }, { min: 1 }, { prefill: 2, decode: 8 })).toEqual({
      prefill: 2,
      decode: 2,
    });
  });
  it('leaves targets within the bound, or with no bound, as they are', () => {
    expect(withinRatioBound({ prefill: 5, decode: 1 }, { max: 8 }, noMax)).toEqual({ prefill: 5, decode: 1 });
    expect(withinRatioBound({ prefill: 20, decode: 1 }, undefined, noMax)).toEqual({
      prefill: 20,
      decode: 1,
    });
  });
});
