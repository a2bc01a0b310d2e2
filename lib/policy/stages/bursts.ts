/**
 * Part of stage 3, sizing (policy.burstSizing): the optimizer sized for the rate over the metrics
 * window, which averages a half-minute burst over a quiet minute. Here the recent past's arrivals
 * per step are replayed against fleets of the recommended accelerator, from the normal sizing up,
 * and the recommendation grows to the fewest replicas that would have kept the requests waiting
 * beyond the TTFT budget within the share the attainment goal allows (lib/policy/burstSizing.ts),
 * on devices no variant's sizing takes: a burst never takes another variant's capacity. Without
 * per-step counts nothing changes: missing data never moves a recommendation.
 */
import { budgetBoundReplica, buildReplicaModel, prefillTime } from '../../analyzer/index.js';
import type { Config, VariantConfig } from '../../config/schema.js';
import { effectiveBatchSize, QUEUE_TO_BATCH_RATIO } from '../../optimizer/index.js';
import { DEFAULT_STEP_TOKENS } from '../../optimizer/disaggregated.js';
import { peakRate, replicasForBursts } from '../burstSizing.js';
import { corrected, type Correction } from '../correction.js';
import { acceleratorType, devicesPerReplica, profileOf, targetsOf } from '../../config/resolved.js';
import type { Recommendation } from '../recommend.js';
import { isMeasured, type Assessed } from './demand.js';

/** What the burst sizing found, for the decision record. */
export interface BurstSizing {
  readonly stepSeconds: number;
  readonly steps: number;
  /** the busiest step's arrivals per second */
  readonly peakRate: number;
  /** req/s one replica completes when saturated, at the measured mix */
  readonly perReplicaRate: number;
  /** the TTFT target less the request's own prefill, ms */
  readonly budgetMs: number;
  readonly allowedShare: number;
  /** the replicas asked for and the share late there; the normal sizing's replicas and share */
  readonly replicas: number;
  readonly share: number;
  readonly sizedReplicas: number;
  readonly sizedShare: number;
}

/** Reasons whose replica count is not a sizing for demand: a burst has nothing to add to them. */
const NOT_SIZED = new Set(['capacity', 'max-replicas', 'stale-metrics']);

/** The recommendation, raised for bursts where they ask for more, and what the replay found. */
export interface BurstSized {
  readonly recommendation: Recommendation;
  readonly bursts?: BurstSizing;
}

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
  if (!settings.enabled || !isMeasured(s) || !steps || steps.counts.length === 0) return unchanged;
  const { recommendation: rec, demand } = s;
  if (NOT_SIZED.has(rec.reason) || !(demand.rate > 0) || rec.accelerator === '') return unchanged;
  const replica = saturatedReplica(config, s.v, rec.accelerator, demand, s.correction);
  if (!replica) return unchanged;
  const budgetMs = targetsOf(config, s.v).ttftMs - replica.prefillMs;
  // a budget the request's own prefill already spends cannot be met by more replicas
  if (!(budgetMs > 0)) return unchanged;
  const type = acceleratorType(config, rec.accelerator);
  const per = devicesPerReplica(config, s.v, rec.accelerator);
  const spare = free && type ? Math.max(Math.floor((free.get(type) ?? 0) / per), 0) : Infinity;
  const allowedShare = config.policy.itlDistribution.missShare;
  const fleet = replicasForBursts({
    counts: steps.counts,
    stepSeconds: steps.stepSeconds,
    perReplica: replica.rate,
    budgetSeconds: budgetMs / 1000,
    allowedShare,
    atLeast: rec.replicas,
    atMost: Math.max(Math.min(s.v.maxReplicas ?? Infinity, rec.replicas + spare), rec.replicas),
  });
  const bursts: BurstSizing = {
    stepSeconds: steps.stepSeconds,
    steps: steps.counts.length,
    peakRate: peakRate(steps.counts, steps.stepSeconds),
    perReplicaRate: replica.rate,
    budgetMs,
    allowedShare,
    replicas: fleet.replicas,
    share: fleet.share,
    sizedReplicas: rec.replicas,
    sizedShare: fleet.shareAtLeast,
  };
  if (fleet.replicas === rec.replicas && fleet.met) return { recommendation: rec, bursts };
  if (free && type) free.set(type, (free.get(type) ?? 0) - (fleet.replicas - rec.replicas) * per);
  return {
    bursts,
    recommendation: {
      ...rec,
      replicas: fleet.replicas,
      message: `${rec.message}; ${describeBursts(bursts, spare)}`,
    },
  };
}

/** "bursts: 15-s peaks of 38.1 req/s; sized for 13 replicas so that 0.8% (at most 1%) wait beyond TTFT ..." */
export function describeBursts(b: BurstSizing, spare = Infinity, less = 'prefill', of = 'replica'): string {
  const pct = (x: number) => `${(x * 100).toFixed(x < 0.001 ? 2 : 1)}%`;
  const met = b.share <= b.allowedShare;
  const bound = b.replicas - b.sizedReplicas >= spare ? 'the devices left free' : 'maxReplicas';
  return (
    `bursts: ${b.stepSeconds}-s peaks of ${b.peakRate.toFixed(1)} req/s over the last ${Math.round(b.steps * b.stepSeconds)} s; ` +
    `sized for ${b.replicas} ${of === 'replica' ? 'replicas' : `${of}s`} so that ${pct(b.share)} ${met ? `(at most ${pct(b.allowedShare)})` : `(more than ${pct(b.allowedShare)}: ${bound})`} ` +
    `would wait beyond TTFT less ${less} (${Math.round(b.budgetMs)} ms) at ${b.perReplicaRate.toFixed(2)} req/s a ${of} saturated, ` +
    `where ${b.sizedReplicas} let ${pct(b.sizedShare)}`
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
  demand: { readonly inputTokens: number; readonly outputTokens: number },
  correction: Correction,
): { rate: number; prefillMs: number } | undefined {
  const configured = profileOf(config, v, accelerator);
  if (!configured) return undefined;
  const p = corrected(configured, correction);
  const n = effectiveBatchSize(p, v.maxBatchSize, demand.outputTokens);
  try {
    const model = buildReplicaModel(
      p,
      { avgInputTokens: demand.inputTokens, avgOutputTokens: demand.outputTokens },
      { maxBatchSize: n, maxQueueSize: n * QUEUE_TO_BATCH_RATIO, itlModel: config.optimizer.itlModel },
    );
    const stepped = budgetBoundReplica(
      p,
      demand.inputTokens,
      demand.outputTokens,
      configured.maxBatchedTokens ?? DEFAULT_STEP_TOKENS,
    );
    // invMu holds ms per request with k in the batch: the batch full is the fastest it gets
    return {
      rate: Math.min(1000 / model.invMu[n - 1]!, stepped.rate),
      prefillMs: Math.max(prefillTime(p, demand.inputTokens, 1), stepped.prefillMs),
    };
  } catch {
    return undefined;
  }
}
