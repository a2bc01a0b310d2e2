/**
 * `keda-queue`: the KEDA recipe of vLLM's production stack. A Prometheus trigger on the sum of
 * `vllm:num_requests_waiting` with a threshold of 5 per replica, polled every 15 s:
 * replicas = ceil(sum waiting / 5), within the variant's min and max, on the Deployment the
 * variant starts on. Scale-up at once; scale-down waits out a 300 s cooldown (the HPA's
 * scale-down stabilisation that KEDA's ScaledObject leaves at its default): the Deployment goes
 * down only to the highest recommendation of the last 300 s. It scales no nodes (see
 * clusterAutoscaler.ts).
 */
import type { VariantConfig } from '../../lib/config/schema.js';
import { metricsQuery } from '../../lib/policy/ports.js';
import type { Controller } from '../../lib/closedLoop/controller.js';
import { BaselineMemory, clamp, desiredReplicas, scaleDeployment } from './common.js';

export const KEDA_POLLING_SECONDS = 15;
export const KEDA_QUEUE_THRESHOLD = 5;
export const KEDA_COOLDOWN_SECONDS = 300;

/** The replicas KEDA asks for at a total queue length. */
export function kedaReplicas(waiting: number, v: VariantConfig): number {
  return clamp(Math.ceil(waiting / KEDA_QUEUE_THRESHOLD), v);
}

export function kedaQueueController(): Controller {
  const memory = new BaselineMemory();
  return {
    name: 'keda-queue',
    intervalSeconds: KEDA_POLLING_SECONDS,
    async step(ctx) {
      const { config } = ctx;
      const observations = await ctx.metrics.collect(config.variants.map(metricsQuery), ctx.t);
      for (const [i, v] of config.variants.entries()) {
        const accelerator = memory.accelerator(ctx, v);
        const current = desiredReplicas(ctx, v, accelerator);
        const window = memory.window(v, KEDA_COOLDOWN_SECONDS, current);
        const waiting = observations[i]?.waiting?.value;
        // No replica reports the queue: the trigger has no value and KEDA leaves the size alone.
        if (waiting === undefined) continue;
        const recommended = kedaReplicas(waiting, v);
        const target = window.apply(ctx.t, current, recommended);
        scaleDeployment(
          ctx,
          v,
          accelerator,
          target,
          target > current ? 'queue' : 'cooldown-over',
          `sum waiting ${waiting} / ${KEDA_QUEUE_THRESHOLD} -> ${recommended}`,
        );
      }
      return { estimatedRates: Object.fromEntries(config.variants.map((v) => [v.name, null])) };
    },
  };
}
