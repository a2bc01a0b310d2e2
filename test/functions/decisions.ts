/** Decision records and SQS events for tests, valid unless told otherwise. */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { DECISION_VERSION, type DecisionRecord } from '../../lib/policy/decisionRecord.js';
import { deduplicationIdOf, groupIdOf, type PoolMessage } from '../../lib/policy/messages.js';

export interface DecisionOptions {
  readonly variant?: string;
  readonly namespace?: string;
  readonly sequence?: number;
  readonly poolSequence?: number;
  readonly current?: number;
  readonly target?: number;
  readonly issuedAt?: string;
  readonly deployment?: string;
}

export function decision(o: DecisionOptions = {}): DecisionRecord {
  const variant = o.variant ?? 'chat';
  const namespace = o.namespace ?? 'llm';
  const sequence = o.sequence ?? 1;
  const current = o.current ?? 1;
  const target = o.target ?? 2;
  return {
    version: DECISION_VERSION,
    id: `${namespace}/${variant}#${sequence}`,
    pool: 'default',
    poolSequence: o.poolSequence ?? sequence,
    variant,
    namespace,
    model: 'llama-3.1-8b',
    sequence,
    issuedAt: o.issuedAt ?? new Date().toISOString(),
    accelerator: 'L4',
    targetReplicas: target,
    currentReplicas: current,
    action: target > current ? 'scale-up' : target < current ? 'scale-down' : 'none',
    reason: 'load',
    message: `test decision ${sequence}`,
    deployments: [{ accelerator: 'L4', deployment: o.deployment ?? variant, replicas: target }],
    prediction: { ttftMs: 300, itlMs: 30, utilization: 0.5, ratePerReplica: 1 },
    inputs: {
      arrivalRate: 1,
      completionRate: 1,
      demandRate: 1,
      avgInputTokens: 512,
      avgOutputTokens: 128,
      waiting: 0,
      running: 1,
      readyReplicas: current,
      modelCorrection: { ttft: 1, itl: 1 },
      metricTimestamps: {},
      stale: [],
      missing: [],
    },
  };
}

let messages = 0;

/** An SQS record as Lambda's event source delivers it; `body` may be any text. */
export function sqsRecord(body: PoolMessage | string, groupId?: string): SQSRecord {
  const n = ++messages;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    messageId: `m-${n}`,
    receiptHandle: `r-${n}`,
    body: text,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      SequenceNumber: String(n),
      MessageGroupId: groupId ?? (typeof body === 'string' ? 'llm/unknown' : groupIdOf(body)),
      MessageDeduplicationId: typeof body === 'string' ? `raw-${n}` : deduplicationIdOf(body),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:sva-decisions.fifo',
    awsRegion: 'us-east-1',
  };
}

export const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
