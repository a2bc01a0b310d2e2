/**
 * One variant's RawSignals from the rows of a collection's queries: the same quantities the
 * simulation's SampleStore computes (counter increases over the window, gauges now and one window
 * ago, histogram sum and count increases), each with the newest sample time of its series from
 * the inventory query. The rules, as the SampleStore's:
 * - a series never seen (not even over the lookback) is absent and named as missing;
 * - a series seen but with no value now (its servers went away) counts as zero at the time of
 *   its newest sample, so it turns stale with age rather than being read as a fresh zero;
 * - a failed query makes its series missing, with the reason as a parenthesised entry.
 */
import type { BucketIncrease, HistogramIncrease, RawSignals, Signal } from '../../metrics/signals.js';
import {
  GATEWAY_QUEUE_NAMES,
  GATEWAY_REQUEST_NAMES,
  GATEWAY_REQUESTS,
  VLLM,
} from '../../metrics/vllmNaming.js';
import type { MetricsQuery } from '../../policy/ports.js';
import { histogramQuantile, parseLe } from './histogramQuantile.js';
import { TAG } from './promql.js';
import type { CollectedResults, Row } from './queryRows.js';
import { describeServerNaming } from './serverNaming.js';
import { GATEWAY_POOL, poolSeriesName, SERIES, type PoolSignal, type SignalName } from './signalQueries.js';
import { bucketIncreases } from './tokenBuckets.js';

export interface VariantSignals {
  readonly raw: RawSignals;
  /** p95 over the window, seconds; absent when idle */
  readonly ttftP95Seconds?: Signal;
  readonly itlP95Seconds?: Signal;
  /** mean KV-cache capacity of a replica in tokens (blocks x block size, summed over its engines) */
  readonly kvCapacityTokens?: Signal;
  /** the gateway's pool gauges, when a pool is configured for the variant */
  readonly pool: Partial<Record<PoolSignal, Signal>>;
  /** why queries this variant depends on failed */
  readonly errors: readonly string[];
  /**
   * why the token-length buckets were not used (their query failed, or its answer is not a whole
   * histogram): they only refine the sizing, so this never makes a series missing
   */
  readonly warnings: readonly string[];
  /** running + waiting per pod now, from the rows of pods that carry a `pod` label */
  readonly podLoads?: readonly { readonly pod: string; readonly load: number }[];
  /** each pod's newest running-gauge sample, epoch seconds */
  readonly podSampledAt?: Readonly<Record<string, number>>;
}

interface Measure {
  readonly signal: SignalName;
  /** the series the value is reported as coming from */
  readonly series: string;
  /** inventory series whose newest sample dates the value */
  readonly newestOf: readonly string[];
  /** inventory series that must exist for the value to exist (default: any of newestOf) */
  readonly requires?: string;
  /** name reported as missing when absent; undefined: absence is not reported (failures are) */
  readonly missing?: string;
  readonly value: (rows: readonly Row[]) => number | undefined;
  /** a seen series without a value now counts as 0 (default true) */
  readonly zeroFill?: boolean;
}

const sumOf =
  (part?: string) =>
  (rows: readonly Row[]): number | undefined => {
    const selected = part === undefined ? rows : rows.filter((r) => r.labels[TAG.part] === part);
    return selected.length > 0 ? selected.reduce((a, r) => a + r.value, 0) : undefined;
  };

/** The p95 Prometheus computed, or (rows per pod and bucket) the quantile of the summed buckets. */
const p95 = (rows: readonly Row[]): number | undefined => {
  if (rows.every((r) => r.labels.le === undefined)) {
    const value = rows.length === 1 ? rows[0]!.value : NaN;
    return Number.isFinite(value) ? value : undefined;
  }
  const byLe = new Map<number, number>();
  for (const r of rows) {
    const le = parseLe(r.labels.le ?? '');
    byLe.set(le, (byLe.get(le) ?? 0) + r.value);
  }
  const q = histogramQuantile(
    0.95,
    [...byLe].map(([le, count]) => ({ le, count })),
  );
  return Number.isFinite(q) ? q : undefined;
};

/** Mean tokens of a replica's KV cache: block_size x num_gpu_blocks summed over its engines. */
const kvCapacity = (rows: readonly Row[]): number | undefined => {
  const perReplica = new Map<string, number>();
  for (const r of rows) {
    const tokens = Number(r.labels.block_size) * Number(r.labels.num_gpu_blocks);
    if (!Number.isFinite(tokens)) continue;
    const replica = `${r.labels.instance ?? ''}|${r.labels.pod ?? ''}`;
    perReplica.set(replica, (perReplica.get(replica) ?? 0) + tokens);
  }
  if (perReplica.size === 0) return undefined;
  return [...perReplica.values()].reduce((a, b) => a + b, 0) / perReplica.size;
};

export function variantSignals(
  q: MetricsQuery,
  results: CollectedResults,
  windows: readonly number[],
  poolName?: string,
): VariantSignals {
  const pod = q.podPattern !== undefined ? new RegExp(q.podPattern) : undefined;
  // The gateway's counter has no pod label: it is the variant's whichever pods serve it.
  const rowsOf = (signal: SignalName) =>
    signal === 'gatewayRequests'
      ? results.rows(signal, q.modelName, q.namespace)
      : results.rows(signal, q.modelName, q.namespace, pod, q.labels);
  const errors = new Set<string>();
  const absent = new Set<string>();
  const inventoryError = results.error('inventory');

  const servers = rowsOf('inventory');
  const gatewayInventory = results.rows('inventory', q.modelName, q.namespace);
  const newest = (series: readonly string[]): number | undefined => {
    let t: number | undefined;
    for (const s of series) {
      const ofGateway = (GATEWAY_REQUEST_NAMES as readonly string[]).includes(s);
      for (const r of ofGateway ? gatewayInventory : servers) {
        if (r.labels[TAG.series] === s && Number.isFinite(r.value)) t = Math.max(t ?? -Infinity, r.value);
      }
    }
    return t;
  };
  const seen = (series: string) => newest([series]) !== undefined;

  const primary: SignalName =
    q.gateway && rowsOf('gatewayRequests').length > 0 ? 'gatewayRequests' : 'completions';
  const primaryRows = rowsOf(primary);
  const window =
    windows.find((w) => primaryRows.some((r) => r.labels[TAG.window] === String(w))) ?? windows[0];
  if (window === undefined) throw new RangeError('no rate window');
  const inWindow = (r: Row) => r.labels[TAG.window] === undefined || r.labels[TAG.window] === String(window);

  const measure = (m: Measure): Signal | undefined => {
    const error = results.error(m.signal) ?? inventoryError;
    if (error !== undefined) {
      errors.add(error);
      absent.add(m.missing ?? m.series);
      return undefined;
    }
    const timestamp = newest(m.newestOf);
    if (timestamp === undefined || (m.requires !== undefined && !seen(m.requires))) {
      if (m.missing !== undefined) absent.add(m.missing);
      return undefined;
    }
    const value = m.value(rowsOf(m.signal).filter(inWindow));
    if (value === undefined && m.zeroFill === false) return undefined;
    return { value: value ?? 0, timestamp, series: m.series };
  };
  const warnings: string[] = [];
  // a failed bucket query is named unless its reason is already an error (Prometheus is down)
  const bucketFailures: [series: string, error: string][] = [];
  const tokenBuckets = (signal: SignalName, base: string): BucketIncrease[] | undefined => {
    const error = results.error(signal);
    if (error !== undefined) {
      bucketFailures.push([`${base}_bucket`, error]);
      return undefined;
    }
    const { buckets, problem } = bucketIncreases(`${base}_bucket`, rowsOf(signal).filter(inWindow));
    if (problem !== undefined) warnings.push(problem);
    return buckets ? [...buckets] : undefined;
  };
  const histogram = (
    signal: SignalName,
    base: string,
    newestOf: readonly string[],
    missing: string,
  ): HistogramIncrease | undefined => {
    const sum = measure({ signal, series: `${base}_sum`, newestOf, missing, value: sumOf('sum') });
    const count = measure({ signal, series: `${base}_count`, newestOf, missing, value: sumOf('count') });
    return sum && count ? { sum, count } : undefined;
  };

  const itlName = seen(SERIES.requestTpot)
    ? VLLM.requestTpot
    : seen(SERIES.itlNew)
      ? VLLM.itl[0]
      : seen(SERIES.itlOld)
        ? VLLM.itl[1]
        : undefined;
  const kvName = seen(SERIES.kvNew) ? VLLM.kvUsage[0] : seen(SERIES.kvOld) ? VLLM.kvUsage[1] : undefined;
  const itlSeries = [SERIES.requestTpot, SERIES.itlNew, SERIES.itlOld];
  const inFlight = `${VLLM.running}+${VLLM.waiting}`;
  const inFlightFrom = {
    series: inFlight,
    newestOf: [SERIES.running, SERIES.waiting],
    requires: SERIES.waiting,
    missing: VLLM.waiting,
    value: sumOf(),
  };

  const raw: RawSignals = {
    variant: q.variant,
    model: q.modelName,
    windowSeconds: window,
    completions: measure({
      signal: 'completions',
      series: VLLM.success,
      newestOf: [SERIES.success],
      missing: VLLM.success,
      value: sumOf(),
    }),
    gatewayRequests: q.gateway
      ? measure({
          signal: 'gatewayRequests',
          series: GATEWAY_REQUEST_NAMES.find((n) => seen(n)) ?? GATEWAY_REQUESTS,
          newestOf: GATEWAY_REQUEST_NAMES,
          missing: GATEWAY_REQUESTS,
          value: sumOf(),
        })
      : undefined,
    gatewayQueued: q.gateway ? gatewayQueued(results, q, errors) : undefined,
    inFlightNow: measure({ signal: 'inFlightNow', ...inFlightFrom }),
    inFlightBefore: measure({ signal: 'inFlightBefore', ...inFlightFrom }),
    promptTokens: histogram('promptTokens', VLLM.promptTokens, [SERIES.promptTokens], VLLM.promptTokens),
    generationTokens: histogram(
      'generationTokens',
      VLLM.generationTokens,
      [SERIES.generationTokens],
      VLLM.generationTokens,
    ),
    promptTokenBuckets: tokenBuckets('promptTokenBuckets', VLLM.promptTokens),
    generationTokenBuckets: tokenBuckets('generationTokenBuckets', VLLM.generationTokens),
    requestTpotBuckets: tokenBuckets('requestTpotBuckets', VLLM.requestTpot),
    requestTtftBuckets: tokenBuckets('requestTtftBuckets', VLLM.ttft),
    ttftSeconds: histogram('ttft', VLLM.ttft, [SERIES.ttft], VLLM.ttft),
    itlSeconds: histogram('itl', itlName ?? VLLM.itl[0], itlSeries, VLLM.itl[0]),
    decodeSeconds: seen(SERIES.decodeTime)
      ? histogram('decodeTime', VLLM.decodeTime, [SERIES.decodeTime], VLLM.decodeTime)
      : undefined,
    running: measure({
      signal: 'running',
      series: VLLM.running,
      newestOf: [SERIES.running],
      missing: VLLM.running,
      value: sumOf(),
    }),
    waiting: measure({
      signal: 'waiting',
      series: VLLM.waiting,
      newestOf: [SERIES.waiting],
      missing: VLLM.waiting,
      value: sumOf(),
    }),
    kvCacheUsage: measure({
      signal: 'kvCacheUsage',
      series: kvName ?? VLLM.kvUsage[0],
      newestOf: [SERIES.kvNew, SERIES.kvOld],
      missing: VLLM.kvUsage[0],
      value: (rows) => {
        const count = sumOf('count')(rows);
        return count !== undefined && count > 0 ? sumOf('sum')(rows)! / count : undefined;
      },
      zeroFill: false,
    }),
    readyReplicas: measure({
      signal: 'readyReplicas',
      series: VLLM.running,
      newestOf: [SERIES.running],
      missing: VLLM.running,
      value: sumOf(),
    }),
    // the NIXL series, asked for only when some variant is disaggregated; dated by the role's gauge
    kvTransferSeconds: ((): HistogramIncrease | undefined => {
      const part = (p: 'sum' | 'count') =>
        measure({
          signal: 'kvTransfer',
          series: `${VLLM.kvTransferTime}_${p}`,
          newestOf: [SERIES.running],
          value: sumOf(p),
          zeroFill: false,
        });
      const sum = part('sum');
      const count = part('count');
      return sum && count ? { sum, count } : undefined;
    })(),
    kvTransferFailures: measure({
      signal: 'kvTransferFailures',
      series: VLLM.kvTransferFailures,
      newestOf: [SERIES.running],
      value: sumOf(),
      zeroFill: false,
    }),
    vllmNaming: describeServerNaming({
      requestTpot: seen(SERIES.requestTpot),
      itlNew: seen(SERIES.itlNew),
      itlOld: seen(SERIES.itlOld),
      kvNew: seen(SERIES.kvNew),
      kvOld: seen(SERIES.kvOld),
      finishReason: seen(SERIES.finishReasonLabel),
      engine: seen(SERIES.engineLabel),
      anyServer: seen(SERIES.running) || seen(SERIES.success),
    }),
    absent: [],
  };

  const ttftP95Seconds = measure({
    signal: 'ttftBuckets',
    series: `${VLLM.ttft}_bucket`,
    newestOf: [SERIES.ttft],
    value: p95,
    zeroFill: false,
  });
  const itlP95Seconds = measure({
    signal: 'itlBuckets',
    series: `${itlName ?? VLLM.itl[0]}_bucket`,
    newestOf: itlSeries,
    value: p95,
    zeroFill: false,
  });
  const kvCapacityTokens = measure({
    signal: 'cacheConfig',
    series: VLLM.cacheConfig,
    newestOf: [SERIES.cacheConfig],
    missing: VLLM.cacheConfig,
    value: kvCapacity,
    zeroFill: false,
  });
  const pool = poolName !== undefined ? poolSignals(results, poolName, q.namespace, errors, absent) : {};

  const podRows = rowsOf('inFlightNow').filter((r) => r.labels.pod && Number.isFinite(r.value));
  const podLoads =
    raw.inFlightNow && podRows.length > 0
      ? podRows.map((r) => ({ pod: r.labels.pod!, load: r.value })).sort((a, b) => (a.pod < b.pod ? -1 : 1))
      : undefined;

  const sampledRows = podLoads
    ? rowsOf('podSampledAt').filter((r) => r.labels.pod && Number.isFinite(r.value))
    : [];
  const podSampledAt =
    sampledRows.length > 0 ? Object.fromEntries(sampledRows.map((r) => [r.labels.pod!, r.value])) : undefined;

  return {
    ...(podLoads ? { podLoads } : {}),
    ...(podSampledAt ? { podSampledAt } : {}),
    raw: { ...raw, absent: [...absent, ...[...errors].map((e) => `(${e})`)] },
    ttftP95Seconds,
    itlP95Seconds,
    kvCapacityTokens,
    pool,
    errors: [...errors],
    warnings: [
      ...bucketFailures.filter(([, e]) => !errors.has(e)).map(([n, e]) => `${n}: ${e}`),
      ...warnings,
    ],
  };
}

/**
 * The gateway's flow-control queue of the variant's model, under the newest of its names the EPP
 * exposes. An EPP without flow control has none: not reported missing (nothing is wrong).
 */
function gatewayQueued(results: CollectedResults, q: MetricsQuery, errors: Set<string>): Signal | undefined {
  if (!results.issued('gatewayQueue')) return undefined;
  const error = results.error('gatewayQueue');
  if (error !== undefined) {
    errors.add(error);
    return undefined;
  }
  const rows = results.rows('gatewayQueue', q.modelName, q.namespace);
  for (const series of GATEWAY_QUEUE_NAMES) {
    const value = rows.find((r) => r.labels[TAG.part] === series)?.value;
    const timestamp = rows.find((r) => r.labels[TAG.part] === `ts@${series}`)?.value;
    if (value !== undefined && timestamp !== undefined) return { value, timestamp, series };
  }
  return undefined;
}

function poolSignals(
  results: CollectedResults,
  poolName: string,
  namespace: string,
  errors: Set<string>,
  absent: Set<string>,
): Partial<Record<PoolSignal, Signal>> {
  const out: Partial<Record<PoolSignal, Signal>> = {};
  if (!results.issued('gatewayPool')) return out;
  const error = results.error('gatewayPool');
  const rows = results.rows('gatewayPool', poolName, namespace);
  for (const key of Object.keys(GATEWAY_POOL) as PoolSignal[]) {
    if (error !== undefined) {
      errors.add(error);
      absent.add(poolSeriesName(key));
      continue;
    }
    // the newest of its names the pool's EPP exposes
    const found = GATEWAY_POOL[key].flatMap((series) => {
      const value = rows.find((r) => r.labels[TAG.part] === `${key}@${series}`)?.value;
      const timestamp = rows.find((r) => r.labels[TAG.part] === `${key}:ts@${series}`)?.value;
      return value === undefined || timestamp === undefined ? [] : [{ value, timestamp, series }];
    })[0];
    if (found) out[key] = found;
    else absent.add(poolSeriesName(key));
  }
  return out;
}
