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
