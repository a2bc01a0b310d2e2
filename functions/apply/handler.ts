/**
 * Apply (SQS FIFO event source, batches): each message is one variant's decision or a pool's
 * capacity intent (lib/loop/apply.ts). The message groups of a batch (one per variant, one per
 * pool's capacity) are applied concurrently, each in its own order (./groups.ts). A message apply
 * rejects (malformed, too large, outside the config) or a permanent error ends (403, 404, 422)
 * is sent to the dead-letter queue with its reason and reported processed, so it never holds
 * its group; one a permanent error ended after some of its Deployments were set is `partial`,
 * logged and set aside so (what was set, what was refused), and the next decision sets them all; a transient failure (throttling, 409, 429, 5xx, timeouts) is a batch item failure,
 * retried by SQS with the rest of its group behind it. Expired, duplicate and superseded
 * messages are logged and deleted. Adapters come from the environment (../wiring.ts).
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { applyMessage, DROPPED, isPermanent, type MessageOutcome } from '../../lib/loop/apply.js';
import { applyWiring, cached, type ApplyWiring } from '../wiring.js';
import { processGroupsConcurrently } from './groups.js';
import { correlationKeys, failureFields, outcomeFields } from './logFields.js';

export const logger = new Logger({ serviceName: 'sva-apply' });

/** Decisions apply holds without acting by design (README "Adopting sva"), not dropped. */
const HELD: ReadonlySet<string> = new Set(['shadow', 'advise', 'paused']);

/** Why a message is set aside for good, or undefined when it was handled. */
function setAside(outcome: MessageOutcome): string | undefined {
  if (outcome.kind === 'rejected') return `rejected: ${outcome.detail}`;
  if (outcome.kind === 'decision' && (outcome.status === 'failed' || outcome.status === 'partial'))
    return `${outcome.status}: ${outcome.detail}: ${outcome.error ?? ''}`;
  return undefined;
}

/**
 * Sends a message apply will not act on to the dead-letter queue and reports it processed, so
 * the variant's message group goes on. Without a DLQ configured it is thrown, and SQS redrive
 * moves it after maxReceiveCount receives.
 */
async function deadLetter(w: ApplyWiring, record: SQSRecord, reason: string, keys: Record<string, unknown>) {
  if (!w.deadLetters) {
    logger.error(`${reason}: no dead-letter queue configured (SVA_DLQ_URL); left for SQS redrive`, keys);
    throw new Error(reason);
  }
  await w.deadLetters.send({
    body: record.body,
    groupId: record.attributes?.MessageGroupId ?? 'rejected',
    deduplicationId: record.messageId,
    reason,
  });
  logger.warn(`message set aside in the dead-letter queue: ${reason}`, { ...keys, reason });
}

async function applyRecord(w: ApplyWiring, record: SQSRecord): Promise<void> {
  const { deps, options } = w;
  // Passed with each line rather than appended to the logger: groups run concurrently, and
  // appended keys would label one group's lines with another's message.
  const keys = correlationKeys(record);
  let outcome: MessageOutcome;
  try {
    outcome = await applyMessage(deps, record.body, options);
  } catch (err) {
    if (isPermanent(err)) {
      // A permanent refusal outside a decision's own handling (the capacity provider's): the
      // same as a rejected message, retried it would only hold the group.
      return deadLetter(w, record, `failed: ${(err as Error).message}`, { ...keys, ...failureFields(err) });
    }
    logger.error('message not applied (transient): left on the queue for redelivery with backoff', {
      ...keys,
      ...failureFields(err),
    });
    throw err;
  }
  const aside = setAside(outcome);
  if (outcome.kind !== 'rejected') {
    const what = outcome.kind === 'capacity' ? 'capacity intent' : 'decision';
    const message =
      outcome.status === 'applied'
        ? `${what} applied`
        : outcome.status === 'partial'
          ? `${what} partly applied: the rest waits for the next decision`
          : HELD.has(outcome.status)
            ? `${what} not acted on: ${outcome.status}`
            : `${what} dropped: ${outcome.status}`;
    // Every dropped message is a warning with its reason (and counted, lib/loop/apply.ts);
    // insufficient capacity means the next evaluation sizes elsewhere: worth one too; and so is
    // a pause, which someone has to lift. Shadow and advise are what was asked for: info.
    const short = outcome.kind === 'capacity' && outcome.report?.changes.some((c) => c.insufficient);
    const warn = DROPPED.has(outcome.status) || short || outcome.status === 'paused';
    logger[warn ? 'warn' : 'info'](message, {
      ...keys,
      ...outcomeFields(outcome),
    });
    if (outcome.telemetryError)
      logger.warn('current replicas not published', { ...keys, error: outcome.telemetryError });
    // Advise mode with nothing scaling on the advice: the variant never scales, silently.
    if (outcome.kind === 'decision' && outcome.unconsumed)
      logger.warn('advise mode: nothing scales on the advice', {
        ...keys,
        variant: `${outcome.decision.namespace}/${outcome.decision.variant}`,
        deployments: outcome.decision.deployments.map((t) => t.deployment),
        detail: outcome.unconsumed,
      });
    if (outcome.kind === 'decision' && outcome.adviceCheck)
      logger.warn('advise mode: check for an HPA or ScaledObject skipped', {
        ...keys,
        variant: `${outcome.decision.namespace}/${outcome.decision.variant}`,
        detail: outcome.adviceCheck,
      });
    if (outcome.kind === 'decision' && outcome.configMismatch)
      logger.warn("decision made with another config than apply's", {
        ...keys,
        detail: outcome.configMismatch,
      });
  }
  if (aside)
    await deadLetter(w, record, aside, {
      ...keys,
      ...(outcome.kind === 'rejected' ? { field: outcome.field } : {}),
    });
}

export function createApplyHandler(wire: () => Promise<ApplyWiring>) {
  const wiring = cached(wire);
  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const w = await wiring();
    return processGroupsConcurrently(event, (record: SQSRecord) => applyRecord(w, record), context);
  }).use(injectLambdaContext(logger, { resetKeys: true }));
}

export const handler = createApplyHandler(() => applyWiring(process.env, logger));
