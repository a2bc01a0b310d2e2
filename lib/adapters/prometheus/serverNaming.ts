/**
 * Which vLLM naming a variant's servers use, from the series and labels found for it: ITL was
 * renamed in 0.11 (both names exposed in 0.11, the old one hidden in 0.12, removed in 0.13, which
 * has the per-request time per output token), KV usage in 0.11, and llm-d's inference simulator
 * labels completions `finish_reason` and has no `engine`.
 */
import { describeNaming, VLLM } from '../../metrics/vllmNaming.js';

export interface NamingEvidence {
  /** vllm:request_time_per_output_token_seconds */
  readonly requestTpot?: boolean;
  readonly itlNew: boolean;
  readonly itlOld: boolean;
  readonly kvNew: boolean;
  readonly kvOld: boolean;
  readonly finishReason: boolean;
  readonly engine: boolean;
  /** any vLLM series at all */
  readonly anyServer: boolean;
}

export function describeServerNaming(e: NamingEvidence): string | undefined {
  if (!e.anyServer) return undefined;
  if (e.finishReason && !e.engine) return 'llm-d-sim';
  let naming: string;
  if (e.kvNew && e.kvOld) naming = 'mixed';
  else if (e.itlNew && e.itlOld && e.kvNew) naming = 'vllm 0.11';
  else if (e.requestTpot && e.itlNew && !e.itlOld && e.kvNew) naming = 'vllm>=0.13';
  else if (e.itlNew && !e.itlOld && e.kvNew) naming = 'vllm>=0.12';
  else
    naming = describeNaming(
      e.itlNew ? VLLM.itl[0] : e.itlOld ? VLLM.itl[1] : undefined,
      e.kvNew ? VLLM.kvUsage[0] : e.kvOld ? VLLM.kvUsage[1] : undefined,
    );
  return e.engine ? naming : `${naming}, no engine label`;
}
