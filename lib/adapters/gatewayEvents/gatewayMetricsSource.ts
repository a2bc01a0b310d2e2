/**
 * A MetricsSource over the gateway's counters (ingest's state), merged with another source
 * (Prometheus), each estimate keeping its `source` so `sva collect` shows where it came from:
 * fresh gateway arrivals win; the requests in flight are the gateway's total, of which vLLM's
 * running are running and the rest waiting; token means are vLLM's (over completed requests,
 * as the sizing is calibrated), the gateway's only where vLLM has none (docs/GATEWAY.md).
 *
 * Reconciliation: a lost completion leaves a counter too high, a duplicate dispatch the same.
 * When vLLM's own gauges (running, waiting) were sampled after the newest event of the variant's
 * engines, no event can explain a difference, so vLLM's gauges win; when they say idle and the
 * counters do not, the counters are reset (each only if unchanged since). The same holds engine
 * by engine: a pod vLLM shows idle, sampled after that engine's last event, has its counters
 * reset and left out of the requests in flight, while the variant's other engines are busy.
 * Counters nobody updates age out (maxAgeSeconds) and expire (TTL).
 */
import type { GatewayEventsConfig } from '../../config/schema.js';
import { gatewayEstimates, type GatewayEstimates, type GatewayLoad } from '../../gateway/load.js';
import type { GatewayLoadStore } from '../../gateway/ports.js';
import type { Estimate, VariantObservation } from '../../metrics/observation.js';
import type { MetricsQuery, MetricsSource } from '../../policy/ports.js';

export interface GatewayMetricsOptions {
  readonly store: GatewayLoadStore;
  /** the source that fills what the gateway does not say (Prometheus); none: the gateway alone */
  readonly fallback?: MetricsSource;
  readonly windowSeconds: number;
  readonly maxAgeSeconds: number;
  readonly settings: GatewayEventsConfig;
  /** vLLM's sample must be this much newer than the newest event to overrule the counters (events wait in the queue) */
  readonly reconcileSlackSeconds?: number;
  /** write reconciled zeros back (default true); a read-only reader (`sva collect`) only reports */
  readonly resetDrifted?: boolean;
}

/** What one collection did with the counters, for the logs and tests. */
export interface GatewayCollection {
  readonly variant: string;
  /** the gateway's estimates that won */
  readonly used: readonly string[];
  /** vLLM's gauges overruled the counters */
  readonly reconciled: boolean;
  /** engines whose counters were reset to zero */
  readonly reset: number;
  readonly error?: string;
}

type Merged = 'arrivalRate' | 'avgInputTokens' | 'avgOutputTokens' | 'waiting' | 'running';

function emptyObservation(q: MetricsQuery, now: number, windowSeconds: number): VariantObservation {
  return { variant: q.variant, model: q.modelName, at: now, windowSeconds, stale: [], missing: [] };
}

export class GatewayMetricsSource implements MetricsSource {
  lastCollection: readonly GatewayCollection[] = [];

  constructor(private readonly options: GatewayMetricsOptions) {}

  async collect(queries: readonly MetricsQuery[], now: number): Promise<VariantObservation[]> {
    const o = this.options;
    const slotsFrom = now - o.settings.statsWindowSeconds - o.settings.slotSeconds;
    const [loads, base] = await Promise.all([
      o.store
        .load(
          queries.map((q) => q.variant),
          slotsFrom,
        )
        .then(
          (l) => ({ ok: true as const, loads: l }),
          (err: unknown) => ({ ok: false as const, error: err instanceof Error ? err.message : String(err) }),
        ),
      o.fallback
        ? o.fallback.collect(queries, now)
        : Promise.resolve(queries.map((q) => emptyObservation(q, now, o.windowSeconds))),
    ]);
    const collections: GatewayCollection[] = new Array<GatewayCollection>(queries.length);
    const merged = await Promise.all(
      queries.map(async (q, i) => {
        const fallback = base[i]!;
        if (!loads.ok) {
          collections[i] = { variant: q.variant, used: [], reconciled: false, reset: 0, error: loads.error };
          return fallback;
        }
        const load = loads.loads[i]!;
        const { observation, collection } = await this.merge(load, fallback, now);
        collections[i] = collection;
        return observation;
      }),
    );
    this.lastCollection = collections;
    return merged;
  }

  private async merge(
    load: GatewayLoad,
    base: VariantObservation,
    now: number,
  ): Promise<{ observation: VariantObservation; collection: GatewayCollection }> {
    const o = this.options;
    const g = gatewayEstimates(load, {
      now,
      windowSeconds: o.windowSeconds,
      statsWindowSeconds: o.settings.statsWindowSeconds,
      slotSeconds: o.settings.slotSeconds,
      maxAgeSeconds: o.maxAgeSeconds,
    });
    const reconcile = this.overruled(g, base);
    const busy = g.freshEngines.filter((e) => e.inFlight !== 0 || e.inPrefill !== 0);
    // Engines whose own pod, sampled after their last event, is idle: their counts are left over
    // from lost events, whatever the variant's other engines do.
    const idlePods = this.idleSince(base);
    const drifted =
      reconcile && base.running!.value + base.waiting!.value === 0
        ? busy
        : busy.filter((e) => (idlePods.get(e.engine) ?? -Infinity) > e.updatedAt + this.slack);
    let reset = 0;
    if (drifted.length > 0 && o.resetDrifted !== false)
      reset = await o.store.resetEngines(load.variant, drifted).catch(() => 0);
    const phantom = drifted.reduce((a, e) => a + e.inFlight, 0);
    const used: string[] = [];
    const chosen: Partial<Record<Merged, Estimate>> = {};
    const take = (key: Merged, mine: Estimate | undefined, theirs: Estimate | undefined) => {
      if (mine) used.push(key);
      const e = mine ?? theirs;
      if (e) chosen[key] = e;
    };
    // Arrivals: counted at the gateway as they happen, the gateway's win.
    take('arrivalRate', g.arrivalRate, base.arrivalRate);
    // Token means: vLLM's are over completed requests, the gateway's over arrivals; the sizing
    // is calibrated on completed requests, so the gateway's only fill in (a variant at zero).
    for (const key of ['avgInputTokens', 'avgOutputTokens'] as const)
      if (base[key]) take(key, undefined, base[key]);
      else take(key, g[key], undefined);
    // In flight: the gateway's total is exact; how much of it waits is the engine's to say
    // (in prefill is not vLLM's waiting: it counts the requests being prefilled too).
    const inFlight =
      reconcile || !g.waiting || !g.running
        ? undefined
        : Math.max(g.waiting.value + g.running.value - phantom, 0);
    if (inFlight !== undefined && base.running) {
      take('running', undefined, base.running);
      take(
        'waiting',
        {
          value: Math.max(inFlight - base.running.value, 0),
          source: `${g.waiting!.source} + ${g.running!.source} - ${base.running.source}`,
          timestamp: Math.min(g.waiting!.timestamp, base.running.timestamp),
        },
        undefined,
      );
    } else {
      take('waiting', reconcile ? undefined : g.waiting, base.waiting);
      take('running', reconcile ? undefined : g.running, base.running);
    }
    const observation: VariantObservation = {
      ...base,
      ...chosen,
      ...(g.outputByInputBucket ? { outputByInputBucket: g.outputByInputBucket } : {}),
    };
    return { observation, collection: { variant: load.variant, used, reconciled: reconcile, reset } };
  }

  private get slack(): number {
    return this.options.reconcileSlackSeconds ?? 2;
  }

  /** The pods vLLM shows with nothing running or waiting, and when each was sampled. */
  private idleSince(base: VariantObservation): Map<string, number> {
    const out = new Map<string, number>();
    for (const p of base.podLoads ?? []) {
      const at = base.podSampledAt?.[p.pod];
      if (p.load === 0 && at !== undefined) out.set(p.pod, at);
    }
    return out;
  }

  /** vLLM's gauges were sampled after the newest event of the variant's engines, and disagree. */
  private overruled(g: GatewayEstimates, base: VariantObservation): boolean {
    if (!g.waiting || !g.running || !base.waiting || !base.running) return false;
    const sampled = Math.min(base.waiting.timestamp, base.running.timestamp);
    const quietSince = Math.max(g.waiting.timestamp, g.running.timestamp);
    if (sampled <= quietSince + this.slack) return false;
    return g.waiting.value + g.running.value !== base.waiting.value + base.running.value;
  }
}
