/** The queue model's batch from the KV cache (policy.kvBatch, lib/policy/kvBatch.ts). */
import type { Config } from '../../lib/config/schema.js';
import { effectiveBatchSize } from '../../lib/optimizer/index.js';
import { kvTokensInFlight, kvTokensPerRequest } from '../../lib/policy/kvBatch.js';
import { sizingSystem } from '../../lib/policy/sizingSystem.js';
import { decideOnTwo, deployment, observation, poolConfig, T0, withArrivalSteps } from './helpers.js';
import { throughDemand, throughSize } from './stages/pipeline.js';

/** The L4 of the chat fleet: 32 sequences measured at 512 output tokens, 48,000 tokens of KV. */
const L4 = { maxBatchSize: 32, atTokens: 512, kvCacheTokens: 48_000 };
const LONG = { input: 512, output: 2000 };

/** The pool's config with the L4 profile's KV cache given, policy.kvBatch as asked. */
function withKvCache(kvBatch: boolean): Config {
  const config = poolConfig({ policy: { kvBatch: { enabled: kvBatch } } });
  return {
    ...config,
    models: config.models.map((m) =>
      m.name === 'm8b'
        ? { ...m, profiles: { ...m.profiles, L4: { ...m.profiles.L4!, kvCacheTokens: L4.kvCacheTokens } } }
        : m,
    ),
  };
}

const longAnswers = (rate: number) => ({
  observations: [observation(rate, T0, { tokens: LONG })],
  deployments: [deployment('L4', 2)],
});

describe('kvTokensInFlight', () => {
  it('is the prompt and half the answer for answers of one length', () => {
    expect(kvTokensInFlight(512, 2000)).toBe(1512);
    expect(kvTokensInFlight(512, 2000, { values: [2000], weights: [1] })).toBeCloseTo(1512, 9);
  });

  it('weighs a long answer by the time it is in flight: E[I] + E[O^2] / (2 E[O])', () => {
    // half 75-token answers, half 3,300: the mean answer's half is 844 tokens, the in-flight one 1,614
    const bimodal = { values: [75, 3300], weights: [0.5, 0.5] };
    const meanOut = (75 + 3300) / 2;
    const expected = 951 + (75 * 75 + 3300 * 3300) / 2 / (2 * meanOut);
    expect(kvTokensInFlight(951, meanOut, bimodal)).toBeCloseTo(expected, 6);
    expect(kvTokensInFlight(951, meanOut, bimodal)).toBeGreaterThan(951 + meanOut / 2 + 700);
  });
});

describe('effectiveBatchSize with the KV cache', () => {
  it("keeps the reference's maxBatchSize x atTokens / output without a KV size or a profile cache", () => {
    expect(effectiveBatchSize(L4, undefined, 2000)).toBe(8);
    expect(effectiveBatchSize({ maxBatchSize: 32, atTokens: 512 }, undefined, 2000, 1512)).toBe(8);
  });

  it('is what the cache holds of the requests in flight, within maxBatchSize', () => {
    expect(effectiveBatchSize(L4, undefined, 2000, 4810)).toBe(9); // 48,000 / 4,810
    expect(effectiveBatchSize(L4, undefined, 2000, 1512)).toBe(31);
    expect(effectiveBatchSize(L4, undefined, 60, 600)).toBe(32); // short answers: max_num_seqs binds
    expect(effectiveBatchSize(L4, undefined, 2000, 100_000)).toBe(1);
  });

  it("leaves a variant's own maxBatchSize as it is", () => {
    expect(effectiveBatchSize(L4, 12, 2000, 1512)).toBe(12);
  });
});

describe('policy.kvBatch', () => {
  it('is on by default', () => {
    expect(poolConfig().policy.kvBatch.enabled).toBe(true);
  });

  it('off: no KV per request reaches the optimizer', () => {
    const config = withKvCache(false);
    const [a] = throughDemand(config, longAnswers(0.6));
    expect(kvTokensPerRequest(config, a!)).toBeUndefined();
    expect(sizingSystem(config, [a!]).servers[0]!.load.kvTokensPerRequest).toBeUndefined();
  });

  it("sizes with the mean answer's KV before the token histogram is trusted", () => {
    const config = withKvCache(true);
    const [a] = throughDemand(config, longAnswers(0.6));
    expect(kvTokensPerRequest(config, a!)).toBe(1512);
    expect(sizingSystem(config, [a!]).servers[0]!.load.kvTokensPerRequest).toBe(1512);
  });

  it('asks fewer replicas for long answers the cache holds many of', () => {
    // the reference's batch of 8 saturates an L4 at 0.13 req/s; the cache's 31 at 0.38
    const off = throughSize(withKvCache(false), longAnswers(0.6))[0]!.recommendation;
    const on = throughSize(withKvCache(true), longAnswers(0.6))[0]!.recommendation;
    expect(off.accelerator).toBe('L4');
    expect(on.accelerator).toBe('L4');
    expect(off.replicas).toBeGreaterThanOrEqual(5);
    expect(on.replicas).toBeLessThanOrEqual(3);
    expect(on.replicas).toBeLessThan(off.replicas);
  });

  it('changes nothing where the profile gives no cache size', () => {
    const plain = (kvBatch: boolean) =>
      throughSize(poolConfig({ policy: { kvBatch: { enabled: kvBatch } } }), longAnswers(0.6))[0]!
        .recommendation.replicas;
    expect(plain(true)).toBe(plain(false));
  });
});

describe('policy.kvBatch and the TTFT burst replay', () => {
  const policy = (kvBatch: boolean) => ({
    scaleUpMaxStep: { replicas: 20 },
    burstSizing: { enabled: true },
    kvBatch: { enabled: kvBatch },
  });
  // 20 steps of 15 s at 0.3 req/s of long answers, one of them a burst of 2 req/s
  const bursty = withArrivalSteps(
    observation(0.3, T0, { tokens: LONG }),
    Array.from({ length: 20 }, (_, i) => (i === 12 ? 30 : 4.5)),
  );
  const decided = (config: Config) => {
    const d = decideOnTwo(config, bursty);
    return { target: d.targetReplicas, bursts: d.inputs.bursts };
  };
  const withCache = (kvBatch: boolean) => {
    const c = poolConfig({ policy: policy(kvBatch) });
    return {
      ...c,
      models: c.models.map((m) =>
        m.name === 'm8b'
          ? { ...m, profiles: { ...m.profiles, L4: { ...m.profiles.L4!, kvCacheTokens: L4.kvCacheTokens } } }
          : m,
      ),
    };
  };

  it('replays the queue at the saturated rate where the profile gives no cache, as without the flag', () => {
    expect(decided(poolConfig({ policy: policy(true) }))).toEqual(
      decided(poolConfig({ policy: policy(false) })),
    );
  });

  it('takes a burst of long answers into the batch the cache holds where the queue would have waited', () => {
    const off = decided(withCache(false));
    const on = decided(withCache(true));
    // the reference's batch of 8 saturates at 0.13 req/s: the burst queues past the TTFT budget
    expect(off.bursts!.replicas).toBeGreaterThan(off.bursts!.sizedReplicas);
    // the cache's 31 places, each held some 80 s, take the burst's 30 requests beside the 24 in flight
    expect(on.target).toBeLessThan(off.target);
  });
});
