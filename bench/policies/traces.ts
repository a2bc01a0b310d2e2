/** The suite's traces and fleets: the policy benchmark runs them, other benchmarks read them. */
import { fileURLToPath } from 'node:url';

export const CODE_FLEET = fileURLToPath(new URL('./fleet-code.yaml', import.meta.url));
export const CHAT_FLEET = fileURLToPath(new URL('./fleet-chat.yaml', import.meta.url));

/**
 * The default traces (copies of ../shared/data/traces) and the rate scale each runs at. A rate
 * scale of x overlays x copies of the trace shifted round its length (lib/fleetSimulator amplify, as
 * `sva simulate --rate-scale`): x times the users, same hour, same burst shapes.
 *
 * Azure code (2k-token prompts, short answers) at x1 averages 2.6 req/s, a replica or two. At x4
 * it averages 10.3 req/s over 57 min, in bursts of up to 40 req/s: several L40S replicas, up to
 * the node group's 16 at the peaks.
 *
 * Mooncake conversation (12k-token prompts, up to 126k) at x1 (3.4 req/s) fits in one 8-GPU H100
 * node whatever a policy decides. At x2 it averages 6.8 req/s over 59 min: two to three nodes.
 */
export const DEFAULT_TRACES: readonly { path: string; rateScale: number; why: string; fleet: string }[] = [
  {
    path: 'data/traces/azure-llm-2023-code.csv',
    fleet: CODE_FLEET,
    rateScale: 4,
    why:
      'x4 (four shifted copies overlaid: 10.3 req/s over 57 min, bursts up to 40 req/s), so that the load needs ' +
      'several replicas; at x1 it needs one or two',
  },
  {
    path: 'data/traces/mooncake-conversation.jsonl',
    fleet: CHAT_FLEET,
    rateScale: 2,
    why:
      'x2 (two shifted copies overlaid: 6.8 req/s over 59 min), so that the load needs two to three H100 nodes ' +
      'of 8 GPUs; at x1 every policy fits in one node',
  },
  {
    path: 'data/traces/servegen-mlarge-day6-24h.csv',
    fleet: CHAT_FLEET,
    rateScale: 1,
    why: 'x1 (a production day as recorded, 5 req/s mean: night trough, morning ramp, afternoon bursts)',
  },
];
