/**
 * One miss budget for TTFT and ITL together (docs/SIZING.md, "One miss budget for TTFT and ITL"):
 * a request is served only if it meets both targets, but the TTFT replay and the ITL sizing over
 * the steps each size for the whole allowed share, so where both kinds of miss occur they add up.
 * A request missing either counts once at most, so the sum of the two shares bounds the share
 * missing one or the other (the union bound); here the fleet grows, from what the two sizings
 * asked for, to the fewest replicas whose sum is within the allowed share. Pure: two share
 * functions and a range in, a count out.
 */
import { fewestReplicasWithin } from './burstSizing.js';

export interface SharedBudgetInput {
  /** the share of requests late on TTFT at so many replicas (never grows with them) */
  readonly ttftShareAt: (replicas: number) => number;
  /** the share of requests missing ITL at so many replicas (never grows with them) */
  readonly itlShareAt: (replicas: number) => number;
  /** the share allowed to miss either target */
  readonly allowedShare: number;
  /** what the two sizings asked for: never fewer */
  readonly atLeast: number;
  /** never more (maxReplicas, the devices left free); may be Infinity */
  readonly atMost: number;
}

export interface SharedBudgetFleet {
  readonly replicas: number;
  /** each share at those replicas */
  readonly ttftShare: number;
  readonly itlShare: number;
  /** the count the two sizings asked for and their shares there */
  readonly sizedReplicas: number;
  readonly sizedTtftShare: number;
  readonly sizedItlShare: number;
  /** false when even `atMost` replicas leave the sum above the allowed share */
  readonly met: boolean;
}

/** Doublings tried for a fleet within the budget before giving up on an unbounded range. */
const MAX_DOUBLINGS = 32;

/**
 * The fewest replicas from `atLeast` up whose TTFT and ITL shares together are within the allowed
 * share; `atMost`, not met, when none is. The sum never grows with the replicas, so after doubling
 * up to a fleet within the budget (or `atMost`) the search bisects. Where one share is 0 this is
 * the other's own sizing: `atLeast` when that already met it.
 */
export function fewestReplicasForBoth(input: SharedBudgetInput): SharedBudgetFleet {
  const { ttftShareAt, itlShareAt, allowedShare, atLeast, atMost } = input;
  const shares = new Map<number, { ttft: number; itl: number }>();
  const at = (n: number) => {
    let s = shares.get(n);
    if (!s) shares.set(n, (s = { ttft: ttftShareAt(n), itl: itlShareAt(n) }));
    return s;
  };
  const sum = (n: number) => at(n).ttft + at(n).itl;
  let top = atLeast;
  for (let i = 0; i < MAX_DOUBLINGS && top < atMost && sum(top) > allowedShare; i++) {
    top = Math.min(atMost, Math.max(top + 1, 2 * top));
  }
  const found = fewestReplicasWithin(sum, { atLeast, top, allowedShare, shareAtLeast: sum(atLeast) });
  return {
    replicas: found.replicas,
    ttftShare: at(found.replicas).ttft,
    itlShare: at(found.replicas).itl,
    sizedReplicas: atLeast,
    sizedTtftShare: at(atLeast).ttft,
    sizedItlShare: at(atLeast).itl,
    met: found.met,
  };
}
