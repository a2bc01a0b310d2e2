/**
 * The mean output to size with (lib/policy/outputMean.ts, policy.pooledOutputMean): the last
 * metrics window's alone where it knows the mean, pooled over the newest windows where a
 * long-tailed mix (a reasoning model's) makes one window's mean stray.
 */
import {
  OUTPUT_MEAN_PRECISION,
  pooledOutputMean,
  rememberOutputWindow,
  type OutputWindow,
} from '../../lib/policy/outputMean.js';
import { deployment, observation, poolConfig, ratePerReplica, Session, T0 } from './helpers.js';

const windows = (means: readonly number[], count = 60): OutputWindow[] =>
  means.map((mean, i) => ({ t: T0 + 60 * i, count, mean }));

describe('rememberOutputWindow', () => {
  it('keeps windows that do not overlap the last one kept, drops the old and the empty', () => {
    let kept = rememberOutputWindow(undefined, { t: T0, seconds: 60, count: 30, mean: 100 }, 1800);
    // an evaluation 30 s later sees a window half of which was counted already
    kept = rememberOutputWindow(kept, { t: T0 + 30, seconds: 60, count: 30, mean: 900 }, 1800);
    expect(kept).toEqual([{ t: T0, count: 30, mean: 100 }]);
    kept = rememberOutputWindow(kept, { t: T0 + 60, seconds: 60, count: 20, mean: 200 }, 1800);
    kept = rememberOutputWindow(kept, { t: T0 + 120, seconds: 60, count: 0, mean: 0 }, 1800);
    kept = rememberOutputWindow(kept, undefined, 1800);
    expect(kept.map((w) => w.t)).toEqual([T0, T0 + 60]);
    kept = rememberOutputWindow(kept, { t: T0 + 1830, seconds: 60, count: 10, mean: 300 }, 1800);
    expect(kept.map((w) => w.t)).toEqual([T0 + 60, T0 + 1830]);
  });
});

describe('pooledOutputMean', () => {
  it('has nothing to say without windows, and takes the newest alone before three are seen', () => {
    expect(pooledOutputMean([])).toBeUndefined();
    expect(pooledOutputMean(windows([100, 5000]))).toEqual({ mean: 5000, count: 60, windows: 1 });
  });

  it('takes the newest window alone where the windows agree within the precision asked', () => {
    // a light-tailed mix: 60 completions' means within 2% of one another
    const agreeing = windows([100, 102, 98, 101, 99, 103]);
    expect(pooledOutputMean(agreeing)).toEqual({ mean: 103, count: 60, windows: 1 });
  });

  it('pools the newest windows of a long-tailed mix until their completions know the mean', () => {
    // a reasoning model's minutes: one 20k-token answer among 60 lifts a window's mean by 330
    const swinging = windows([1700, 1300, 2100, 1200, 3400, 1500, 1900, 1100, 2600, 1400, 4100]);
    const pooled = pooledOutputMean(swinging)!;
    expect(pooled.windows).toBeGreaterThan(3);
    const total =
      swinging.reduce((a, w) => a + w.count * w.mean, 0) / swinging.reduce((a, w) => a + w.count, 0);
    // nearer the whole history's mean than the last minute's 4100
    expect(Math.abs(pooled.mean - total)).toBeLessThan(Math.abs(4100 - total) / 2);
    // the spread the windows show, over the completions pooled, is within the precision asked
    // (or every window was pooled)
    const variance =
      swinging.reduce((a, w) => a + w.count * (w.mean - total) ** 2, 0) / (swinging.length - 1);
    const relativeError = Math.sqrt(variance / pooled.count) / total;
    expect(relativeError <= OUTPUT_MEAN_PRECISION || pooled.windows === swinging.length).toBe(true);
  });
});

describe('the output the policy sizes with', () => {
  const swings = [300, 3000, 400, 2500, 300, 3500, 350, 2800, 300, 6000];

  function lastOutput(enabled: boolean): number {
    const config = poolConfig({ policy: { pooledOutputMean: { enabled } } });
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 2)]);
    let d = s.decide(T0, [observation(r, T0, { tokens: { input: 500, output: swings[0]! } })]);
    for (const [i, output] of swings.entries()) {
      if (i === 0) continue;
      d = s.decide(T0 + 60 * i, [observation(r, T0 + 60 * i, { tokens: { input: 500, output } })]);
    }
    return d.inputs.avgOutputTokens!;
  }

  it("is the last window's mean with pooledOutputMean off", () => {
    expect(lastOutput(false)).toBe(6000);
  });

  it('is pooled over the minutes a swinging mix needs with it on (the default)', () => {
    const pooled = lastOutput(true);
    expect(pooled).toBeLessThan(6000 * 0.6);
    expect(pooled).toBeGreaterThan(300);
    expect(poolConfig().policy.pooledOutputMean.enabled).toBe(true);
  });

  it('follows a steady mix as before', () => {
    const config = poolConfig();
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 2)]);
    let d = s.decide(T0, [observation(r, T0, { tokens: { input: 500, output: 200 } })]);
    for (let i = 1; i < 6; i++)
      d = s.decide(T0 + 60 * i, [observation(r, T0 + 60 * i, { tokens: { input: 500, output: 200 + i } })]);
    expect(d.inputs.avgOutputTokens).toBe(205);
  });
});
