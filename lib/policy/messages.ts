/**
 * What a pool evaluation sends through the FIFO queue: one decision per variant, each on the
 * variant's message group, and the pool's one capacity intent on its own group. FIFO orders
 * messages within a group only; apply never relies on an order across groups.
 */
import { capacityDeduplicationId, capacityMessageGroupId } from './capacityPlan.js';
import { parseCapacityIntent, type CapacityIntent } from './capacity.js';
import { deduplicationId, messageGroupId, parseDecision, type DecisionRecord } from './decisionRecord.js';

export type PoolMessage = DecisionRecord | CapacityIntent;

export function isCapacityIntent(m: PoolMessage): m is CapacityIntent {
  return 'kind' in m && m.kind === 'capacity';
}

export function groupIdOf(m: PoolMessage): string {
  return isCapacityIntent(m) ? capacityMessageGroupId(m) : messageGroupId(m);
}

export function deduplicationIdOf(m: PoolMessage): string {
  return isCapacityIntent(m) ? capacityDeduplicationId(m) : deduplicationId(m);
}

/** Parses a message body as whichever it says it is; errors name the bad field. */
export function parsePoolMessage(body: unknown): PoolMessage {
  let doc = body;
  if (typeof body === 'string') {
    try {
      doc = JSON.parse(body);
    } catch {
      return parseDecision(body); // reports "not JSON"
    }
  }
  const kind = (doc as { kind?: unknown } | null)?.kind;
  return kind === 'capacity' ? parseCapacityIntent(doc) : parseDecision(doc);
}
