export { MemoryDecisionState } from './decisionState.js';
export { MemoryDecisionQueue, type QueuedMessage } from './decisionQueue.js';
export { MemoryTelemetrySink } from './telemetrySink.js';
export { ManualClock, systemClock } from './clock.js';
export { CallLog, type Call, type DeploymentTarget } from './callLog.js';
export { MemoryCluster, type DeploymentName, type MemoryClusterOptions } from './cluster.js';
export { MemoryCapacityProvider, type MemoryCapacityOptions } from './capacity.js';
export { MemoryMetricsSource } from './metricsSource.js';
export { MemoryDeadLetters, type DeadLetter } from './deadLetters.js';
