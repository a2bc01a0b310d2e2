/**
 * The trend's skill, learnt from the variant's own history (docs/SIZING.md, "The trend damped by
 * its skill", policy.forecast.skill): of the rise the trend forecast over the lead time, the
 * share that came. Each forecast is judged one lead time on (the longest its replicas take to
 * serve), by what came over that lead time: its highest rate (`judgedBy: highest`, the
 * default: replicas asked for serve from their startup on, sooner than the lead time where no
 * node has to be added, and the rise learnt that buys the forecast, lib/policy/caution.ts,
 * measures the same highest) or the rate at its end (`end`: the rate the replicas serve once
 * every one of them is up; stricter, it credits nothing that came and went before). Not the
 * mean over it: that gives a linear rise that came exactly as forecast half its credit.
 *
 * Each forecast rise counts up to what it asked for: came = min(max(rate - rate then, 0),
 * forecast), and the skill is the decayed sum of what came over the decayed sum of the forecast,
 * so it lies in [0, 1] and a large forecast weighs as much as the capacity it bought. The
 * forecast's part of the demand is bought times the skill; the measured rate and the backlog
 * are never scaled.
 */
import { highestSince, leadTimeAgo } from './caution.js';
import type { Demand } from './demand.js';

/** A few decayed sums per variant: what the trend forecast, what of it came, how many forecasts. */
export interface TrendSkill {
  /** the forecast rises judged (req/s), decayed */
  readonly forecast: number;
  /** of them, the rise that came a lead time later (req/s), each up to its forecast, decayed */
  readonly came: number;
  /**
   * forecasts judged since the variant was first seen, not decayed: whether there is a skill to
   * speak of yet (the trend forecasts a rise at a few evaluations an hour, so a decayed count
   * would hover below a lead time's worth on a variant that forecasts all day)
   */
  readonly judged: number;
  /** when the newest forecast judged was made (each is judged once) */
  readonly t: number;
}

/** A measured rate of the variant's history, with the trend's own forecast rise made then, if any. */
export interface TrendPoint {
  readonly t: number;
  readonly rate: number;
  /** the rise the trend forecast over the lead time (req/s), before any skill scaled it */
  readonly trend?: number;
}

export interface SkillContext {
  readonly now: number;
  /** the rate measured now */
  readonly measured: number;
  readonly leadSeconds: number;
  /** evidence loses half its weight over this time */
  readonly halfLifeSeconds: number;
  /** what came: the highest rate over the lead time, or the rate at its end (now) */
  readonly judgedBy: 'highest' | 'end';
}

/**
 * The skill updated with the forecast made a lead time ago (the history's newest point that old),
 * judged by what came since; the previous one when that point forecast no rise, was
 * judged already, or the history does not reach back a lead time.
 */
export function updateTrendSkill(
  previous: TrendSkill | undefined,
  history: readonly TrendPoint[],
  ctx: SkillContext,
): TrendSkill | undefined {
  const origin = leadTimeAgo(history, ctx.now, ctx.leadSeconds);
  if (!origin || !(origin.trend! > 0) || (previous && previous.t >= origin.t)) return previous;
  const forecast = origin.trend!;
  const rate = ctx.judgedBy === 'end' ? ctx.measured : highestSince(history, origin.t, ctx.measured);
  const came = Math.min(Math.max(rate - origin.rate, 0), forecast);
  const decay = previous ? 0.5 ** ((origin.t - previous.t) / ctx.halfLifeSeconds) : 0;
  return {
    forecast: (previous?.forecast ?? 0) * decay + forecast,
    came: (previous?.came ?? 0) * decay + came,
    judged: (previous?.judged ?? 0) + 1,
    t: origin.t,
  };
}

/**
 * The share of its forecast rise the trend is bought for: the skill, once as many forecasts have
 * been judged as one lead time holds evaluations (the evidence the learnt rise waits for too);
 * undefined before, and the forecast is bought whole.
 */
export function trendSkillFactor(stats: TrendSkill | undefined, forecastsNeeded: number): number | undefined {
  if (!stats || stats.judged < forecastsNeeded || !(stats.forecast > 0)) return undefined;
  return Math.min(Math.max(stats.came / stats.forecast, 0), 1);
}

/** Why the trend's forecast is bought as it is, for the decision's message. */
export function describeTrendSkill(trend: NonNullable<Demand['trend']>, forecastsNeeded: number): string {
  if (trend.unpaired)
    return "trend's forecast bought whole: no share of requests over the ITL target is measured (servers before vLLM 0.13, or policy.itlMissCorrection not against the target) to give back the caution its skill would take";
  if (trend.skill === null)
    return `trend's skill not learnt yet (${trend.evidence} of ${Math.ceil(forecastsNeeded)} forecasts judged a lead time on): its forecast bought whole`;
  return `trend's skill ${trend.skill.toFixed(2)} (share of its forecast rises that came a lead time on, ${trend.evidence} forecasts judged): bought ${(trend.rate * trend.skill).toFixed(2)} of its ${trend.rate.toFixed(2)} req/s`;
}
