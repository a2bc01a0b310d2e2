/** The queue model's prediction for a variant at a replica count, for the decision record. */
import { buildReplicaModel, evaluateAt } from '../analyzer/index.js';
import type { Config, VariantConfig } from '../config/schema.js';
import { effectiveBatchSize, QUEUE_TO_BATCH_RATIO } from '../optimizer/index.js';
import { profileOf } from '../config/resolved.js';
import { corrected, NO_CORRECTION, type Correction, type PredictedLatency } from './correction.js';

export interface Prediction extends PredictedLatency {
  readonly utilization: number;
  readonly ratePerReplica: number;
}

/** Null when there is nothing to predict (no replicas or no load) or the load exceeds what the replicas can take. */
export function predictAt(
  config: Config,
  v: VariantConfig,
  accelerator: string,
  demand: { rate: number; inputTokens: number; outputTokens: number },
  replicas: number,
  correction: Correction = NO_CORRECTION,
): Prediction | null {
  const configured = profileOf(config, v, accelerator);
  if (!configured || replicas <= 0 || !(demand.rate > 0)) return null;
  const p = corrected(configured, correction);
  const n = effectiveBatchSize(p, v.maxBatchSize, demand.outputTokens);
  try {
    const model = buildReplicaModel(
      p,
      { avgInputTokens: demand.inputTokens, avgOutputTokens: demand.outputTokens },
      { maxBatchSize: n, maxQueueSize: n * QUEUE_TO_BATCH_RATIO, itlModel: config.optimizer.itlModel },
    );
    const rate = demand.rate / replicas;
    if (rate > model.rateRange.max) return null;
    const m = evaluateAt(model, rate);
    return { ttftMs: m.ttft * correction.ttft, itlMs: m.itl, utilization: m.rho, ratePerReplica: rate };
  } catch {
    return null;
  }
}
