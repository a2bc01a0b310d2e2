/**
 * Embedded simulation of a vLLM fleet (the outside world of `npm start`): request traces,
 * synthetic load, a discrete-event fleet simulator and its vLLM metrics.
 */
export * from './traces.js';
export * from './synthetic.js';
export { createFleetSim } from './fleet.js';
export type * from './fleetApi.js';
export type { NodeState } from './nodes.js';
export {
  SimError,
  type FleetSimConfig,
  type VariantConfig,
  type NodeGroupConfig,
  type ResultsConfig,
} from './config.js';
export type { ReplicaProfile } from './replica.js';
export type { RequestRecord, RequestStats, RequestStatus } from './results.js';
export type { Summary, WindowStats, WindowBy } from './resultBook.js';
export { SKETCH_RELATIVE_ACCURACY } from './sketch.js';
export {
  renderPrometheusText,
  formatPrometheusNumber,
  type MetricSample,
  type MetricType,
} from './prometheusText.js';
export { TTFT_BUCKETS, ITL_BUCKETS, REQUEST_LATENCY_BUCKETS, oneTwoFiveBuckets } from './vllmMetrics.js';
export { mulberry32, randomStream, type Random } from './random.js';
