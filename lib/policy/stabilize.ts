/**
 * Stabilisation: scale up at once (within a step limit), scale down only to the highest
 * recommendation of the window and by at most a step. Noise cannot make replicas flap.
 */
import type { Recommendation } from './memory.js';

export interface StepLimit {
  readonly replicas: number;
  readonly percent: number;
}

export interface StabilizeInput {
  readonly now: number;
  readonly current: number;
  readonly recommended: number;
  /** earlier recommendations on the same accelerator */
  readonly history: readonly Recommendation[];
  readonly windowSeconds: number;
  /** since when recommendations have been recorded for this variant */
  readonly observedSince: number;
  readonly up: StepLimit;
  readonly down: StepLimit;
  /** what an earlier recommendation still holds (default: all it asked for) */
  readonly heldBy?: (r: Recommendation) => number;
}

export interface Stabilized {
  readonly replicas: number;
  /** set when the window or a step limit changed the recommendation */
  readonly limitedBy?: 'window' | 'step';
}

const step = (current: number, limit: StepLimit, round: (x: number) => number) =>
  Math.max(limit.replicas, round((current * limit.percent) / 100));

export function stabilize(input: StabilizeInput): Stabilized {
  const { current, recommended } = input;
  if (recommended >= current) {
    const ceiling = current + Math.max(step(current, input.up, Math.ceil), 1);
    return recommended > ceiling ? { replicas: ceiling, limitedBy: 'step' } : { replicas: recommended };
  }
  const windowStart = input.now - input.windowSeconds;
  const inWindow = input.history.filter((r) => r.t > windowStart);
  // Until a whole window has been seen (a new variant, a restart), the replicas running now
  // stand for the recommendations not seen: no scale-down on a partial view.
  const seenWholeWindow = input.observedSince <= windowStart;
  const windowMax = inWindow.reduce(
    (m, r) => Math.max(m, input.heldBy ? input.heldBy(r) : r.replicas),
    seenWholeWindow ? recommended : Math.max(recommended, current),
  );
  const held = Math.min(current, windowMax);
  const floor = current - step(current, input.down, Math.floor);
  if (held > recommended && held >= floor) return { replicas: held, limitedBy: 'window' };
  if (floor > recommended) return { replicas: Math.max(floor, held), limitedBy: 'step' };
  return { replicas: recommended };
}
