/**
 * Applying one decision message: validate, drop what is stale or already superseded, then act
 * in a safe order (nodes before pods when growing, pods before nodes when shrinking).
 * Idempotent: the targets are absolute, and a decision is claimed before and marked after.
 */
import { parseDecision, type DecisionRecord } from '../policy/decisionRecord.js';
import type { Clock, Cluster, DecisionState, NodeGroups, TelemetrySink } from '../policy/ports.js';
import { currentPoint, INFERNO, scalingLabels } from './telemetry.js';

export interface ApplyDeps {
  readonly cluster: Cluster;
  readonly nodeGroups: NodeGroups;
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
  readonly status: ApplyStatus;
  readonly decision: DecisionRecord;
  readonly detail: string;
  readonly nodeGroupsChanged: string[];
  readonly telemetryError?: string;
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
  const outcome = (status: ApplyStatus, detail: string, nodeGroupsChanged: string[] = []): ApplyOutcome => ({
    status,
    decision,
    detail,
    nodeGroupsChanged,
  });
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

  // Nodes before pods when growing, pods before nodes when shrinking — per node group, since one
  // decision can do both (finishing a move grows one accelerator and empties another).
  const sizes = new Map(
    (await deps.nodeGroups.describe(decision.nodeGroups.map((g) => g.name))).map((g) => [
      g.name,
      g.desiredSize,
    ]),
  );
  const changed: string[] = [];
  const resize = async (groups: typeof decision.nodeGroups) => {
    for (const g of groups) {
      // Sizes from older pool evaluations (another variant's late message) must not undo newer ones.
      if (await deps.state.claimNodeGroup(g.name, g.poolSequence)) {
        await deps.nodeGroups.setDesiredSize(g.name, g.desiredSize);
        changed.push(g.name);
      }
    }
  };
  const current = (name: string) => sizes.get(name) ?? 0;
  await resize(decision.nodeGroups.filter((g) => g.desiredSize > current(g.name)));
  for (const d of decision.deployments)
    await deps.cluster.scale(decision.namespace, d.deployment, d.replicas);
  await resize(decision.nodeGroups.filter((g) => g.desiredSize < current(g.name)));
  await deps.state.markApplied(variant, decision.sequence);

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
  return {
    ...outcome(
      'applied',
      `${decision.action} to ${decision.targetReplicas} on ${decision.accelerator}`,
      changed,
    ),
    telemetryError,
  };
}
