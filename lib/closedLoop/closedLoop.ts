/**
 * The whole loop on a simulated fleet: every scrape interval the fleet's metrics (and the
 * gateway's request counter) go into the sample store; every control interval the controller
 * (by default the autoscaler's own evaluate → queue → apply) acts on the simulated cluster.
 */
import { arrivalStepsAsked, targetsOf } from '../config/resolved.js';
import type { Config } from '../config/schema.js';
import { createFleetSim, type FleetSim } from '../fleetSimulator/index.js';
import { svaController, type Controller, type ScalingEvent } from './controller.js';
import { GatewayTap } from './gatewayTap.js';
import { GatewayMetricsSource } from '../adapters/gatewayEvents/gatewayMetricsSource.js';
import { ManualClock, MemoryGatewayLoad } from '../adapters/memory/index.js';
import { ingestBatch } from '../loop/ingest.js';
import { nodePricePerHour } from '../config/nodePrice.js';
import { sloTargets, summarizeRun, type SimulationSummary } from './outcomes.js';
import type { Scenario } from './scenario.js';
import { SimCluster, SimMetricsSource } from './simAdapters.js';
import { simCapacity } from './simCapacity.js';
import { HOUR_SECONDS, type HourOutcome } from './hourly.js';
import { VLLM } from '../metrics/vllmNaming.js';
import { everyVariant } from '../config/roles.js';

/**
 * The histograms whose buckets the policy reads (the token distributions, and the per-request time
 * per token where the servers expose it: policy.itlMissCorrection; the time to first token with
 * policy.burstSizing.concentration); the rest are skipped for speed.
 */
function policyBuckets(config: Config): string[] {
  return [
    VLLM.promptTokens,
    VLLM.generationTokens,
    VLLM.requestTpot,
    // only a disaggregated variant's prefill pods are read by it
    ...(config.policy.burstSizing.concentration.enabled && (config.disaggregated ?? []).length > 0
      ? [VLLM.ttft]
      : []),
  ];
}

export type { SimulationSummary, VariantSummary } from './outcomes.js';

export interface VariantPoint {
  /** requests that arrived in the last interval, per second */
  arrivalRate: number;
  /** what the controller judged the demand to be (null when it held) */
  estimatedRate: number | null;
  /** the rate the controller sized for over its lead time, and that lead time (sva only) */
  forecast?: { rate: number; leadSeconds: number };
  desired: Record<string, number>;
  ready: Record<string, number>;
  /** over the requests that finished in the interval */
  p95TtftMs: number | null;
  p95ItlMs: number | null;
}

export interface TimelinePoint {
  readonly t: number;
  /** per variant name */
  readonly variants: Record<string, VariantPoint>;
  /** $/h of the nodes running (ready or provisioning) */
  readonly costPerHour: number;
  readonly nodes: Record<string, number>;
}

export interface SimulationEvent extends ScalingEvent {
  readonly t: number;
}

export interface SimulationRun {
  readonly controller: string;
  readonly summary: SimulationSummary;
  readonly timeline: TimelinePoint[];
  readonly events: SimulationEvent[];
  readonly targets: Record<string, { ttftMs: number; itlMs: number }>;
  /** wall-clock milliseconds the run took */
  readonly elapsedMs: number;
  /** per hour of the measured span: requests arriving and how many met both targets (hourly.ts) */
  readonly hourly?: readonly HourOutcome[];
}

export interface RunOptions {
  /** default: the autoscaler (svaController) */
  readonly controller?: Controller;
  /** called now and then with the fraction of simulated time done */
  readonly onProgress?: (fraction: number, t: number) => void;
  /**
   * The fleet's gateway sends its request events, ingested every scrape interval into the
   * in-memory counters, which evaluate reads merged with the metrics; a request waiting for a
   * variant with no ready replica triggers an evaluation at once (docs/GATEWAY.md)
   */
  readonly gatewayEvents?: boolean;
}

/** Number of sorted times at or before t. */
function countUpTo(sorted: readonly number[], t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export async function runClosedLoop(
  config: Config,
  scenario: Scenario,
  options: RunOptions = {},
): Promise<SimulationRun> {
  const started = performance.now();
  const controller = options.controller ?? svaController(config);
  const from = scenario.measuredFrom;
  // Results binned per control interval from the measured span's start, each request checked
  // against its variant's targets as it completes: memory grows with the span, not the requests.
  const sim: FleetSim = createFleetSim({
    ...scenario.fleet,
    results: {
      ...scenario.fleet.results,
      origin: from,
      intervalSeconds: controller.intervalSeconds,
      targets: sloTargets(config),
    },
  });
  for (const [name, trace] of scenario.traces) sim.addArrivals(name, trace.requests);
  const metrics = new SimMetricsSource({
    windowSeconds: config.policy.metricsWindowSeconds,
    maxAgeSeconds: config.policy.metricsMaxAgeSeconds,
    ...arrivalStepsAsked(config),
  });
  const cluster = new SimCluster(sim, config);
  const histogramBuckets = policyBuckets(config);
  const capacity = simCapacity(sim, config);
  const prices = new Map(config.nodeGroups.map((g) => [g.name, nodePricePerHour(config, g)]));
  const arrivals = new Map([...scenario.traces].map(([name, t]) => [name, t.requests.map((r) => r.arrival)]));
  const arrivedBy = (name: string, t: number) => countUpTo(arrivals.get(name) ?? [], t);

  const timeline: TimelinePoint[] = [];
  const events: SimulationEvent[] = [];
  const scalingActions = new Map<string, number>();
  const scrapeEvery = config.simulation?.scrapeIntervalSeconds ?? 15;
  const end = scenario.durationSeconds;
  const horizon = end + (config.simulation?.drainSeconds ?? 120);
  let usageAtStart = from > 0 ? undefined : sim.usage();
  let nextStep = controller.intervalSeconds;
  const gateway = options.gatewayEvents ? gatewayEventPath(config, sim, metrics) : undefined;

  for (let t = scrapeEvery; t <= horizon + 1e-9; t += scrapeEvery) {
    sim.runUntil(t);
    const triggered = (await gateway?.ingest(t)) ?? false;
    if (!usageAtStart && t >= from) usageAtStart = sim.usage();
    const gatewayCounts = new Map(
      everyVariant(config).map((v) => [
        v.name,
        { model: v.metrics.modelName ?? v.model, namespace: v.namespace, count: arrivedBy(v.name, t) },
      ]),
    );
    // The sample store reads histograms' _sum and _count only: their buckets would be most of
    // every scrape, kept an hour for nothing.
    metrics.scrape(t, sim.scrape(undefined, { histogramBuckets }), gatewayCounts);
    const scheduled = t + 1e-9 >= nextStep;
    if ((!scheduled && !triggered) || t > end) continue;
    if (scheduled) nextStep += controller.intervalSeconds;
    const step = await controller.step({
      t,
      config,
      scenario,
      sim,
      metrics,
      ...(gateway ? { gatewayMetrics: gateway.metrics } : {}),
      cluster,
      capacity,
      record: (e) => {
        if (t <= from) return;
        scalingActions.set(e.variant, (scalingActions.get(e.variant) ?? 0) + 1);
        events.push({ ...e, t: t - from });
      },
    });
    if (t > from) timeline.push(snapshot(t, step.estimatedRates, step.forecasts ?? {}));
    options.onProgress?.(Math.min(t / end, 1), t);
  }
  sim.runUntil(horizon);
  options.onProgress?.(1, end);
  addLatencies(timeline, sim, from);

  function snapshot(
    t: number,
    estimated: Readonly<Record<string, number | null>>,
    forecasts: Readonly<Record<string, { rate: number; leadSeconds: number }>>,
  ): TimelinePoint {
    const state = sim.state();
    const since = (timeline.at(-1)?.t ?? 0) + from;
    const variants: Record<string, VariantPoint> = {};
    for (const v of everyVariant(config)) {
      const s = state.variants.find((x) => x.name === v.name);
      const desired: Record<string, number> = {};
      const ready: Record<string, number> = {};
      for (const [acc, c] of Object.entries(s?.byAccelerator ?? {})) {
        desired[acc] = c['pending-node'] + c.loading + c.ready;
        ready[acc] = c.ready;
      }
      variants[v.name] = {
        arrivalRate: (arrivedBy(v.name, t) - arrivedBy(v.name, since)) / (t - since),
        estimatedRate: estimated[v.name] ?? null,
        ...(forecasts[v.name] ? { forecast: { ...forecasts[v.name]! } } : {}),
        desired,
        ready,
        p95TtftMs: null,
        p95ItlMs: null,
      };
    }
    const nodes: Record<string, number> = {};
    let costPerHour = 0;
    for (const g of state.nodeGroups) {
      nodes[g.name] = g.ready + g.provisioning;
      costPerHour += (g.ready + g.provisioning) * (prices.get(g.name) ?? 0);
    }
    return { t: t - from, variants, costPerHour, nodes };
  }

  const targets = Object.fromEntries(
    everyVariant(config).map((v) => {
      const t = targetsOf(config, v);
      return [v.name, { ttftMs: t.ttftMs, itlMs: t.itlMs }];
    }),
  );
  // Hour by hour, by arrival: whole bins of the results (their width divides an hour).
  const hourly: HourOutcome[] = [];
  for (let h = from; h < end; h += HOUR_SECONDS) {
    const w = sim.window({ from: h, to: h + HOUR_SECONDS, by: 'arrival' });
    hourly.push({ requests: w.arrived, met: w.sloMet });
  }
  return {
    controller: controller.name,
    hourly,
    summary: summarizeRun(
      config,
      sim,
      { from, end, usageAtStart: usageAtStart ?? sim.usage() },
      prices,
      scalingActions,
    ),
    timeline,
    events,
    targets,
    elapsedMs: performance.now() - started,
  };
}

/**
 * p95 latencies of the requests that finished in each timeline interval (the simulator's bins by
 * finish time, one per control interval from `from`; quantiles within 1%), read once at the end.
 */
function addLatencies(timeline: TimelinePoint[], sim: FleetSim, from: number): void {
  const ms = (seconds: number) => (Number.isNaN(seconds) ? null : seconds * 1000);
  let since = from;
  for (const point of timeline) {
    const to = from + point.t;
    for (const [name, v] of Object.entries(point.variants)) {
      const w = sim.window({ variant: name, from: since, to, by: 'finish' });
      v.p95TtftMs = ms(w.ttft.p95);
      v.p95ItlMs = ms(w.itl.p95);
    }
    since = to;
  }
}

/**
 * The gateway-event path on the simulated fleet: the tap's events go through the ingest use
 * case into the in-memory counters; evaluate reads them merged with the fleet's metrics. The
 * trigger asks for an evaluation at the next tick (the scrape interval is the loop's resolution).
 */
function gatewayEventPath(config: Config, sim: FleetSim, metrics: SimMetricsSource) {
  const tap = new GatewayTap(config);
  sim.observeRequests(tap);
  const store = new MemoryGatewayLoad();
  const clock = new ManualClock(0);
  let triggered = false;
  const deps = {
    store,
    clock,
    trigger: {
      trigger: async () => {
        triggered = true;
      },
    },
  };
  return {
    metrics: new GatewayMetricsSource({
      store,
      fallback: metrics,
      windowSeconds: config.policy.metricsWindowSeconds,
      maxAgeSeconds: config.policy.metricsMaxAgeSeconds,
      settings: config.gatewayEvents,
    }),
    /** Ingests the events up to t; true when one asked for an evaluation now. */
    async ingest(t: number): Promise<boolean> {
      clock.set(t);
      const events = tap.flush(t);
      // messages of up to 1000 events, as a gateway batching its sends would
      const messages = [];
      for (let i = 0; i < events.length; i += 1000)
        messages.push({ id: `sim-${t}-${i}`, body: JSON.stringify(events.slice(i, i + 1000)) });
      if (messages.length > 0) await ingestBatch(deps, messages, config, 'default');
      const now = triggered;
      triggered = false;
      return now;
    },
  };
}
