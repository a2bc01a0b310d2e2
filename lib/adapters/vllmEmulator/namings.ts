/**
 * The metric names and labels of the servers the emulator can pass for (docs/METRICS.md): vLLM 0.8
 * and 0.10 (ITL as `time_per_output_token`, KV as `gpu_cache_usage_perc`), 0.11 (both ITL names,
 * the new KV name), 0.12 (new names only), 0.13 (the old ITL name removed, and the per-request
 * `request_time_per_output_token_seconds`, the time per token also with speculative decoding), and
 * llm-d's inference simulator (`finish_reason` instead of `finished_reason`, no `engine` label,
 * both ITL names). Only 0.13 shows the per-request time per output token here.
 */
import type { MetricSample } from '../../fleetSimulator/prometheusText.js';

export const EMULATED_NAMINGS = [
  'vllm-0.8',
  'vllm-0.10',
  'vllm-0.11',
  'vllm-0.12',
  'vllm-0.13',
  'llm-d-sim',
] as const;
export type EmulatedNaming = (typeof EMULATED_NAMINGS)[number];

const ITL_NEW = 'vllm:inter_token_latency_seconds';
const ITL_OLD = 'vllm:time_per_output_token_seconds';
const KV_NEW = 'vllm:kv_cache_usage_perc';
const KV_OLD = 'vllm:gpu_cache_usage_perc';
const REQUEST_TPOT = 'vllm:request_time_per_output_token_seconds';

const renamed = (s: MetricSample, from: string, to: string): MetricSample => ({
  ...s,
  family: to,
  name: to + s.name.slice(from.length),
});

function llmdLabels(s: MetricSample): MetricSample {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.labels)) {
    if (k === 'engine') continue;
    labels[k === 'finished_reason' ? 'finish_reason' : k] = v;
  }
  return { ...s, labels };
}

/** Samples as the sim names them (vLLM 0.12), renamed and relabelled for another naming. */
export function applyNaming(samples: readonly MetricSample[], naming: EmulatedNaming): MetricSample[] {
  const old = naming === 'vllm-0.8' || naming === 'vllm-0.10';
  const bothItl = naming === 'vllm-0.11' || naming === 'llm-d-sim';
  const out: MetricSample[] = [];
  const deprecatedItl: MetricSample[] = [];
  for (const s of samples) {
    if (s.family === REQUEST_TPOT && naming !== 'vllm-0.13') continue;
    if (s.family === ITL_NEW) {
      if (old) out.push(renamed(s, ITL_NEW, ITL_OLD));
      else {
        out.push(s);
        if (bothItl) deprecatedItl.push(renamed(s, ITL_NEW, ITL_OLD));
      }
    } else if (s.family === KV_NEW && old) out.push(renamed(s, KV_NEW, KV_OLD));
    else out.push(s);
  }
  const all = [...out, ...deprecatedItl];
  return naming === 'llm-d-sim' ? all.map(llmdLabels) : all;
}
