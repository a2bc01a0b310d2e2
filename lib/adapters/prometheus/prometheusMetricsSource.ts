/**
 * MetricsSource on a real Prometheus (or Amazon Managed Prometheus, Mimir, Thanos): one batch of
 * ~19 instant queries per collection whatever the number of variants, issued concurrently and
 * evaluated at the same instant; per variant, the rows become RawSignals and go through the same
 * estimation as the simulation's. Nothing is thrown: an unreachable, slow or failing Prometheus
 * makes the affected series missing, with the reason.
 */
import type { Estimate, VariantObservation } from '../../metrics/observation.js';
import { estimateObservation, type Signal } from '../../metrics/signals.js';
import type { MetricsQuery, MetricsSource } from '../../policy/ports.js';
import type { PrometheusConnection } from './connection.js';
import { PrometheusClient, toQueryError } from './prometheusClient.js';
import { CollectedResults, rowsOf, type QueryOutcome } from './queryRows.js';
import { signalQueries, type PoolSignal, type QueryScope, type SignalName } from './signalQueries.js';
import { variantSignals } from './variantSignals.js';
import {
  arrivalStepsQuery,
  stepGrid,
  stepRowsOf,
  variantArrivalSteps,
  type ArrivalStepsAsked,
  StepsAnswerError,
  type StepRow,
} from './arrivalSteps.js';

export interface PrometheusSourceOptions {
  readonly connection: PrometheusConnection;
  /** rate window, seconds (default 60) */
  readonly windowSeconds?: number;
  /** used for a variant whose rate window has no data, e.g. with slow scrapes (default 300) */
  readonly fallbackWindowSeconds?: number;
  /** a value whose newest sample is older is stale (default 120) */
  readonly maxAgeSeconds?: number;
  /** how far back a series that ended is found (reported stale, not missing); default max(300, 2 x max age) */
  readonly lookbackSeconds?: number;
  /** resolution of that search, which dates an ended series up to this much early (default lookback / 30, at least 1 s) */
  readonly lookbackStepSeconds?: number;
  /** queries in flight at once (default 6) */
  readonly concurrency?: number;
  /**
   * The InferencePool whose EPP gauges describe a variant; default: the variant's name for
   * variants whose demand comes from the gateway, none otherwise.
   */
  readonly poolName?: (query: MetricsQuery) => string | undefined;
  /**
   * Arrivals per step over a look-back as well (policy.burstSizing): one range query more per
   * collection. Default: not asked.
   */
  readonly arrivalSteps?: ArrivalStepsAsked;
}

export interface GatewayPoolEstimates {
  readonly averageQueueSize?: Estimate;
  readonly averageKvCacheUtilization?: Estimate;
  readonly readyPods?: Estimate;
}

/** What the evaluator sees, plus what only Prometheus provides (p95s, KV capacity, pool gauges, errors). */
export interface PrometheusObservation extends VariantObservation {
  readonly ttftP95Ms?: Estimate;
  readonly itlP95Ms?: Estimate;
  /** KV-cache capacity of one replica, tokens */
  readonly kvCapacityTokens?: Estimate;
  readonly gatewayPool?: GatewayPoolEstimates;
  /**
   * why queries failed (also listed in `missing`, in parentheses), and why what only refines the
   * sizing was not used (the arrivals per step, the token-length buckets; never a missing series)
   */
  readonly errors: readonly string[];
}

export interface CollectionStats {
  /** HTTP requests issued (one per query) */
  readonly queries: number;
  readonly failed: number;
  readonly wallMs: number;
  /** the failures' messages, distinct */
  readonly errors: readonly string[];
}

interface StepsOutcome {
  readonly grid: { readonly start: number; readonly n: number; readonly stepSeconds: number };
  readonly rows: readonly StepRow[];
  readonly error?: string;
}

const defaultPoolName = (q: MetricsQuery) =>
  q.gateway ? q.variant.slice(q.variant.indexOf('/') + 1) : undefined;

/** Runs tasks with at most `limit` in flight, keeping their order. */
async function limited<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

export class PrometheusMetricsSource implements MetricsSource {
  private readonly client: PrometheusClient;
  readonly windows: readonly number[];
  readonly maxAgeSeconds: number;
  private readonly lookbackSeconds: number;
  private readonly lookbackStepSeconds: number;
  /** counts and time of the last collect() */
  lastCollection?: CollectionStats;

  constructor(private readonly options: PrometheusSourceOptions) {
    this.client = new PrometheusClient(options.connection);
    const window = options.windowSeconds ?? 60;
    const fallback = options.fallbackWindowSeconds ?? 300;
    this.windows = fallback > window ? [window, fallback] : [window];
    this.maxAgeSeconds = options.maxAgeSeconds ?? 120;
    this.lookbackSeconds = options.lookbackSeconds ?? Math.max(300, 2 * this.maxAgeSeconds);
    this.lookbackStepSeconds =
      options.lookbackStepSeconds ?? Math.max(1, Math.round(this.lookbackSeconds / 30));
  }

  /** The queries one collection of these variants issues (for inspection and tests). */
  queriesFor(queries: readonly MetricsQuery[]) {
    const poolName = this.options.poolName ?? defaultPoolName;
    const scope: QueryScope = {
      models: queries.map((q) => q.modelName),
      namespaces: queries.map((q) => q.namespace),
      podLevel: queries.some((q) => q.podPattern !== undefined),
      groupLabels: [...new Set(queries.flatMap((q) => Object.keys(q.labels ?? {})))],
      windows: this.windows,
      lookbackSeconds: this.lookbackSeconds,
      lookbackStepSeconds: this.lookbackStepSeconds,
      gatewayModels: queries.filter((q) => q.gateway).map((q) => q.modelName),
      pools: queries.map(poolName).filter((p): p is string => p !== undefined),
    };
    return signalQueries(scope);
  }

  async collect(queries: readonly MetricsQuery[], now: number): Promise<PrometheusObservation[]> {
    if (queries.length === 0) return [];
    const started = performance.now();
    const [outcomes, steps] = await Promise.all([
      limited(this.queriesFor(queries), this.options.concurrency ?? 6, async (sq) => {
        try {
          const outcome: QueryOutcome = { ok: true, rows: rowsOf(await this.client.instant(sq.text, now)) };
          return [sq.signal, outcome] as const;
        } catch (thrown) {
          const error = toQueryError(thrown, this.options.connection.url, this.client.timeoutMs).message;
          return [sq.signal, { ok: false, error }] as const;
        }
      }),
      this.collectSteps(queries, now),
    ]);
    const failures = [
      ...outcomes.flatMap(([, o]) => (o.ok ? [] : [o.error])),
      ...(steps?.error ? [steps.error] : []),
    ];
    this.lastCollection = {
      queries: outcomes.length + (steps ? 1 : 0),
      failed: failures.length,
      wallMs: performance.now() - started,
      errors: [...new Set(failures)],
    };
    const results = new CollectedResults(new Map<SignalName, QueryOutcome>(outcomes));
    const poolName = this.options.poolName ?? defaultPoolName;
    return queries.map((q) => this.observe(q, results, now, poolName(q), steps));
  }

  /** The range query of the arrivals per step, when asked for: its rows, or why it failed. */
  private async collectSteps(
    queries: readonly MetricsQuery[],
    now: number,
  ): Promise<StepsOutcome | undefined> {
    const asked = this.options.arrivalSteps;
    if (!asked) return undefined;
    const grid = { ...stepGrid(asked, now), stepSeconds: asked.stepSeconds };
    if (grid.n < 1) return undefined;
    const text = arrivalStepsQuery({
      models: queries.map((q) => q.modelName),
      namespaces: queries.map((q) => q.namespace),
      podLevel: queries.some((q) => q.podPattern !== undefined),
      groupLabels: [...new Set(queries.flatMap((q) => Object.keys(q.labels ?? {})))],
      gatewayModels: queries.filter((q) => q.gateway).map((q) => q.modelName),
      stepSeconds: asked.stepSeconds,
    });
    try {
      const rows = stepRowsOf(await this.client.range(text, grid.start, grid.end, asked.stepSeconds));
      return { grid, rows };
    } catch (thrown) {
      const error =
        thrown instanceof StepsAnswerError
          ? thrown.message
          : toQueryError(thrown, this.options.connection.url, this.client.timeoutMs).message;
      return { grid, rows: [], error };
    }
  }

  private observe(
    q: MetricsQuery,
    results: CollectedResults,
    now: number,
    poolName: string | undefined,
    steps: StepsOutcome | undefined,
  ): PrometheusObservation {
    const signals = variantSignals(q, results, this.windows, poolName);
    // per step, the counter the arrival rate comes from (the gateway's when it measured the window)
    const arrivalSteps =
      steps && !steps.error
        ? variantArrivalSteps(q, steps.rows, steps.grid, signals.raw.gatewayRequests !== undefined)
        : undefined;
    const raw = arrivalSteps ? { ...signals.raw, arrivalSteps } : signals.raw;
    const base = estimateObservation(raw, { now, maxAgeSeconds: this.maxAgeSeconds });
    const stale = new Set(base.stale);
    const missing = new Set(base.missing);
    const extra = (s: Signal | undefined, scale = 1): Estimate | undefined => {
      if (!s) return undefined;
      if (!Number.isFinite(s.value)) {
        missing.add(s.series);
        return undefined;
      }
      if (now - s.timestamp > this.maxAgeSeconds) {
        stale.add(s.series);
        return undefined;
      }
      return { value: s.value * scale, source: s.series, timestamp: s.timestamp };
    };
    const pool: Partial<Record<PoolSignal, Estimate>> = {};
    for (const [key, s] of Object.entries(signals.pool) as [PoolSignal, Signal][]) {
      const e = extra(s);
      if (e) pool[key] = e;
    }
    return {
      ...base,
      ttftP95Ms: extra(signals.ttftP95Seconds, 1000),
      itlP95Ms: extra(signals.itlP95Seconds, 1000),
      kvCapacityTokens: extra(signals.kvCapacityTokens),
      gatewayPool: poolName !== undefined ? pool : undefined,
      stale: [...stale].sort(),
      missing: [...missing].sort(),
      // a failed range query or unusable token buckets cost a refinement of the sizing only:
      // reported, never a missing series
      errors: [...signals.errors, ...signals.warnings, ...(steps?.error ? [steps.error] : [])],
      ...(signals.podLoads ? { podLoads: signals.podLoads } : {}),
      ...(signals.podSampledAt ? { podSampledAt: signals.podSampledAt } : {}),
    };
  }
}
