/**
 * ITL over the arrivals' short-step rates (docs/SIZING.md, "ITL over short-step rates"): the ITL
 * cap (lib/policy/distribution.ts) sizes a replica's rate so that at most the allowed share of
 * requests miss the ITL target at the mean rate with Poisson arrivals, but a quarter-minute that
 * brings twice the mean brings its requests twice the prompts to be decoded next to. Here each
 * step of the recent past is taken as Poisson at its own rate, spread over a candidate fleet, and
 * the chunked-ITL model's miss share at that rate (lib/analyzer/chunkedItl.ts) is weighted by the
 * requests the step brought. Pure: counts, a model and a replica count in, a share or a count out.
 */
import { ItlShareModel, maxRateForItlShare, type ItlShareInput } from '../analyzer/chunkedItl.js';
import { fewestReplicasWithin, peakRate, type BurstFleet } from './burstSizing.js';

/** What the chunked-ITL model answers: the miss share at a per-replica rate over so many replicas. */
export interface ItlMissModel {
  at(rate: number, replicas: number): { readonly missShare: number };
}

/**
 * The share of the steps' requests that miss ITL on `replicas` replicas: sum_i c_i x
 * miss(c_i / step / replicas) / sum_i c_i, each step's rate taken as Poisson over the step.
 */
export function itlShareOverSteps(
  model: ItlMissModel,
  counts: readonly number[],
  stepSeconds: number,
  replicas: number,
): number {
  // steps with the same count share one evaluation of the model
  const steps = new Map<number, number>();
  for (const c of counts) if (c > 0) steps.set(c, (steps.get(c) ?? 0) + 1);
  const n = Math.max(replicas, 1);
  let arrivals = 0;
  let missed = 0;
  for (const [count, times] of steps) {
    arrivals += count * times;
    missed += count * times * model.at(count / stepSeconds / n, n).missShare;
  }
  return arrivals > 0 ? missed / arrivals : 0;
}

export interface ItlStepsInput {
  readonly counts: readonly number[];
  readonly stepSeconds: number;
  /** the engine and token distributions the ITL cap uses */
  readonly share: ItlShareInput;
  /** the share of requests allowed to miss ITL */
  readonly allowedShare: number;
  /** the normal sizing: never fewer */
  readonly atLeast: number;
  /** never more (maxReplicas, free capacity) */
  readonly atMost: number;
}

/**
 * The fewest replicas from `atLeast` up whose miss share over the steps is within the allowed
 * one; `atMost` when none is. The share falls as replicas are added (each takes a lower rate, and
 * the router finds an idle one more often), so the search bisects up to the fleet that holds even
 * the busiest step within the allowed share, which every quieter step then is as well. When even
 * a trickle misses more than allowed, no count of replicas helps: the normal sizing, not met.
 */
export function replicasForItlSteps(input: ItlStepsInput): BurstFleet {
  const { counts, stepSeconds, allowedShare, atLeast } = input;
  const model = new ItlShareModel(input.share);
  const shareAt = (n: number) => itlShareOverSteps(model, counts, stepSeconds, n);
  const shareAtLeast = shareAt(atLeast);
  if (shareAtLeast <= allowedShare)
    return { replicas: atLeast, share: shareAtLeast, shareAtLeast, met: true };
  const peak = peakRate(counts, stepSeconds);
  const capAtPeak = maxRateForItlShare(input.share, allowedShare, peak, peak);
  if (!(capAtPeak > 0)) return { replicas: atLeast, share: shareAtLeast, shareAtLeast, met: false };
  const top = Math.max(atLeast, Math.min(input.atMost, Math.ceil(peak / capAtPeak)));
  return fewestReplicasWithin(shareAt, { atLeast, top, allowedShare, shareAtLeast });
}
