/** What the optimizer sees: the profiles and targets each variant is sized with, corrections included. */
import { sizingSystem } from '../../lib/policy/sizingSystem.js';
import { deployment, observation, poolConfig, ratePerReplica, T0 } from './helpers.js';
import { throughDemand } from './stages/pipeline.js';

const config = poolConfig();
const [assessed] = throughDemand(config, {
  observations: [observation(ratePerReplica(config), T0)],
  deployments: [deployment('L4', 2)],
});

function sizedWith(correction: { ttft: number; itl: number }) {
  const system = sizingSystem(config, [{ ...assessed!, correction }]);
  const server = system.servers[0]!;
  const targets = system.serviceClasses.get(server.serviceClass)!.targets.get(server.model)!;
  const profile = system.models.get(server.model)!.profiles.get('L4')!;
  return { targets, profile };
}

describe('sizingSystem', () => {
  const plain = sizedWith({ ttft: 1, itl: 1 });

  it('scales every iteration time by the ITL correction', () => {
    const { profile } = sizedWith({ ttft: 1, itl: 1.5 });
    for (const k of ['alpha', 'beta', 'gamma', 'delta'] as const) {
      expect(profile[k]).toBeCloseTo(plain.profile[k] * 1.5, 9);
    }
  });

  it('divides the TTFT target by a TTFT correction above 1, never relaxes it for one below', () => {
    expect(sizedWith({ ttft: 2, itl: 1 }).targets.ttft).toBeCloseTo(plain.targets.ttft / 2, 9);
    // a model found pessimistic about the mean TTFT keeps the target: its pessimism covered the tail
    expect(sizedWith({ ttft: 0.4, itl: 1 }).targets.ttft).toBe(plain.targets.ttft);
    expect(sizedWith({ ttft: 0.4, itl: 1 }).targets.itl).toBe(plain.targets.itl);
  });
});

describe('sizingSystem: accelerators whose KV cache the requests do not fit', () => {
  const base = poolConfig({ chat: { accelerator: undefined, accelerators: ['L4', 'H100'] } });
  // L4 holds 48,000 tokens; H100 has no KV cache configured (nothing to check)
  const withKv = {
    ...base,
    models: base.models.map((m) =>
      m.name === 'm8b'
        ? { ...m, profiles: { ...m.profiles, L4: { ...m.profiles.L4!, kvCacheTokens: 48000 } } }
        : m,
    ),
  };
  const [onL4] = throughDemand(withKv, {
    observations: [observation(ratePerReplica(withKv), T0)],
    deployments: [deployment('L4', 2)],
  });
  // 2,000 requests: inputs up to 10,000 tokens, `long` of them beyond 50,000; outputs up to 1,000
  const histogram = (long: number) => ({
    t: T0,
    bounds: [1000, 10000, 50000],
    input: [0, 2000 - long, 0, long],
    output: [2000, 0, 0, 0],
  });
  const allowed = (long: number) =>
    sizingSystem(withKv, [{ ...onL4!, tokenHistogram: histogram(long) }]).servers[0]!.allowedAccelerators;

  it('leaves out an accelerator that would reject more than the allowed miss share', () => {
    // 5% of the requests beyond 50,000 tokens: L4 rejects them
    expect(allowed(100)).toEqual(['H100']);
  });

  it('keeps it where the requests beyond its KV cache are within the allowed share, or there are none', () => {
    expect(allowed(10)).toEqual(['L4', 'H100']);
    expect(allowed(0)).toEqual(['L4', 'H100']);
  });

  it('keeps every allowed accelerator without trusted histograms', () => {
    const small = { ...histogram(20), input: [0, 80, 0, 20], output: [100, 0, 0, 0] };
    expect(
      sizingSystem(withKv, [{ ...onL4!, tokenHistogram: small }]).servers[0]!.allowedAccelerators,
    ).toEqual(['L4', 'H100']);
  });
});
