/** trendSlope() and estimateDemand(): measured + backlog + forecast, with hand-computed numbers. */
import type { VariantObservation } from '../../lib/metrics/observation.js';
import { estimateDemand, trendSlope, type DemandContext } from '../../lib/policy/demand.js';
import type { VariantMemory } from '../../lib/policy/memory.js';

const NOW = 5_000;

const obs = (rate: number, extra: Partial<VariantObservation> = {}): VariantObservation => ({
  variant: 'llm/chat',
  model: 'm',
  at: NOW,
  windowSeconds: 60,
  arrivalRate: { value: rate, source: 'a', timestamp: NOW },
  stale: [],
  missing: [],
  ...extra,
});

const memory = (over: Partial<VariantMemory> = {}): VariantMemory => ({
  sequence: 0,
  recommendations: [],
  demand: [],
  ...over,
});

const ctx = (over: Partial<DemandContext> = {}): DemandContext => ({
  now: NOW,
  ttftTargetMs: 2000,
  intervalSeconds: 30,
  leadSeconds: 100,
  startingReplicas: 0,
  forecast: { enabled: true, horizonSeconds: 180, maxGrowth: 1.5 },
  ...over,
});

describe('trendSlope', () => {
  it('is 0 with fewer than 3 points', () => {
    expect(trendSlope([])).toBe(0);
    expect(
      trendSlope([
        { t: 0, rate: 1 },
        { t: 10, rate: 5 },
      ]),
    ).toBe(0);
  });

  it('is the least-squares slope', () => {
    expect(trendSlope([0, 30, 60, 90].map((t) => ({ t, rate: 2 + 0.1 * t })))).toBeCloseTo(0.1, 12);
    expect(trendSlope([0, 30, 60].map((t) => ({ t, rate: 5 })))).toBe(0);
    // (0,0) (1,1) (2,0): slope 0; (0,0) (1,0) (2,3): slope 1.5
    expect(
      trendSlope([
        { t: 0, rate: 0 },
        { t: 1, rate: 1 },
        { t: 2, rate: 0 },
      ]),
    ).toBeCloseTo(0, 12);
    expect(
      trendSlope([
        { t: 0, rate: 0 },
        { t: 1, rate: 0 },
        { t: 2, rate: 3 },
      ]),
    ).toBeCloseTo(1.5, 12);
  });

  it('is 0 when every point has the same time', () => {
    expect(trendSlope([1, 2, 3].map((rate) => ({ t: 7, rate })))).toBe(0);
  });
});

describe('estimateDemand', () => {
  it('is the measured rate alone without backlog or trend', () => {
    const d = estimateDemand(obs(4), memory(), ctx());
    expect(d).toMatchObject({ rate: 4, measured: 4, backlogRate: 0, forecastRate: 0, driver: 'load' });
  });

  it('adds the backlog drained over max(TTFT target, interval)', () => {
    const waiting = { value: 60, source: 'w', timestamp: NOW };
    // 60 waiting / max(2 s, 30 s)
    expect(estimateDemand(obs(1, { waiting }), memory(), ctx())).toMatchObject({
      rate: 3,
      backlogRate: 2,
      driver: 'backlog',
    });
    // 60 waiting / max(10 s, 5 s)
    expect(
      estimateDemand(obs(1, { waiting }), memory(), ctx({ ttftTargetMs: 10_000, intervalSeconds: 5 })),
    ).toMatchObject({ rate: 7, backlogRate: 6 });
  });

  it('does not count the backlog again while replicas asked for are still starting', () => {
    const waiting = { value: 60, source: 'w', timestamp: NOW };
    expect(estimateDemand(obs(1, { waiting }), memory(), ctx({ startingReplicas: 2 }))).toMatchObject({
      rate: 1,
      backlogRate: 0,
      driver: 'load',
    });
  });

  it('adds the rise expected over the lead time from the recent trend', () => {
    // +0.01 req/s per second over the last 90 s; lead 100 s: +1 req/s
    const history = [NOW - 90, NOW - 60, NOW - 30].map((t) => ({ t, rate: 4 + 0.01 * (t - NOW) }));
    const d = estimateDemand(obs(4), memory({ demand: history }), ctx());
    expect(d.forecastRate).toBeCloseTo(1, 9);
    expect(d.rate).toBeCloseTo(5, 9);
    expect(d.driver).toBe('forecast');
  });

  it('caps the forecast at (maxGrowth - 1) x measured', () => {
    const history = [NOW - 90, NOW - 60, NOW - 30].map((t) => ({ t, rate: 4 + 0.1 * (t - NOW) }));
    const d = estimateDemand(obs(4), memory({ demand: history }), ctx());
    // the trend says +10 req/s; the cap is 0.5 x 4
    expect(d.forecastRate).toBeCloseTo(2, 9);
  });

  it("buys the trend's rise times its skill, whole before the skill is learnt, and says which", () => {
    // +1 req/s forecast over the lead time, as above
    const history = [NOW - 90, NOW - 60, NOW - 30].map((t) => ({ t, rate: 4 + 0.01 * (t - NOW) }));
    const damped = estimateDemand(
      obs(4, { waiting: { value: 2, source: 'w', timestamp: NOW } }),
      memory({ demand: history }),
      ctx({ trendSkill: { skill: 0.25, evidence: 30 } }),
    );
    expect(damped.forecastRate).toBeCloseTo(0.25, 9);
    // the measured rate and the backlog (2 waiting over the 30 s interval) are not scaled
    expect(damped.rate).toBeCloseTo(4 + 2 / 30 + 0.25, 9);
    expect(damped.trend!.rate).toBeCloseTo(1, 9);
    expect(damped.trend!.skill).toBe(0.25);
    const whole = estimateDemand(
      obs(4),
      memory({ demand: history }),
      ctx({ trendSkill: { skill: null, evidence: 3 } }),
    );
    expect(whole.forecastRate).toBeCloseTo(1, 9);
    expect(whole.trend).toEqual({ skill: null, evidence: 3, rate: whole.forecastRate });
    // without the skill, no record of it
    expect(estimateDemand(obs(4), memory({ demand: history }), ctx()).trend).toBeUndefined();
  });

  it("scales only the trend's part: the season's forecast is bought whole", () => {
    const history = [NOW - 90, NOW - 60, NOW - 30].map((t) => ({ t, rate: 4 + 0.01 * (t - NOW) }));
    const d = estimateDemand(
      obs(4),
      memory({ demand: history }),
      ctx({
        trendSkill: { skill: 0, evidence: 30 },
        seasonal: { kind: 'forecast', rate: 4.5, expected: 4.3, error: 0.1 },
      }),
    );
    expect(d.forecastRate).toBeCloseTo(0.5, 9);
  });

  it('never forecasts a fall, ignores history beyond the horizon, and can be switched off', () => {
    const falling = [NOW - 90, NOW - 60, NOW - 30].map((t) => ({ t, rate: 4 - 0.01 * (t - NOW) }));
    expect(estimateDemand(obs(4), memory({ demand: falling }), ctx()).forecastRate).toBe(0);
    const old = [NOW - 900, NOW - 600, NOW - 300].map((t) => ({ t, rate: 0 }));
    expect(estimateDemand(obs(4), memory({ demand: old }), ctx()).forecastRate).toBe(0);
    const rising = [NOW - 90, NOW - 60, NOW - 30].map((t) => ({ t, rate: 4 + 0.01 * (t - NOW) }));
    const off = ctx({ forecast: { enabled: false, horizonSeconds: 180, maxGrowth: 1.5 } });
    expect(estimateDemand(obs(4), memory({ demand: rising }), off).forecastRate).toBe(0);
  });

  it('takes tokens from the observation, else the last known ones, else 512 / 128; at least 1 output token', () => {
    const tokens = {
      avgInputTokens: { value: 900, source: 'p', timestamp: NOW },
      avgOutputTokens: { value: 40, source: 'g', timestamp: NOW },
    };
    expect(estimateDemand(obs(1, tokens), memory(), ctx())).toMatchObject({
      inputTokens: 900,
      outputTokens: 40,
    });
    expect(estimateDemand(obs(1), memory({ lastTokens: { input: 300, output: 70 } }), ctx())).toMatchObject({
      inputTokens: 300,
      outputTokens: 70,
    });
    expect(estimateDemand(obs(1), memory(), ctx())).toMatchObject({ inputTokens: 512, outputTokens: 128 });
    const zero = { avgOutputTokens: { value: 0, source: 'g', timestamp: NOW } };
    expect(estimateDemand(obs(1, zero), memory(), ctx()).outputTokens).toBe(1);
  });
});

describe('estimateDemand with output length by input bucket', () => {
  it("sizes with the output the arriving mix is expected to produce, before the window's mean", () => {
    const outputByInputBucket = {
      buckets: [
        { bucket: 6, arrivals: 1, meanOutputTokens: 20, completions: 50 },
        { bucket: 12, arrivals: 3, meanOutputTokens: 400, completions: 50 },
      ],
      overallMeanOutputTokens: 210,
      expectedOutputTokens: 305,
    };
    const withBuckets = estimateDemand(
      obs(2, { avgOutputTokens: { value: 90, source: 'vllm', timestamp: NOW }, outputByInputBucket }),
      memory(),
      ctx(),
    );
    expect(withBuckets.outputTokens).toBe(305);
    const without = estimateDemand(
      obs(2, { avgOutputTokens: { value: 90, source: 'vllm', timestamp: NOW } }),
      memory(),
      ctx(),
    );
    expect(without.outputTokens).toBe(90);
  });
});
