/** The per-request ITL model under chunked prefill: hand-checked cases and the properties sizing relies on. */
import { itlMissShare, maxRateForItlShare, type ItlShareInput } from '../../lib/analyzer/chunkedItl.js';

const L40S = { alpha: 12, beta: 0.15, gamma: 12, delta: 0.08 };
const point = (v: number) => ({ values: [v], weights: [1] });

const base: ItlShareInput = {
  engine: { profile: L40S, budget: 1024 },
  input: point(2000),
  output: { values: [2, 200], weights: [0.5, 0.5] },
  itlTargetMs: 60,
};

describe('itlMissShare', () => {
  it('is zero when no load overlaps a request and grows with the rate', () => {
    const shares = [0.01, 0.5, 1, 2, 4].map((r) => itlMissShare(base, r).missShare);
    expect(shares[0]).toBeLessThan(0.01);
    for (let i = 1; i < shares.length; i++) expect(shares[i]!).toBeGreaterThan(shares[i - 1]!);
  });

  it('charges short answers: long outputs average a chunk out, a single gap does not', () => {
    const short = itlMissShare({ ...base, output: point(2) }, 2).missShare;
    const long = itlMissShare({ ...base, output: point(400) }, 2).missShare;
    expect(short).toBeGreaterThan(0.1);
    expect(long).toBeLessThan(1e-3);
  });

  it('a single token has no gap and never misses', () => {
    expect(itlMissShare({ ...base, output: point(1) }, 3).missShare).toBe(0);
  });

  it('no prompt can make a request miss when a full chunk in every gap fits the target', () => {
    // 512-token budget: a chunk step takes 12 + 0.15 d + 12 + 0.08 x 512 < 100 ms
    const fits = { ...base, engine: { profile: L40S, budget: 512 }, itlTargetMs: 100 };
    expect(itlMissShare(fits, 3).missShare).toBe(0);
  });

  it('misses everything once the decode step alone exceeds the target', () => {
    expect(itlMissShare({ ...base, itlTargetMs: 10 }, 1).missShare).toBe(1);
  });

  it('gives the share missing per output length, weighing up to the overall share', () => {
    const output = { values: [1, 2, 3, 200], weights: [0.2, 0.3, 0.3, 0.2] };
    const share = itlMissShare({ ...base, output }, 2);
    expect(share.missByOutput).toHaveLength(4);
    expect(share.missByOutput[0]).toBe(0); // one token: no gap
    // a gap or two stretched by a 2,000-token prompt's chunks miss; 199 gaps average them out
    expect(share.missByOutput[1]!).toBeGreaterThan(0.1);
    expect(share.missByOutput[2]!).toBeGreaterThan(0.1);
    expect(share.missByOutput[3]!).toBeLessThan(1e-3);
    const weighed = share.missByOutput.reduce((a, m, i) => a + m * output.weights[i]!, 0);
    expect(share.missShare).toBeCloseTo(weighed, 12);
    expect(itlMissShare({ ...base, output }, 1000).missByOutput).toEqual([0, 1, 1, 1]);
  });

  it('reports a saturated replica as missing all', () => {
    expect(itlMissShare(base, 1000).missShare).toBe(1);
  });
});

describe('maxRateForItlShare', () => {
  it('finds the rate where the share crosses the allowance', () => {
    const mostlyLong = { ...base, output: { values: [2, 200], weights: [0.02, 0.98] } };
    const rate = maxRateForItlShare(mostlyLong, 0.01, 100);
    expect(rate).toBeGreaterThan(0.1);
    expect(itlMissShare(mostlyLong, rate).missShare).toBeLessThanOrEqual(0.01);
    expect(itlMissShare(mostlyLong, rate * 1.01).missShare).toBeGreaterThan(0.01 * 0.98);
  });

  it('returns the upper rate when the distribution never binds, 0 when nothing meets it', () => {
    expect(maxRateForItlShare({ ...base, output: point(1) }, 0.01, 2)).toBe(2);
    expect(maxRateForItlShare({ ...base, itlTargetMs: 10 }, 0.01, 50)).toBe(0);
  });
});
