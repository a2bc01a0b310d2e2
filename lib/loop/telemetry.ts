/** The autoscaler's own metrics (METRICS.md, "Out"), with the names and labels dashboards expect. */
import type { TelemetryPoint } from '../policy/ports.js';

export const INFERNO = {
  scalingTotal: 'inferno_replica_scaling_total',
  desired: 'inferno_desired_replicas',
  current: 'inferno_current_replicas',
  ratio: 'inferno_desired_ratio',
} as const;

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
      // desired / current, or desired when nothing runs (METRICS.md)
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
