/**
 * Evaluate (EventBridge schedule): collect, decide and queue one decision per variant of a
 * capacity pool, publish the desired replicas, return a summary. The pool is the event's
 * `pool` (or `detail.pool`), else SVA_POOL. Adapters come from the environment (../wiring.ts).
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { evaluatePool } from '../../lib/loop/evaluate.js';
import { cached, evaluateWiring, type EvaluateWiring } from '../wiring.js';
import { poolOf, summarize, type EvaluateEvent, type EvaluateSummary } from './summary.js';

export const logger = new Logger({ serviceName: 'sva-evaluate' });

export function createEvaluateHandler(wire: () => Promise<EvaluateWiring>) {
  const wiring = cached(wire);
  return middy(async (event: EvaluateEvent, _context: Context): Promise<EvaluateSummary> => {
    const named = poolOf(event); // a bad event fails before anything is read or sent
    const { deps, config, pool: defaultPool } = await wiring();
    const pool = named ?? defaultPool;
    logger.appendKeys({ pool });
    const result = await evaluatePool(deps, config, pool);
    if (result.generationStarted)
      logger.warn('policy memory behind apply: a new generation started', {
        detail: result.generationStarted,
      });
    const summary = summarize(result);
    logger.info('pool evaluated', { ...summary, variants: undefined, decisions: summary.variants.length });
    if (summary.telemetryError)
      logger.warn('desired replicas not published', { error: summary.telemetryError });
    return summary;
  }).use(injectLambdaContext(logger, { resetKeys: true }));
}

export const handler = createEvaluateHandler(() => evaluateWiring(process.env, logger));
