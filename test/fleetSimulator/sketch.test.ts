import { QuantileSketch, SKETCH_RELATIVE_ACCURACY } from '../../lib/fleetSimulator/sketch.js';
import { mulberry32 } from '../../lib/fleetSimulator/index.js';

/** the ceil(q n)-th smallest value, as the closed loop's percentile() takes it */
function nearestRank(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1]!;
}

describe('QuantileSketch', () => {
  test(`every quantile within ${SKETCH_RELATIVE_ACCURACY * 100}% of the exact one, over six decades`, () => {
    const random = mulberry32(5);
    const values = Array.from({ length: 20_000 }, () => Math.exp(Math.log(1e-4) + random() * Math.log(1e6)));
    const sketch = new QuantileSketch();
    for (const v of values) sketch.add(v);
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1]) {
      const exact = nearestRank(sorted, q);
      expect(Math.abs(sketch.quantile(q) - exact) / exact).toBeLessThanOrEqual(
        SKETCH_RELATIVE_ACCURACY + 1e-12,
      );
    }
    expect(sketch.count).toBe(values.length);
    expect(sketch.sum).toBeCloseTo(
      values.reduce((a, b) => a + b, 0),
      6,
    );
    expect(sketch.max).toBe(sorted.at(-1));
  });

  test('zeros, merging, and an empty sketch', () => {
    const a = new QuantileSketch();
    const b = new QuantileSketch();
    expect(a.quantile(0.5)).toBeNaN();
    for (let i = 0; i < 50; i++) a.add(0);
    for (let i = 1; i <= 50; i++) b.add(i);
    a.merge(b);
    expect(a.count).toBe(100);
    expect(a.quantile(0.5)).toBe(0);
    expect(Math.abs(a.quantile(0.75) - 25) / 25).toBeLessThanOrEqual(SKETCH_RELATIVE_ACCURACY);
    expect(a.quantile(1)).toBe(50);
    // merged in either order, the same buckets
    const c = new QuantileSketch();
    c.merge(b);
    for (let i = 0; i < 50; i++) c.add(0);
    for (const q of [0.5, 0.6, 0.9, 0.99]) expect(c.quantile(q)).toBe(a.quantile(q));
  });
});
