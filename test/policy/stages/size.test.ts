/**
 * Stage size: the optimizer across the pool, each answer a recommendation; a move to another
 * accelerator only after the optimizer has preferred it for acceleratorSwitchSeconds.
 */
import {
  blindObservation,
  deployment,
  KEY,
  observation,
  poolConfig,
  ratePerReplica,
  T0,
} from '../helpers.js';
import { throughSize as sized } from './pipeline.js';

describe('size', () => {
  it('recommends k replicas for (k - 0.5) r*, with the demand driver as reason', () => {
    const config = poolConfig();
    const r = ratePerReplica(config);
    const [s] = sized(config, {
      observations: [observation(3.5 * r, T0)],
      deployments: [deployment('L4', 1)],
    });
    expect(s!.recommendation).toMatchObject({ accelerator: 'L4', replicas: 4, reason: 'load' });
    expect(s!.preferred).toBe('L4');
  });

  it('recommends keeping what runs on a variant it cannot measure, naming the gaps', () => {
    const [s] = sized(poolConfig(), {
      observations: [blindObservation(T0, { stale: ['vllm:a'], missing: ['vllm:b'] })],
      deployments: [deployment('L4', 3)],
    });
    expect(s!.recommendation).toEqual({
      accelerator: 'L4',
      replicas: 3,
      reason: 'stale-metrics',
      message: 'hold: cannot measure arrivals (missing vllm:b; stale vllm:a)',
    });
    expect(s!.preferred).toBeUndefined();
  });

  describe('an accelerator the optimizer prefers', () => {
    // chat runs on one H100; L4, 1/5 of the price, is cheaper for a light load.
    const config = poolConfig({ chat: { accelerator: undefined, accelerators: ['H100', 'L4'] } });
    const deployments = [deployment('H100', 1), deployment('L4', 0, 0)];
    const light = [observation(0.5 * ratePerReplica(config, KEY, 'L4'), T0)];

    it('is recommended only after acceleratorSwitchSeconds of preference', () => {
      const [first] = sized(config, { observations: light, deployments });
      expect(first!.preferred).toBe('L4');
      expect(first!.recommendation.accelerator).toBe('H100');
      expect(first!.recommendation.message).toMatch(/L4 preferred for 0 s of/);

      const since = T0 - config.policy.acceleratorSwitchSeconds;
      const memory = {
        poolSequence: 1,
        variants: {
          [KEY]: {
            sequence: 1,
            recommendations: [],
            demand: [],
            otherAccelerator: { accelerator: 'L4', since },
          },
        },
      };
      const [later] = sized(config, { observations: light, deployments, memory });
      expect(later!.recommendation).toMatchObject({ accelerator: 'L4', reason: 'migration' });
    });
  });
});
