/**
 * `keda-epp`: KEDA on the gateway's signals, the autoscaling path llm-d recommends (its "KEDA
 * with EPP metrics" guide): a ScaledObject with two Prometheus triggers on the endpoint picker's
 * series, each an AverageValue target per replica, the HPA it creates taking the larger proposal:
 *
 * - `sum(llm_d_epp_flow_control_queue_size)`: requests the gateway holds because every replica
 *   is saturated (>= 5 waiting or >= 80% KV cache, the EPP's defaults), target 5 per replica;
 * - `sum(llm_d_epp_request_running)`: requests in flight (dispatched, not finished), target per
 *   replica 80% of the batch the model's profile is measured at on that accelerator (what a load
 *   test of one replica would settle on: the batch at which it still meets its targets, with the
 *   EPP's 80% headroom).
 *
 * An AverageValue target proposes ceil(total / target) replicas, unchanged within the HPA's 10%
 * tolerance; polled every 15 s; scale-up at once, scale-down only to the highest proposal of the
 * last 300 s (the stabilisation the guide sets, since a replica takes minutes to serve); within the
 * variant's min and max; on one accelerator (baselineAccelerator: the pinned one, else the one a
 * load test would settle on, else the cheapest allowed). The fleet
 * runs behind the simulated gateway (lib/fleetSimulator/gateway.ts). It scales no nodes (see
 * clusterAutoscaler.ts).
 */
import type { Config, VariantConfig } from '../../lib/config/schema.js';
import type { Controller } from '../../lib/closedLoop/controller.js';
import type { Scenario } from '../../lib/closedLoop/scenario.js';
import { acceleratorType, allowedAccelerators } from '../../lib/config/resolved.js';
import {
  clamp,
  desiredReplicas,
  loadOf,
  scaleDeployment,
  ScaleDownWindow,
  sizeWithOptimizer,
} from './common.js';
import { nodeShape } from './fleetHold.js';

export const KEDA_EPP_POLLING_SECONDS = 15;
export const KEDA_EPP_STABILIZATION_SECONDS = 300;
export const EPP_QUEUE_TARGET_PER_REPLICA = 5;
export const IN_FLIGHT_HEADROOM = 0.8;
const HPA_TOLERANCE = 0.1;

/** The variant's pinned accelerator, or its cheapest allowed one by price per device. */
export function pinnedOrCheapest(config: Config, v: VariantConfig): string {
  const allowed = allowedAccelerators(config, v);
  if (allowed.length === 1) return allowed[0]!;
  const price = (name: string) => {
    const a = config.accelerators.find((x) => x.name === name)!;
    return a.costPerHour / a.multiplicity;
  };
  return [...allowed].sort((a, b) => price(a) - price(b))[0]!;
}

/**
 * The one accelerator a Deployment-scaling baseline runs on: the variant's pinned one; else the
 * accelerator of the cheapest constant fleet that meets the target in the simulator (static-best:
 * what a user's load test would settle on; the cheapest allowed one may not meet the targets at
 * all, e.g. an L4 whose every prefill chunk stalls decoding past the ITL target); else, without
 * that search, the cheapest allowed one.
 */
export function baselineAccelerator(config: Config, v: VariantConfig, loadTested?: string): string {
  const allowed = allowedAccelerators(config, v);
  if (allowed.length === 1) return allowed[0]!;
  if (loadTested !== undefined && allowed.includes(loadTested)) return loadTested;
  return pinnedOrCheapest(config, v);
}

/** In-flight requests per replica the running-requests trigger aims at. */
export function inFlightTarget(config: Config, v: VariantConfig, accelerator: string): number {
  const profile = config.models.find((m) => m.name === v.model)?.profiles[accelerator];
  const batch = v.maxBatchSize > 0 ? v.maxBatchSize : (profile?.maxBatchSize ?? 1);
  return Math.max(1, Math.floor(batch * IN_FLIGHT_HEADROOM));
}

/** An AverageValue external metric's proposal (the HPA's replica calculator). */
export function averageValueProposal(total: number, target: number, current: number): number {
  if (current > 0 && Math.abs(1 - total / (target * current)) <= HPA_TOLERANCE) return current;
  return Math.ceil(total / target);
}

export function kedaEppRecommendation(
  input: { current: number; queued: number; inFlight: number; inFlightTarget: number },
  v: VariantConfig,
): number {
  const queue = averageValueProposal(input.queued, EPP_QUEUE_TARGET_PER_REPLICA, input.current);
  const running = averageValueProposal(input.inFlight, input.inFlightTarget, input.current);
  return clamp(Math.max(queue, running), v);
}

/** The benchmark's fleet behind the gateway, starting on keda-epp's accelerator. */
export function kedaEppScenario(config: Config, scenario: Scenario, accelerator: string): Scenario {
  const start = startingOn(config, scenario, accelerator);
  return { ...start, fleet: { ...start.fleet, gateway: {} } };
}

/**
 * The benchmark's fleet starting on one accelerator with what the model sizes for the opening's
 * busiest minute there (as if the fleet had run before), for the baselines that never leave it.
 */
export function startingOn(config: Config, scenario: Scenario, acc: string): Scenario {
  const v = config.variants[0]!;
  const requests = scenario.traces.get(v.name)?.requests ?? [];
  let busiest = loadOf(requests, 0, 60);
  for (let t = 60; t < Math.min(600, scenario.durationSeconds); t += 60) {
    const load = loadOf(requests, t, t + 60);
    if (load.rate > busiest.rate) busiest = load;
  }
  const replicas = Math.max(
    sizeWithOptimizer(config, v, busiest, { accelerators: [acc], margin: config.policy.targetMargin })
      .replicas,
    v.minReplicas,
  );
  const shape = nodeShape(config, v, acc);
  return {
    ...scenario,
    fleet: {
      ...scenario.fleet,
      variants: scenario.fleet.variants.map((f) =>
        f.name === v.name
          ? { ...f, accelerator: acceleratorType(config, acc)!, initialReplicas: replicas }
          : f,
      ),
      nodeGroups: scenario.fleet.nodeGroups.map((g) => ({
        ...g,
        initialNodes:
          g.name === shape.group
            ? Math.ceil(replicas / shape.replicasPerNode)
            : Math.min(g.minNodes ?? 0, g.maxNodes),
      })),
    },
  };
}

export function kedaEppController(config: Config, accelerator: string): Controller {
  const windows = new Map<string, ScaleDownWindow>();
  return {
    name: 'keda-epp',
    intervalSeconds: KEDA_EPP_POLLING_SECONDS,
    async step(ctx) {
      const state = ctx.sim.state();
      const epp = ctx.sim
        .scrape(undefined, { histogramBuckets: false })
        .filter((x) => x.name.startsWith('llm_d_epp_'));
      for (const v of config.variants) {
        const s = state.variants.find((x) => x.name === v.name);
        const current = desiredReplicas(ctx, v, accelerator);
        let window = windows.get(v.name);
        if (!window) {
          window = new ScaleDownWindow(KEDA_EPP_STABILIZATION_SECONDS);
          window.seed(0, current);
          windows.set(v.name, window);
        }
        // The EPP's series as KEDA's Prometheus query reads them at the poll.
        const series = (name: string) =>
          epp
            .filter(
              (x) => x.name === name && x.labels.model_name === model && x.labels.namespace === s?.namespace,
            )
            .reduce((a, x) => a + x.value, 0);
        const model = s?.model ?? v.model;
        const queued = series('llm_d_epp_flow_control_queue_size');
        const inFlight = series('llm_d_epp_request_running');
        const target = inFlightTarget(config, v, accelerator);
        const recommended = kedaEppRecommendation({ current, queued, inFlight, inFlightTarget: target }, v);
        const size = window.apply(ctx.t, current, recommended);
        scaleDeployment(
          ctx,
          v,
          accelerator,
          size,
          size > current ? 'epp' : 'stabilized',
          `flow-control queue ${queued} / ${EPP_QUEUE_TARGET_PER_REPLICA}, in flight ${inFlight} / ${target} per replica -> ${recommended}`,
        );
      }
      return { estimatedRates: Object.fromEntries(config.variants.map((v) => [v.name, null])) };
    },
  };
}
