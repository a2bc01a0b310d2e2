/**
 * Online correction of the latency model (docs/SIZING.md section 6): a factor on the profile's
 * iteration times (the ITL factor: the engine is that much slower or faster than profiled) and
 * one on the predicted TTFT, such that the corrected model predicts the TTFT and ITL the replicas
 * show at the load they actually carry. A profile that is optimistic for a workload costs
 * capacity as well as latency; one that is pessimistic stops costing capacity for nothing.
 * Every decision records the factors it used.
 *
 * The ITL observation sets the engine's speed: its mean gap between tokens carries the decode
 * iterations and the prefills interleaved with them, so it speaks for prefill and decode times
 * alike. The TTFT factor scales the prediction only: the model's TTFT (the prefill of the whole
 * batch at once) is off from a chunked-prefill engine's by a structure that no factor on the
 * prefill times would fix, and such a factor would also change the service times and the prefill
 * interruptions the ITL sizing counts (lib/policy/distribution.ts).
 *
 * The factors are found by a damped Newton step per evaluation on log(observed / predicted): the
 * prediction is made with the factors learned so far, and the step is divided by how strongly
 * the prediction responds to the factor (queueing makes TTFT respond more than proportionally),
 * so the loop settles where the corrected model and the observation agree instead of
 * overshooting near saturation. A plain average of observed / uncorrected-prediction would not:
 * the model is not linear in its service times.
 */
import type { ServiceProfile } from '../analyzer/index.js';
import type { VariantObservation } from '../metrics/observation.js';

export interface Correction {
  readonly ttft: number;
  readonly itl: number;
}

export interface CorrectionSettings {
  readonly enabled: boolean;
  /** share of the (log) gap between observation and prediction closed per evaluation */
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

/** The model's prediction at the load carried with a correction; null where it predicts nothing. */
export type LatencyPredictor = (c: Correction) => PredictedLatency | null;

export const NO_CORRECTION: Correction = { ttft: 1, itl: 1 };

/** The profile with the engine's speed (the ITL factor) applied; the TTFT factor applies to the prediction. */
export function corrected<P extends ServiceProfile>(profile: P, c: Correction): P {
  return {
    ...profile,
    alpha: profile.alpha * c.itl,
    beta: profile.beta * c.itl,
    gamma: profile.gamma * c.itl,
    delta: profile.delta * c.itl,
  };
}

const clamp = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);

/** Relative nudge of a factor to measure the prediction's response to it. */
const PROBE = 0.05;
/** The response assumed when the nudged prediction is beyond the model's range (saturation). */
const SATURATED_RESPONSE = 10;

/**
 * The next correction, or the previous one when there is nothing to learn from: correction
 * disabled, no completed requests, no prediction (no replicas ready, or a load beyond what they
 * can take), or a prediction of zero.
 */
export function updateCorrection(
  previous: Correction | undefined,
  obs: VariantObservation,
  predict: LatencyPredictor | null,
  settings: CorrectionSettings,
): Correction {
  const prev = clampCorrection(previous ?? NO_CORRECTION, settings);
  if (!settings.enabled || !predict) return previous ?? NO_CORRECTION;
  const base = predict(prev);
  if (!base) return previous ?? NO_CORRECTION;
  const step = (key: keyof Correction, observed: number | undefined): number => {
    const model = key === 'ttft' ? base.ttftMs : base.itlMs;
    if (observed === undefined || !Number.isFinite(observed) || !(observed > 0) || !(model > 0)) {
      return prev[key];
    }
    const nudged = predict({ ...prev, [key]: prev[key] * (1 + PROBE) });
    const nudgedValue = nudged ? (key === 'ttft' ? nudged.ttftMs : nudged.itlMs) : NaN;
    const response =
      nudgedValue > 0 ? Math.log(nudgedValue / model) / Math.log(1 + PROBE) : SATURATED_RESPONSE;
    // A response below 1 (latency not all scaled by the factor) would make the step larger than
    // the gap: keep it at most proportional.
    const gain = settings.smoothing / Math.max(response, 1);
    return clamp(prev[key] * Math.exp(gain * Math.log(observed / model)), settings.min, settings.max);
  };
  return { ttft: step('ttft', obs.ttftMs?.value), itl: step('itl', obs.itlMs?.value) };
}

function clampCorrection(c: Correction, s: CorrectionSettings): Correction {
  return { ttft: clamp(c.ttft, s.min, s.max), itl: clamp(c.itl, s.min, s.max) };
}
