/**
 * The ports of the gateway-event path: where ingest keeps the counters (and evaluate reads
 * them), and how ingest asks for an evaluation at once.
 */
import type { BatchAggregate } from './aggregate.js';
import type { GatewayLoad } from './load.js';

export interface StoredBatch {
  /** engine and slot writes made */
  readonly writes: number;
  /** writes skipped because the same events were already applied (a redelivered batch) */
  readonly alreadyApplied: number;
}

export interface GatewayLoadStore {
  /**
   * Applies one batch's changes: one atomic write per engine and one per variant time slot.
   * Counters and slots expire `retentionSeconds` after their last change.
   */
  apply(batch: BatchAggregate, retentionSeconds: number): Promise<StoredBatch>;
  /** The counters of each variant's engines and its slots that start at or after `slotsFrom`. */
  load(variants: readonly string[], slotsFrom: number): Promise<GatewayLoad[]>;
  /**
   * Sets engines' counters to zero, each only if no event changed it since `updatedAt` (the
   * engine's own gauges, sampled after that, showed it idle). Returns how many were reset.
   */
  resetEngines(variant: string, engines: readonly { engine: string; updatedAt: number }[]): Promise<number>;
  /**
   * Takes the right to trigger an evaluation of a pool now: true for the first caller, false
   * while an earlier trigger is younger than `debounceSeconds`.
   */
  claimTrigger(pool: string, now: number, debounceSeconds: number): Promise<boolean>;
}

/** Starts an evaluation of a pool without waiting for it (the evaluate function, asynchronously). */
export interface EvaluationTrigger {
  trigger(pool: string, reason: string): Promise<void>;
}
