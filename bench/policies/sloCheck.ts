/**
 * Whether the requests arriving in a window met both targets, decided as early as the simulation
 * allows: a request fails for good once it is dropped or rejected, once it has waited longer than
 * the TTFT target for its first token, or once its mean inter-token latency can no longer come
 * in under the target (the tokens still to come only add time); it passes once it completed
 * within both. The searches stop a trial as soon as the window's verdict is certain.
 */
import type { FleetSim, RequestRecord } from '../../lib/fleetSimulator/index.js';

export interface WindowTargets {
  readonly ttftMs: number;
  readonly itlMs: number;
}

export type RequestVerdict = 'met' | 'missed' | 'open';

/** The verdict on one request at simulated time `now`. */
export function requestVerdict(r: RequestRecord, targets: WindowTargets, now: number): RequestVerdict {
  if (r.status === 'dropped' || r.status === 'rejected') return 'missed';
  // In milliseconds, as the run's summary (lib/closedLoop/slo.ts) compares them.
  const ttftLimit = targets.ttftMs > 0 ? targets.ttftMs : Infinity;
  const itlLimit = targets.itlMs > 0 ? targets.itlMs : Infinity;
  if (r.firstToken === undefined) return (now - r.arrival) * 1000 > ttftLimit ? 'missed' : 'open';
  if ((r.firstToken - r.arrival) * 1000 > ttftLimit) return 'missed';
  if (r.status === 'completed') return r.itl === undefined || r.itl * 1000 <= itlLimit ? 'met' : 'missed';
  // Still decoding: its mean gap will be at least what it has been so far, were it to finish now.
  if (r.outputTokens >= 2 && ((now - r.firstToken) / (r.outputTokens - 1)) * 1000 > itlLimit) return 'missed';
  return 'open';
}

export interface WindowCount {
  /** requests arriving in the window (known from the trace) */
  readonly requests: number;
  readonly met: number;
  readonly missed: number;
  readonly open: number;
}

/**
 * Counts the window [from, to)'s requests by verdict at the simulation's time, from the requests
 * the simulation watches (`sim.watchArrivals(from, to)` before they arrive); `requests` is how many
 * arrive in it in all (those not arrived yet are open).
 */
export function countWindow(
  sim: FleetSim,
  variant: string,
  from: number,
  to: number,
  requests: number,
  targets: WindowTargets,
): WindowCount {
  let met = 0;
  let missed = 0;
  for (const r of sim.watched()) {
    if (r.variant !== variant || r.arrival < from || r.arrival >= to) continue;
    const verdict = requestVerdict(r, targets, sim.now);
    if (verdict === 'met') met++;
    else if (verdict === 'missed') missed++;
  }
  return { requests, met, missed, open: requests - met - missed };
}

/** 'pass' once enough have met the targets, 'fail' once too many missed, else 'open'. */
export function windowVerdict(c: WindowCount, target: number): 'pass' | 'fail' | 'open' {
  const needed = Math.ceil(target * c.requests - 1e-9);
  if (c.met >= needed) return 'pass';
  if (c.requests - c.missed < needed) return 'fail';
  return 'open';
}
