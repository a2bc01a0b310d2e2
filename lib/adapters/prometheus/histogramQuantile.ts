/**
 * Prometheus' histogram_quantile on cumulative bucket counts, computed here because buckets are
 * fetched per group (model, namespace, pod) and summed per variant before the quantile is taken.
 */

export interface Bucket {
  /** upper bound (`le`), +Inf for the last */
  readonly le: number;
  /** cumulative count */
  readonly count: number;
}

/** Parses an `le` label value (`0.25`, `1.0`, `+Inf`). */
export function parseLe(le: string): number {
  if (le === '+Inf' || le === 'Inf' || le === '+inf') return Infinity;
  return Number(le);
}

/**
 * The q-quantile by linear interpolation within the bucket holding it, as PromQL does; NaN when
 * nothing was observed (an idle window), when there is no +Inf bucket or fewer than two buckets.
 * A quantile in the +Inf bucket is the highest finite bound.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number {
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = buckets.filter((b) => !Number.isNaN(b.le)).sort((a, b) => a.le - b.le);
  if (sorted.length < 2 || sorted[sorted.length - 1]!.le !== Infinity) return NaN;
  // Counts can be non-monotonic when buckets are scraped at slightly different times.
  let max = -Infinity;
  const counts = sorted.map((b) => (max = Math.max(max, b.count)));
  const total = counts[counts.length - 1]!;
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let i = counts.findIndex((c) => c >= rank);
  if (i < 0) i = counts.length - 1;
  if (i === counts.length - 1) return sorted[sorted.length - 2]!.le;
  if (i === 0 && sorted[0]!.le <= 0) return sorted[0]!.le;
  const start = i === 0 ? 0 : sorted[i - 1]!.le;
  const below = i === 0 ? 0 : counts[i - 1]!;
  const inBucket = counts[i]! - below;
  return start + (sorted[i]!.le - start) * ((rank - below) / inBucket);
}
