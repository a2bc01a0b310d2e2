/**
 * Part of stage 3, sizing (policy.burstSizing): the optimizer sized for the rate over the metrics
 * window, which averages a half-minute burst over a quiet minute. Here the recent past's arrivals
 * per step are replayed against fleets of the recommended accelerator, from the normal sizing up,
 * and the recommendation grows to the fewest replicas that would have kept the requests waiting
 * beyond the TTFT budget within the share the attainment goal allows (lib/policy/burstSizing.ts),
 * on devices no variant's sizing takes: a burst never takes another variant's capacity. With
 * policy.burstSizing.itl the same steps size for ITL as well: each step's rate through the ITL
 * cap's model (lib/policy/itlOverSteps.ts). With policy.burstSizing.sharedBudget the two shares
 * share one budget: the fleet grows until their sum is within it (lib/policy/sharedBudget.ts).
 * Without per-step counts nothing changes: missing data never moves a recommendation.
 */
import { budgetBoundReplica, prefillTime } from '../../analyzer/index.js';
import type { Config, VariantConfig } from '../../config/schema.js';
import { DEFAULT_STEP_TOKENS } from '../../optimizer/disaggregated.js';
import { fluidReplay, peakRate, replicasForBursts, type BurstFleet } from '../burstSizing.js';
import { batchBurstShare, replicasForBatchBursts } from '../batchBursts.js';
import { itlShareOverSteps, replicasForItlSteps } from '../itlOverSteps.js';
import { ItlShareModel } from '../../analyzer/chunkedItl.js';
import { fewestReplicasForBoth, type SharedBudgetFleet } from '../sharedBudget.js';
import { learntHeadroom, withHeadroom, type BurstHeadroom } from '../burstHeadroom.js';
import { itlShareInput, trustedDistributions } from '../distribution.js';
import { corrected, type Correction } from '../correction.js';
import { allowedModelShare } from '../itlMissCorrection.js';
import { acceleratorType, devicesPerReplica, profileOf, targetsOf } from '../../config/resolved.js';
import type { Recommendation } from '../recommend.js';
import { isMeasured, type Assessed, type Measured } from './demand.js';
import { correctedReplicaModel } from '../predict.js';
import { kvTokensPerRequest } from '../kvBatch.js';
import { inherentLate } from '../promptSpread.js';

/** What a sizing over the steps found, for the decision record. */
export interface StepSizing {
  readonly stepSeconds: number;
  readonly steps: number;
  /** the busiest step's arrivals per second */
  readonly peakRate: number;
  readonly allowedShare: number;
  /** the replicas asked for and the share missing there; the sizing before and its share */
  readonly replicas: number;
  readonly share: number;
  readonly sizedReplicas: number;
  readonly sizedShare: number;
}

/** What the TTFT replay found: the share is of requests late beyond the budget. */
export interface BurstSizing extends StepSizing {
  /** req/s one replica completes when saturated, at the measured mix */
  readonly perReplicaRate: number;
  /** the TTFT target less the request's own prefill, ms */
  readonly budgetMs: number;
  /** the learnt headroom on the look-back's busiest step (policy.burstSizing.headroom) */
  readonly headroom?: BurstHeadroom;
  /**
   * the share of requests whose own prefill takes longer than the TTFT target, spent before the
   * replay's (policy.burstSizing.promptSpread), and the prompt tokens at which it does
   */
  readonly inherentLateShare?: number;
  readonly prefillLimitTokens?: number;
  /**
   * the part of each step its arrivals were taken to come in, learnt from the prefill pods' TTFT
   * misses (policy.burstSizing.concentration; absent: spread over the step)
   */
  readonly concentration?: number;
}

/** What the ITL sizing over the steps found: the share is of requests missing ITL. */
export type ItlStepSizing = StepSizing;

/** The record of a search over the steps from `sizedReplicas` up. */
export function stepSizing(
  steps: { readonly counts: readonly number[]; readonly stepSeconds: number },
  fleet: BurstFleet,
  sizedReplicas: number,
  allowedShare: number,
): StepSizing {
  return {
    stepSeconds: steps.stepSeconds,
    steps: steps.counts.length,
    peakRate: peakRate(steps.counts, steps.stepSeconds),
    allowedShare,
    replicas: fleet.replicas,
    share: fleet.share,
    sizedReplicas,
    sizedShare: fleet.shareAtLeast,
  };
}

/** What the search for one budget over both shares found (policy.burstSizing.sharedBudget). */
export type SharedBudgetSizing = Omit<SharedBudgetFleet, 'met'> & { readonly allowedShare: number };

/** Reasons whose replica count is not a sizing for demand: a burst has nothing to add to them. */
const NOT_SIZED = new Set(['capacity', 'max-replicas', 'stale-metrics']);

/** The recommendation, raised for bursts where they ask for more, and what the replays found. */
export interface BurstSized {
  readonly recommendation: Recommendation;
  readonly bursts?: BurstSizing;
  readonly itlSteps?: ItlStepSizing;
  readonly sharedBudget?: SharedBudgetSizing;
}

/** A sizing's result and, where it was met, its share at any count, for the shared budget. */
type WithShare<T> = T & { readonly shareAt?: (replicas: number) => number };

type Sizable = Measured & { readonly recommendation: Recommendation };

/**
 * @param free devices per type no variant's sizing takes (undefined: unlimited): more replicas
 *   for a burst come only from them, and take what they use
 */
export function sizeForBursts(
  s: Assessed & { readonly recommendation: Recommendation },
  config: Config,
  free: Map<string, number> | undefined,
): BurstSized {
  const settings = config.policy.burstSizing;
  const steps = s.observation?.arrivalSteps;
  const unchanged = { recommendation: s.recommendation };
  if (!(settings.enabled || settings.itl) || !isMeasured(s) || !steps || steps.counts.length === 0) {
    return unchanged;
  }
  const { recommendation: rec, demand } = s;
  if (NOT_SIZED.has(rec.reason) || !(demand.rate > 0) || rec.accelerator === '') return unchanged;
  // the look-back's busiest step raised to what the next lead time is expected to bring
  const headroom = settings.headroom.enabled ? learntHeadroom(s.memory.bursts, config, steps) : undefined;
  const sized = headroom ? { ...steps, counts: withHeadroom(steps.counts, headroom.factor) } : steps;
  // TTFT first; ITL from what it asked for, on the devices it left
  const ttft: WithShare<BurstSized> = settings.enabled
    ? sizeTtftForSteps(s, config, free, sized, headroom)
    : unchanged;
  const itl: WithShare<BurstSized> = settings.itl
    ? sizeItlForSteps({ ...s, recommendation: ttft.recommendation }, config, free, sized)
    : { recommendation: ttft.recommendation };
  const shared =
    settings.sharedBudget && ttft.shareAt && itl.shareAt
      ? sizeForBoth(
          { ...s, recommendation: itl.recommendation },
          config,
          free,
          ttft.shareAt,
          itl.shareAt,
          ttft.bursts?.inherentLateShare ?? 0,
        )
      : { recommendation: itl.recommendation };
  return {
    recommendation: shared.recommendation,
    ...(ttft.bursts ? { bursts: ttft.bursts } : {}),
    ...(itl.itlSteps ? { itlSteps: itl.itlSteps } : {}),
    ...(shared.sharedBudget ? { sharedBudget: shared.sharedBudget } : {}),
  };
}

/**
 * One budget for both misses (policy.burstSizing.sharedBudget): from what the two sizings asked
 * for, the fewest replicas whose TTFT-late share plus ITL-miss share is within missShare. Only
 * where each sizing met the share on its own: where one could not, more replicas do not help it.
 */
function sizeForBoth(
  s: Sizable,
  config: Config,
  free: Map<string, number> | undefined,
  ttftShareAt: (replicas: number) => number,
  itlShareAt: (replicas: number) => number,
  /** the TTFT-late share no replica count changes (policy.burstSizing.promptSpread) */
  inherentShare: number,
): { recommendation: Recommendation; sharedBudget?: SharedBudgetSizing } {
  const rec = s.recommendation;
  const allowedShare = config.policy.itlDistribution.missShare - inherentShare;
  const spare = spareReplicas(config, s, free);
  const found = fewestReplicasForBoth({
    ttftShareAt,
    itlShareAt,
    allowedShare,
    atLeast: rec.replicas,
    atMost: mostReplicas(s, spare),
  });
  const { met: _met, ...sharedBudget } = { ...found, allowedShare };
  if (found.replicas === rec.replicas) return { recommendation: rec, sharedBudget };
  return {
    sharedBudget,
    recommendation: raised(config, s, free, found.replicas, describeShared(sharedBudget, spare)),
  };
}

/** "one budget: 0.4% late on TTFT and 0.5% missing ITL at 15 replicas (at most 1.0% together), where 14 let 0.5% and 0.7%" */
export function describeShared(b: SharedBudgetSizing, spare = Infinity): string {
  const sum = b.ttftShare + b.itlShare;
  const within = sum <= b.allowedShare;
  const bound = b.replicas - b.sizedReplicas >= spare ? 'the devices left free' : 'maxReplicas';
  return (
    `one budget for TTFT and ITL: ${pct(b.ttftShare)} late on TTFT and ${pct(b.itlShare)} missing ITL at ${b.replicas} replicas ` +
    `${within ? `(at most ${pct(b.allowedShare)} together)` : `(more than ${pct(b.allowedShare)} together: ${bound})`}, ` +
    `where ${b.sizedReplicas} let ${pct(b.sizedTtftShare)} and ${pct(b.sizedItlShare)}`
  );
}

/** Replicas of the recommended accelerator the free devices hold (Infinity: unlimited). */
function spareReplicas(config: Config, s: Sizable, free: Map<string, number> | undefined): number {
  const type = acceleratorType(config, s.recommendation.accelerator);
  const per = devicesPerReplica(config, s.v, s.recommendation.accelerator);
  return free && type ? Math.max(Math.floor((free.get(type) ?? 0) / per), 0) : Infinity;
}

/** The most replicas a burst may ask for: maxReplicas, and the free devices. */
function mostReplicas(s: Sizable, spare: number): number {
  const rec = s.recommendation;
  return Math.max(Math.min(s.v.maxReplicas ?? Infinity, rec.replicas + spare), rec.replicas);
}

/** The recommendation at `replicas`, the devices added taken from the free ones. */
function raised(
  config: Config,
  s: Sizable,
  free: Map<string, number> | undefined,
  replicas: number,
  why: string,
): Recommendation {
  const rec = s.recommendation;
  const type = acceleratorType(config, rec.accelerator);
  const per = devicesPerReplica(config, s.v, rec.accelerator);
  if (free && type) free.set(type, (free.get(type) ?? 0) - (replicas - rec.replicas) * per);
  return { ...rec, replicas, message: `${rec.message}; ${why}` };
}

type Steps = NonNullable<NonNullable<Assessed['observation']>['arrivalSteps']>;

function sizeTtftForSteps(
  s: Sizable,
  config: Config,
  free: Map<string, number> | undefined,
  steps: Steps,
  headroom?: BurstHeadroom,
): WithShare<BurstSized> {
  const { recommendation: rec, demand } = s;
  const unchanged = { recommendation: rec };
  const kv = kvTokensPerRequest(config, s);
  const replica = saturatedReplica(
    config,
    s.v,
    rec.accelerator,
    { ...demand, ...(kv !== undefined ? { kvTokensPerRequest: kv } : {}) },
    s.correction,
  );
  if (!replica) return unchanged;
  const budgetMs = targetsOf(config, s.v).ttftMs - replica.prefillMs;
  // a budget the request's own prefill already spends cannot be met by more replicas
  if (!(budgetMs > 0)) return unchanged;
  const spare = spareReplicas(config, s, free);
  const missShare = config.policy.itlDistribution.missShare;
  // policy.burstSizing.promptSpread: the requests whose own prefill is too long are late however
  // many replicas there are; queueing may take only what the goal leaves beyond them
  const inherent = inherentLate(config, s, rec.accelerator);
  const allowedShare = Math.max(missShare - (inherent?.share ?? 0), 0);
  const asked = {
    counts: steps.counts,
    stepSeconds: steps.stepSeconds,
    budgetSeconds: budgetMs / 1000,
    allowedShare,
    atLeast: rec.replicas,
    atMost: mostReplicas(s, spare),
  };
  // policy.kvBatch, where the profile gives the cache: the batch's places, as the engine admits,
  // beside the prefill's throughput (lib/policy/batchBursts.ts)
  const byPlaces = kv !== undefined && profileOf(config, s.v, rec.accelerator)?.kvCacheTokens !== undefined;
  const places = byPlaces
    ? {
        ...asked,
        prefillRate: replica.steppedRate,
        slots: replica.batch,
        holdSeconds: replica.batch / replica.batchRate,
      }
    : undefined;
  // the late share at n replicas by the same replay the fleet is sized with
  const replayShare = (n: number) =>
    places
      ? batchBurstShare(places, n)
      : fluidReplay(steps.counts, steps.stepSeconds, n * replica.rate, budgetMs / 1000).share;
  const cannotMeet = inherent !== undefined && !(allowedShare > 0);
  const fleet = cannotMeet
    ? // nothing left for queueing: no count meets the goal, so the normal sizing is kept
      {
        replicas: rec.replicas,
        share: replayShare(rec.replicas),
        shareAtLeast: replayShare(rec.replicas),
        met: false,
      }
    : places
      ? replicasForBatchBursts(places)
      : replicasForBursts({ ...asked, perReplica: replica.rate });
  const bursts: BurstSizing = {
    ...stepSizing(steps, fleet, rec.replicas, allowedShare),
    perReplicaRate: replica.rate,
    budgetMs,
    ...(headroom ? { headroom } : {}),
    ...(inherent ? { inherentLateShare: inherent.share } : {}),
    ...(inherent && Number.isFinite(inherent.tokens) ? { prefillLimitTokens: inherent.tokens } : {}),
  };
  if (cannotMeet) {
    const why = describeCannotMeet(inherent.share, inherent.tokens, missShare, rec.accelerator);
    return { bursts, recommendation: { ...rec, message: `${rec.message}; ${why}` } };
  }
  const shareAt = fleet.met ? { shareAt: replayShare } : {};
  if (fleet.replicas === rec.replicas && fleet.met) return { recommendation: rec, bursts, ...shareAt };
  return {
    bursts,
    ...shareAt,
    recommendation: raised(config, s, free, fleet.replicas, describeBursts(bursts, spare)),
  };
}

/**
 * The ITL cap's model (the recommended accelerator's corrected profile, the trusted token
 * distributions, the ITL target) over the steps' rates (lib/policy/itlOverSteps.ts). Without
 * trusted histograms the cap was not there either: nothing changes.
 */
function sizeItlForSteps(
  s: Sizable,
  config: Config,
  free: Map<string, number> | undefined,
  steps: Steps,
): WithShare<{ recommendation: Recommendation; itlSteps?: ItlStepSizing }> {
  const { recommendation: rec, demand } = s;
  const unchanged = { recommendation: rec };
  const settings = config.policy.itlDistribution;
  const itlTargetMs = targetsOf(config, s.v).itlMs;
  const configured = profileOf(config, s.v, rec.accelerator);
  if (!settings.enabled || !(itlTargetMs > 0) || !configured) return unchanged;
  const distributions = trustedDistributions(
    s.tokenHistogram,
    { input: demand.inputTokens, output: demand.outputTokens },
    settings.missShare,
  );
  if (!distributions) return unchanged;
  const spare = spareReplicas(config, s, free);
  // the model's share times the factor learnt from the replicas (policy.itlMissCorrection) within
  // the allowed share: the search compares the model's own share with the allowed one over it
  const factor = s.itlMissFactor;
  const share = itlShareInput({
    profile: corrected(configured, s.correction),
    stepBudget: configured.maxBatchedTokens,
    ...distributions,
    itlTargetMs,
  });
  const found = replicasForItlSteps({
    counts: steps.counts,
    stepSeconds: steps.stepSeconds,
    share,
    allowedShare: allowedModelShare(settings.missShare, factor),
    atLeast: rec.replicas,
    atMost: mostReplicas(s, spare),
  });
  // recorded as the corrected shares against the allowed one
  const fleet = { ...found, share: found.share * factor, shareAtLeast: found.shareAtLeast * factor };
  const itlSteps = stepSizing(steps, fleet, rec.replicas, settings.missShare);
  // the corrected share at any count, for the shared budget (policy.burstSizing.sharedBudget)
  const model = found.met ? new ItlShareModel(share) : undefined;
  const shareAt = model
    ? { shareAt: (n: number) => itlShareOverSteps(model, steps.counts, steps.stepSeconds, n) * factor }
    : {};
  if (fleet.replicas === rec.replicas) return { recommendation: rec, itlSteps, ...shareAt };
  return {
    itlSteps,
    ...shareAt,
    recommendation: raised(config, s, free, fleet.replicas, describeItlSteps(itlSteps, spare, factor)),
  };
}

/** "bursts: 1.4% of the prompts are over 99850 tokens, whose prefill alone on L40S takes longer than TTFT ..." */
export function describeCannotMeet(
  share: number,
  tokens: number,
  missShare: number,
  accelerator: string,
): string {
  return (
    `bursts: ${pct(share)} of the prompts are over ${Math.round(tokens)} tokens, whose prefill alone on ${accelerator} ` +
    `takes longer than the TTFT target, at least the ${pct(missShare)} the goal allows late: ${accelerator} cannot meet it ` +
    `at any replica count; the normal sizing kept`
  );
}

/** "ITL over 15-s steps: sized for 14 replicas so that 0.9% (at most 1.0%) miss ITL, where 12 let 2.1%" */
export function describeItlSteps(b: ItlStepSizing, spare = Infinity, missFactor = 1): string {
  return (
    `ITL over ${b.stepSeconds}-s steps (peaks of ${b.peakRate.toFixed(1)} req/s over the last ${Math.round(b.steps * b.stepSeconds)} s): ` +
    `sized for ${b.replicas} replicas so that ${shareAsked(b, spare)} miss ITL, ` +
    `where ${b.sizedReplicas} let ${pct(b.sizedShare)}` +
    (missFactor !== 1 ? ` (the model's share x${missFactor.toFixed(2)}, as the replicas showed it)` : '')
  );
}

/** A share as a percentage, with two decimals below 0.1%. */
export const pct = (x: number) => `${(x * 100).toFixed(x < 0.001 ? 2 : 1)}%`;

/** "0.8% (at most 1.0%)", or "3.1% (more than 1.0%: maxReplicas)" where the bound stopped it */
export function shareAsked(b: StepSizing, spare: number): string {
  const bound = b.replicas - b.sizedReplicas >= spare ? 'the devices left free' : 'maxReplicas';
  const within = b.share <= b.allowedShare;
  return `${pct(b.share)} ${within ? `(at most ${pct(b.allowedShare)})` : `(more than ${pct(b.allowedShare)}: ${bound})`}`;
}

/** "bursts: 15-s peaks of 38.1 req/s; sized for 13 replicas so that 0.8% (at most 1%) wait beyond TTFT ..." */
export function describeBursts(b: BurstSizing, spare = Infinity, less = 'prefill', of = 'replica'): string {
  return (
    `bursts: ${b.stepSeconds}-s peaks of ${b.peakRate.toFixed(1)} req/s over the last ${Math.round(b.steps * b.stepSeconds)} s; ` +
    `sized for ${b.replicas} ${of === 'replica' ? 'replicas' : `${of}s`} so that ${shareAsked(b, spare)} ` +
    `would wait beyond TTFT less ${less} (${Math.round(b.budgetMs)} ms) at ${b.perReplicaRate.toFixed(2)} req/s a ${of} saturated, ` +
    `where ${b.sizedReplicas} let ${pct(b.sizedShare)}` +
    (b.inherentLateShare !== undefined
      ? `, besides the ${pct(b.inherentLateShare)} whose prompts (over ${Math.round(b.prefillLimitTokens ?? Infinity)} tokens) take longer than TTFT to prefill alone`
      : '') +
    (b.headroom ? `; ${describeHeadroom(b.headroom)}` : '') +
    (b.concentration !== undefined && b.concentration < 1
      ? `; each step's arrivals within its first ${(b.concentration * b.stepSeconds).toFixed(1)} s (concentration ${b.concentration.toFixed(2)} learnt from the prefill pods' TTFT misses)`
      : '')
  );
}

/** "the look-back's peak of 13.7 req/s raised x1.64: ..." or "no burst history yet (2 of 4 lead times)" */
export function describeHeadroom(h: BurstHeadroom): string {
  if (h.confidence === undefined) {
    const dropped = h.dropped ? ', the stored one unreadable and dropped' : '';
    return `no burst history yet (${h.samples} of ${h.minSamples} lead times seen${dropped})`;
  }
  return (
    `the look-back's peak of ${h.lookbackPeakRate.toFixed(1)} req/s raised x${h.factor.toFixed(2)}: ` +
    `the next lead time's peak over the look-back's, at the ${pct(h.confidence)} quantile of the last ${h.samples} lead times ` +
    `(their busiest steps held ${pct(h.peakShare ?? 1)} of their arrivals)`
  );
}

/**
 * One replica's throughput when saturated at the measured mix: the queue model's rate with its
 * batch full, or less where the engine's step budget bounds it (long prompts, short answers);
 * and a request's own prefill at that load, which the TTFT target must leave room for.
 */
function saturatedReplica(
  config: Config,
  v: VariantConfig,
  accelerator: string,
  demand: {
    readonly inputTokens: number;
    readonly outputTokens: number;
    readonly kvTokensPerRequest?: number;
  },
  correction: Correction,
): { rate: number; prefillMs: number; batch: number; batchRate: number; steppedRate: number } | undefined {
  const configured = profileOf(config, v, accelerator);
  if (!configured) return undefined;
  try {
    const built = correctedReplicaModel(config, v, accelerator, demand, correction);
    if (!built) return undefined;
    const { profile: p, batch: n, model } = built;
    const stepped = budgetBoundReplica(
      p,
      demand.inputTokens,
      demand.outputTokens,
      configured.maxBatchedTokens ?? DEFAULT_STEP_TOKENS,
    );
    // invMu holds ms per request with k in the batch: the batch full is the fastest it gets
    const batchRate = 1000 / model.invMu[n - 1]!;
    return {
      rate: Math.min(batchRate, stepped.rate),
      prefillMs: Math.max(prefillTime(p, demand.inputTokens, 1), stepped.prefillMs),
      batch: n,
      batchRate,
      steppedRate: stepped.rate,
    };
  } catch {
    return undefined;
  }
}
