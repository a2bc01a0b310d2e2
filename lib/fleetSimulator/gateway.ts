/**
 * An inference gateway's endpoint picker (the EPP of the Gateway API Inference Extension, as llm-d
 * runs it) in front of a variant's replicas, when a fleet asks for one (`gateway` in the config).
 *
 * - Saturation, the EPP's defaults: a replica is saturated when it has >= 5 requests waiting or
 *   its KV cache is >= 80% used.
 * - Picking: among the ready replicas that are not saturated, the least loaded (fewest waiting,
 *   then least KV cache used, then fewest running; ties to the oldest).
 * - Flow control: while every ready replica is saturated, or none is ready, requests wait in the
 *   gateway's queue in arrival order (new arrivals join behind it) and are dispatched as replicas
 *   free up. `llm_d_epp_flow_control_queue_size` is that queue's length;
 *   `llm_d_epp_request_running` counts the requests the gateway has dispatched that have not
 *   finished (running or waiting in an engine), per model.
 *
 * Without a gateway the fleet routes as before: every arrival to the ready replica with the
 * fewest outstanding requests, held only while none is ready.
 */
import { z } from 'zod';
import type { MetricSample } from './prometheusText.js';

export interface GatewayConfig {
  /** a replica with at least this many requests waiting is saturated; default 5 */
  readonly queueDepthThreshold?: number;
  /** a replica with at least this share of its KV cache used is saturated; default 0.8 */
  readonly kvCacheUtilThreshold?: number;
}

export type ParsedGatewayConfig = Required<GatewayConfig>;

export const gatewaySchema = z.object({
  queueDepthThreshold: z.number().int().positive().default(5),
  kvCacheUtilThreshold: z.number().positive().max(1).default(0.8),
});

/** What the picker sees of a ready replica. */
export interface EndpointLoad {
  readonly waiting: number;
  readonly running: number;
  readonly kvCacheUsage: number;
}

export function isSaturated(e: EndpointLoad, gateway: ParsedGatewayConfig): boolean {
  return e.waiting >= gateway.queueDepthThreshold || e.kvCacheUsage >= gateway.kvCacheUtilThreshold;
}

/** Index of the endpoint a request goes to, or -1 when all are saturated (or there are none). */
export function pickEndpoint(endpoints: readonly EndpointLoad[], gateway: ParsedGatewayConfig): number {
  let best = -1;
  for (let i = 0; i < endpoints.length; i++) {
    const e = endpoints[i]!;
    if (isSaturated(e, gateway)) continue;
    if (best < 0 || lessLoaded(e, endpoints[best]!)) best = i;
  }
  return best;
}

function lessLoaded(a: EndpointLoad, b: EndpointLoad): boolean {
  if (a.waiting !== b.waiting) return a.waiting < b.waiting;
  if (a.kvCacheUsage !== b.kvCacheUsage) return a.kvCacheUsage < b.kvCacheUsage;
  return a.running < b.running;
}

/** The gateway's series for one model, as llm-d's EPP exports them. */
export function eppSamples(
  labels: { model_name: string; namespace: string },
  queued: number,
  inFlight: number,
): MetricSample[] {
  return [
    {
      name: 'llm_d_epp_flow_control_queue_size',
      family: 'llm_d_epp_flow_control_queue_size',
      type: 'gauge',
      labels,
      value: queued,
    },
    {
      name: 'llm_d_epp_request_running',
      family: 'llm_d_epp_request_running',
      type: 'gauge',
      labels,
      value: inFlight,
    },
  ];
}
