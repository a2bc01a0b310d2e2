/**
 * Applying one message of a pool evaluation. A variant's decision scales its Deployments; the
 * pool's capacity intent asks the capacity provider for what the plan needs. The two travel on
 * different FIFO message groups, so neither waits on the other: each variant records the pool
 * sequence it has finished or dropped, and the capacity intent grows at once but removes
 * capacity only when every variant of the pool has reached its pool sequence (otherwise it skips
 * removal and leaves it to the next evaluation). Idempotent: targets are absolute, a decision
 * is claimed before and marked after, and an intent older than one taken on is dropped.
 */
import { removalAllowed } from '../policy/capacityPlan.js';
import type { CapacityIntent, CapacityProvider, CapacityReport } from '../policy/capacity.js';
import { parseDecision, type DecisionRecord } from '../policy/decisionRecord.js';
import { isCapacityIntent, parsePoolMessage } from '../policy/messages.js';
import type { Clock, Cluster, DecisionState, TelemetrySink } from '../policy/ports.js';
import { currentPoint, INFERNO, scalingLabels } from './telemetry.js';

export interface ApplyDeps {
  readonly cluster: Cluster;
  readonly capacity: CapacityProvider;
  readonly state: DecisionState;
  readonly telemetry: TelemetrySink;
  readonly clock: Clock;
}

export interface ApplyOptions {
  /** decisions older than this are dropped, never applied */
  readonly maxAgeSeconds: number;
  /** accelerator name → device type, for the accelerator_type label */
  readonly acceleratorTypes?: ReadonlyMap<string, string>;
}

export type ApplyStatus = 'applied' | 'duplicate' | 'superseded' | 'expired';

export interface ApplyOutcome {
  readonly kind: 'decision';
  readonly status: ApplyStatus;
  readonly decision: DecisionRecord;
  readonly detail: string;
  readonly telemetryError?: string;
}

export interface CapacityOutcome {
  readonly kind: 'capacity';
  readonly status: Exclude<ApplyStatus, 'duplicate'>;
  readonly intent: CapacityIntent;
  readonly detail: string;
  /** whether every variant had reached the intent's pool sequence */
  readonly removalAllowed: boolean;
  readonly report?: CapacityReport;
}

/** Applies whichever message it is. Throws the parse errors (naming the field) and the adapters' errors. */
export async function applyMessage(
  deps: ApplyDeps,
  body: unknown,
  opts: ApplyOptions,
): Promise<ApplyOutcome | CapacityOutcome> {
  const message = parsePoolMessage(body);
  return isCapacityIntent(message) ? applyCapacity(deps, message, opts) : applyDecision(deps, message, opts);
}

/** The pool's capacity intent: growth at once, removal only once every variant has caught up. */
export async function applyCapacity(
  deps: ApplyDeps,
  intent: CapacityIntent,
  opts: Pick<ApplyOptions, 'maxAgeSeconds'>,
): Promise<CapacityOutcome> {
  const now = deps.clock.now();
  const outcome = (
    status: CapacityOutcome['status'],
    detail: string,
    allowed = false,
    report?: CapacityReport,
  ) =>
    ({
      kind: 'capacity',
      status,
      intent,
      detail,
      removalAllowed: allowed,
      ...(report ? { report } : {}),
    }) as const;
  const age = now - Date.parse(intent.issuedAt) / 1000;
  if (age > opts.maxAgeSeconds) {
    return outcome(
      'expired',
      `issued ${Math.round(age)} s ago, more than ${opts.maxAgeSeconds} s: not applied`,
    );
  }
  if (!(await deps.state.claimCapacity(intent.pool, intent.poolSequence))) {
    return outcome('superseded', `a newer capacity intent of pool ${intent.pool} was taken on`);
  }
  const reached = new Map(
    await Promise.all(intent.variants.map(async (v) => [v, await deps.state.poolReached(v)] as const)),
  );
  const allowed = removalAllowed(intent, reached);
  const report = await deps.capacity.provide(intent, { now, allowRemoval: allowed });
  const behind = intent.variants.filter((v) => (reached.get(v) ?? 0) < intent.poolSequence);
  const detail = [
    ...report.changes.map(
      (c) => `${c.acceleratorType}: ${c.status} (${c.devicesBefore} → ${c.devicesAfter} devices)`,
    ),
    ...(allowed
      ? []
      : [`removal skipped: ${behind.join(', ')} not yet at pool sequence ${intent.poolSequence}`]),
  ].join('; ');
  return outcome('applied', detail || 'no capacity to change', allowed, report);
}

/** Throws InvalidDecisionError for a malformed message, and the adapters' errors when acting fails. */
export async function applyDecision(
  deps: ApplyDeps,
  body: unknown,
  opts: ApplyOptions,
): Promise<ApplyOutcome> {
  const decision = parseDecision(body);
  const variant = `${decision.namespace}/${decision.variant}`;
  const now = deps.clock.now();
  // Whatever becomes of it, the variant is done with this pool evaluation: capacity may follow.
  const outcome = async (status: ApplyStatus, detail: string): Promise<ApplyOutcome> => {
    await deps.state.markPoolReached(variant, decision.poolSequence);
    return { kind: 'decision', status, decision, detail };
  };
  const age = now - Date.parse(decision.issuedAt) / 1000;
  if (age > opts.maxAgeSeconds) {
    return outcome(
      'expired',
      `issued ${Math.round(age)} s ago, more than ${opts.maxAgeSeconds} s: not applied`,
    );
  }
  const last = await deps.state.lastApplied(variant);
  if (decision.sequence < last.sequence) {
    return outcome('superseded', `sequence ${decision.sequence} is older than ${last.sequence}`);
  }
  if (decision.sequence === last.sequence && last.applied) {
    return outcome('duplicate', `sequence ${decision.sequence} was already applied`);
  }
  if (!(await deps.state.claim(variant, decision.sequence))) {
    return outcome('superseded', `a newer decision for ${variant} was taken on concurrently`);
  }

  // Capacity for growth is asked for by the pool's capacity intent, and removed only after
  // every variant has applied its decision: here only the Deployments change.
  for (const d of decision.deployments)
    await deps.cluster.scale(decision.namespace, d.deployment, d.replicas);
  await deps.state.markApplied(variant, decision.sequence);
  const applied = await outcome(
    'applied',
    `${decision.action} to ${decision.targetReplicas} on ${decision.accelerator}`,
  );

  let telemetryError: string | undefined;
  try {
    const acceleratorType = opts.acceleratorTypes?.get(decision.accelerator) ?? decision.accelerator;
    const base = { variant: decision.variant, namespace: decision.namespace, acceleratorType };
    const points = [currentPoint({ ...base, replicas: decision.targetReplicas, timestampMs: now * 1000 })];
    if (decision.targetReplicas !== decision.currentReplicas) {
      const labels = scalingLabels({
        ...base,
        direction: decision.targetReplicas > decision.currentReplicas ? 'up' : 'down',
        reason: decision.reason,
      });
      const value = await deps.state.incrementScalingCounter(labels);
      points.push({ name: INFERNO.scalingTotal, labels, value, timestamp: now * 1000 });
    }
    await deps.telemetry.publish(points);
  } catch (err) {
    telemetryError = err instanceof Error ? err.message : String(err);
  }
  return { ...applied, telemetryError };
}
