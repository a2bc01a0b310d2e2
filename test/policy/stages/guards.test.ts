/**
 * Stage guards: what a recommendation must pass to become a target. Each guard is tested on a
 * recommendation set by hand, on a variant run through the earlier stages.
 */
import type { Config } from '../../../lib/config/schema.js';
import type { VariantMemory } from '../../../lib/policy/memory.js';
import { guard, idleAndBounds, makeBeforeBreak, stabilizeTarget } from '../../../lib/policy/stages/guards.js';
import type { Recommendation } from '../../../lib/policy/recommend.js';
import type { Sized } from '../../../lib/policy/stages/size.js';
import type { PoolInputOptions } from '../helpers.js';
import { blindObservation, deployment, KEY, observation, poolConfig, T0 } from '../helpers.js';
import { throughSize } from './pipeline.js';

const memoryOf = (m: Partial<VariantMemory>) => ({
  poolSequence: 1,
  variants: { [KEY]: { sequence: 1, recommendations: [], demand: [], ...m } },
});

/** The variant sized at `rate` arrivals with `replicas` running on L4, then recommended `recommended`. */
function recommended(
  config: Config,
  rate: number,
  replicas: number,
  recommendation: Partial<Recommendation>,
  o: PoolInputOptions = {},
): Sized {
  const [s] = throughSize(config, {
    observations: [observation(rate, T0)],
    deployments: [deployment('L4', replicas)],
    ...o,
  });
  return { ...s!, recommendation: { ...s!.recommendation, ...recommendation } };
}

const measured = (s: Sized) => {
  if (!s.demand) throw new Error('no demand');
  return s as Sized & { demand: NonNullable<Sized['demand']> };
};

describe('a held variant', () => {
  const config = poolConfig();
  const held = (replicas: number) =>
    guard(
      throughSize(config, {
        observations: [blindObservation(T0, { missing: ['vllm:x'] })],
        deployments: [deployment('L4', replicas)],
      })[0]!,
      config,
      T0,
    );

  it('keeps what runs and remembers it as a recommendation', () => {
    const g = held(3);
    expect(g).toMatchObject({ accelerator: 'L4', target: 3, reason: 'stale-metrics', migrating: false });
    expect(g.message).toBe('hold: cannot measure arrivals (missing vllm:x)');
    expect([...g.deployments]).toEqual([['L4', 3]]);
    expect(g.windowEntry).toEqual({ t: T0, accelerator: 'L4', replicas: 3 });
    expect(g.windowMemory).toEqual({});
  });

  it('is kept within min and max, and says so', () => {
    expect(held(0)).toMatchObject({
      target: 1,
      message: expect.stringMatching(/kept within min\/max at 1$/),
    });
    expect(held(12)).toMatchObject({
      target: 10,
      message: expect.stringMatching(/kept within min\/max at 10$/),
    });
  });
});

describe('idleAndBounds', () => {
  const idle = poolConfig({ chat: { minReplicas: 0 }, policy: { idleWindowSeconds: 600 } });

  it('goes to zero once nothing arrived for the whole idle window', () => {
    const s = recommended(idle, 0, 2, { replicas: 0 }, { memory: memoryOf({ lastArrivalAt: T0 - 600 }) });
    expect(idleAndBounds(measured(s), idle, T0)).toEqual({
      accelerator: 'L4',
      replicas: 0,
      reason: 'idle',
      message: 'no arrivals for 600 s',
    });
  });

  it('keeps one replica inside the idle window, and adds none to a variant at zero', () => {
    const memory = memoryOf({ lastArrivalAt: T0 - 599 });
    expect(
      idleAndBounds(measured(recommended(idle, 0, 2, { replicas: 0 }, { memory })), idle, T0).replicas,
    ).toBe(1);
    expect(
      idleAndBounds(measured(recommended(idle, 0, 0, { replicas: 0 }, { memory })), idle, T0).replicas,
    ).toBe(0);
  });

  it('gives a variant at zero a replica while a request waits, however long ago it arrived', () => {
    const memory = memoryOf({ lastArrivalAt: T0 - 3600 });
    const waiting = (n: number) =>
      recommended(
        idle,
        0,
        0,
        { replicas: 0 },
        { memory, observations: [observation(0, T0, { waiting: n })] },
      );
    expect(idleAndBounds(measured(waiting(0)), idle, T0)).toMatchObject({ replicas: 0, reason: 'idle' });
    expect(idleAndBounds(measured(waiting(2)), idle, T0).replicas).toBe(1);
  });

  it('holds minReplicas and caps at maxReplicas, naming the bound', () => {
    const config = poolConfig({ chat: { minReplicas: 2 } });
    expect(idleAndBounds(measured(recommended(config, 1, 2, { replicas: 1 })), config, T0)).toMatchObject({
      replicas: 2,
      reason: 'min-replicas',
      message: 'held at minReplicas 2',
    });
    expect(idleAndBounds(measured(recommended(config, 1, 2, { replicas: 15 })), config, T0)).toMatchObject({
      replicas: 10,
      reason: 'max-replicas',
      message: 'capped at maxReplicas 10',
    });
  });
});

describe('stabilizeTarget', () => {
  const config = poolConfig({ policy: { scaleDownMaxStep: { replicas: 100, percent: 100 } } });
  const seen = memoryOf({
    observedSince: T0 - 1000,
    recommendations: [{ t: T0 - 10, accelerator: 'L4', replicas: 5 }],
  });

  it('holds a scale-down at the highest recommendation of the window, and says why', () => {
    const s = recommended(config, 1, 5, {}, { memory: seen });
    const r = stabilizeTarget(
      s,
      { accelerator: 'L4', replicas: 2, reason: 'load', message: 'sized' },
      config,
      T0,
    );
    expect(r).toMatchObject({ target: 5, reason: 'stabilization' });
    expect(r.message).toBe('sized; held by the 300 s window (recommended 2)');
  });

  it('calls a scale-down the load, not the backlog or forecast that drove the recommendation', () => {
    const s = recommended(config, 1, 5, {}, { memory: memoryOf({ observedSince: T0 - 1000 }) });
    const r = stabilizeTarget(
      s,
      { accelerator: 'L4', replicas: 2, reason: 'backlog', message: 'm' },
      config,
      T0,
    );
    expect(r).toMatchObject({ target: 2, reason: 'load', message: 'm' });
  });

  it('grows the adaptive window when released replicas are needed again', () => {
    const adaptive = poolConfig({ policy: { adaptiveWindow: { enabled: true, initialSeconds: 0 } } });
    const s = recommended(
      adaptive,
      1,
      2,
      {},
      { memory: memoryOf({ lastScaleDown: { t: T0 - 60, from: 5 } }) },
    );
    const r = stabilizeTarget(
      s,
      { accelerator: 'L4', replicas: 5, reason: 'load', message: 'm' },
      adaptive,
      T0,
    );
    expect(r.target).toBe(5);
    expect(r.windowMemory).toMatchObject({ window: 600, calmSince: T0 });
    expect(r.message).toMatch(/window 300 s -> 600 s$/);
  });
});

describe('makeBeforeBreak', () => {
  const onH100 = (readyOnL4: number) =>
    throughSize(poolConfig({ chat: { accelerator: undefined, accelerators: ['H100', 'L4'] } }), {
      deployments: [deployment('H100', 2), deployment('L4', 3, readyOnL4)],
    })[0]!.current;

  it('keeps the old accelerator until the new one has its target ready, then releases it', () => {
    expect([...makeBeforeBreak(onH100(1), 'L4', 3)]).toEqual([
      ['L4', 3],
      ['H100', 2],
    ]);
    expect(makeBeforeBreak(onH100(3), 'L4', 3).get('H100')).toBe(0);
  });
});

describe('guard', () => {
  it('marks a move of running replicas as a migration', () => {
    const config = poolConfig({ chat: { accelerator: undefined, accelerators: ['H100', 'L4'] } });
    const [s] = throughSize(config, {
      observations: [observation(1, T0)],
      deployments: [deployment('H100', 1), deployment('L4', 0, 0)],
    });
    const moving: Sized = { ...s!, recommendation: { ...s!.recommendation, accelerator: 'L4', replicas: 2 } };
    const g = guard(moving, config, T0);
    expect(g).toMatchObject({ accelerator: 'L4', target: 2, migrating: true });
    expect(g.windowEntry).toEqual({ t: T0, accelerator: 'L4', replicas: 2 });
    expect(g.deployments.get('H100')).toBe(1);
  });
});
