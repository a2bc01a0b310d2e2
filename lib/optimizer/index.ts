export * from './system.js';
export { solve } from './solve.js';
export { transitionValue, effectiveBatchSize, QUEUE_TO_BATCH_RATIO } from './candidates.js';
