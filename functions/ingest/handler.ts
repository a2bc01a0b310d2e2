/**
 * Ingest (SQS standard queue event source, batches): the gateway's request events folded into
 * per-engine counters and per-variant bucket statistics (lib/loop/ingest.ts). A message that
 * does not parse is counted and dropped with its reason, never retried and never failing the
 * batch; a failed write fails the batch, whose redelivery the stored batch keys recognise
 * (docs/GATEWAY.md, "Lost and duplicated events").
 * A request waiting for a variant with no ready replica triggers an evaluation at once.
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ingestBatch, type IngestResult } from '../../lib/loop/ingest.js';
import { cached, ingestWiring, type IngestWiring } from '../wiring.js';

export const logger = new Logger({ serviceName: 'sva-ingest' });

export function createIngestHandler(wire: () => Promise<IngestWiring>) {
  const wiring = cached(wire);
  return middy(async (event: SQSEvent, _context: Context): Promise<SQSBatchResponse & IngestResult> => {
    const { deps, config, pool } = await wiring();
    const records = Array.isArray(event?.Records) ? event.Records : [];
    const result = await ingestBatch(
      deps,
      records.map((r) => ({ id: r.messageId, body: typeof r.body === 'string' ? r.body : '' })),
      config,
      pool,
    );
    for (const d of result.dropped)
      logger.warn('gateway events dropped', { reason: d.reason, count: d.count });
    if (result.triggerError) logger.error('evaluation not triggered', { error: result.triggerError });
    logger.info('gateway events ingested', { ...result, dropped: result.dropped.length });
    // Nothing is left for a retry: bad messages are dropped, a failed write throws the batch.
    return { batchItemFailures: [], ...result };
  }).use(injectLambdaContext(logger, { resetKeys: true }));
}

export const handler = createIngestHandler(() => ingestWiring(process.env, logger));
