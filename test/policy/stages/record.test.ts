/** Stage record: the memory the next evaluation starts from, and the decision record. */
import { remember, decisionRecord } from '../../../lib/policy/stages/record.js';
import {
  blindObservation,
  deployment,
  KEY,
  observation,
  poolConfig,
  ratePerReplica,
  T0,
} from '../helpers.js';
import { throughGuards } from './pipeline.js';

const config = poolConfig();
const busy = 2.5 * ratePerReplica(config);
const context = { pool: 'test', poolSequence: 4, config, now: T0 };
const earlier = {
  poolSequence: 3,
  variants: {
    [KEY]: {
      sequence: 6,
      recommendations: [
        { t: T0 - 5000, accelerator: 'L4', replicas: 9 },
        { t: T0 - 30, accelerator: 'L4', replicas: 2 },
      ],
      demand: [{ t: T0 - 30, rate: 1 }],
      lastArrivalAt: T0 - 30,
    },
  },
};

describe('remember', () => {
  it('advances the sequence, forgets what left the window, and adds demand and recommendation', () => {
    const [g] = throughGuards(config, {
      observations: [observation(2, T0)],
      deployments: [deployment('L4', 2)],
      memory: earlier,
    });
    const next = remember(g!, config, T0);
    expect(next.sequence).toBe(7);
    expect(next.recommendations).toEqual([
      { t: T0 - 30, accelerator: 'L4', replicas: 2 },
      { t: T0, accelerator: 'L4', replicas: g!.windowEntry!.replicas },
    ]);
    expect(next.demand).toEqual([
      { t: T0 - 30, rate: 1 },
      { t: T0, rate: 2 },
    ]);
    expect(next).toMatchObject({
      lastArrivalAt: T0,
      lastTokens: { input: 512, output: 128 },
      observedSince: T0,
    });
    expect(earlier.variants[KEY].sequence).toBe(6); // the memory given is left as it was
  });

  it('learns no demand from a hold, but keeps its recommendation in the window', () => {
    const [g] = throughGuards(config, {
      observations: [blindObservation(T0, { stale: ['x'] })],
      deployments: [deployment('L4', 2)],
      memory: earlier,
    });
    const next = remember(g!, config, T0);
    expect(next.demand).toEqual([{ t: T0 - 30, rate: 1 }]);
    expect(next.lastArrivalAt).toBe(T0 - 30);
    expect(next.recommendations.at(-1)).toEqual({ t: T0, accelerator: 'L4', replicas: 2 });
  });
});

describe('decisionRecord', () => {
  const record = (rate: number | undefined, replicas: number) => {
    const [g] = throughGuards(config, {
      observations: [rate === undefined ? blindObservation(T0, { missing: ['x'] }) : observation(rate, T0)],
      deployments: [deployment('L4', replicas)],
    });
    return decisionRecord(g!, 7, context);
  };

  it('names the action from the target and what runs', () => {
    expect(record(undefined, 2).action).toBe('hold');
    expect(record(busy, 1).action).toBe('scale-up');
    const steady = record(0.1, 1);
    expect(steady).toMatchObject({ action: 'none', targetReplicas: 1, currentReplicas: 1 });
  });

  it('carries its ids and the deployments by name, and no capacity', () => {
    const d = record(busy, 1);
    expect(d).toMatchObject({ id: 'llm/chat#7', sequence: 7, pool: 'test', poolSequence: 4 });
    expect(d.issuedAt).toBe(new Date(T0 * 1000).toISOString());
    expect(d.deployments).toEqual([{ accelerator: 'L4', deployment: 'chat', replicas: d.targetReplicas }]);
    // capacity is the pool's intent, not part of a variant's decision
    expect(d).not.toHaveProperty('nodeGroups');
  });

  it('has a prediction and the sizing inputs only when it sized', () => {
    expect(record(busy, 1).prediction).not.toBeNull();
    const held = record(undefined, 2);
    expect(held.prediction).toBeNull();
    expect(held.inputs).toMatchObject({ demandRate: null, modelCorrection: null, missing: ['x'] });
  });
});
