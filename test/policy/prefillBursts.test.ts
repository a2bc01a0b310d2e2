/**
 * policy.burstSizing on a disaggregated variant's prefill role (lib/policy/prefillBursts.ts): the
 * prefill pods' per-step arrivals replayed at a pod's saturated rate; the fewest pods from the
 * plan's up with at most the allowed share waiting beyond TTFT less prefill, transfer and the
 * first decode step.
 */
import { prefillReplayConfig, roleObservation } from './helpers.js';
import type { Config } from '../../lib/config/schema.js';
import type { ArrivalSteps, VariantObservation } from '../../lib/metrics/observation.js';
import { decideDisaggregated, type RoleState } from '../../lib/policy/disaggregated.js';
import { emptyMemory } from '../../lib/policy/memory.js';
import { parseDecision } from '../../lib/policy/decisionRecord.js';
import { fluidReplay } from '../../lib/policy/burstSizing.js';
import { prefillModel, prefillSaturatedRate } from '../../lib/optimizer/disaggregated.js';

// the decode role's burst sizing and the learnt concentration off: these tests weigh the prefill replay alone
const base: Config = prefillReplayConfig({ decode: false, concentration: false });
const withBursts = (enabled: boolean): Config => ({
  ...base,
  policy: { ...base.policy, burstSizing: { ...base.policy.burstSizing, prefill: enabled } },
});
const v = base.disaggregated![0]!;
const now = 1_800_000_000;
const e = (value: number, source = 's') => ({ value, source, timestamp: now });

/** 8 req/s on average over the minute; the per-step counts as given */
const obs = (steps?: ArrivalSteps, over: Partial<VariantObservation> = {}): VariantObservation =>
  roleObservation(now, { ...(steps ? { arrivalSteps: steps } : {}), ...over });

const steady: ArrivalSteps = { stepSeconds: 15, counts: Array(60).fill(120), source: 's', timestamp: now };
// the same 8 req/s average over the last minute, but one 15-s step holds 3/4 of it (24 req/s)
const burst: ArrivalSteps = {
  stepSeconds: 15,
  counts: [...Array(56).fill(120), 30, 360, 40, 50],
  source: 's',
  timestamp: now,
};

const running = (acc: string, n: number): RoleState => ({
  byAccelerator: new Map([[acc, { desired: n, ready: n }]]),
});
const state = { prefill: running('4xH100', 3), decode: running('4xA100', 2) };

function decide(config: Config, steps?: ArrivalSteps) {
  return decideDisaggregated(
    v,
    { prefill: obs(steps), decode: obs(undefined, { kvTransferMs: e(40) }) },
    state,
    emptyMemory(),
    { config, now, pool: 'default', poolSequence: 1 },
  );
}

describe('the prefill pods sized for bursts (policy.burstSizing)', () => {
  it('flag off: the per-step counts change nothing', () => {
    const without = decide(withBursts(false));
    const withSteps = decide(withBursts(false), burst);
    expect(withSteps.roles).toEqual(without.roles);
    expect(withSteps.record.message).toBe(without.record.message);
    expect(withSteps.record.inputs.bursts).toBeUndefined();
  });

  it('flag on without per-step counts: the flag-off decision', () => {
    const off = decide(withBursts(false));
    const on = decide(withBursts(true));
    expect(on.roles).toEqual(off.roles);
    expect(on.record.message).toBe(off.record.message);
    expect(on.record.inputs.bursts).toBeUndefined();
  });

  it('a 15-s burst the plan cannot absorb raises the prefill pods to the fewest the replay allows, and says why', () => {
    const off = decide(withBursts(false), burst);
    const on = decide(withBursts(true), burst);
    const b = on.record.inputs.bursts!;
    expect(b.sizedReplicas).toBe(off.roles.prefill.target);
    expect(on.roles.prefill.target).toBe(b.replicas);
    expect(b.replicas).toBeGreaterThan(off.roles.prefill.target);
    expect(b.share).toBeLessThanOrEqual(b.allowedShare);
    // one pod fewer lets more than the allowed share wait beyond the budget: the fewest
    const fewer = fluidReplay(burst.counts, 15, (b.replicas - 1) * b.perReplicaRate, b.budgetMs / 1000);
    expect(fewer.share).toBeGreaterThan(b.allowedShare);
    // the budget is the target as asked less the request's prefill, transfer and first decode step
    expect(b.budgetMs).toBeGreaterThan(0);
    expect(b.budgetMs).toBeLessThan(2000);
    expect(b.peakRate).toBeCloseTo(24, 9);
    expect(on.roles.decode.target).toBe(off.roles.decode.target);
    expect(on.record.message).toMatch(
      new RegExp(`prefill bursts: 15-s peaks of 24.0 req/s .* sized for ${b.replicas} prefill pods so that`),
    );
    expect(on.record.message).toContain('TTFT less prefill, KV transfer and first decode step');
    expect(on.record.message).toContain(`prefill ${b.replicas} x 4xH100`);
    expect(() => parseDecision(JSON.stringify(on.record))).not.toThrow();
    // the window remembers the raised plan
    expect(on.memory.roles!.prefill.at(-1)!.replicas).toBe(b.replicas);
  });

  it('steps the plan absorbs change nothing but are recorded', () => {
    const off = decide(withBursts(false), steady);
    const on = decide(withBursts(true), steady);
    expect(on.roles).toEqual(off.roles);
    expect(on.record.inputs.bursts).toMatchObject({ replicas: off.roles.prefill.target, share: 0 });
    expect(on.record.message).toBe(off.record.message);
  });

  it("never beyond the role's maxReplicas", () => {
    const capped: Config = {
      ...withBursts(true),
      disaggregated: [{ ...v, roles: { ...v.roles, prefill: { ...v.roles.prefill, maxReplicas: 5 } } }],
    };
    const d = decideDisaggregated(
      capped.disaggregated![0]!,
      { prefill: obs(burst), decode: obs(undefined, { kvTransferMs: e(40) }) },
      state,
      emptyMemory(),
      { config: capped, now, pool: 'default', poolSequence: 1 },
    );
    expect(d.roles.prefill.target).toBe(5);
    expect(d.record.inputs.bursts!.share).toBeGreaterThan(d.record.inputs.bursts!.allowedShare);
    expect(d.record.message).toContain('maxReplicas');
  });
});

describe("a prefill pod's saturated rate at a prompt mix", () => {
  const profile = { ...base.models[0]!.profiles['4xH100']!, maxBatchedTokens: 2048 };

  it("at a point it is the prefill model's rate with its batch full", () => {
    for (const tokens of [300, 1000, 2048, 5000]) {
      const model = prefillModel(profile, tokens);
      // rateRange.max stops a hair (RANGE_EPSILON) short of the full batch's rate
      const rate = prefillSaturatedRate(profile, { values: [tokens], weights: [1] });
      expect(rate / model.rateRange.max).toBeGreaterThanOrEqual(1);
      expect(rate / model.rateRange.max).toBeLessThan(1.002);
    }
  });

  it('a mix is slower than its mean prompt when the long prompts share no step', () => {
    // 600-token prompts share a 2048-token step three at a time, 1100-token ones not; the mean (850) two at a time
    const mix = { values: [600, 1100], weights: [0.5, 0.5] };
    const mean = 850;
    expect(prefillSaturatedRate(profile, mix)).toBeLessThan(
      prefillSaturatedRate(profile, { values: [mean], weights: [1] }),
    );
  });
});

describe('the prefill pods with a learnt burst headroom (policy.burstSizing.headroom)', () => {
  const withHeadroom = (enabled: boolean): Config => ({
    ...withBursts(true),
    policy: {
      ...base.policy,
      burstSizing: {
        ...base.policy.burstSizing,
        prefill: true,
        headroom: { ...base.policy.burstSizing.headroom, enabled },
      },
    },
  });
  const key = `${v.namespace}/${v.name}`;
  // a history whose lead times brought twice the look-back's busiest step
  const history = {
    pending: [],
    samples: [2, 2, 2, 2].map((ratio) => ({ ratio, peakArrivals: 400, arrivals: 4000 })),
  };
  const decideWith = (config: Config, stored: unknown) => {
    const memory = emptyMemory();
    memory.variants[key] = { sequence: 0, recommendations: [], demand: [], bursts: stored as never };
    return decideDisaggregated(
      v,
      { prefill: obs(burst), decode: obs(undefined, { kvTransferMs: e(40) }) },
      state,
      memory,
      { config, now, pool: 'default', poolSequence: 1 },
    );
  };

  it('raises the prefill pods for the burst the history expects only with the flag on, and records it', () => {
    const off = decideWith(withHeadroom(false), history);
    const on = decideWith(withHeadroom(true), history);
    expect(off.record.inputs.bursts!.headroom).toBeUndefined();
    expect(on.record.inputs.bursts!.headroom).toMatchObject({ factor: 2, samples: 4, lookbackPeakRate: 24 });
    expect(on.record.inputs.bursts!.peakRate).toBeCloseTo(48, 9);
    expect(on.roles.prefill.target).toBeGreaterThan(off.roles.prefill.target);
    expect(on.record.message).toMatch(/the look-back's peak of 24\.0 req\/s raised x2\.00/);
    expect(() => parseDecision(JSON.stringify(on.record))).not.toThrow();
  });

  it('learns from the prefill pods’ steps: the look-back recorded in the memory; none with the flag off', () => {
    const on = decideWith(withHeadroom(true), undefined);
    expect(on.memory.bursts).toMatchObject({ recordedAt: now, pending: [{ t: now, peak: 24 }], samples: [] });
    expect(on.record.message).toMatch(/no burst history yet \(0 of 4 lead times seen\)/);
    expect(decideWith(withHeadroom(false), history).memory.bursts).toBeUndefined();
  });
});
