/**
 * The prefill pods' TTFT tail from the prompts' distribution: Erlang C, the misses of long
 * prompts, the ones no replica count helps counted apart.
 */
import {
  erlangC,
  expectedWaiting,
  missBudget,
  prefillTail,
  tailWithin,
} from '../../lib/optimizer/prefillTail.js';

describe('Erlang C', () => {
  it('is the utilisation for one server and 1/3 for two servers at one erlang', () => {
    expect(erlangC(1, 0.6)).toBeCloseTo(0.6, 12);
    // c = 2, a = 1: B = 1/5, C = B / (1 - rho + rho B) = 0.2 / 0.6
    expect(erlangC(2, 1)).toBeCloseTo(1 / 3, 12);
    expect(erlangC(3, 0)).toBe(0);
    expect(erlangC(3, 3)).toBe(1);
  });
});

describe('the prefill tail', () => {
  // 1 ms a token alone, nothing after the prefill, a 10 s target
  const base = {
    rate: 1,
    serviceMs: (tokens: number) => tokens,
    afterMs: () => 0,
    ttftMs: 10_000,
  };

  it('a point distribution of exponential-like service: C(c, a) exp(-(c - a) / E[S] x slack x 2 / (1 + cv^2))', () => {
    const tail = prefillTail({ ...base, replicas: 2, input: { values: [1000], weights: [1] } });
    // a = 1 req/s x 1 s = 1 erlang on 2 pods; cv = 0 (one size): decay (2 - 1) / 1000 x 2 per ms; slack 9 s
    expect(tail.missShare).toBeCloseTo((1 / 3) * Math.exp(-18), 12);
    expect(tail.hopelessShare).toBe(0);
  });

  it('the long prompts miss first, and more pods bring the misses down to the hopeless ones', () => {
    // 90% of 500 tokens, 9% of 8,000 (2 s of slack), 1% of 12,000 (over the target alone)
    const input = { values: [500, 8000, 12_000], weights: [90, 9, 1] };
    const shares = [2, 3, 4, 8, 16].map((replicas) => prefillTail({ ...base, replicas, input }));
    for (const s of shares) expect(s.hopelessShare).toBeCloseTo(0.01, 12);
    for (let i = 1; i < shares.length; i++)
      expect(shares[i]!.missShare).toBeLessThan(shares[i - 1]!.missShare);
    expect(shares.at(-1)!.missShare).toBeCloseTo(0.01, 6);
    expect(tailWithin(shares.at(-1)!, 0.01)).toBe(true);
    expect(tailWithin(shares[0]!, 0.01)).toBe(false);
  });

  it('the share allowed counts the hopeless requests: 1% allowed is 1% of all requests', () => {
    // 0.4% over the target alone (as on Mooncake: 0.42%), the rest 6,000 tokens with 4 s of slack
    const input = { values: [6000, 12_000], weights: [996, 4] };
    const tails = [5, 6, 7, 8, 9].map((replicas) => prefillTail({ ...base, rate: 0.75, replicas, input }));
    const budget = missBudget(tails[0]!, 0.01);
    expect(budget).toEqual({ share: 0.01, reachable: true });
    const first = tails.findIndex((t) => tailWithin(t, 0.01));
    expect(first).toBeGreaterThan(0);
    // the first count within reaches 99% of all requests; the old rule (1% of the others on top
    // of the hopeless, 1.4% in all) would have taken one that does not
    expect(tails[first]!.missShare).toBeLessThanOrEqual(0.01);
    const old = (t: (typeof tails)[number]) => t.missShare - t.hopelessShare <= 0.01 * (1 - t.hopelessShare);
    expect(tails.findIndex(old)).toBeLessThan(first);
    expect(tails[tails.findIndex(old)]!.missShare).toBeGreaterThan(0.01);
  });

  it('when the hopeless alone are the share or more, the others get the share, and it says so', () => {
    const input = { values: [500, 12_000], weights: [98, 2] }; // 2% hopeless, 1% allowed
    const many = prefillTail({ ...base, replicas: 16, input });
    expect(missBudget(many, 0.01)).toEqual({ share: 0.02 + 0.01 * 0.98, reachable: false });
    // still reachable with enough pods, not impossible
    expect(tailWithin(many, 0.01)).toBe(true);
    expect(tailWithin(prefillTail({ ...base, replicas: 2, rate: 1.8, input }), 0.01)).toBe(false);
  });

  it('every request misses when the pods cannot keep up', () => {
    // 1 req/s of 3 s prompts on 2 pods: 3 erlangs
    const tail = prefillTail({ ...base, replicas: 2, input: { values: [3000], weights: [1] } });
    expect(tail.missShare).toBe(1);
  });
});

describe('the queue the prefill pods hold when nothing is amiss', () => {
  const serviceMs = (tokens: number) => tokens;
  it('one pod, one prompt size: M/D/1, rho^2 / (2 (1 - rho)); spread prompts queue more', () => {
    // rho = 0.5: 0.25 / 1
    const point = expectedWaiting({
      rate: 0.5,
      replicas: 1,
      input: { values: [1000], weights: [1] },
      serviceMs,
    });
    expect(point).toBeCloseTo(0.25, 12);
    // half of 100 and half of 1,900 tokens: the same mean, cv^2 = 0.81
    const spread = expectedWaiting({
      rate: 0.5,
      replicas: 1,
      input: { values: [100, 1900], weights: [1, 1] },
      serviceMs,
    });
    expect(spread).toBeGreaterThan(point);
  });

  it('none without arrivals, unbounded when the pods cannot keep up', () => {
    const input = { values: [1000], weights: [1] };
    expect(expectedWaiting({ rate: 0, replicas: 2, input, serviceMs })).toBe(0);
    expect(expectedWaiting({ rate: 3, replicas: 2, input, serviceMs })).toBe(Infinity);
  });
});
