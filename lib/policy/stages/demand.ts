/**
 * Stage 2: the demand to size each variant for, and what the model's error has taught so far.
 * A variant whose arrivals cannot be measured gets no demand: the later stages hold it.
 */
import type { Config } from '../../config/schema.js';
import { NO_CORRECTION, updateCorrection, type Correction } from '../correction.js';
import { estimateDemand, type Demand } from '../demand.js';
import { measurementGaps } from '../partialMeasurement.js';
import { predictAt } from '../predict.js';
import { targetsOf } from '../../config/resolved.js';
import { leadSeconds } from '../window.js';
import type { Observed } from './observe.js';
import { updateTokenHistogram, type TokenHistogram } from '../distribution.js';

export interface Assessed extends Observed {
  /** undefined: no arrival estimate, so the variant holds what runs */
  readonly demand?: Demand;
  /** the latency model's correction to size with */
  readonly correction: Correction;
  /** why the measurement may undercount the load (then the variant may grow, not shrink) */
  readonly gaps: readonly string[];
  /** the token histograms so far, this window's included (lib/policy/distribution.ts) */
  readonly tokenHistogram?: TokenHistogram;
}

/** A variant with a demand: the only kind that is sized. */
export type Measured = Assessed & { readonly demand: Demand };

export const isMeasured = (a: Assessed): a is Measured => a.demand !== undefined;

export function assessDemand(o: Observed, config: Config, now: number): Assessed {
  const { v, current, observation, memory } = o;
  if (!observation?.arrivalRate) return { ...o, correction: memory.correction ?? NO_CORRECTION, gaps: [] };
  const policy = config.policy;
  const demand = estimateDemand(observation, memory, {
    now,
    ttftTargetMs: targetsOf(config, v).ttftMs,
    intervalSeconds: policy.intervalSeconds,
    leadSeconds: leadSeconds(config, v, current.accelerator),
    startingReplicas: [...current.byAccelerator.values()].reduce(
      (a, d) => a + Math.max(d.desired - d.ready, 0),
      0,
    ),
    forecast: policy.forecast,
  });
  const predicted = predictAt(
    config,
    v,
    current.accelerator,
    { ...demand, rate: demand.measured },
    current.ready,
  );
  // Learn only where the model is meant to hold: a replica set that is not overloaded.
  const inRegime =
    predicted !== null && predicted.utilization < 0.9 && (observation.waiting?.value ?? 0) <= current.ready;
  const correction = updateCorrection(
    memory.correction,
    observation,
    inRegime ? predicted : null,
    policy.modelCorrection,
  );
  const tokenHistogram = updateTokenHistogram(
    memory.tokenHistogram,
    observation,
    now,
    policy.itlDistribution.halfLifeSeconds,
  );
  return {
    ...o,
    demand,
    correction,
    gaps: measurementGaps(observation, current, demand.measured),
    tokenHistogram,
  };
}
