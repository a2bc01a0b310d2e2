export { MemoryDecisionState } from './decisionState.js';
export { MemoryDecisionQueue, type QueuedMessage } from './decisionQueue.js';
export { MemoryTelemetrySink } from './telemetrySink.js';
export { ManualClock, systemClock } from './clock.js';
