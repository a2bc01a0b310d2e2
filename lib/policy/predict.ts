/** The queue model's prediction for a variant at a replica count, for the decision record. */
import { buildReplicaModel, evaluateAt, type ServiceProfile } from '../analyzer/index.js';
import type { Config, VariantConfig } from '../config/schema.js';
import { effectiveBatchSize, QUEUE_TO_BATCH_RATIO } from '../optimizer/index.js';
import { profileOf } from '../config/resolved.js';
import { corrected, NO_CORRECTION, type Correction, type PredictedLatency } from './correction.js';

export interface Prediction extends PredictedLatency {
  readonly utilization: number;
  readonly ratePerReplica: number;
}

/**
 * The queue model of one replica of the variant on the accelerator at the token mix, with the
 * profile corrected as learnt (`profile`) and the batch it can hold (`batch`); undefined where the
 * accelerator has no profile. Throws where the model cannot be built.
 */
export function correctedReplicaModel(
  config: Config,
  v: VariantConfig,
  accelerator: string,
  tokens: {
    readonly inputTokens: number;
    readonly outputTokens: number;
    /** the KV a request in flight holds (policy.kvBatch, lib/policy/kvBatch.ts): the batch the cache holds */
    readonly kvTokensPerRequest?: number;
  },
  correction: Correction,
): { profile: ServiceProfile; batch: number; model: ReturnType<typeof buildReplicaModel> } | undefined {
  const configured = profileOf(config, v, accelerator);
  if (!configured) return undefined;
  const profile = corrected(configured, correction);
  const batch = effectiveBatchSize(profile, v.maxBatchSize, tokens.outputTokens, tokens.kvTokensPerRequest);
  const model = buildReplicaModel(
    profile,
    { avgInputTokens: tokens.inputTokens, avgOutputTokens: tokens.outputTokens },
    { maxBatchSize: batch, maxQueueSize: batch * QUEUE_TO_BATCH_RATIO, itlModel: config.optimizer.itlModel },
  );
  return { profile, batch, model };
}

/** Null when there is nothing to predict (no replicas or no load) or the load exceeds what the replicas can take. */
export function predictAt(
  config: Config,
  v: VariantConfig,
  accelerator: string,
  demand: { rate: number; inputTokens: number; outputTokens: number; kvTokensPerRequest?: number },
  replicas: number,
  correction: Correction = NO_CORRECTION,
): Prediction | null {
  if (replicas <= 0 || !(demand.rate > 0)) return null;
  try {
    const built = correctedReplicaModel(config, v, accelerator, demand, correction);
    if (!built) return null;
    const { model } = built;
    const rate = demand.rate / replicas;
    if (rate > model.rateRange.max) return null;
    const m = evaluateAt(model, rate);
    return { ttftMs: m.ttft * correction.ttft, itlMs: m.itl, utilization: m.rho, ratePerReplica: rate };
  } catch {
    return null;
  }
}
