/**
 * Reasoning-model outputs for the held-out workloads: long and bimodal. A reasoning model answers
 * some requests directly and thinks at length on others, so half the requests (seeded) keep their
 * recorded output and the other half draw one from a log-normal law with a median of 2,000 tokens
 * and sigma 1 (mean 3,300, 1% above 20,000), capped by the generation limit and the context.
 *
 * Long outputs cost more GPU time per request, so the derived trace is thinned to the same GPU work
 * as the recorded one: work per request = its prefill (delta ms per input token, batched) plus its
 * decode steps at the fullest batch the replica can hold (maxBatchSize, or fewer when the KV cache
 * fills: kvCacheTokens over the mean context a decode step carries).
 */
import type { Random } from '../../lib/fleetSimulator/random.js';
import type { TraceRequest } from '../../lib/fleetSimulator/traces.js';

export interface ModelProfile {
  readonly accelerator: string;
  /** decode iteration base time and time per request in the batch (ms) */
  readonly alpha: number;
  readonly beta: number;
  /** prefill time per input token (ms) */
  readonly delta: number;
  readonly maxBatchSize: number;
  readonly kvCacheTokens: number;
  /** the model's context window (prompt + output) */
  readonly contextTokens: number;
  /** the service's generation limit (max_tokens) */
  readonly maxOutputTokens: number;
}

const MEDIAN = 2000;
const SIGMA = 1;

/** A standard normal variate (Box-Muller; 1 - u keeps the logarithm finite). */
function normal(random: Random): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export function reasoningOutputs(
  requests: readonly TraceRequest[],
  random: Random,
  profile: ModelProfile,
): TraceRequest[] {
  return requests.map((r) => {
    if (random() < 0.5) return r;
    const drawn = Math.round(MEDIAN * Math.exp(SIGMA * normal(random)));
    const cap = Math.min(profile.maxOutputTokens, profile.contextTokens - r.inputTokens);
    return { ...r, outputTokens: Math.max(1, Math.min(drawn, cap)) };
  });
}

/** GPU milliseconds the requests need on one replica of `profile` at its fullest batch. */
export function gpuWork(requests: readonly TraceRequest[], profile: ModelProfile): number {
  let steps = 0;
  let contextSteps = 0;
  let prefill = 0;
  for (const r of requests) {
    prefill += profile.delta * r.inputTokens;
    steps += r.outputTokens;
    contextSteps += r.outputTokens * (r.inputTokens + r.outputTokens / 2);
  }
  const meanContext = steps > 0 ? contextSteps / steps : 0;
  const batch = Math.max(1, Math.min(profile.maxBatchSize, profile.kvCacheTokens / Math.max(meanContext, 1)));
  return prefill + (steps * (profile.alpha + profile.beta * batch)) / batch;
}

/** The rate factor that gives `derived` the GPU work of `recorded`. */
export const workRatio = (
  recorded: readonly TraceRequest[],
  derived: readonly TraceRequest[],
  profile: ModelProfile,
) => gpuWork(recorded, profile) / gpuWork(derived, profile);
