export { SqsDecisionQueue, SqsSendError, SQS_BATCH_SIZE, type SqsSender } from './sqsDecisionQueue.js';
export {
  drainQueue,
  pollOnce,
  toSqsRecord,
  type LocalEventSourceOptions,
  type PollResult,
  type SqsBatchHandler,
} from './localEventSource.js';
export { SqsDeadLetters, type SqsMessageSender } from './sqsDeadLetters.js';
