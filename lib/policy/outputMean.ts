/**
 * The mean output length to size with, pooled over as many recent metrics windows as it takes to
 * know it (docs/SIZING.md, "The mean output of a heavy tail"). One window's mean of completed
 * requests is a fine estimate of a short, light-tailed mix, but a reasoning model's outputs are
 * long-tailed: a minute's thirty completions holding one 20,000-token answer read as a mean three
 * times the day's, and a replica's saturated throughput falls as the mean output grows (by its
 * square once long contexts fill the KV cache), so the sizing swung tenfold from minute to minute.
 *
 * The windows are kept without overlap for a bounded time. The spread of a single request's
 * output is read from how far the windows' means stray from their pooled mean (a window of c
 * completions varies as sigma^2 / c), and the newest windows are pooled until their completions
 * hold the mean within PRECISION (its relative standard error). A mix whose newest window alone
 * is that precise is sized on it, as before; a change of mix shows within the windows pooled.
 * Pure: windows in, windows and a mean out.
 */

export interface OutputWindow {
  /** end of the window, epoch seconds */
  readonly t: number;
  /** completions in it */
  readonly count: number;
  /** their mean output tokens */
  readonly mean: number;
}

/**
 * Relative standard error asked of the mean output: replicas scale with it (a replica's
 * throughput is inversely proportional to it, or to its square once the KV cache binds), and
 * the sizing's target margins leave room for errors of this order, not for a window's 50%.
 */
export const OUTPUT_MEAN_PRECISION = 0.1;

/** Fewest windows whose spread is read before the newest one is not taken alone. */
const MIN_WINDOWS_FOR_SPREAD = 3;

/**
 * The remembered windows advanced by this one: kept only where it does not overlap the last
 * (evaluations come more often than a window is long), older than `keepSeconds` dropped.
 */
export function rememberOutputWindow(
  previous: readonly OutputWindow[] | undefined,
  window:
    | { readonly t: number; readonly seconds: number; readonly count: number; readonly mean: number }
    | undefined,
  keepSeconds: number,
): OutputWindow[] {
  const kept = (previous ?? []).filter((w) => (window ? w.t : Infinity) > (window?.t ?? 0) - keepSeconds);
  if (!window || !(window.count > 0) || !(window.mean > 0)) return kept;
  const last = kept.at(-1);
  if (last && window.t - last.t < window.seconds) return kept;
  return [...kept, { t: window.t, count: window.count, mean: window.mean }];
}

export interface PooledMean {
  readonly mean: number;
  /** completions and windows it was pooled from */
  readonly count: number;
  readonly windows: number;
}

/**
 * The mean over the newest windows that hold it within OUTPUT_MEAN_PRECISION, newest first; all
 * of them where even that is not enough. Undefined without windows.
 */
export function pooledOutputMean(windows: readonly OutputWindow[]): PooledMean | undefined {
  if (windows.length === 0) return undefined;
  const newest = windows.at(-1)!;
  const alone = { mean: newest.mean, count: newest.count, windows: 1 };
  if (windows.length < MIN_WINDOWS_FOR_SPREAD) return alone;
  const total = windows.reduce((a, w) => a + w.count, 0);
  const grand = windows.reduce((a, w) => a + w.count * w.mean, 0) / total;
  // a window of c completions strays from the mean by sigma^2 / c: c (m - grand)^2 estimates sigma^2
  const variance = windows.reduce((a, w) => a + w.count * (w.mean - grand) ** 2, 0) / (windows.length - 1);
  const needed = variance / (OUTPUT_MEAN_PRECISION * grand) ** 2;
  let count = 0;
  let sum = 0;
  let used = 0;
  for (let i = windows.length - 1; i >= 0 && count < needed; i--) {
    count += windows[i]!.count;
    sum += windows[i]!.count * windows[i]!.mean;
    used++;
  }
  return used <= 1 ? alone : { mean: sum / count, count, windows: used };
}
