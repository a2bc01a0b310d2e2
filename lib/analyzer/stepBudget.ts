/**
 * One replica at saturation on an engine whose steps carry at most `budget` tokens (vLLM's
 * max_num_batched_tokens), decode tokens first and prefill chunks in what is left
 * (docs/SIZING.md, "Bursts below the metrics window"). The queue model's service rate at a full
 * batch (replicaModel.ts) knows no budget: with long prompts and short answers the budget, not the
 * batch, bounds what a replica completes.
 *
 * With prompts always waiting, every request spends I + O - 1 tokens of budget (its prompt, then
 * one per later token), so x = budget / (I + O - 1) requests pass per step; x (O - 1) of the
 * step's tokens decode, the rest prefill, and a step takes alpha + beta d + gamma + delta
 * (budget - d) with d = x (O - 1). A prompt's own prefill takes ceil(I / (budget - d)) such steps.
 * Times are ms, rates req/s.
 */
import type { ServiceProfile } from './replicaModel.js';

export interface SaturatedStep {
  /** requests completed per second */
  readonly rate: number;
  /** one step's time, ms */
  readonly stepMs: number;
  /** a prompt's prefill, its chunks one step each, ms */
  readonly prefillMs: number;
}

export function budgetBoundReplica(
  profile: ServiceProfile,
  inputTokens: number,
  outputTokens: number,
  budget: number,
): SaturatedStep {
  const { alpha, beta, gamma, delta } = profile;
  const perRequest = Math.max(inputTokens + outputTokens - 1, 1);
  const x = budget / perRequest;
  const decoding = x * Math.max(outputTokens - 1, 0);
  const prefillTokens = budget - decoding;
  const stepMs =
    (decoding > 0 ? alpha + beta * decoding : 0) + (prefillTokens > 0 ? gamma + delta * prefillTokens : 0);
  const chunks = inputTokens > 0 ? Math.ceil(inputTokens / prefillTokens) : 0;
  return { rate: (x * 1000) / stepMs, stepMs, prefillMs: chunks * stepMs };
}
