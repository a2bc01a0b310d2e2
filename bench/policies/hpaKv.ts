/**
 * `hpa-kv`: a HorizontalPodAutoscaler as llm-d's KEDA guide sets it up, on two per-pod metrics:
 * KV-cache utilisation (target average 0.7) and queue size (`vllm:num_requests_waiting`, target
 * average 2 per replica). Every 15 s each metric proposes desired = ceil(current * metric / target)
 * (unchanged within a 10% tolerance), the larger proposal wins, within the variant's min and max;
 * scale-up at once, scale-down only to the highest recommendation of the last 300 s.
 *
 * As the HPA's replica calculator: `current` counts the pods that report the metric (ready
 * replicas), and pods without metrics yet (replicas starting) are taken to be at 0 when the
 * metric says scale up and at the target when it says scale down; if that changes the direction
 * or brings the ratio within tolerance, the size stays. It scales no nodes (see
 * clusterAutoscaler.ts).
 */
import type { VariantConfig } from '../../lib/config/schema.js';
import { metricsQuery } from '../../lib/policy/ports.js';
import type { Controller } from '../../lib/closedLoop/controller.js';
import { BaselineMemory, clamp, replicaCounts, scaleDeployment } from './common.js';

export const HPA_SYNC_SECONDS = 15;
export const HPA_TOLERANCE = 0.1;
export const HPA_SCALE_DOWN_WINDOW_SECONDS = 300;
export const KV_CACHE_TARGET = 0.7;
export const QUEUE_TARGET_PER_REPLICA = 2;

export interface PodMetric {
  /** the Deployment's spec.replicas */
  readonly current: number;
  /** pods reporting the metric */
  readonly withMetrics: number;
  /** pods not reporting it yet (starting) */
  readonly missing: number;
  /** mean of the metric over the pods reporting it */
  readonly average: number;
  readonly target: number;
}

/** The HPA's proposal for one Pods metric (replica_calculator.go, calcPlainMetricReplicas). */
export function hpaProposal(m: PodMetric, tolerance = HPA_TOLERANCE): number {
  if (m.withMetrics === 0) return m.current;
  const ratio = m.average / m.target;
  if (m.missing === 0) {
    if (Math.abs(1 - ratio) <= tolerance) return m.current;
    return Math.ceil(ratio * m.withMetrics);
  }
  const assumed = ratio < 1 ? m.target : ratio > 1 ? 0 : m.average;
  const pods = m.withMetrics + m.missing;
  const newRatio = (m.average * m.withMetrics + assumed * m.missing) / pods / m.target;
  if (Math.abs(1 - newRatio) <= tolerance || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1)) {
    return m.current;
  }
  const proposal = Math.ceil(newRatio * pods);
  if ((newRatio < 1 && proposal > m.current) || (newRatio > 1 && proposal < m.current)) return m.current;
  return proposal;
}

/** The HPA's recommendation before stabilisation: the larger of the two metrics' proposals. */
export function hpaKvRecommendation(
  input: { current: number; ready: number; starting: number; kvCacheUsage: number; waiting: number },
  v: VariantConfig,
): number {
  const base = { current: input.current, withMetrics: input.ready, missing: input.starting };
  const kv = hpaProposal({ ...base, average: input.kvCacheUsage, target: KV_CACHE_TARGET });
  const queue = hpaProposal({
    ...base,
    average: input.ready > 0 ? input.waiting / input.ready : 0,
    target: QUEUE_TARGET_PER_REPLICA,
  });
  return clamp(Math.max(kv, queue), v);
}

export function hpaKvController(): Controller {
  const memory = new BaselineMemory();
  return {
    name: 'hpa-kv',
    intervalSeconds: HPA_SYNC_SECONDS,
    async step(ctx) {
      const { config } = ctx;
      const observations = await ctx.metrics.collect(config.variants.map(metricsQuery), ctx.t);
      for (const [i, v] of config.variants.entries()) {
        const accelerator = memory.accelerator(ctx, v);
        const counts = replicaCounts(ctx, v, accelerator);
        const current = counts['pending-node'] + counts.loading + counts.ready;
        const window = memory.window(v, HPA_SCALE_DOWN_WINDOW_SECONDS, current);
        const obs = observations[i];
        const kvCacheUsage = obs?.kvCacheUsage?.value;
        const waiting = obs?.waiting?.value;
        // The metrics API has nothing for the pods: the HPA keeps the size.
        if (kvCacheUsage === undefined || waiting === undefined || counts.ready === 0) continue;
        const recommended = hpaKvRecommendation(
          {
            current,
            ready: counts.ready,
            starting: counts['pending-node'] + counts.loading,
            kvCacheUsage,
            waiting,
          },
          v,
        );
        const target = window.apply(ctx.t, current, recommended);
        scaleDeployment(
          ctx,
          v,
          accelerator,
          target,
          target > current ? 'metrics' : 'stabilized',
          `kv ${kvCacheUsage.toFixed(2)} / ${KV_CACHE_TARGET}, waiting ${waiting} / ${QUEUE_TARGET_PER_REPLICA} per replica -> ${recommended}`,
        );
      }
      return { estimatedRates: Object.fromEntries(config.variants.map((v) => [v.name, null])) };
    },
  };
}
