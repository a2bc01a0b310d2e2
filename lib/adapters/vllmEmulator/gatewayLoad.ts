/**
 * The inference gateway's endpoint picker (EPP) at a known load: its per-model request counter
 * growing at a fixed rate (`inference_model_request_total`, or as v1.x names it
 * `inference_objective_request_total`, or llm-d's router `llm_d_epp_request_total`) and its pool
 * gauges (`inference_pool_*`, llm-d's `llm_d_epp_*`), and when asked its flow-control queue
 * (`inference_extension_flow_control_queue_size`, llm-d's `llm_d_epp_flow_control_queue_size`),
 * split over two priorities as the EPP labels it. `namespace` stands in for the label a
 * Kubernetes scrape adds to the EPP's series.
 */
import type { MetricSample } from '../../fleetSimulator/prometheusText.js';

export interface GatewayLoadOptions {
  readonly model: string;
  readonly namespace: string;
  /** requests per second the gateway receives for the model */
  readonly requestRate: number;
  /** `target_model_name` (default: the model) */
  readonly targetModel?: string;
  readonly pool?: {
    readonly name: string;
    readonly averageQueueSize: number;
    readonly averageKvCacheUtilization: number;
    readonly readyPods: number;
  };
  /** requests held in the flow-control queue for the model (default: no such series) */
  readonly flowControlQueue?: number;
  /** epoch seconds the counter starts from (default: now) */
  readonly startSeconds?: number;
  /**
   * whose EPP: 'v0' (default) names the counter inference_model_*, 'v1' inference_objective_*,
   * both with inference_pool_* gauges; 'llm-d' (llm-d's router) names them all llm_d_epp_*
   */
  readonly naming?: 'v0' | 'v1' | 'llm-d';
}

export function gatewaySource(options: GatewayLoadOptions): (t: number) => MetricSample[] {
  const start = options.startSeconds ?? Date.now() / 1000;
  const llmd = options.naming === 'llm-d';
  const counter = llmd
    ? 'llm_d_epp_request_total'
    : options.naming === 'v1'
      ? 'inference_objective_request_total'
      : 'inference_model_request_total';
  return (t) => {
    const requests = Math.floor(Math.max(t - start, 0) * options.requestRate + 1e-9);
    const samples: MetricSample[] = [
      {
        name: counter,
        family: counter,
        type: 'counter',
        labels: {
          model_name: options.model,
          target_model_name: options.targetModel ?? options.model,
          namespace: options.namespace,
        },
        value: requests,
      },
    ];
    if (options.flowControlQueue !== undefined) {
      const name = llmd ? 'llm_d_epp_flow_control_queue_size' : 'inference_extension_flow_control_queue_size';
      const high = Math.ceil(options.flowControlQueue / 2);
      for (const [priority, value] of [
        ['1', high],
        ['0', options.flowControlQueue - high],
      ] as const)
        samples.push({
          name,
          family: name,
          type: 'gauge',
          labels: {
            inference_pool: options.pool?.name ?? options.model,
            model_name: options.model,
            priority,
            namespace: options.namespace,
          },
          value,
        });
    }
    const pool = options.pool;
    if (pool) {
      const labels = { name: pool.name, namespace: options.namespace };
      const gauge = (name: string, value: number): MetricSample => ({
        name,
        family: name,
        type: 'gauge',
        labels,
        value,
      });
      samples.push(
        gauge(
          llmd ? 'llm_d_epp_average_queue_size' : 'inference_pool_average_queue_size',
          pool.averageQueueSize,
        ),
        gauge(
          llmd ? 'llm_d_epp_average_kv_cache_utilization' : 'inference_pool_average_kv_cache_utilization',
          pool.averageKvCacheUtilization,
        ),
        gauge(llmd ? 'llm_d_epp_ready_endpoints' : 'inference_pool_ready_pods', pool.readyPods),
      );
    }
    return samples;
  };
}
