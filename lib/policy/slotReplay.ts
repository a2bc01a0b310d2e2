/**
 * The recent past's arrivals per step replayed through a fleet of slots that each request holds
 * for a while (docs/SIZING.md, "Bursts at the decode role"): a decode pod holds a request's KV
 * cache and a place in its batch for the request's whole decode, so what bounds the role is how
 * many requests are in flight, not how fast they queue. Pure: counts and times in, a share out.
 *
 * Fluid, like lib/policy/burstSizing.ts: arrivals spread evenly within their step (or within its
 * first part, at a concentration below 1); while slots are free the requests in flight L follow
 * dL/dt = rate - L / hold (each leaves `hold` seconds after it came); once all `slots` are taken, completions free slots at slots / hold per second
 * and the rest wait in a FIFO queue. A request that arrives to a queue deeper than `budget`
 * seconds of completions waits beyond the budget: it is late (with a budget of 0, every request
 * that has to wait for a slot).
 */
import { burstSeconds, EVEN_CONCENTRATION, timeAbove, type FluidReplay } from './burstSizing.js';

/** `x` after `t` seconds of exponential approach to `target` with time constant `hold`. */
const towards = (x: number, target: number, t: number, hold: number) =>
  target + (x - target) * Math.exp(-t / hold);

/**
 * @param slots requests the fleet holds at once (may be fractional: a mean concurrency)
 * @param holdSeconds how long each request holds its slot
 * @param budgetSeconds the wait for a slot a request may take without being late
 * @param concentration the part of each step its arrivals come in (1: the whole step)
 */
export function slotReplay(
  counts: readonly number[],
  stepSeconds: number,
  slots: number,
  holdSeconds: number,
  budgetSeconds = 0,
  concentration = EVEN_CONCENTRATION,
): FluidReplay {
  const arrivals = counts.reduce((a, c) => a + Math.max(c, 0), 0);
  if (!(slots > 0)) return { arrivals, late: arrivals, share: arrivals > 0 ? 1 : 0, backlog: arrivals };
  // a request that holds nothing never finds the slots taken
  if (!(holdSeconds > 0)) return { arrivals, late: 0, share: 0, backlog: 0 };
  const completions = slots / holdSeconds;
  const threshold = completions * Math.max(budgetSeconds, 0);
  // each step's arrivals within its first part (policy.burstSizing.concentration), then none
  const busy = burstSeconds(stepSeconds, concentration);
  const quiet = stepSeconds - busy;
  let inFlight = 0;
  let waiting = 0;
  let late = 0;
  for (const count of counts) {
    advance(Math.max(count, 0) / busy, busy);
    if (quiet > 0) advance(0, quiet);
  }
  return { arrivals, late, share: arrivals > 0 ? late / arrivals : 0, backlog: waiting };

  /** `span` seconds of arrivals at `rate` */
  function advance(rate: number, span: number): void {
    const steady = rate * holdSeconds;
    if (waiting > 0 || inFlight >= slots) {
      // full from the span's start: the queue moves at rate - completions until it empties
      const net = rate - completions;
      const full = net < 0 ? Math.min(waiting / -net, span) : span;
      late += rate * timeAbove(waiting, net, threshold, full);
      waiting = Math.max(waiting + net * full, 0);
      // the queue gone with fewer arrivals than completions: the requests in flight fall below the slots
      inFlight = full < span ? towards(slots, steady, span - full, holdSeconds) : slots;
      return;
    }
    // free slots: the requests in flight approach rate x hold, and fill the slots if that is more
    const fillsAt =
      steady > slots ? holdSeconds * Math.log((steady - inFlight) / (steady - slots)) : Infinity;
    if (fillsAt >= span) {
      inFlight = towards(inFlight, steady, span, holdSeconds);
      return;
    }
    const full = span - fillsAt;
    const net = rate - completions;
    late += rate * timeAbove(0, net, threshold, full);
    waiting = net * full;
    inFlight = slots;
  }
}
