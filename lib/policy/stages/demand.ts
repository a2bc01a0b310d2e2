/**
 * Stage 2: the demand to size each variant for, and what the model's error has taught so far.
 * A variant whose arrivals cannot be measured gets no demand: the later stages hold it.
 */
import type { Config } from '../../config/schema.js';
import type { VariantObservation } from '../../metrics/observation.js';
import { NO_CORRECTION, updateCorrection, type Correction } from '../correction.js';
import { estimateDemand, type Demand, type TrendSkillInput } from '../demand.js';
import { measurementGaps } from '../partialMeasurement.js';
import { kvTokensPerRequest } from '../kvBatch.js';
import { predictAt } from '../predict.js';
import { targetsOf } from '../../config/resolved.js';
import { leadSeconds } from '../window.js';
import type { Observed } from './observe.js';
import { updateTokenHistogram, type TokenHistogram } from '../distribution.js';
import { pooledOutputMean, rememberOutputWindow, type OutputWindow } from '../outputMean.js';
import { updateRise, type RiseStats } from '../caution.js';
import { observeSeason, seasonalForecast } from '../seasonal.js';
import { expectedRise, forecastAsExpected, learnsRises } from '../forecastCapacity.js';
import type { ItlMissMemory, ItlMissWindow } from '../itlMissCorrection.js';
import { learnItlMiss } from './itlMiss.js';
import { trendSkillFactor, updateTrendSkill, type TrendSkill } from '../trendSkill.js';

export interface Assessed extends Observed {
  /** undefined: no arrival estimate, so the variant holds what runs */
  readonly demand?: Demand;
  /** the latency model's correction to size with */
  readonly correction: Correction;
  /** why the measurement may undercount the load (then the variant may grow, not shrink) */
  readonly gaps: readonly string[];
  /** the token histograms so far, this window's included (lib/policy/distribution.ts) */
  readonly tokenHistogram?: TokenHistogram;
  /**
   * the model's latency at the load the replicas carried, with the correction learned before this
   * evaluation, beside what they showed: how far the corrected model is off (null: no prediction)
   */
  readonly latency?: LatencyCheck | null;
  /** how far demand rose within one lead time so far, this evaluation's sample included */
  readonly rise?: RiseStats;
  /** the trend's skill so far, this evaluation's judgement included (policy.forecast.skill) */
  readonly trendSkill?: TrendSkill;
  /** the recent windows' output means, this one included (policy.pooledOutputMean) */
  readonly outputWindows?: OutputWindow[];
  /**
   * the factor on the chunked-ITL model's miss share to size with (1: policy.itlMissCorrection
   * off or nothing learnt yet), its pooled evidence and this window's
   */
  readonly itlMissFactor: number;
  readonly itlMiss?: { readonly memory?: ItlMissMemory; readonly window?: ItlMissWindow };
}

export interface LatencyCheck {
  readonly predictedTtftMs: number;
  readonly predictedItlMs: number;
  readonly observedTtftMs: number | null;
  readonly observedItlMs: number | null;
}

/** A variant with a demand: the only kind that is sized. */
export type Measured = Assessed & { readonly demand: Demand };

export const isMeasured = (a: Assessed): a is Measured => a.demand !== undefined;

export function assessDemand(o: Observed, config: Config, now: number): Assessed {
  const { v, current, observation, memory } = o;
  if (!observation?.arrivalRate)
    return {
      ...o,
      correction: memory.correction ?? NO_CORRECTION,
      gaps: [],
      itlMissFactor: itlMissFactor(config, memory.itlMiss),
    };
  const policy = config.policy;
  const lead = leadSeconds(config, v, current.accelerator);
  const seasonal = policy.forecast.seasonal;
  const season = seasonal.enabled
    ? observeSeason(o.season, now, observation.arrivalRate.value, seasonal)
    : undefined;
  // The recent windows' output means, pooled until they know the mean (lib/policy/outputMean.ts).
  const outputWindows = policy.pooledOutputMean.enabled
    ? rememberOutputWindow(
        memory.outputWindows,
        observation.avgOutputTokens && observation.completionRate
          ? {
              t: now,
              seconds: observation.windowSeconds,
              count: observation.completionRate.value * observation.windowSeconds,
              mean: observation.avgOutputTokens.value,
            }
          : undefined,
        policy.itlDistribution.halfLifeSeconds,
      )
    : undefined;
  const pooledOutput = outputWindows && pooledOutputMean(outputWindows);
  // The forecast made a lead time ago judged by what came since (lib/policy/trendSkill.ts).
  const trendSkill = policy.forecast.skill.enabled
    ? updateTrendSkill(memory.trendSkill, memory.demand, {
        now,
        measured: observation.arrivalRate.value,
        leadSeconds: lead,
        halfLifeSeconds: policy.caution.halfLifeSeconds,
        judgedBy: policy.forecast.skill.judgedBy,
      })
    : undefined;
  // learnt either way; applied only where the misses it lets through are measured
  const skillInput = (): TrendSkillInput => {
    const evidence = trendSkill?.judged ?? 0;
    if (!missShareMeasured(config, observation)) return { skill: null, evidence, unpaired: true };
    return { skill: trendSkillFactor(trendSkill, forecastsNeeded(config, lead)) ?? null, evidence };
  };
  const trended = estimateDemand(observation, memory, {
    ...(pooledOutput ? { pooledOutputTokens: pooledOutput.mean } : {}),
    now,
    ttftTargetMs: targetsOf(config, v).ttftMs,
    intervalSeconds: policy.intervalSeconds,
    leadSeconds: lead,
    startingReplicas: [...current.byAccelerator.values()].reduce(
      (a, d) => a + Math.max(d.desired - d.ready, 0),
      0,
    ),
    forecast: policy.forecast,
    ...(policy.forecast.skill.enabled ? { trendSkill: skillInput() } : {}),
    ...(seasonal.enabled ? { seasonal: seasonalForecast(season, now, lead, seasonal.errors) } : {}),
  });
  const rise = learnsRises(policy)
    ? updateRise(memory.rise, memory.demand, {
        now,
        measured: trended.measured,
        leadSeconds: trended.leadSeconds,
        windowSeconds: observation.windowSeconds,
        halfLifeSeconds: policy.caution.halfLifeSeconds,
      })
    : undefined;
  // Replicas bought now serve a lead time later: the forecast only as far as the rise expects.
  const demand = policy.forecastCapacity.buyAsExpected
    ? forecastAsExpected(
        trended,
        expectedRise(policy, rise, trended.leadSeconds),
        1 / observation.windowSeconds,
      )
    : trended;
  // The model at the load the replicas carry, with a correction: what the correction learns against.
  const kv = kvTokensPerRequest(config, { tokenHistogram: memory.tokenHistogram, demand });
  const carried = (c: Correction) =>
    predictAt(
      config,
      v,
      current.accelerator,
      { ...demand, rate: demand.measured, ...(kv !== undefined ? { kvTokensPerRequest: kv } : {}) },
      current.ready,
      c,
    );
  const before = memory.correction ?? NO_CORRECTION;
  const predicted = carried(before);
  // Learn only where the model is meant to hold: a replica set that is not overloaded.
  const inRegime =
    predicted !== null && predicted.utilization < 0.9 && (observation.waiting?.value ?? 0) <= current.ready;
  const correction = updateCorrection(
    memory.correction,
    observation,
    inRegime ? carried : null,
    policy.modelCorrection,
  );
  const tokenHistogram = updateTokenHistogram(
    memory.tokenHistogram,
    observation,
    now,
    policy.itlDistribution.halfLifeSeconds,
  );
  const itlMiss = learnItlMiss(o, config, now, { demand, correction: before, tokenHistogram, inRegime });
  return {
    ...o,
    demand,
    ...(rise ? { rise } : {}),
    ...(trendSkill ? { trendSkill } : {}),
    ...(season ? { season } : {}),
    correction,
    gaps: measurementGaps(observation, current, demand.measured),
    tokenHistogram,
    ...(outputWindows ? { outputWindows } : {}),
    itlMiss,
    itlMissFactor: itlMissFactor(config, itlMiss.memory),
    latency: predicted && {
      predictedTtftMs: predicted.ttftMs,
      predictedItlMs: predicted.itlMs,
      observedTtftMs: observation.ttftMs?.value ?? null,
      observedItlMs: observation.itlMs?.value ?? null,
    },
  };
}

/**
 * Whether the misses are measured and learnt from (policy.itlMissCorrection against the target, on
 * servers exposing the per-request time per token): the skill takes away the headroom the trend
 * bought, and only the loop on the measured misses gives back what they ask for. Without it the
 * skill alone let the day that starts at its peak fall to 98.88% (bench/RESULTS.md, "Issue 14:
 * the trend damped by its skill (branch w20t)"), so the trend is bought whole.
 */
function missShareMeasured(config: Config, observation: VariantObservation): boolean {
  const loop = config.policy.itlMissCorrection;
  return loop.enabled && loop.against === 'target' && observation.requestTpotBuckets !== undefined;
}

/** Forecasts judged before the trend's skill is trusted: as many as one lead time holds evaluations. */
export function forecastsNeeded(config: Config, leadSeconds: number): number {
  return leadSeconds / config.policy.intervalSeconds;
}

/** The factor the sizing uses: the learnt one with policy.itlMissCorrection on, else none. */
function itlMissFactor(config: Config, memory: ItlMissMemory | undefined): number {
  return config.policy.itlMissCorrection.enabled ? (memory?.factor ?? 1) : 1;
}
