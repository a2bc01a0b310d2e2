/**
 * Demand to size for: measured arrivals, plus the backlog to drain, plus the rise expected
 * before new capacity can be ready (docs/SIZING.md section 6).
 */
import type { VariantObservation } from '../metrics/observation.js';
import type { VariantMemory } from './memory.js';
import type { SeasonalForecast } from './seasonal.js';

export interface ForecastSettings {
  readonly enabled: boolean;
  readonly horizonSeconds: number;
  readonly maxGrowth: number;
}

export interface DemandContext {
  readonly now: number;
  readonly ttftTargetMs: number;
  readonly intervalSeconds: number;
  /** time for new capacity to serve: replica startup, plus node provisioning when nodes are needed */
  readonly leadSeconds: number;
  /** replicas asked for and not ready yet */
  readonly startingReplicas: number;
  readonly forecast: ForecastSettings;
  /** what the variant's learnt season expects within the lead time (policy.forecast.seasonal) */
  readonly seasonal?: SeasonalForecast;
  /** the mean output pooled over recent windows (lib/policy/outputMean.ts), before the last window's */
  readonly pooledOutputTokens?: number;
  /**
   * the trend's skill learnt so far (policy.forecast.skill, lib/policy/trendSkill.ts): its
   * forecast rise is bought times the skill; null: too few forecasts judged, bought whole
   */
  readonly trendSkill?: TrendSkillInput;
}

export interface TrendSkillInput {
  readonly skill: number | null;
  /** forecasts judged so far */
  readonly evidence: number;
  /**
   * the skill is not applied: no share of requests over the ITL target is measured, so nothing
   * would give back the caution the skill takes (the trend bought whole)
   */
  readonly unpaired?: true;
}

export interface Demand {
  /** req/s to size for */
  readonly rate: number;
  readonly measured: number;
  readonly backlogRate: number;
  readonly forecastRate: number;
  /** the time new capacity takes to serve: what the forecast looks ahead over */
  readonly leadSeconds: number;
  /** the season's forecast over the lead time, or why there is none (seasonal forecasting on) */
  readonly seasonal?: SeasonalForecast;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** which term made the difference */
  readonly driver: 'load' | 'backlog' | 'forecast';
  /**
   * the rise learnt expected within the lead time, and the trend's forecast before it was cut to
   * what that rise expects (policy.forecastCapacity.buyAsExpected)
   */
  readonly expected?: { readonly rise: number; readonly forecastRate: number };
  /**
   * the trend's own forecast rise (req/s, before its skill scaled it) and the skill it was
   * bought with (policy.forecast.skill)
   */
  readonly trend?: TrendSkillInput & { readonly rate: number };
}

/** Which term of the demand made the difference. */
export function demandDriver(backlogRate: number, forecastRate: number): Demand['driver'] {
  if (backlogRate > forecastRate) return backlogRate > 0 ? 'backlog' : 'load';
  return forecastRate > 0 ? 'forecast' : 'load';
}

/** Token sizes assumed before a variant has ever completed a request. */
const DEFAULT_TOKENS = { input: 512, output: 128 };

/** Least-squares slope of rate over time, req/s per second. */
export function trendSlope(points: readonly { t: number; rate: number }[]): number {
  if (points.length < 3) return 0;
  const n = points.length;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const mr = points.reduce((a, p) => a + p.rate, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.rate - mr);
    den += (p.t - mt) ** 2;
  }
  return den > 0 ? num / den : 0;
}

/**
 * The rise of rate over time (req/s per second) that the points show beyond their own noise: the
 * least-squares slope less two of its standard errors, never below zero. Arrivals counted over a
 * minute wander by their square root; a slope drawn from that wander, extrapolated over a
 * quarter-hour lead time, would buy capacity for nothing at every evaluation.
 */
export function significantRise(
  points: readonly { t: number; rate: number }[],
  /** how many points share each count: windows longer than the spacing overlap */
  overlap = 1,
): number {
  const n = points.length;
  if (n < 3) return 0;
  const slope = trendSlope(points);
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const mr = points.reduce((a, p) => a + p.rate, 0) / n;
  let sxx = 0;
  let sse = 0;
  for (const p of points) sxx += (p.t - mt) ** 2;
  for (const p of points) sse += (p.rate - (mr + slope * (p.t - mt))) ** 2;
  if (!(sxx > 0)) return 0;
  // Points whose windows overlap are not independent: n points carry n / overlap counts' worth.
  const standardError = Math.sqrt((sse / (n - 2) / sxx) * Math.max(overlap, 1));
  return Math.max(slope - 2 * standardError, 0);
}

/** Requires obs.arrivalRate (the caller holds the variant otherwise). */
export function estimateDemand(obs: VariantObservation, memory: VariantMemory, ctx: DemandContext): Demand {
  const measured = obs.arrivalRate!.value;
  // Drain what waits within the TTFT target, but no faster than one evaluation can notice. While
  // replicas are starting, the backlog has already been answered: counting it again at every
  // evaluation would pile up replicas for the same waiting requests.
  const drainSeconds = Math.max(ctx.ttftTargetMs / 1000, ctx.intervalSeconds);
  const backlogRate = ctx.startingReplicas > 0 ? 0 : (obs.waiting?.value ?? 0) / drainSeconds;
  let forecastRate = 0;
  let trend: Demand['trend'];
  if (ctx.forecast.enabled) {
    const recent = memory.demand.filter((p) => p.t >= ctx.now - ctx.forecast.horizonSeconds);
    // Only rises are extrapolated (scaling down waits for the stabilisation window anyway), and
    // only what stands out of the measurement's noise.
    const overlap = obs.windowSeconds / ctx.intervalSeconds;
    const cap = measured * (ctx.forecast.maxGrowth - 1);
    const trended = Math.min(
      significantRise([...recent, { t: ctx.now, rate: measured }], overlap) * ctx.leadSeconds,
      cap,
    );
    // Only the trend's part is scaled by its skill: what is measured and the season's forecast are not.
    const skill = ctx.trendSkill?.skill ?? 1;
    if (ctx.trendSkill) trend = { ...ctx.trendSkill, rate: trended };
    // The season's highest rate within the lead time (with two of its errors) beyond what is
    // measured: the morning ramp met before it comes.
    const seasonal = ctx.seasonal?.kind === 'forecast' ? Math.max(ctx.seasonal.rate - measured, 0) : 0;
    forecastRate = Math.min(Math.max(trended * skill, seasonal), cap);
  }
  const tokens = {
    input: obs.avgInputTokens?.value ?? memory.lastTokens?.input ?? DEFAULT_TOKENS.input,
    // The output the requests arriving now will ask for, bucket by bucket of their prompts
    // (docs/GATEWAY.md, "Output length by input bucket"), before the mean of what completed over
    // the recent windows that know it (docs/SIZING.md, "The mean output of a heavy tail").
    output:
      obs.outputByInputBucket?.expectedOutputTokens ??
      ctx.pooledOutputTokens ??
      obs.avgOutputTokens?.value ??
      memory.lastTokens?.output ??
      DEFAULT_TOKENS.output,
  };
  const driver = demandDriver(backlogRate, forecastRate);
  return {
    rate: measured + backlogRate + forecastRate,
    measured,
    backlogRate,
    forecastRate,
    leadSeconds: ctx.leadSeconds,
    ...(ctx.seasonal ? { seasonal: ctx.seasonal } : {}),
    inputTokens: tokens.input,
    outputTokens: Math.max(tokens.output, 1),
    driver,
    ...(trend ? { trend } : {}),
  };
}
