/**
 * `wva`: the baseline autoscaler's behaviour (llm-d's workload-variant-autoscaler). Every 60 s it
 * takes the completion rate (`vllm:request_success_total` over the metrics window) as the demand,
 * with the mean tokens of the completed requests, and runs the optimizer in unlimited mode with
 * the accelerator pinned to the one the variant starts on and the service class's targets as they
 * are (no margins). The Deployment is set to the optimizer's replicas at once: no stabilisation,
 * no account of replicas still starting or of the backlog. When no candidate meets the targets
 * within maxReplicas it runs maxReplicas. It scales no nodes (see clusterAutoscaler.ts).
 */
import { metricsQuery } from '../../lib/policy/ports.js';
import type { Controller } from '../../lib/closedLoop/controller.js';
import { BaselineMemory, scaleDeployment, sizeWithOptimizer } from './common.js';

export const WVA_INTERVAL_SECONDS = 60;

export function wvaController(): Controller {
  const memory = new BaselineMemory();
  return {
    name: 'wva',
    intervalSeconds: WVA_INTERVAL_SECONDS,
    async step(ctx) {
      const { config } = ctx;
      const observations = await ctx.metrics.collect(config.variants.map(metricsQuery), ctx.t);
      const estimatedRates: Record<string, number | null> = {};
      for (const [i, v] of config.variants.entries()) {
        const accelerator = memory.accelerator(ctx, v);
        const obs = observations[i];
        const rate = obs?.completionRate?.value;
        estimatedRates[v.name] = rate ?? null;
        // No completion counter to read: nothing to size, the Deployment stays as it is.
        if (rate === undefined) continue;
        const sizing = sizeWithOptimizer(
          config,
          v,
          {
            rate,
            inputTokens: obs?.avgInputTokens?.value ?? 0,
            outputTokens: obs?.avgOutputTokens?.value ?? 0,
          },
          { accelerators: [accelerator] },
        );
        scaleDeployment(
          ctx,
          v,
          accelerator,
          sizing.replicas,
          sizing.feasible ? 'optimizer' : 'max-replicas',
          `completion rate ${rate.toFixed(3)} req/s on ${accelerator}`,
        );
      }
      return { estimatedRates };
    },
  };
}
