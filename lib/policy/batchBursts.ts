/**
 * The TTFT burst replay of a replica whose batch is what its KV cache holds (policy.kvBatch;
 * docs/SIZING.md, "The batch the KV cache holds"). The fluid replay of lib/policy/burstSizing.ts
 * serves a replica's requests one after another at its saturated rate, so a step busier than that
 * rate queues at once. An engine admits a request while its batch has a free place: with answers
 * of thousands of tokens (half a minute in flight) a 15-s burst is taken into the batch's free
 * places and decoded beside the others, and only once every place is taken does a newcomer wait
 * for one to free. A request then waits for either of two things: a free place
 * (lib/policy/slotReplay.ts, the places held for the time an answer takes with the batch full),
 * or the prefill's own throughput within the engine's step budget (the fluid replay at that
 * rate). Its share late is taken as the larger of the two replays' (the two bind in different
 * regimes: the places with long answers, the prefill with short ones). Pure.
 */
import { fewestReplicasWithin, fluidReplay, peakRate, type BurstFleet } from './burstSizing.js';
import { slotReplay } from './slotReplay.js';

export interface BatchBurstInput {
  readonly counts: readonly number[];
  readonly stepSeconds: number;
  /** req/s one replica prefills within its step budget when saturated */
  readonly prefillRate: number;
  /** requests one replica's batch holds at once */
  readonly slots: number;
  /** how long a request holds its place: the batch's requests over its rate with the batch full */
  readonly holdSeconds: number;
  readonly budgetSeconds: number;
  /** the share of requests allowed to wait beyond the budget */
  readonly allowedShare: number;
  /** the normal sizing: never fewer */
  readonly atLeast: number;
  /** never more (maxReplicas, the devices left free) */
  readonly atMost: number;
}

/** The share of the steps' requests waiting beyond the budget on `replicas` replicas. */
export function batchBurstShare(input: BatchBurstInput, replicas: number): number {
  const { counts, stepSeconds, budgetSeconds } = input;
  const places = slotReplay(counts, stepSeconds, replicas * input.slots, input.holdSeconds, budgetSeconds);
  const prefill = fluidReplay(counts, stepSeconds, replicas * input.prefillRate, budgetSeconds);
  return Math.max(places.share, prefill.share);
}

/**
 * The fewest replicas from `atLeast` up whose replay leaves at most the allowed share late. A
 * fleet that prefills the busiest step's arrivals and completes them with its places full never
 * builds a queue, which bounds the search.
 */
export function replicasForBatchBursts(input: BatchBurstInput): BurstFleet {
  const { atLeast, allowedShare } = input;
  const peak = peakRate(input.counts, input.stepSeconds);
  const clearsPeak = Math.max(
    Math.ceil(peak / input.prefillRate),
    Math.ceil((peak * input.holdSeconds) / input.slots),
  );
  const top = Math.max(atLeast, Math.min(input.atMost, clearsPeak));
  const shareAt = (n: number) => batchBurstShare(input, n);
  return fewestReplicasWithin(shareAt, { atLeast, top, allowedShare, shareAtLeast: shareAt(atLeast) });
}
