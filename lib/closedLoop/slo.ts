/** Per-request SLO accounting over the simulator's request records. */
import type { RequestRecord } from '../fleetSimulator/index.js';

export interface SloTargets {
  readonly ttftMs: number;
  readonly itlMs: number;
}

export interface SloCounts {
  requests: number;
  ttftMet: number;
  itlMet: number;
  bothMet: number;
  dropped: number;
  ttftMs: number[];
  itlMs: number[];
}

export const emptySloCounts = (): SloCounts => ({
  requests: 0,
  ttftMet: 0,
  itlMet: 0,
  bothMet: 0,
  dropped: 0,
  ttftMs: [],
  itlMs: [],
});

/** A request that never completed misses both targets; a one-token answer has no ITL to miss. */
export function countRequest(counts: SloCounts, r: RequestRecord, targets: SloTargets): void {
  counts.requests++;
  if (r.status === 'dropped' || r.status === 'rejected') counts.dropped++;
  if (r.status !== 'completed' || r.ttft === undefined) return;
  const ttftMs = r.ttft * 1000;
  const itlMs = r.itl === undefined ? undefined : r.itl * 1000;
  counts.ttftMs.push(ttftMs);
  if (itlMs !== undefined) counts.itlMs.push(itlMs);
  const ttftOk = targets.ttftMs <= 0 || ttftMs <= targets.ttftMs;
  const itlOk = targets.itlMs <= 0 || itlMs === undefined || itlMs <= targets.itlMs;
  if (ttftOk) counts.ttftMet++;
  if (itlOk) counts.itlMet++;
  if (ttftOk && itlOk) counts.bothMet++;
}

export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Whether a request completed within both targets (as countRequest counts `bothMet`). */
export function metBoth(r: RequestRecord, targets: SloTargets): boolean {
  if (r.status !== 'completed' || r.ttft === undefined) return false;
  const ttftOk = targets.ttftMs <= 0 || r.ttft * 1000 <= targets.ttftMs;
  const itlOk = targets.itlMs <= 0 || r.itl === undefined || r.itl * 1000 <= targets.itlMs;
  return ttftOk && itlOk;
}
