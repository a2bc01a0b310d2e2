/**
 * A partial measurement (some pods not reporting, token statistics missing, stale series) may
 * undercount the load: the variant may grow on it but never shrink or move.
 */
import { measurementGaps } from '../../../lib/policy/partialMeasurement.js';
import { guard, refuseShrinkOnGaps } from '../../../lib/policy/stages/guards.js';
import type { Sized } from '../../../lib/policy/stages/size.js';
import type { VariantObservation } from '../../../lib/metrics/observation.js';
import { deployment, observation, poolConfig, T0, type ObservationOptions } from '../helpers.js';
import { throughSize } from './pipeline.js';

/** No stabilisation window and unlimited steps: a scale-down goes through unless a guard stops it. */
const config = poolConfig({
  chat: { accelerator: undefined, accelerators: ['H100', 'L4'] },
  policy: { scaleDownMaxStep: { replicas: 100, percent: 100 } },
});
const memory = {
  poolSequence: 1,
  variants: { 'llm/chat': { sequence: 1, recommendations: [], demand: [], observedSince: T0 - 10_000 } },
};

function sizedWith(obs: VariantObservation, running = 4, readyOnL4 = running): Sized {
  return throughSize(config, {
    observations: [obs],
    deployments: [deployment('L4', running, readyOnL4), deployment('H100', 0, 0)],
    memory,
  })[0]!;
}
const withRecommendation = (s: Sized, accelerator: string, replicas: number): Sized => ({
  ...s,
  recommendation: { accelerator, replicas, reason: 'load', message: 'sized' },
});
const obs = (o: ObservationOptions = {}) => observation(0.2, T0, { ready: 4, running: 1, ...o });

describe('measurementGaps', () => {
  const current = sizedWith(obs()).current;

  it('finds none when every ready replica reports, with tokens and gauges', () => {
    expect(measurementGaps(obs(), current, 0.2)).toEqual([]);
  });

  it('names replicas that do not report, missing token statistics, missing gauges and stale series', () => {
    expect(measurementGaps(obs({ ready: 1 }), current, 0.2)).toEqual(['metrics from 1 of 4 ready replicas']);
    expect(measurementGaps(obs({ tokens: false }), current, 0.2)).toEqual(['token statistics missing']);
    // Nothing arriving: no completions to count tokens from is the measurement, not a gap.
    expect(measurementGaps(obs({ tokens: false }), current, 0)).toEqual([]);
    expect(measurementGaps({ ...obs(), waiting: undefined }, current, 0.2)).toEqual([
      'running/waiting gauges missing',
    ]);
    expect(measurementGaps({ ...obs(), stale: ['vllm:num_requests_waiting'] }, current, 0.2)).toEqual([
      'stale vllm:num_requests_waiting',
    ]);
  });
});

describe('a variant measured partially', () => {
  it('scales down when the measurement is whole', () => {
    const g = guard(withRecommendation(sizedWith(obs()), 'L4', 1), config, T0);
    expect(g).toMatchObject({ accelerator: 'L4', target: 1 });
  });

  it('keeps its replicas instead of scaling down, and says why', () => {
    const g = guard(withRecommendation(sizedWith(obs({ ready: 1 })), 'L4', 1), config, T0);
    expect(g).toMatchObject({ accelerator: 'L4', target: 4, reason: 'partial-metrics' });
    expect(g.message).toBe(
      'sized; partial metrics (metrics from 1 of 4 ready replicas): may scale up, not down (kept 4 instead of 1)',
    );
    expect([...g.deployments]).toEqual([
      ['L4', 4],
      ['H100', 0],
    ]);
  });

  it('still scales up', () => {
    const g = guard(withRecommendation(sizedWith(obs({ tokens: false })), 'L4', 7), config, T0);
    expect(g).toMatchObject({ accelerator: 'L4', target: 7 });
    expect(g.reason).not.toBe('partial-metrics');
  });

  it('does not move to another accelerator, which would end by removing replicas', () => {
    const g = guard(withRecommendation(sizedWith(obs({ ready: 2 })), 'H100', 1), config, T0);
    expect(g).toMatchObject({ accelerator: 'L4', target: 4, reason: 'partial-metrics', migrating: false });
    expect(g.message).toMatch(/no move to H100/);
  });

  it('still honours maxReplicas, the operator’s word', () => {
    const capped = poolConfig({ chat: { maxReplicas: 3 } });
    const s = throughSize(capped, {
      observations: [obs({ ready: 1 })],
      deployments: [deployment('L4', 4)],
      memory,
    })[0]!;
    const r = refuseShrinkOnGaps(
      { ...s, demand: s.demand! },
      { accelerator: 'L4', replicas: 3, reason: 'max-replicas', message: 'capped at maxReplicas 3' },
    );
    expect(r).toMatchObject({ replicas: 3, reason: 'max-replicas' });
  });
});
