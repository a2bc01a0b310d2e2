/**
 * The share of requests late on TTFT by their own prefill (policy.burstSizing.promptSpread): from
 * the prompt histogram, the bucket the limit falls in interpolated; none when every prompt fits;
 * nothing known with the flag off or too small a histogram; and an accelerator where that share
 * alone is over the goal left out of the variant's choices.
 */
import { promptTokensPrefilledWithin } from '../../lib/analyzer/index.js';
import { shareAbove } from '../../lib/policy/distribution.js';
import { inherentLate } from '../../lib/policy/promptSpread.js';
import { sizingSystem } from '../../lib/policy/sizingSystem.js';
import { NO_CORRECTION } from '../../lib/policy/correction.js';
import { CHAT, deployment, observation, poolConfig, PROFILES, ratePerReplica, T0 } from './helpers.js';
import { throughDemand } from './stages/pipeline.js';

describe('shareAbove', () => {
  const bounds = [1000, 10000, 20000];

  it('counts the buckets above the limit and the part of the one it falls in', () => {
    // 100 of 2,000 in (10,000, 20,000]: 14,900 leaves 51% of that bucket above it
    expect(shareAbove(bounds, [0, 1900, 100, 0], 14900)).toBeCloseTo((100 * 0.51) / 2000, 12);
    // and the overflow whole
    expect(shareAbove(bounds, [0, 1900, 100, 20], 14900)).toBeCloseTo((51 + 20) / 2020, 12);
  });

  it('is 0 when every prompt is within the limit, 1 when every one is above', () => {
    expect(shareAbove(bounds, [500, 1500, 0, 0], 10000)).toBe(0);
    expect(shareAbove(bounds, [500, 1500, 0, 0], 74800)).toBe(0);
    expect(shareAbove(bounds, [0, 0, 0, 7], 15000)).toBe(1);
    expect(shareAbove(bounds, [0, 0, 0, 0], 15000)).toBe(0);
  });

  it('takes the open last bucket to end at twice its lower bound', () => {
    expect(shareAbove(bounds, [0, 0, 0, 10], 30000)).toBeCloseTo(0.5, 12);
    expect(shareAbove(bounds, [0, 0, 0, 10], 40000)).toBe(0);
  });
});

test('promptTokensPrefilledWithin: the prompt whose prefill alone takes the time', () => {
  // L4: 20 ms + 0.2 ms a token; H100: 8 ms + 0.04 ms a token
  expect(promptTokensPrefilledWithin(PROFILES.L4, 3000)).toBeCloseTo(14900, 9);
  expect(promptTokensPrefilledWithin(PROFILES.H100, 3000)).toBeCloseTo(74800, 9);
  expect(promptTokensPrefilledWithin(PROFILES.L4, 10)).toBe(0);
  // chunked: the fixed part once a 2,048-token chunk, as the engine pays it
  expect(promptTokensPrefilledWithin(PROFILES.L4, 3000, 2048)).toBeCloseTo(
    (3000 - 20) / (0.2 + 20 / 2048),
    9,
  );
  expect(promptTokensPrefilledWithin(PROFILES.L4, 3000, 2048)).toBeLessThan(14900);
});

describe('inherentLate', () => {
  const on = poolConfig({ policy: { burstSizing: { promptSpread: true } } });
  const histogram = (input: number[], seen = 2000) => ({
    t: T0,
    bounds: [1000, 10000, 20000],
    input,
    output: [seen, 0, 0, 0],
  });
  const chat = { v: on.variants[0]!, correction: NO_CORRECTION };

  // prefilled in the engine's 2,048-token chunks, each paying the 20-ms fixed part
  const l4Limit = (3000 - 20) / (0.2 + 20 / 2048);

  it('on L4 (3 s target: 14,206 tokens in 2,048-token chunks) the straddling bucket interpolated; none on H100', () => {
    const tokenHistogram = histogram([0, 1900, 100, 0]);
    const l4 = inherentLate(on, { ...chat, tokenHistogram }, 'L4')!;
    expect(l4.tokens).toBeCloseTo(l4Limit, 9);
    expect(l4.tokens).toBeLessThan(promptTokensPrefilledWithin(PROFILES.L4, 3000));
    expect(l4.share).toBeCloseTo((100 * (20000 - l4Limit)) / 10000 / 2000, 12);
    expect(inherentLate(on, { ...chat, tokenHistogram }, 'H100')!.share).toBe(0);
  });

  it('with the corrected profile: an engine twice as slow prefills half the tokens in time', () => {
    const tokenHistogram = histogram([0, 1900, 100, 0]);
    const slow = inherentLate(on, { ...chat, tokenHistogram, correction: { ttft: 1, itl: 2 } }, 'L4')!;
    expect(slow.tokens).toBeCloseTo((3000 - 40) / (0.4 + 40 / 2048), 9);
  });

  it('nothing known with the flag off (the default) or a histogram too small to show 1%', () => {
    const tokenHistogram = histogram([0, 1900, 100, 0]);
    expect(inherentLate(poolConfig(), { ...chat, tokenHistogram }, 'L4')).toBeUndefined();
    expect(
      inherentLate(on, { ...chat, tokenHistogram: histogram([0, 95, 5, 0], 100) }, 'L4'),
    ).toBeUndefined();
    expect(inherentLate(on, chat, 'L4')).toBeUndefined();
  });
});

describe('sizingSystem: accelerators whose prefill alone is late for more than the goal allows', () => {
  const config = (promptSpread: boolean) =>
    poolConfig({
      chat: { ...CHAT, accelerator: undefined, accelerators: ['L4', 'H100'] },
      policy: { burstSizing: { promptSpread } },
    });
  const allowed = (promptSpread: boolean, long: number) => {
    const c = config(promptSpread);
    const [onL4] = throughDemand(c, {
      observations: [observation(ratePerReplica(c), T0)],
      deployments: [deployment('L4', 2)],
    });
    // 2,000 requests, `long` of them with prompts of 10,000-20,000 tokens
    const tokenHistogram = {
      t: T0,
      bounds: [1000, 10000, 20000],
      input: [0, 2000 - long, long, 0],
      output: [2000, 0, 0, 0],
    };
    return sizingSystem(c, [{ ...onL4!, tokenHistogram }]).servers[0]!.allowedAccelerators;
  };

  it('leaves L4 out where more than 1% would be late by their own prefill (2.90%)', () => {
    expect(allowed(true, 100)).toEqual(['H100']);
  });

  it('keeps it within the share (0.58%), and with the flag off', () => {
    expect(allowed(true, 20)).toEqual(['L4', 'H100']);
    expect(allowed(false, 100)).toEqual(['L4', 'H100']);
  });
});
