/**
 * Part of stage 2: the ITL miss share the variant's replicas showed over the window beside the
 * chunked-ITL model's at the load they carried, pooled into the factor on the model's share
 * (policy.itlMissCorrection; lib/policy/itlMissCorrection.ts). The model is the one the ITL cap
 * and the ITL sizing over steps use: the serving accelerator's profile with the latency
 * correction learnt so far, the trusted token distributions and the ITL target. Against the
 * outcome (against: 'target') the window is compared with the misses the allowed share allowed it
 * instead, and the model is not read here.
 */
import { ItlShareModel } from '../../analyzer/chunkedItl.js';
import type { Config } from '../../config/schema.js';
import { profileOf, targetsOf } from '../../config/resolved.js';
import { corrected, type Correction } from '../correction.js';
import { itlShareInput, trustedDistributions, type TokenHistogram } from '../distribution.js';
import {
  allowedModelShare,
  itlMissBasis,
  predictedMissShare,
  readThroughBucket,
  requestsOverTarget,
  updateItlMiss,
  type ItlMissMemory,
  type ItlMissWindow,
} from '../itlMissCorrection.js';
import type { Demand } from '../demand.js';
import type { Observed } from './observe.js';

/** The evidence of this window and the memory it leaves; the memory as it was when the flag is off. */
export function learnItlMiss(
  o: Observed,
  config: Config,
  now: number,
  context: {
    readonly demand: Demand;
    /** the latency correction the prediction is made with (learnt before this evaluation) */
    readonly correction: Correction;
    readonly tokenHistogram: TokenHistogram | undefined;
    /** the fleet is where the model is meant to hold (not overloaded): else nothing is learnt */
    readonly inRegime: boolean;
  },
): { memory?: ItlMissMemory; window?: ItlMissWindow } {
  const settings = config.policy.itlMissCorrection;
  const previous = o.memory.itlMiss;
  if (!settings.enabled) return previous ? { memory: previous } : {};
  const { v, current, observation } = o;
  const itlTargetMs = targetsOf(config, v).itlMs;
  const configured = profileOf(config, v, current.accelerator);
  if (v.roles !== undefined || !configured || !(itlTargetMs > 0)) return previous ? { memory: previous } : {};
  const allowedShare = config.policy.itlDistribution.missShare;
  const basis = itlMissBasis(current.accelerator, configured, itlTargetMs);
  const ctx = { now, windowSeconds: observation?.windowSeconds ?? 0, basis, allowedShare };
  const window = windowEvidence();
  const memory = updateItlMiss(previous, window, ctx, settings);
  return { ...(memory ? { memory } : {}), ...(window ? { window } : {}) };

  function windowEvidence(): ItlMissWindow | undefined {
    const { demand, tokenHistogram } = context;
    const observed =
      observation?.requestTpotBuckets && requestsOverTarget(observation.requestTpotBuckets, itlTargetMs);
    // only the serving accelerator's replicas behind the histogram, and a fleet not overloaded
    const elsewhere = [...current.byAccelerator].some(
      ([acc, d]) => acc !== current.accelerator && d.ready > 0,
    );
    if (!observed || !context.inRegime || elsewhere || !(current.ready > 0) || !configured) return undefined;
    const distributions = trustedDistributions(
      tokenHistogram,
      { input: demand.inputTokens, output: demand.outputTokens },
      allowedShare,
    );
    if (!distributions) return undefined;
    if (settings.against === 'target') {
      // the outcome judges the factor only where the fleet stood at the size it asked for: misses
      // while replicas start are the lag's (burst sizing and the forecast answer for those)
      if (current.ready < current.desired) return undefined;
      // the misses the sizing allowed these requests with the factor in force
      const inForce = previous?.basis === basis ? previous.factor : undefined;
      const predictedShare = allowedModelShare(allowedShare, inForce);
      return { requests: observed.requests, misses: observed.misses, predictedShare };
    }
    // the model at the target, or at the bounds of the bucket holding it (read as the histogram is)
    const shareOver = (targetMs: number) =>
      predictedMissShare(
        new ItlShareModel(
          itlShareInput({
            profile: corrected(configured, context.correction),
            stepBudget: configured.maxBatchedTokens,
            ...distributions,
            itlTargetMs: targetMs,
          }),
        ),
        {
          rate: demand.measured,
          replicas: current.ready,
          windowSeconds: observation.windowSeconds,
          ...(observation.arrivalSteps ? { steps: observation.arrivalSteps } : {}),
        },
      );
    const predictedShare = readThroughBucket(shareOver, itlTargetMs, observed.bucket);
    return { requests: observed.requests, misses: observed.misses, predictedShare };
  }
}
