/** Prometheus: the metrics source (query API) and the telemetry sink (remote write). */
export type { PrometheusConnection } from './connection.js';
export type { SigV4Options } from './sigv4.js';
export { PrometheusClient, PrometheusQueryError, type PrometheusErrorKind } from './prometheusClient.js';
export {
  PrometheusMetricsSource,
  type CollectionStats,
  type GatewayPoolEstimates,
  type PrometheusObservation,
  type PrometheusSourceOptions,
} from './prometheusMetricsSource.js';
export {
  RemoteWriteError,
  RemoteWriteTelemetrySink,
  type RemoteWriteSinkOptions,
} from './remoteWriteSink.js';
export {
  findPrometheusBinary,
  freeLoopbackPort,
  LocalPrometheus,
  PROMETHEUS_INSTALL_COMMAND,
  type LocalPrometheusOptions,
  type ScrapeJob,
} from './localPrometheus.js';
