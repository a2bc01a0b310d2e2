/**
 * Online correction of the performance profile (docs/SIZING.md): the ratio of observed
 * to predicted TTFT and ITL at the load the replicas actually carry, smoothed and bounded, and
 * learned against the configured profile. The policy sizes with prefill times (gamma, delta)
 * scaled by the TTFT ratio and decode times (alpha, beta) by the ITL ratio, so a profile that is
 * optimistic for a workload (chunked prefill of long prompts, say) costs capacity as well as
 * latency, and every decision records the factors it used.
 */
import type { ServiceProfile } from '../analyzer/index.js';
import type { VariantObservation } from '../metrics/observation.js';

export interface Correction {
  readonly ttft: number;
  readonly itl: number;
}

export interface CorrectionSettings {
  readonly enabled: boolean;
  /** weight of the newest ratio in the moving average */
  readonly smoothing: number;
  /** bounds of the factor: never trust the model more than `min` times, nor less than `max` */
  readonly min: number;
  readonly max: number;
}

/** The latencies the model predicts at the load the replicas carry: what the correction learns against. */
export interface PredictedLatency {
  readonly ttftMs: number;
  readonly itlMs: number;
}

export const NO_CORRECTION: Correction = { ttft: 1, itl: 1 };

/** The profile with the correction applied. */
export function corrected<P extends ServiceProfile>(profile: P, c: Correction): P {
  return {
    ...profile,
    alpha: profile.alpha * c.itl,
    beta: profile.beta * c.itl,
    gamma: profile.gamma * c.ttft,
    delta: profile.delta * c.ttft,
  };
}

const clamp = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);

/**
 * The next correction, or the previous one when there is nothing to learn from: no completed
 * requests, no prediction (no replicas ready, or a load beyond what they can take), or a
 * prediction of zero.
 */
export function updateCorrection(
  previous: Correction | undefined,
  obs: VariantObservation,
  predicted: PredictedLatency | null,
  settings: CorrectionSettings,
): Correction {
  const prev = previous ?? NO_CORRECTION;
  if (!settings.enabled || !predicted) return prev;
  const blend = (old: number, observed: number | undefined, model: number) => {
    if (observed === undefined || !(model > 0) || !Number.isFinite(observed)) return old;
    const ratio = clamp(observed / model, settings.min, settings.max);
    return clamp(old + settings.smoothing * (ratio - old), settings.min, settings.max);
  };
  return {
    ttft: blend(prev.ttft, obs.ttftMs?.value, predicted.ttftMs),
    itl: blend(prev.itl, obs.itlMs?.value, predicted.itlMs),
  };
}
