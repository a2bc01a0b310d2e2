/**
 * policy.burstSizing.concentration (lib/policy/burstConcentration.ts): the prefill replay's
 * arrivals within the first c of each step, c learnt from the TTFT misses the prefill pods measure.
 */
import { prefillReplayConfig, roleObservation } from './helpers.js';
import type { Config } from '../../lib/config/schema.js';
import type { ArrivalSteps, TokenBuckets, VariantObservation } from '../../lib/metrics/observation.js';
import { fluidReplay, replicasForBursts } from '../../lib/policy/burstSizing.js';
import {
  concentrationWindow,
  learntConcentration,
  updateConcentration,
  validConcentration,
  withSizing,
  type ConcentrationMemory,
} from '../../lib/policy/burstConcentration.js';
import { decideDisaggregated, type RoleState } from '../../lib/policy/disaggregated.js';
import { sizeDecodeForBursts } from '../../lib/policy/decodeBursts.js';
import { disaggregatedInput } from '../../lib/config/toDisaggregated.js';
import { sizeDisaggregated } from '../../lib/optimizer/disaggregated.js';
import { emptyMemory } from '../../lib/policy/memory.js';
import { parseDecision } from '../../lib/policy/decisionRecord.js';

describe('fluidReplay with arrivals concentrated within each step', () => {
  test("each step's arrivals within its first c x step, the queue draining for the rest", () => {
    // 30 in the first 3 s of each 15-s step (10 req/s) on 5 req/s: the backlog grows 5 req/s and
    // passes 10 (2 s of service) at 2 s: the last 1 s of arrivals (10) late; 15 left drain in 3 s
    const r = fluidReplay([30, 30], 15, 5, 2, 0.2);
    expect(r.late).toBeCloseTo(20, 9);
    expect(r.share).toBeCloseTo(1 / 3, 9);
    expect(r.backlog).toBeCloseTo(0, 9);
    // spread over the step (2 req/s) nobody waits: the default and c = 1 alike
    expect(fluidReplay([30, 30], 15, 5, 2).late).toBe(0);
    expect(fluidReplay([30, 30], 15, 5, 2, 1)).toEqual(fluidReplay([30, 30], 15, 5, 2));
  });

  test('the backlog left after the quiet part of a step is carried into the next', () => {
    // 60 in 3 s (20 req/s) on 2 req/s: over 4 at 2/9 s, 20 x (3 - 2/9) late; 54 left, 24 served in
    // the quiet 12 s: 30 carried; the next step's 15 (5 req/s) all wait behind them
    const r = fluidReplay([60, 15], 15, 2, 2, 0.2);
    expect(r.late).toBeCloseTo(20 * (3 - 2 / 9) + 15, 9);
    expect(r.backlog).toBeCloseTo(15, 9);
  });

  test('replicasForBursts sizes for the rate within the concentrated part of the step', () => {
    // 150 in the first 3 s (50 req/s), 1 req/s a replica, a 2-s budget: n replicas hold 3 (50 - n)
    // by 3 s, within 2n from n = 30; spread over the step 9 suffice
    const burst = { counts: [150], stepSeconds: 15, perReplica: 1, budgetSeconds: 2, allowedShare: 0.01 };
    expect(replicasForBursts({ ...burst, atLeast: 3, atMost: 60 }).replicas).toBe(9);
    expect(replicasForBursts({ ...burst, atLeast: 3, atMost: 60, concentration: 0.2 })).toMatchObject({
      replicas: 30,
      share: 0,
      met: true,
    });
    expect(replicasForBursts({ ...burst, atLeast: 3, atMost: 20, concentration: 0.2 }).met).toBe(false);
  });
});

const settings = { enabled: true, halfLifeSeconds: 1800, smoothing: 0.5, minSeconds: 1 };
const ctx = { now: 60, windowSeconds: 60, stepSeconds: 15, allowedShare: 0.01 };
const pool = (over: Partial<ConcentrationMemory> = {}): ConcentrationMemory => ({
  c: 1,
  t: 0,
  requests: 0,
  late: 0,
  budgetMs: 1900,
  ...over,
});
const keep = Math.pow(0.5, 60 / 1800);

describe('learning the concentration from the TTFT misses', () => {
  test('misses over the allowed share shrink c by a log step, and the pool starts again', () => {
    const next = updateConcentration(pool(), { requests: 200, late: 20 }, ctx, settings)!;
    // 10% late against 1%: c x 10^-0.5
    expect(next.c).toBeCloseTo(Math.pow(10, -0.5), 9);
    expect(next).toMatchObject({ t: 60, requests: 0, late: 0, budgetMs: 1900 });
  });

  test('too few late to tell: pooled, c held', () => {
    const next = updateConcentration(pool({ c: 0.5 }), { requests: 200, late: 5 }, ctx, settings)!;
    expect(next.c).toBe(0.5);
    expect(next.requests).toBeCloseTo(200, 9);
    expect(next.late).toBeCloseTo(5, 9);
    // the next window adds to the pool, the old part decayed
    const later = updateConcentration(next, { requests: 200, late: 6 }, { ...ctx, now: 120 }, settings)!;
    expect(later.c).toBeCloseTo(0.5 * Math.pow((5 * keep + 6) / (200 * keep + 200) / 0.01, -0.5), 9);
  });

  test('none late over enough requests to expect ten: c relaxes towards 1', () => {
    const next = updateConcentration(
      pool({ c: 0.2, requests: 900 }),
      { requests: 200, late: 0 },
      ctx,
      settings,
    )!;
    expect(900 * keep + 200).toBeGreaterThan(1000);
    expect(next.c).toBeCloseTo(0.2 * Math.SQRT2, 9);
    // never beyond 1
    expect(
      updateConcentration(pool({ c: 0.9, requests: 2000 }), { requests: 200, late: 0 }, ctx, settings)!.c,
    ).toBe(1);
    // between half the allowed share and the allowed share: held
    const within = updateConcentration(
      pool({ c: 0.2, requests: 900, late: 7 }),
      { requests: 200, late: 1 },
      ctx,
      settings,
    )!;
    expect(within.c).toBe(0.2);
  });

  test('never below minSeconds / stepSeconds', () => {
    const next = updateConcentration(pool({ c: 0.1 }), { requests: 100, late: 50 }, ctx, settings)!;
    expect(next.c).toBeCloseTo(1 / 15, 9);
  });

  test('no evidence, no budget to read it against, or the flag off: the memory as it was', () => {
    const before = pool({ c: 0.4, requests: 300, late: 2 });
    expect(updateConcentration(before, undefined, ctx, settings)).toBe(before);
    expect(updateConcentration(before, { requests: 0, late: 0 }, ctx, settings)).toBe(before);
    expect(updateConcentration(undefined, { requests: 500, late: 50 }, ctx, settings)).toBeUndefined();
    expect(
      updateConcentration(before, { requests: 500, late: 50 }, ctx, { ...settings, enabled: false }),
    ).toBe(before);
  });

  test('withSizing opens the memory at 1 with the budget and the replay the sizing counted', () => {
    const sizing = { budgetMs: 1850, perPodRate: 2, waitMs: 1500 };
    expect(withSizing(undefined, sizing, 30)).toEqual({
      c: 1,
      t: 30,
      requests: 0,
      late: 0,
      budgetMs: 1850,
      replay: { perPodRate: 2, waitMs: 1500 },
    });
    expect(withSizing(pool({ c: 0.3 }), sizing, 30)).toEqual({
      ...pool({ c: 0.3, budgetMs: 1850 }),
      replay: { perPodRate: 2, waitMs: 1500 },
    });
    expect(withSizing(pool({ c: 0.3 }), undefined, 30)).toEqual(pool({ c: 0.3 }));
  });
});

// the prefill pods' TTFT histogram: 0.5 s, 1 s, 2.5 s, +Inf
const histogram = (counts: number[]): TokenBuckets => ({ bounds: [0.5, 1, 2.5, Infinity], counts });

describe("the window's evidence", () => {
  // a prefill pod completes 2 req/s; the wait allowed 1.5 s; 30 arrivals a 15-s step
  const memory = pool({ replay: { perPodRate: 2, waitMs: 1500 } });
  const steps = { counts: [30, 30, 30, 30], stepSeconds: 15 };
  test('the histogram read against the budget, the bucket holding it split linearly', () => {
    // 1.9 s within (1, 2.5]: 0.6 / 1.5 of its 30 late, and the 10 beyond 2.5 s
    expect(concentrationWindow(histogram([100, 60, 30, 10]), memory, { ready: 3, steps }, 0.01)).toEqual({
      requests: 200,
      late: expect.closeTo(12 + 10, 9),
    });
  });

  test('nothing where the replay at c says the pods ready were short (starting, or held below the sizing)', () => {
    const h = histogram([100, 60, 30, 10]);
    // at c = 1 one pod (2 req/s) keeps up with 2 req/s; at c = 0.2 (10 req/s for 3 s) it needs
    // 5 to keep the backlog within 3 (1.5 s of its service): 3 pods leave some late
    expect(concentrationWindow(h, memory, { ready: 1, steps }, 0.01)).toBeDefined();
    expect(concentrationWindow(h, { ...memory, c: 0.2 }, { ready: 3, steps }, 0.01)).toBeUndefined();
    expect(concentrationWindow(h, { ...memory, c: 0.2 }, { ready: 5, steps }, 0.01)).toBeDefined();
    expect(concentrationWindow(h, memory, { ready: 0, steps }, 0.01)).toBeUndefined();
  });

  test('nothing without a budget, the last replay, the steps or a histogram', () => {
    const h = histogram([100, 60, 30, 10]);
    const { budgetMs: _b, ...noBudget } = memory;
    expect(concentrationWindow(h, noBudget, { ready: 3, steps }, 0.01)).toBeUndefined();
    expect(concentrationWindow(h, pool(), { ready: 3, steps }, 0.01)).toBeUndefined();
    expect(concentrationWindow(h, memory, { ready: 3 }, 0.01)).toBeUndefined();
    expect(concentrationWindow(undefined, memory, { ready: 3, steps }, 0.01)).toBeUndefined();
    expect(concentrationWindow(h, undefined, { ready: 3, steps }, 0.01)).toBeUndefined();
  });

  test('a corrupted memory is dropped', () => {
    expect(validConcentration({ c: 2, t: 0, requests: 0, late: 0 })).toBeUndefined();
    expect(validConcentration({ c: 0.5, t: 0, requests: -1, late: 0 })).toBeUndefined();
    expect(validConcentration('x')).toBeUndefined();
    expect(validConcentration(pool({ c: 0.5 }))).toEqual(pool({ c: 0.5 }));
  });
});

const withConcentration = (enabled: boolean): Config =>
  prefillReplayConfig({ decode: false, concentration: enabled });
const parsed = withConcentration(false);
const v = parsed.disaggregated![0]!;
const key = `${v.namespace}/${v.name}`;
const now = 1_800_000_000;
const e = (value: number, source = 's') => ({ value, source, timestamp: now });
// 8 req/s on average, one 15-s step holding 3/4 of the last minute
const burst: ArrivalSteps = {
  stepSeconds: 15,
  counts: [...Array(56).fill(120), 30, 360, 40, 50],
  source: 's',
  timestamp: now,
};
const running = (acc: string, n: number, ready = n): RoleState => ({
  byAccelerator: new Map([[acc, { desired: n, ready }]]),
});

describe('the disaggregated decision with a learnt concentration', () => {
  const decideWith = (
    config: Config,
    stored: unknown,
    over: { prefill?: Partial<VariantObservation>; ready?: number } = {},
  ) => {
    const memory = emptyMemory();
    memory.variants[key] = { sequence: 0, recommendations: [], demand: [], concentration: stored as never };
    return decideDisaggregated(
      v,
      {
        prefill: roleObservation(now, { arrivalSteps: burst, ...over.prefill }),
        decode: roleObservation(now, { kvTransferMs: e(40) }),
      },
      { prefill: running('4xH100', 3, over.ready ?? 3), decode: running('4xA100', 2) },
      memory,
      { config, now, pool: 'default', poolSequence: 1 },
    );
  };
  const learnt = { c: 0.2, t: now - 60, requests: 0, late: 0, budgetMs: 1900 };

  test('a concentration below 1 raises the prefill pods beyond the even replay, and the decision says why', () => {
    const even = decideWith(withConcentration(true), undefined);
    const concentrated = decideWith(withConcentration(true), learnt);
    expect(even.record.inputs.bursts!.concentration).toBe(1);
    expect(concentrated.record.inputs.bursts!.concentration).toBe(0.2);
    expect(concentrated.roles.prefill.target).toBeGreaterThan(even.roles.prefill.target);
    expect(concentrated.record.message).toContain(
      "each step's arrivals within its first 3.0 s (concentration 0.20",
    );
    expect(() => parseDecision(JSON.stringify(concentrated.record))).not.toThrow();
    // the memory keeps c and the budget this sizing counted for the next window
    expect(concentrated.memory.concentration).toMatchObject({ c: 0.2 });
    expect(concentrated.memory.concentration!.budgetMs).toBeGreaterThan(1000);
    expect(concentrated.memory.concentration!.budgetMs).toBeLessThan(2000);
  });

  test("the flag off: the stored memory neither read nor changed, and the replay's even spread", () => {
    const off = decideWith(withConcentration(false), learnt);
    expect(off.record.inputs.bursts!.concentration).toBeUndefined();
    expect(off.memory.concentration).toEqual(learnt);
  });

  test('misses where the replay says the pods ready sufficed shrink c; where it says they were short nothing is learnt', () => {
    // 15% of 200 requests over 1.9 s: 0.6 / 1.5 of the 50 in (1, 2.5], and the 10 beyond
    const late = { requestTtftBuckets: histogram([100, 40, 50, 10]) };
    // 100 req/s a pod: three keep up with any step
    const sufficed = { ...learnt, c: 1, replay: { perPodRate: 100, waitMs: 1500 } };
    const judged = decideWith(withConcentration(true), sufficed, { prefill: late });
    expect(judged.memory.concentration!.c).toBeCloseTo(Math.pow(0.15 / 0.01, -0.5), 9);
    // the same with two of three pods ready (one starting): still enough by the replay
    expect(
      decideWith(withConcentration(true), sufficed, { prefill: late, ready: 2 }).memory.concentration!.c,
    ).toBeLessThan(1);
    // 1 req/s a pod: the 360 of the window's busiest step (24 req/s) swamp three; the misses are theirs
    const short = { ...learnt, c: 1, replay: { perPodRate: 1, waitMs: 1500 } };
    expect(decideWith(withConcentration(true), short, { prefill: late }).memory.concentration!.c).toBe(1);
  });

  test('a corrupted memory is dropped: learning starts again at 1', () => {
    const d = decideWith(withConcentration(true), { c: 'x' });
    expect(d.record.inputs.bursts!.concentration).toBe(1);
    expect(d.memory.concentration).toMatchObject({ c: 1, requests: 0, late: 0 });
  });

  test('learntConcentration is off without the prefill replay', () => {
    const config = withConcentration(true);
    const noPrefill = {
      ...config,
      policy: { ...config.policy, burstSizing: { ...config.policy.burstSizing, prefill: false } },
    };
    expect(
      learntConcentration(noPrefill, learnt, {
        now,
        prefill: { windowSeconds: 60 },
        ready: 3,
      }),
    ).toBeUndefined();
  });
});

describe("the decode role's replay", () => {
  test('takes the arrivals as concentrated as the prefill role learnt them', () => {
    // the decode pods receive a cluster as fast as the prefill pods get through it
    const config = prefillReplayConfig({ decode: true, concentration: true });
    const input = disaggregatedInput(
      config,
      v,
      { rate: 8, inputTokens: 2048, outputTokens: 28 },
      { accelerators: { prefill: ['4xH100'], decode: ['4xA100'] } },
    );
    const sizing = sizeDisaggregated(input);
    if (!sizing.feasible) throw new Error(`the sizing is infeasible: ${sizing.reason}`);
    const at = { plan: sizing.plan, input, steps: burst };
    const even = sizeDecodeForBursts(config, at);
    const concentrated = sizeDecodeForBursts(config, { ...at, concentration: 0.2 });
    expect(sizeDecodeForBursts(config, { ...at, concentration: 1 })).toEqual(even);
    // at the pods the normal sizing asks, more requests find every slot taken, so more pods
    expect(concentrated.decodeSteps!.sizedShare).toBeGreaterThan(even.decodeSteps!.sizedShare);
    expect(concentrated.plan.decode.replicas).toBeGreaterThan(even.plan.decode.replicas);
  });
});
