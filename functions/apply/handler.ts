/**
 * Apply (SQS FIFO event source, batches): each message is one decision. The message groups of a
 * batch (one per variant) are applied concurrently, each in its own order (./groups.ts). A
 * malformed or failed message is a batch item failure (its reason logged; after the queue's max
 * receives it goes to the DLQ) and the rest of its message group waits behind it; expired,
 * duplicate and superseded decisions are logged and deleted. Adapters come from the environment
 * (../wiring.ts).
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { applyDecision } from '../../lib/loop/apply.js';
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
    const outcome = await applyDecision(deps, record.body, options);
    const message = outcome.status === 'applied' ? 'decision applied' : `decision dropped: ${outcome.status}`;
    // An expired decision means the consumer fell behind: worth a warning.
    logger[outcome.status === 'expired' ? 'warn' : 'info'](message, { ...keys, ...outcomeFields(outcome) });
    if (outcome.telemetryError)
      logger.warn('current replicas not published', { ...keys, error: outcome.telemetryError });
  } catch (err) {
    const what = err instanceof InvalidDecisionError ? 'malformed decision' : 'decision not applied';
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
