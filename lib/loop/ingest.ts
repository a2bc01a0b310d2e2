/**
 * Ingest one batch of the gateway's request events (functions/ingest): validate every message,
 * fold the batch into one write per engine and one per variant time slot, and when a request
 * waits for a variant with no ready replica, trigger an evaluation of the pool at once
 * (debounced per pool, so a burst triggers one). Ingest never sends decisions itself: the
 * evaluation decides, and its decisions go through the queue and apply's checks as any other.
 */
import type { Config } from '../config/schema.js';
import { aggregateBatch } from '../gateway/aggregate.js';
import { parseGatewayMessage, type GatewayEvent } from '../gateway/events.js';
import type { EvaluationTrigger, GatewayLoadStore } from '../gateway/ports.js';
import { variantResolver } from '../gateway/variants.js';
import type { Clock } from '../policy/ports.js';

export interface IngestDeps {
  readonly store: GatewayLoadStore;
  readonly trigger: EvaluationTrigger;
  readonly clock: Clock;
}

export interface IngestMessage {
  readonly id: string;
  readonly body: string;
}

export interface IngestResult {
  readonly messages: number;
  readonly events: number;
  readonly applied: number;
  readonly duplicates: number;
  /** messages and events dropped, by reason */
  readonly dropped: readonly { reason: string; count: number }[];
  readonly writes: number;
  /** writes skipped because the same events had been applied (a redelivered batch) */
  readonly alreadyApplied: number;
  /** the variants whose requests wait for a replica */
  readonly waitingForReplicas: readonly string[];
  /** whether this batch triggered an evaluation, and why not when it did not */
  readonly triggered: boolean;
  readonly triggerSkipped?: string;
  readonly triggerError?: string;
}

export async function ingestBatch(
  deps: IngestDeps,
  messages: readonly IngestMessage[],
  config: Config,
  pool: string,
): Promise<IngestResult> {
  const settings = config.gatewayEvents;
  const events: GatewayEvent[] = [];
  const dropped = new Map<string, number>();
  for (const m of messages) {
    const parsed = parseGatewayMessage(m.body);
    if (parsed.ok) events.push(...parsed.events);
    else
      dropped.set(
        `invalid message: ${parsed.reason}`,
        (dropped.get(`invalid message: ${parsed.reason}`) ?? 0) + 1,
      );
  }
  const batch = aggregateBatch(events, variantResolver(config), settings.slotSeconds);
  for (const d of batch.dropped) dropped.set(d.reason, (dropped.get(d.reason) ?? 0) + d.count);
  const stored = await deps.store.apply(batch, settings.retentionSeconds);

  let triggered = false;
  let triggerSkipped: string | undefined;
  let triggerError: string | undefined;
  if (batch.waitingForReplicas.length > 0) {
    const now = deps.clock.now();
    if (await deps.store.claimTrigger(pool, now, settings.debounceSeconds)) {
      try {
        await deps.trigger.trigger(pool, `requests wait for ${batch.waitingForReplicas.join(', ')}`);
        triggered = true;
      } catch (err) {
        // The counters are written; the scheduled evaluation still comes.
        triggerError = err instanceof Error ? err.message : String(err);
      }
    } else {
      triggerSkipped = `an evaluation of pool ${pool} was triggered less than ${settings.debounceSeconds} s ago`;
    }
  }
  return {
    messages: messages.length,
    events: events.length,
    applied: batch.applied,
    duplicates: batch.duplicates,
    dropped: [...dropped].map(([reason, count]) => ({ reason, count })),
    writes: stored.writes,
    alreadyApplied: stored.alreadyApplied,
    waitingForReplicas: batch.waitingForReplicas,
    triggered,
    ...(triggerSkipped ? { triggerSkipped } : {}),
    ...(triggerError ? { triggerError } : {}),
  };
}
