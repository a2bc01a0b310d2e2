/**
 * Apply (SQS FIFO event source, batches): each message is one variant's decision or a pool's
 * capacity intent (lib/loop/apply.ts). The message groups of a batch (one per variant, one per
 * pool's capacity) are applied concurrently, each in its own order (./groups.ts). A malformed or
 * failed message is a batch item failure (its reason logged; after the queue's max receives it
 * goes to the DLQ) and the rest of its message group waits behind it; expired, duplicate and
 * superseded messages are logged and deleted. Adapters come from the environment (../wiring.ts).
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { applyMessage } from '../../lib/loop/apply.js';
import { InvalidCapacityIntentError } from '../../lib/policy/capacity.js';
import { InvalidDecisionError } from '../../lib/policy/decisionRecord.js';
import { applyWiring, cached, type ApplyWiring } from '../wiring.js';
import { processGroupsConcurrently } from './groups.js';
import { correlationKeys, failureFields, outcomeFields } from './logFields.js';

export const logger = new Logger({ serviceName: 'sva-apply' });

async function applyRecord({ deps, options }: ApplyWiring, record: SQSRecord): Promise<void> {
  // Passed with each line rather than appended to the logger: groups run concurrently, and
  // appended keys would label one group's lines with another's message.
  const keys = correlationKeys(record);
  try {
    const outcome = await applyMessage(deps, record.body, options);
    const what = outcome.kind === 'capacity' ? 'capacity intent' : 'decision';
    const message = outcome.status === 'applied' ? `${what} applied` : `${what} dropped: ${outcome.status}`;
    // An expired message means the consumer fell behind; insufficient capacity means the next
    // evaluation sizes elsewhere: both worth a warning.
    const short = outcome.kind === 'capacity' && outcome.report?.changes.some((c) => c.insufficient);
    logger[outcome.status === 'expired' || short ? 'warn' : 'info'](message, {
      ...keys,
      ...outcomeFields(outcome),
    });
    if (outcome.kind === 'decision' && outcome.telemetryError)
      logger.warn('current replicas not published', { ...keys, error: outcome.telemetryError });
  } catch (err) {
    const malformed = err instanceof InvalidDecisionError || err instanceof InvalidCapacityIntentError;
    const what = malformed ? 'malformed message' : 'message not applied';
    logger.error(`${what}: left on the queue for redelivery, then the DLQ`, {
      ...keys,
      ...failureFields(err),
    });
    throw err;
  }
}

export function createApplyHandler(wire: () => Promise<ApplyWiring>) {
  const wiring = cached(wire);
  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const w = await wiring();
    return processGroupsConcurrently(event, (record: SQSRecord) => applyRecord(w, record), context);
  }).use(injectLambdaContext(logger, { resetKeys: true }));
}

export const handler = createApplyHandler(() => applyWiring(process.env, logger));
