/**
 * One evaluation of a capacity pool: collect (metrics, Deployments, the capacity provider's
 * view), decide, queue one decision per variant and the pool's capacity intent, publish the
 * desired replicas. The Lambda handler, `sva invoke` and the simulation all run this.
 */
import type { Config } from '../config/schema.js';
import { variantKey } from '../config/toSystem.js';
import type { CapacityIntent, CapacityProvider } from '../policy/capacity.js';
import type { DecisionRecord } from '../policy/decisionRecord.js';
import { decidePool } from '../policy/decide.js';
import type {
  Clock,
  Cluster,
  DecisionQueue,
  DecisionState,
  MetricsSource,
  TelemetrySink,
} from '../policy/ports.js';
import {
  acceleratorNamed,
  acceleratorType,
  allowedAccelerators,
  deploymentName,
  profileOf,
  targetsOf,
  variantByKey,
} from '../config/resolved.js';
import { metricsQuery } from '../policy/ports.js';
import { decisionOpsPoints, desiredPoints } from './telemetry.js';

export interface EvaluateDeps {
  readonly metrics: MetricsSource;
  readonly cluster: Cluster;
  readonly capacity: CapacityProvider;
  readonly queue: DecisionQueue;
  readonly state: DecisionState;
  readonly telemetry: TelemetrySink;
  readonly clock: Clock;
}

export interface EvaluateResult {
  readonly pool: string;
  readonly poolSequence: number;
  readonly decisions: DecisionRecord[];
  /** the pool's capacity intent, queued after the decisions */
  readonly capacity: CapacityIntent;
  /** variants held on stale or missing metrics */
  readonly held: string[];
  /** a failed publish of the desired metrics; the decisions were queued all the same */
  readonly telemetryError?: string;
}

export async function evaluatePool(
  deps: EvaluateDeps,
  config: Config,
  pool = 'default',
): Promise<EvaluateResult> {
  const now = deps.clock.now();
  const targets = config.variants.flatMap((v) =>
    allowedAccelerators(config, v).map((accelerator) => ({
      variant: variantKey(v),
      namespace: v.namespace,
      accelerator,
      deployment: deploymentName(config, v, accelerator),
    })),
  );
  const types = [...new Set(targets.flatMap((t) => acceleratorType(config, t.accelerator) ?? []))].sort();
  const [observations, deployments, capacity, memory] = await Promise.all([
    deps.metrics.collect(config.variants.map(metricsQuery), now),
    deps.cluster.deployments(targets),
    deps.capacity.observe(types, now),
    deps.state.loadPolicy(pool),
  ]);
  const out = decidePool({
    pool,
    config,
    observations: new Map(observations.map((o) => [o.variant, o])),
    deployments,
    capacity,
    memory,
    now,
  });
  // Saved before sending: a lost send skips a sequence number, but never reuses one.
  await deps.state.savePolicy(pool, out.memory);
  await deps.queue.send([...out.decisions, out.capacity]);

  let telemetryError: string | undefined;
  try {
    await deps.telemetry.publish(
      out.decisions.flatMap((d) => {
        const type = acceleratorType(config, d.accelerator) ?? d.accelerator;
        const base = {
          variant: d.variant,
          namespace: d.namespace,
          acceleratorType: type,
          timestampMs: now * 1000,
        };
        return [
          ...desiredPoints({ ...base, replicas: d.targetReplicas, current: d.currentReplicas }),
          ...decisionOpsPoints({
            ...base,
            stale: d.reason === 'stale-metrics' || d.inputs.stale.length > 0 || d.inputs.missing.length > 0,
            prediction: d.prediction,
            targets: targetsOfDecision(config, d),
            replicaCostPerHour: replicaCost(config, d),
          }),
        ];
      }),
    );
  } catch (err) {
    telemetryError = err instanceof Error ? err.message : String(err);
  }
  return {
    pool,
    poolSequence: out.memory.poolSequence,
    decisions: out.decisions,
    capacity: out.capacity,
    held: out.decisions.filter((d) => d.action === 'hold').map((d) => `${d.namespace}/${d.variant}`),
    telemetryError,
  };
}

function variantOf(config: Config, d: DecisionRecord) {
  return variantByKey(config, variantKey({ namespace: d.namespace, name: d.variant }));
}

function targetsOfDecision(config: Config, d: DecisionRecord): { ttftMs: number; itlMs: number } {
  const v = variantOf(config, d);
  return v ? targetsOf(config, v) : { ttftMs: 0, itlMs: 0 };
}

/** One replica's price per hour on the decision's accelerator: the unit's price times the units it takes. */
function replicaCost(config: Config, d: DecisionRecord): number | undefined {
  const v = variantOf(config, d);
  const accelerator = acceleratorNamed(config, d.accelerator);
  if (!v || !accelerator) return undefined;
  const units = profileOf(config, v, d.accelerator)?.acceleratorCount ?? 1;
  return accelerator.costPerHour * units;
}
