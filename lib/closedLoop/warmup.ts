/**
 * How long a simulation warms up before its measured span (docs/ARCHITECTURE.md, "Warm-up"). The
 * warm-up exists so that every policy starts the span as it would in service, not from the cold
 * fleet the scenario opens on. That takes two things: capacity asked for at the warm-up's start
 * must be serving before the span (the longest time new capacity takes: a new node, then a
 * replica's cold start), and the policy's burst signal must hold a full look-back of the trace.
 * A fixed ten minutes did neither where a new node and a replica take thirteen: the span then
 * opened on the warm start's fleet, still short of what the policy had asked for.
 */
import type { Config } from '../config/schema.js';
import { allowedAccelerators } from '../config/resolved.js';
import { disaggregatedVariants } from '../config/roles.js';
import { leadSeconds } from '../policy/window.js';
import { disaggregatedLeadSeconds } from '../policy/disaggregated.js';

/** The longest lead time over every variant and accelerator it may run on, plus the burst look-back. */
export function servingWarmupSeconds(config: Config): number {
  const leads = [
    ...config.variants.flatMap((v) => allowedAccelerators(config, v).map((a) => leadSeconds(config, v, a))),
    ...disaggregatedVariants(config).map((v) => disaggregatedLeadSeconds(config, v)),
  ];
  return Math.max(0, ...leads) + config.policy.burstSizing.lookbackSeconds;
}
