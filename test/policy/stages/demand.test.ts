/**
 * Stage demand: the rate each variant is sized for, or none when its arrivals cannot be
 * measured, and the model correction learned from what the replicas did.
 */
import type { PoolInputOptions } from '../helpers.js';
import { blindObservation, deployment, KEY, observation, poolConfig, T0 } from '../helpers.js';
import { throughDemand } from './pipeline.js';

const learning = poolConfig({ policy: { modelCorrection: { enabled: true, smoothing: 1 } } });

function assess(config = poolConfig(), o: PoolInputOptions = {}) {
  return throughDemand(config, { deployments: [deployment('L4', 2)], ...o })[0]!;
}

describe('assessDemand', () => {
  it('has no demand without an arrival estimate, and keeps the correction it had learned', () => {
    const memory = {
      poolSequence: 1,
      variants: {
        [KEY]: { sequence: 1, recommendations: [], demand: [], correction: { ttft: 1.5, itl: 1.2 } },
      },
    };
    const a = assess(poolConfig(), { observations: [blindObservation(T0, { stale: ['x'] })], memory });
    expect(a.demand).toBeUndefined();
    expect(a.correction).toEqual({ ttft: 1.5, itl: 1.2 });
    expect(assess().correction).toEqual({ ttft: 1, itl: 1 });
  });

  it('drains the backlog within max(TTFT target, interval)', () => {
    // TTFT target 3 s < interval 30 s: 60 waiting drain at 2 req/s.
    const a = assess(poolConfig(), { observations: [observation(4, T0, { waiting: 60 })] });
    expect(a.demand).toMatchObject({ measured: 4, backlogRate: 2, rate: 6, driver: 'backlog' });
  });

  it('does not count the backlog again while replicas are starting', () => {
    const a = assess(poolConfig(), {
      observations: [observation(4, T0, { waiting: 60 })],
      deployments: [deployment('L4', 3, 2)],
    });
    expect(a.demand).toMatchObject({ backlogRate: 0, rate: 4, driver: 'load' });
  });

  it('learns the ratio of observed to predicted latency from replicas that are not overloaded', () => {
    const a = assess(learning, { observations: [observation(1, T0, { ttftMs: 10_000, itlMs: 100 })] });
    expect(a.correction.ttft).toBeGreaterThan(1);
    expect(a.correction.itl).toBeGreaterThan(1);
  });

  it('learns nothing from an overloaded replica set (more waiting than ready replicas)', () => {
    const a = assess(learning, {
      observations: [observation(1, T0, { ttftMs: 10_000, itlMs: 100, waiting: 3 })],
    });
    expect(a.correction).toEqual({ ttft: 1, itl: 1 });
  });
});
