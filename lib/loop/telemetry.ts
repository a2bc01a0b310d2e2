/** The autoscaler's own metrics (docs/METRICS.md, "Out"), with the names and labels dashboards expect. */
import type { TelemetryAliasSet } from '../config/schema.js';
import type { TelemetryPoint, TelemetrySink } from '../policy/ports.js';

export const INFERNO = {
  scalingTotal: 'inferno_replica_scaling_total',
  desired: 'inferno_desired_replicas',
  current: 'inferno_current_replicas',
  ratio: 'inferno_desired_ratio',
  /** messages the consumer dropped, by reason (lib/loop/apply.ts DROPPED) */
  decisionsDropped: 'inferno_decisions_dropped_total',
} as const;

/**
 * Names other dashboards know the same gauges by, published beside ours when the config asks
 * (`telemetry.aliases`): llm-d's Workload Variant Autoscaler, Inferno's successor, renamed its
 * gauges `wva_*`. Same values, same labels.
 */
export const ALIASES: Record<TelemetryAliasSet, Readonly<Partial<Record<string, string>>>> = {
  wva: {
    [INFERNO.desired]: 'wva_desired_replicas',
    [INFERNO.current]: 'wva_current_replicas',
    [INFERNO.ratio]: 'wva_desired_ratio',
  },
};

/** The points, and a copy under each alias name the sets give for one. */
export function withAliases(
  points: readonly TelemetryPoint[],
  sets: readonly TelemetryAliasSet[],
): TelemetryPoint[] {
  if (sets.length === 0) return [...points];
  return points.flatMap((p) => {
    const names = sets.flatMap((set) => {
      const alias = ALIASES[set][p.name];
      return alias ? [alias] : [];
    });
    return [p, ...names.map((name) => ({ ...p, name }))];
  });
}

/** A sink that publishes every point also under its aliases. */
export function aliasingSink(sink: TelemetrySink, sets: readonly TelemetryAliasSet[]): TelemetrySink {
  if (sets.length === 0) return sink;
  return { publish: (points) => sink.publish(withAliases(points, sets)) };
}

/**
 * What apply publishes about adopting sva (README "Adopting sva"): the mode it met a variant in,
 * a pause, a refusal to fight another autoscaler, and what shadow mode would have done.
 */
export const ADOPTION = {
  /** 1 for the variant's mode (label mode: act | shadow | advise) */
  mode: 'inferno_variant_mode',
  /** 1 while the variant is paused (label source: config | annotation), 0 otherwise */
  paused: 'inferno_variant_paused',
  /** other autoscalers (HPA, ScaledObject) targeting the variant's Deployments while in act mode */
  conflicts: 'inferno_autoscaler_conflicts',
  /** advise mode: 1 while no HPA or ScaledObject scales the variant's Deployments (nothing acts on the advice), else 0 */
  adviseUnconsumed: 'inferno_advise_unconsumed',
  /** the replicas shadow mode would have set, beside the ones that run */
  shadowReplicas: 'inferno_shadow_replicas',
  /** scalings shadow mode would have made, by direction */
  shadowScalingTotal: 'inferno_shadow_scaling_total',
} as const;

/**
 * Beyond the original autoscaler's names, what the dashboard and the alert rules in
 * observability/ need to watch the autoscaler itself; published by evaluate for every decision.
 */
export const SVA_OPS = {
  /** epoch seconds of the variant's latest decision (a value, so that it survives Prometheus's lookback) */
  lastDecision: 'inferno_last_decision_timestamp_seconds',
  /** 1 when the decision was made on stale or missing metrics (and so held the size), else 0 */
  metricsStale: 'inferno_metrics_stale',
  /** the model's mean TTFT and ITL at the target size, corrected as learned (seconds) */
  predictedTtft: 'inferno_predicted_ttft_seconds',
  predictedItl: 'inferno_predicted_itl_seconds',
  /** the variant's service-class targets (seconds); absent when the class sets none */
  targetTtft: 'inferno_target_ttft_seconds',
  targetItl: 'inferno_target_itl_seconds',
  /** the price of one replica on the accelerator decided on, per hour */
  replicaCost: 'inferno_replica_cost_per_hour',
} as const;

export interface DecisionOpsInput {
  readonly variant: string;
  readonly namespace: string;
  readonly acceleratorType: string;
  readonly timestampMs: number;
  readonly stale: boolean;
  readonly prediction: { readonly ttftMs: number; readonly itlMs: number } | null;
  readonly targets: { readonly ttftMs: number; readonly itlMs: number };
  readonly replicaCostPerHour: number | undefined;
}

/** The operations series of one decision (see SVA_OPS). */
export function decisionOpsPoints(d: DecisionOpsInput): TelemetryPoint[] {
  const variant = { variant_name: d.variant, namespace: d.namespace };
  const at = (name: string, l: Record<string, string>, value: number): TelemetryPoint => ({
    name,
    labels: l,
    value,
    timestamp: d.timestampMs,
  });
  const points = [
    at(SVA_OPS.lastDecision, variant, d.timestampMs / 1000),
    at(SVA_OPS.metricsStale, variant, d.stale ? 1 : 0),
  ];
  if (d.prediction) {
    points.push(at(SVA_OPS.predictedTtft, labels(d), d.prediction.ttftMs / 1000));
    points.push(at(SVA_OPS.predictedItl, labels(d), d.prediction.itlMs / 1000));
  }
  if (d.targets.ttftMs > 0) points.push(at(SVA_OPS.targetTtft, variant, d.targets.ttftMs / 1000));
  if (d.targets.itlMs > 0) points.push(at(SVA_OPS.targetItl, variant, d.targets.itlMs / 1000));
  if (d.replicaCostPerHour !== undefined)
    points.push(at(SVA_OPS.replicaCost, labels(d), d.replicaCostPerHour));
  return points;
}

export interface ReplicaGaugeInput {
  readonly variant: string;
  readonly namespace: string;
  readonly acceleratorType: string;
  readonly replicas: number;
  readonly timestampMs: number;
}

const labels = (g: { variant: string; namespace: string; acceleratorType: string }) => ({
  variant_name: g.variant,
  namespace: g.namespace,
  accelerator_type: g.acceleratorType,
});

export function desiredPoints(g: ReplicaGaugeInput & { current: number }): TelemetryPoint[] {
  return [
    { name: INFERNO.desired, labels: labels(g), value: g.replicas, timestamp: g.timestampMs },
    {
      name: INFERNO.ratio,
      labels: labels(g),
      // desired / current, or desired when nothing runs (docs/METRICS.md)
      value: g.current > 0 ? g.replicas / g.current : g.replicas,
      timestamp: g.timestampMs,
    },
  ];
}

export function currentPoint(g: ReplicaGaugeInput): TelemetryPoint {
  return { name: INFERNO.current, labels: labels(g), value: g.replicas, timestamp: g.timestampMs };
}

export function scalingLabels(g: {
  variant: string;
  namespace: string;
  acceleratorType: string;
  direction: 'up' | 'down';
  reason: string;
}): Record<string, string> {
  return { ...labels(g), direction: g.direction, reason: g.reason };
}
