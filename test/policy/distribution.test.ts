/** Token histograms: buckets to distributions, remembered with decay. */
import type { VariantObservation } from '../../lib/metrics/observation.js';
import {
  bucketsToDistribution,
  shareBeyond,
  tokenDistributions,
  updateTokenHistogram,
} from '../../lib/policy/distribution.js';

const bounds = [1, 2, 5, 10, Infinity];

const obs = (input: number[], output: number[]): VariantObservation => ({
  variant: 'llm/chat',
  model: 'm',
  at: 0,
  windowSeconds: 60,
  inputTokenBuckets: { bounds, counts: input },
  outputTokenBuckets: { bounds, counts: output },
  stale: [],
  missing: [],
});

describe('bucketsToDistribution', () => {
  it('spreads each bucket over its lowest, middle and highest count', () => {
    const d = bucketsToDistribution({ bounds, counts: [0, 0, 3, 0, 0] })!;
    expect(d.values).toEqual([3, 4, 5]);
    expect(d.weights).toEqual([1 / 3, 1 / 3, 1 / 3]);
  });

  it('gives the open bucket what the mean implies, at least twice its lower bound', () => {
    const d = bucketsToDistribution({ bounds, counts: [1, 0, 0, 0, 1] }, 100)!;
    // half the mass at 1, so the other half sits at (100 - 0.5) / 0.5 = 199
    expect(d.values.at(-1)).toBeCloseTo(199, 9);
    expect(bucketsToDistribution({ bounds, counts: [1, 0, 0, 0, 1] })!.values.at(-1)).toBe(20);
  });

  it('is undefined for an empty histogram', () => {
    expect(bucketsToDistribution({ bounds, counts: [0, 0, 0, 0, 0] })).toBeUndefined();
  });
});

describe('updateTokenHistogram', () => {
  it('halves old counts over the half-life and adds the window', () => {
    const first = updateTokenHistogram(undefined, obs([4, 0, 0, 0, 0], [0, 4, 0, 0, 0]), 0, 60)!;
    expect(first.bounds).toEqual([1, 2, 5, 10]); // JSON has no Infinity: the overflow is the last slot
    const next = updateTokenHistogram(first, obs([0, 2, 0, 0, 0], [0, 0, 2, 0, 0]), 60, 60)!;
    expect(next.input).toEqual([2, 2, 0, 0, 0]);
    expect(next.output).toEqual([0, 2, 2, 0, 0]);
    expect(JSON.parse(JSON.stringify(next))).toEqual(next);
  });

  it('keeps what it had when the window has no histograms, starts afresh on other bounds', () => {
    const first = updateTokenHistogram(undefined, obs([1, 0, 0, 0, 0], [1, 0, 0, 0, 0]), 0, 60)!;
    expect(updateTokenHistogram(first, undefined, 30, 60)).toBe(first);
    const other: VariantObservation = {
      ...obs([], []),
      inputTokenBuckets: { bounds: [1, 3, Infinity], counts: [0, 1, 0] },
      outputTokenBuckets: { bounds: [1, 3, Infinity], counts: [0, 1, 0] },
    };
    expect(updateTokenHistogram(first, other, 30, 60)!.input).toEqual([0, 1, 0]);
  });

  it('turns the remembered histograms back into distributions', () => {
    const h = updateTokenHistogram(undefined, obs([0, 0, 0, 3, 0], [3, 0, 0, 0, 0]), 0, 60);
    const d = tokenDistributions(h, {})!;
    expect(d.input.values).toEqual([6, 8, 10]);
    expect(d.output.values).toEqual([1, 1, 1]);
    expect(tokenDistributions(undefined, {})).toBeUndefined();
  });
});

describe('updateTokenHistogram across engines with other maximum lengths', () => {
  // vLLM's buckets run up to the engine's maximum model length: a larger KV cache, more buckets
  const longer = (input: number[], output: number[]): VariantObservation => ({
    ...obs([], []),
    inputTokenBuckets: { bounds: [1, 2, 5, 10, 20, 50, Infinity], counts: input },
    outputTokenBuckets: { bounds: [1, 2, 5, 10, 20, 50, Infinity], counts: output },
  });

  it('re-bins onto the shorter bounds and keeps what it learnt, whichever comes first', () => {
    const first = updateTokenHistogram(undefined, obs([4, 0, 0, 0, 0], [0, 4, 0, 0, 0]), 0, 60)!;
    const moved = updateTokenHistogram(first, longer([0, 0, 0, 0, 2, 2, 2], [2, 0, 0, 0, 0, 0, 0]), 60, 60)!;
    expect(moved.bounds).toEqual([1, 2, 5, 10]);
    expect(moved.input).toEqual([2, 0, 0, 0, 6]);
    expect(moved.output).toEqual([2, 2, 0, 0, 0]);
    const back = updateTokenHistogram(
      updateTokenHistogram(undefined, longer([0, 0, 0, 0, 0, 4, 4], [4, 0, 0, 0, 0, 0, 0]), 0, 60),
      obs([0, 2, 0, 0, 0], [0, 0, 2, 0, 0]),
      60,
      60,
    )!;
    expect(back.bounds).toEqual([1, 2, 5, 10]);
    expect(back.input).toEqual([0, 2, 0, 0, 4]);
    expect(back.output).toEqual([2, 0, 2, 0, 0]);
  });
});

describe('shareBeyond', () => {
  it('sums the weight of the input and output pairs beyond the tokens', () => {
    const input = { values: [1000, 50000], weights: [0.9, 0.1] };
    const output = { values: [100, 2000], weights: [0.5, 0.5] };
    expect(shareBeyond(input, output, 48000)).toBeCloseTo(0.1, 12);
    expect(shareBeyond(input, output, 51000)).toBeCloseTo(0.05, 12);
    expect(shareBeyond(input, output, 60000)).toBe(0);
  });
});
