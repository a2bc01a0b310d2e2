/**
 * What the apply handler logs about a message: correlation keys (the decision id, even from a
 * body that fails validation when it has one), the outcome, or the failure's reason. Never the
 * whole body, credentials or request details.
 */
import type { SQSRecord } from 'aws-lambda';
import type { ApplyOutcome, CapacityOutcome } from '../../lib/loop/apply.js';

/** The decision id of a body, if it is JSON with a string `id`. */
export function peekDecisionId(body: string): string | undefined {
  try {
    const doc = JSON.parse(body) as { id?: unknown };
    return typeof doc?.id === 'string' ? doc.id.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

export function correlationKeys(record: SQSRecord): Record<string, string> {
  const keys: Record<string, string> = {
    messageId: record.messageId,
    receiveCount: record.attributes?.ApproximateReceiveCount ?? '',
  };
  const group = record.attributes?.MessageGroupId;
  if (group) keys.messageGroupId = group;
  const id = peekDecisionId(record.body);
  if (id) keys.decisionId = id;
  return keys;
}

export function outcomeFields(o: ApplyOutcome | CapacityOutcome): Record<string, unknown> {
  if (o.kind === 'capacity') {
    return {
      status: o.status,
      detail: o.detail,
      pool: o.intent.pool,
      poolSequence: o.intent.poolSequence,
      removalAllowed: o.removalAllowed,
      changes: (o.report?.changes ?? []).map((c) => ({
        acceleratorType: c.acceleratorType,
        status: c.status,
        devicesBefore: c.devicesBefore,
        devicesAfter: c.devicesAfter,
        ...(c.insufficient ? { insufficient: c.insufficient.reason } : {}),
      })),
    };
  }
  return {
    status: o.status,
    detail: o.detail,
    variant: `${o.decision.namespace}/${o.decision.variant}`,
    sequence: o.decision.sequence,
    action: o.decision.action,
    targetReplicas: o.decision.targetReplicas,
    reason: o.decision.reason,
    ...(o.error ? { error: o.error } : {}),
    ...(o.refused ? { set: o.set ?? [], refused: o.refused } : {}),
    ...(o.wouldDo ? { wouldDo: o.wouldDo } : {}),
    ...(o.conflicts ? { conflicts: o.conflicts } : {}),
    ...(o.advisedTo ? { advisedTo: o.advisedTo } : {}),
    ...(o.deletionCosts ? { deletionCosts: o.deletionCosts } : {}),
  };
}

export function failureFields(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; message?: string; retryable?: unknown };
  return {
    errorName: e?.name ?? 'Error',
    reason: e?.message ?? String(err),
    ...(typeof e?.retryable === 'boolean' ? { retryable: e.retryable } : {}),
  };
}
