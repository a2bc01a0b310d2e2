/**
 * A token-length histogram's bucket increases over the window (`vllm:request_prompt_tokens_bucket`,
 * `vllm:request_generation_tokens_bucket`), summed per variant from rows per group, pod and `le`,
 * as cumulative counts by upper bound, +Inf last: the shape the simulation's sample store gives
 * `RawSignals.promptTokenBuckets`, so the observation is the same whichever backend fills it.
 *
 * The ITL cap and sizing read these as the share of long prompts and short answers: a wrong
 * histogram would size wrongly where none sizes by the mean only. So an answer that is not a
 * whole cumulative histogram (a row without a bound or with a non-finite count, no +Inf bucket,
 * counts falling as the bound grows, pods bucketing differently) gives no buckets and says why.
 */
import { z } from 'zod';
import type { BucketIncrease } from '../../metrics/signals.js';
import { parseLe } from './histogramQuantile.js';
import { TAG } from './promql.js';
import type { Row } from './queryRows.js';

/** Bucket rows as the query returns them: a numeric `le` and a finite, non-negative increase. */
const bucketRows = z.array(
  z.object({
    labels: z
      .object({
        le: z
          .string()
          .transform(parseLe)
          .refine((b) => !Number.isNaN(b), 'not a bucket bound'),
      })
      .catchall(z.string()),
    // zod 4's number is finite: NaN and the infinities are refused
    value: z.number().nonnegative(),
  }),
);

export type BucketIncreases =
  | { readonly buckets: readonly BucketIncrease[]; readonly problem?: undefined }
  | { readonly buckets?: undefined; readonly problem?: string };

/**
 * Summed increase per bound of the rows (one variant, one window); no rows: no buckets and no
 * problem (the servers do not expose the buckets, or the window has no data).
 */
export function bucketIncreases(series: string, rows: readonly Row[]): BucketIncreases {
  if (rows.length === 0) return {};
  const parsed = bucketRows.safeParse(rows);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    return { problem: `${series}: rows${path}: ${issue.message}` };
  }
  // Rows per pod (pods selected by pattern): every pod must bucket alike, or the sums mix layouts.
  const layouts = new Map<string, number[]>();
  for (const r of parsed.data) {
    const { le, [TAG.window]: _window, ...group } = r.labels;
    const key = JSON.stringify(Object.entries(group).sort(([a], [b]) => (a < b ? -1 : 1)));
    layouts.set(key, [...(layouts.get(key) ?? []), le]);
  }
  const layoutOf = (bounds: readonly number[]) => [...bounds].sort((a, b) => a - b).join(',');
  const [firstLayout, ...others] = [...layouts.values()].map(layoutOf);
  if (others.some((l) => l !== firstLayout)) {
    return {
      problem: `${series}: the servers' buckets differ (${[...new Set([firstLayout, ...others])].join(' vs ')})`,
    };
  }

  const byBound = new Map<number, number>();
  for (const r of parsed.data) byBound.set(r.labels.le, (byBound.get(r.labels.le) ?? 0) + r.value);
  const buckets = [...byBound].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  if (buckets.at(-1)!.le !== Infinity) return { problem: `${series}: no +Inf bucket` };
  // Summing floating-point increases in another order may move a count by a few ulps, never more.
  const slack = 1e-9 * Math.max(1, buckets.at(-1)!.count);
  for (let i = 1; i < buckets.length; i++) {
    if (buckets[i]!.count < buckets[i - 1]!.count - slack) {
      return {
        problem: `${series}: cumulative counts fall from ${buckets[i - 1]!.count} at le=${buckets[i - 1]!.le} to ${buckets[i]!.count} at le=${buckets[i]!.le}`,
      };
    }
  }
  return { buckets };
}
