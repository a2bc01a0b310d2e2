/**
 * Stage 6: what the evaluation leaves behind: the memory for the next one and the decision
 * record per variant, with what it was decided from.
 */
import type { Config, VariantConfig } from '../../config/schema.js';
import type { VariantObservation } from '../../metrics/observation.js';
import { DECISION_VERSION, type DecisionRecord } from '../decisionRecord.js';
import type { VariantMemory } from '../memory.js';
import { predictAt } from '../predict.js';
import { kvTokensPerRequest } from '../kvBatch.js';
import { configHash } from '../../config/hash.js';
import { deploymentName } from '../../config/resolved.js';
import { leadSeconds, longestWindow } from '../window.js';
import { learnsRises } from '../forecastCapacity.js';
import { nextBurstHistory } from '../burstHeadroom.js';
import type { Guarded } from './guards.js';
import { forecastsNeeded } from './demand.js';
import { describeTrendSkill } from '../trendSkill.js';

/** The variant's memory after this evaluation: the previous one advanced by what was decided. */
export function remember(g: Guarded, config: Config, now: number): VariantMemory {
  const { v, memory: mem, demand, observation } = g;
  // the ITL miss factor as this evaluation left it (none: another accelerator or profile started
  // afresh); a variant without a demand learnt nothing and keeps its own
  const { itlMiss: _before, bursts: _bursts, ...kept } = mem;
  const bursts = nextBurstHistory(
    mem.bursts,
    observation?.arrivalSteps,
    config,
    leadSeconds(config, g.v, g.accelerator || g.current.accelerator),
  );
  const itlMiss = g.itlMiss ? g.itlMiss.memory : mem.itlMiss;
  const next: VariantMemory = {
    ...kept,
    correction: demand ? { ...g.correction } : mem.correction,
    tokenHistogram: g.tokenHistogram ?? mem.tokenHistogram,
    ...(g.outputWindows || mem.outputWindows ? { outputWindows: g.outputWindows ?? mem.outputWindows } : {}),
    ...(itlMiss ? { itlMiss: { ...itlMiss } } : {}),
    sequence: mem.sequence + 1,
    recommendations: mem.recommendations.filter((r) => r.t > now - longestWindow(config, v, r.accelerator)),
    // the trend's history, and a lead time of it for the rises (lib/policy/caution.ts)
    demand: mem.demand.filter((p) => p.t > now - demandHistorySeconds(config, g)),
    ...(g.rise ? { rise: { ...g.rise } } : {}),
    ...(g.trendSkill ? { trendSkill: { ...g.trendSkill } } : {}),
    ...(bursts ? { bursts } : {}),
  };
  if (demand) {
    // A hold learns nothing about demand: its arrivals were not measured.
    // with the trend's own forecast rise, judged a lead time on (policy.forecast.skill)
    next.demand.push({
      t: now,
      rate: demand.measured,
      ...(demand.trend && demand.trend.rate > 0 ? { trend: demand.trend.rate } : {}),
    });
    if (demand.measured > 0) next.lastArrivalAt = now;
    if (observation?.avgInputTokens && observation.avgOutputTokens) {
      next.lastTokens = { input: demand.inputTokens, output: demand.outputTokens };
    }
    const preferred = g.preferred;
    const reference = config.policy.spill.enabled && g.accelerator ? g.accelerator : g.current.accelerator;
    next.otherAccelerator =
      preferred && preferred !== reference
        ? {
            accelerator: preferred,
            since: mem.otherAccelerator?.accelerator === preferred ? mem.otherAccelerator.since : now,
          }
        : undefined;
  }
  if (g.windowEntry) {
    next.recommendations.push(g.windowEntry);
    next.observedSince ??= now;
  }
  return Object.assign(next, g.windowMemory);
}

function demandHistorySeconds(config: Config, g: Guarded): number {
  const policy = config.policy;
  const lead =
    learnsRises(policy) || policy.forecast.skill.enabled
      ? leadSeconds(config, g.v, g.current.accelerator)
      : 0;
  return Math.max(policy.forecast.horizonSeconds, lead + policy.intervalSeconds);
}

export interface RecordContext {
  readonly pool: string;
  readonly poolSequence: number;
  /** the policy memory's generation: apply compares sequences only within one */
  readonly generation?: number;
  readonly config: Config;
  readonly now: number;
}

/** What every decision record starts with: which decision of which variant, made when and by what config. */
export function recordHeader(
  ctx: RecordContext,
  v: Pick<VariantConfig, 'name' | 'namespace' | 'model'>,
  key: string,
  sequence: number,
) {
  return {
    version: DECISION_VERSION,
    id: `${key}#${sequence}`,
    pool: ctx.pool,
    poolSequence: ctx.poolSequence,
    ...(ctx.generation !== undefined ? { generation: ctx.generation } : {}),
    variant: v.name,
    namespace: v.namespace,
    model: v.model,
    sequence,
    issuedAt: new Date(ctx.now * 1000).toISOString(),
    configHash: configHash(ctx.config),
  } as const;
}

export function decisionRecord(g: Guarded, sequence: number, ctx: RecordContext): DecisionRecord {
  const { v, current, observation: obs, demand } = g;
  const currentOnTarget = current.byAccelerator.get(g.accelerator)?.desired ?? 0;
  const action = !demand
    ? 'hold'
    : g.migrating
      ? 'migrate'
      : g.target > currentOnTarget
        ? 'scale-up'
        : g.target < currentOnTarget
          ? 'scale-down'
          : 'none';
  return {
    ...recordHeader(ctx, v, g.key, sequence),
    accelerator: g.accelerator,
    targetReplicas: g.target,
    currentReplicas: current.desired,
    action,
    reason: g.reason,
    // a variant without a season yet says so
    message: decisionMessage(g, ctx.config),
    deployments: [...g.deployments]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([accelerator, replicas]) => ({
        accelerator,
        deployment: deploymentName(ctx.config, v, accelerator),
        replicas,
      })),
    ...(g.spill ? { spill: { ...g.spill } } : {}),
    prediction: demand
      ? predictAt(ctx.config, v, g.accelerator, withKv(ctx.config, g), g.target, g.correction)
      : null,
    inputs: {
      arrivalRate: obs?.arrivalRate?.value ?? null,
      completionRate: obs?.completionRate?.value ?? null,
      demandRate: demand?.rate ?? null,
      avgInputTokens: demand?.inputTokens ?? obs?.avgInputTokens?.value ?? null,
      avgOutputTokens: demand?.outputTokens ?? obs?.avgOutputTokens?.value ?? null,
      waiting: obs?.waiting?.value ?? null,
      running: obs?.running?.value ?? null,
      readyReplicas: obs?.readyReplicas?.value ?? null,
      modelCorrection: demand ? { ...g.correction } : null,
      demand: demand
        ? {
            measured: demand.measured,
            backlogRate: demand.backlogRate,
            forecastRate: demand.forecastRate,
            leadSeconds: demand.leadSeconds,
            ...(demand.expected ? { expected: { ...demand.expected } } : {}),
            ...(demand.seasonal ? { seasonal: { ...demand.seasonal } } : {}),
            ...(demand.trend ? { trend: { ...demand.trend } } : {}),
          }
        : null,
      latency: demand ? (g.latency ?? null) : null,
      ...(g.bursts ? { bursts: { ...g.bursts } } : {}),
      ...(g.itlSteps ? { itlSteps: { ...g.itlSteps } } : {}),
      ...(g.sharedBudget ? { sharedBudget: { ...g.sharedBudget } } : {}),
      ...(ctx.config.policy.itlMissCorrection.enabled && demand ? { itlMiss: itlMissInputs(g) } : {}),
      metricTimestamps: metricTimestamps(obs),
      stale: [...(obs?.stale ?? [])],
      missing: obs ? [...obs.missing] : ['(no observation)'],
    },
  };
}

/** The decision's message, with what it should say of the forecast: no season yet, the trend's skill. */
function decisionMessage(g: Guarded, config: Config): string {
  const demand = g.demand;
  const notes = [
    ...(demand?.seasonal?.kind === 'no-history' ? [demand.seasonal.note] : []),
    ...(demand?.trend && demand.trend.rate > 0
      ? [describeTrendSkill(demand.trend, forecastsNeeded(config, demand.leadSeconds))]
      : []),
  ];
  return [g.message, ...notes].join('; ');
}

/** The factor on the ITL model's miss share, its pooled evidence and this window's (policy.itlMissCorrection). */
function itlMissInputs(g: Guarded): NonNullable<DecisionRecord['inputs']['itlMiss']> {
  const pool = g.itlMiss?.memory;
  const w = g.itlMiss?.window;
  return {
    factor: g.itlMissFactor,
    pooled: pool ? { requests: pool.requests, misses: pool.misses, predicted: pool.predicted } : null,
    window: w ? { requests: w.requests, misses: w.misses, predictedShare: w.predictedShare } : null,
  };
}

/** When each source's estimate was taken, by source. */
function metricTimestamps(obs: VariantObservation | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!obs) return out;
  for (const e of [
    obs.arrivalRate,
    obs.completionRate,
    obs.avgInputTokens,
    obs.avgOutputTokens,
    obs.waiting,
    obs.running,
    obs.readyReplicas,
  ]) {
    if (e) out[e.source] = e.timestamp;
  }
  return out;
}

/** The demand with the KV a request in flight holds where policy.kvBatch sizes the batch by it. */
function withKv(
  config: Config,
  g: Guarded,
): NonNullable<Guarded['demand']> & { kvTokensPerRequest?: number } {
  const kv = kvTokensPerRequest(config, g);
  return { ...g.demand!, ...(kv !== undefined ? { kvTokensPerRequest: kv } : {}) };
}
