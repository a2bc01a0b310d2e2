/**
 * The queue model's batch from the KV cache (policy.kvBatch). The optimizer's batch limit is the
 * reference's N = maxBatchSize x atTokens / mean output: the profile's batch measured at one
 * output length, scaled down as answers grow. An engine admits requests while their KV fits in
 * its cache (and max_num_seqs allows), so where the profile gives the cache's size the batch is
 * what the cache holds of the requests in flight: N = min(maxBatchSize, cache / KV a request in
 * flight holds). On a reasoning model's long and bimodal answers the reference's N was about 30
 * on L40S where the cache held about 50 (bench/RESULTS.md, "The queue model's batch at long answers").
 *
 * The KV a request in flight holds, on average over the time requests are in flight: a request
 * decoding its t-th token holds I + t tokens, and a request of O tokens is in flight for O steps,
 * so by Little's law the cache in use over the requests in flight is E[O (I + O/2)] / E[O], which
 * for prompts independent of answers is E[I] + E[O^2] / (2 E[O]). A long answer is in flight
 * longer and holds more while it is: with half the answers long, the mean answer's O/2 reads
 * the in-flight KV several times too small. The answers' second moment comes from the trusted
 * token histogram (lib/policy/distribution.ts); before it is trusted, the mean answer's.
 */
import type { TokenDistribution } from '../analyzer/chunkedItl.js';
import type { Config } from '../config/schema.js';
import { trustedDistributions, type TokenHistogram } from './distribution.js';

/** E[I] + E[O^2] / (2 E[O]): the mean KV (tokens) of a request in flight; O/2 without a distribution. */
export function kvTokensInFlight(inputMean: number, outputMean: number, output?: TokenDistribution): number {
  let halfLife = outputMean / 2;
  if (output) {
    let first = 0;
    let second = 0;
    output.values.forEach((v, i) => {
      first += v * output.weights[i]!;
      second += v * v * output.weights[i]!;
    });
    if (first > 0) halfLife = second / (2 * first);
  }
  return Math.max(inputMean + halfLife, 1);
}

/**
 * The KV a request in flight holds for the variant's queue model, or undefined where
 * policy.kvBatch is off (the reference's batch then stands).
 */
export function kvTokensPerRequest(
  config: Config,
  s: {
    readonly tokenHistogram?: TokenHistogram;
    readonly demand?: { readonly inputTokens: number; readonly outputTokens: number };
  },
): number | undefined {
  if (!config.policy.kvBatch.enabled || !s.demand) return undefined;
  const { inputTokens, outputTokens } = s.demand;
  const trusted = trustedDistributions(
    s.tokenHistogram,
    { input: inputTokens, output: outputTokens },
    config.policy.itlDistribution.missShare,
  );
  return kvTokensInFlight(inputTokens, outputTokens, trusted?.output);
}
