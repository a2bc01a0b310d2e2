/**
 * The series names vLLM uses across versions (docs/METRICS.md): ITL and KV usage were renamed in
 * 0.11, and llm-d's inference simulator labels completions `finish_reason` and has no `engine`.
 * A collector looks for the newer name first and says which one it found.
 */
export const VLLM = {
  running: 'vllm:num_requests_running',
  waiting: 'vllm:num_requests_waiting',
  success: 'vllm:request_success_total',
  promptTokens: 'vllm:request_prompt_tokens',
  generationTokens: 'vllm:request_generation_tokens',
  ttft: 'vllm:time_to_first_token_seconds',
  itl: ['vllm:inter_token_latency_seconds', 'vllm:time_per_output_token_seconds'],
  /** per request, its decode time over its tokens: the time per token also with speculative decoding */
  requestTpot: 'vllm:request_time_per_output_token_seconds',
  /**
   * per request, the time from its first token to its last: summed over the window and divided by
   * the tokens decoded in it (generation tokens less one per request), the engine's mean time per
   * output token, weighted by tokens as the latency model predicts it
   */
  decodeTime: 'vllm:request_decode_time_seconds',
  /**
   * The time per output token as a histogram, in the order a collector prefers them where a server
   * exposes several: vLLM 0.13's per-request time per token (an ITL observation is an engine step,
   * of several tokens with speculative decoding), then ITL's new name, then its old one. Its
   * quantiles are per request, as the ITL target judges; its mean is the fallback where the decode
   * time is not exposed (the per-request one weighs a 10-token answer as a 1,000-token one).
   */
  perTokenTime: [
    'vllm:request_time_per_output_token_seconds',
    'vllm:inter_token_latency_seconds',
    'vllm:time_per_output_token_seconds',
  ],
  kvUsage: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
  cacheConfig: 'vllm:cache_config_info',
  /** the NIXL KV connector's (disaggregated serving), recorded by the engine that receives the KV */
  kvTransferTime: 'vllm:nixl_xfer_time_seconds',
  kvTransferFailures: 'vllm:nixl_num_failed_transfers',
} as const;

export const GATEWAY_REQUESTS = 'inference_model_request_total';
/**
 * The gateway's per-model request counter, newest name first: llm-d's router exports it as
 * `llm_d_epp_request_total`; the EPP of Gateway API Inference Extension v1.x calls the family
 * `inference_objective_*`; earlier ones `inference_model_*`.
 */
export const GATEWAY_REQUEST_NAMES = [
  'llm_d_epp_request_total',
  'inference_objective_request_total',
  GATEWAY_REQUESTS,
] as const;

/**
 * The EPP's flow-control queue: requests held at the gateway because no endpoint of their model
 * can take them (every one saturated, or none ready: a variant at zero), labelled `model_name`,
 * `inference_pool`, `priority`. Newest name first: llm-d's router, then Gateway API Inference
 * Extension's (deprecated there in favour of the first).
 */
export const GATEWAY_QUEUE_NAMES = [
  'llm_d_epp_flow_control_queue_size',
  'inference_extension_flow_control_queue_size',
] as const;

/** A short name for the naming generation, from which ITL and KV series exist. */
export function describeNaming(itlSeries: string | undefined, kvSeries: string | undefined): string {
  const newItl = itlSeries === VLLM.itl[0];
  const newKv = kvSeries === VLLM.kvUsage[0];
  if (newItl && newKv) return 'vllm>=0.11';
  if (!newItl && !newKv) return itlSeries || kvSeries ? 'vllm<=0.10' : 'unknown';
  return newItl ? 'vllm 0.11 (both names)' : 'mixed';
}
