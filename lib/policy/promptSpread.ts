/**
 * Sizing by the prompts' spread, not their mean (policy.burstSizing.promptSpread; docs/SIZING.md,
 * "Prompts too long to prefill within the TTFT target"): a request whose own prefill on an
 * accelerator takes longer than the TTFT target is late there however many replicas serve it.
 * The share of such requests, from the trusted prompt-token histogram, is spent before any
 * queueing: the burst replay may leave late only what the attainment goal allows beyond it, and
 * an accelerator where it alone is over that goal cannot meet it at any size. Pure.
 */
import { promptTokensPrefilledWithin } from '../analyzer/index.js';
import { DEFAULT_STEP_TOKENS } from '../optimizer/disaggregated.js';
import type { Config, VariantConfig } from '../config/schema.js';
import { profileOf, targetsOf } from '../config/resolved.js';
import { corrected, type Correction } from './correction.js';
import { shareAbove, trustedHistogram, type TokenHistogram } from './distribution.js';

export interface InherentLate {
  /** the share of requests whose own prefill takes longer than the TTFT target */
  readonly share: number;
  /** the prompt tokens whose prefill takes the TTFT target */
  readonly tokens: number;
}

/**
 * The share of the variant's requests late on TTFT on `accelerator` by their own prefill alone
 * (the corrected profile's prefill of a batch of one). undefined where it is not known: the flag
 * off, no profile, no TTFT target, or a histogram too small to show a share of missShare.
 */
export function inherentLate(
  config: Config,
  p: { readonly v: VariantConfig; readonly tokenHistogram?: TokenHistogram; readonly correction: Correction },
  accelerator: string,
): InherentLate | undefined {
  if (!config.policy.burstSizing.promptSpread) return undefined;
  const configured = profileOf(config, p.v, accelerator);
  const ttftMs = targetsOf(config, p.v).ttftMs;
  const h = trustedHistogram(p.tokenHistogram, config.policy.itlDistribution.missShare);
  if (!configured || !(ttftMs > 0) || !h) return undefined;
  // chunked as the engine prefills: the step's fixed part once a chunk of its step budget
  const tokens = promptTokensPrefilledWithin(
    corrected(configured, p.correction),
    ttftMs,
    configured.maxBatchedTokens ?? DEFAULT_STEP_TOKENS,
  );
  return { share: shareAbove(h.bounds, h.input, tokens), tokens };
}
