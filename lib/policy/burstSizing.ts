/**
 * Sizing for the bursts the metrics window averages away (docs/SIZING.md, "Bursts below the
 * metrics window"): the recent past's arrivals per short step, replayed through a fluid queue at
 * a candidate fleet's saturated throughput, tell what share of those requests would have waited
 * longer than the TTFT budget; the fleet asked for is the smallest that keeps that share within
 * what the attainment goal allows. Pure: counts, rates and times in, a share or a count out.
 */

export interface FluidReplay {
  /** requests in the replayed steps */
  readonly arrivals: number;
  /** of them, those that would have waited beyond the budget */
  readonly late: number;
  /** late / arrivals (0 when nothing arrived) */
  readonly share: number;
  /** requests still waiting at the end of the last step */
  readonly backlog: number;
}

/** The whole step: arrivals spread evenly over it (the replay as it was before concentration). */
export const EVEN_CONCENTRATION = 1;

/**
 * Replays arrivals per step through one fluid FIFO queue served at `throughput` req/s: arrivals
 * spread evenly within the first `concentration` of their step (1, the default: over the whole
 * step), the queue draining for the rest of it, the backlog carried from step to step (starting
 * empty). A request arriving with backlog B waits B / throughput; it is late when that exceeds the
 * budget. A concentration below 1 stands for arrivals that cluster within the step, which its
 * count cannot show (lib/policy/burstConcentration.ts learns it from the TTFT misses).
 */
export function fluidReplay(
  counts: readonly number[],
  stepSeconds: number,
  throughput: number,
  budgetSeconds: number,
  concentration = EVEN_CONCENTRATION,
): FluidReplay {
  const arrivals = counts.reduce((a, c) => a + Math.max(c, 0), 0);
  if (!(throughput > 0)) return { arrivals, late: arrivals, share: arrivals > 0 ? 1 : 0, backlog: arrivals };
  // the backlog above which a newcomer waits beyond the budget
  const threshold = throughput * Math.max(budgetSeconds, 0);
  const busy = burstSeconds(stepSeconds, concentration);
  const quiet = stepSeconds - busy;
  let backlog = 0;
  let late = 0;
  for (const count of counts) {
    const rate = Math.max(count, 0) / busy;
    const net = rate - throughput;
    late += rate * timeAbove(backlog, net, threshold, busy);
    backlog = Math.max(backlog + net * busy, 0);
    // the rest of the step brings nothing: the queue only drains
    if (quiet > 0) backlog = Math.max(backlog - throughput * quiet, 0);
  }
  return { arrivals, late, share: arrivals > 0 ? late / arrivals : 0, backlog };
}

/** The part of a step its arrivals come in: the whole step at concentration 1 (or outside (0, 1]). */
export function burstSeconds(stepSeconds: number, concentration: number): number {
  return concentration > 0 && concentration < 1 ? concentration * stepSeconds : stepSeconds;
}

/**
 * The part of `span` seconds during which a backlog starting at `backlog` and moving by `net` per
 * second (linear in time) is above `threshold`.
 */
export function timeAbove(backlog: number, net: number, threshold: number, span: number): number {
  if (net > 0) return span - Math.min(Math.max((threshold - backlog) / net, 0), span);
  if (net < 0) return Math.min(Math.max((backlog - threshold) / -net, 0), span);
  return backlog > threshold ? span : 0;
}

export interface BurstFleetInput {
  readonly counts: readonly number[];
  readonly stepSeconds: number;
  /** req/s one replica completes when saturated, at the measured mix */
  readonly perReplica: number;
  readonly budgetSeconds: number;
  /** the share of requests allowed to wait beyond the budget */
  readonly allowedShare: number;
  /** the normal sizing: never fewer */
  readonly atLeast: number;
  /** never more (maxReplicas) */
  readonly atMost: number;
  /** the part of each step its arrivals come in (fluidReplay); 1 when absent */
  readonly concentration?: number;
}

export interface BurstFleet {
  readonly replicas: number;
  /** the share late at those replicas */
  readonly share: number;
  /** the share late at the normal sizing */
  readonly shareAtLeast: number;
  /** false when even `atMost` replicas leave more than the allowed share late */
  readonly met: boolean;
}

/**
 * The fewest replicas from `atLeast` up whose fluid replay leaves at most the allowed share late;
 * `atMost` when none does. A fleet at least as fast as the busiest step never builds a backlog,
 * which bounds the search; a faster fleet never leaves more late, so it bisects.
 */
export function replicasForBursts(input: BurstFleetInput): BurstFleet {
  const { counts, stepSeconds, perReplica, budgetSeconds, allowedShare, atLeast } = input;
  const concentration = input.concentration ?? EVEN_CONCENTRATION;
  const shareAt = (n: number) =>
    fluidReplay(counts, stepSeconds, n * perReplica, budgetSeconds, concentration).share;
  // the busiest step's arrivals over the part of the step they come in
  const clearsPeak = Math.ceil(peakRate(counts, burstSeconds(stepSeconds, concentration)) / perReplica);
  const top = Math.max(atLeast, Math.min(input.atMost, clearsPeak));
  return fewestReplicasWithin(shareAt, { atLeast, top, allowedShare, shareAtLeast: shareAt(atLeast) });
}

/**
 * The fewest replicas in [atLeast, top] whose share is within the allowed one, for a share that
 * never grows with the replicas (the TTFT replay's and the ITL model's both fall as replicas are
 * added): bisection between them; `top`, not met, when even it leaves more.
 */
export function fewestReplicasWithin(
  shareAt: (replicas: number) => number,
  range: { atLeast: number; top: number; allowedShare: number; shareAtLeast: number },
): BurstFleet {
  const { atLeast, top, allowedShare, shareAtLeast } = range;
  if (shareAtLeast <= allowedShare)
    return { replicas: atLeast, share: shareAtLeast, shareAtLeast, met: true };
  const shareTop = top === atLeast ? shareAtLeast : shareAt(top);
  if (shareTop > allowedShare) return { replicas: top, share: shareTop, shareAtLeast, met: false };
  // shareAt(lo) > allowed >= shareAt(hi)
  let lo = atLeast;
  let hi = top;
  let shareHi = shareTop;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const share = shareAt(mid);
    if (share <= allowedShare) {
      hi = mid;
      shareHi = share;
    } else lo = mid;
  }
  return { replicas: hi, share: shareHi, shareAtLeast, met: true };
}

/** The busiest step's arrivals per second. */
export function peakRate(counts: readonly number[], stepSeconds: number): number {
  return counts.reduce((a, c) => Math.max(a, c), 0) / stepSeconds;
}
