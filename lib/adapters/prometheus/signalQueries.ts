/**
 * The queries of one collection: one per signal, each covering every variant at once (grouped by
 * `model_name, namespace`, and `pod` when some variant selects pods by pattern), so that 100
 * variants cost the same ~19 requests as one. Windowed signals carry both windows (the rate
 * window and its fallback), tagged, so that the parser picks per variant without a second round.
 *
 * Servers of different vLLM versions are read per series: `rate(new) or rate(old)` keeps the
 * new name where a server exposes both (0.11) and the old where only it exists (<= 0.10), as `or`
 * matches elements on their labels without the metric name. The time per output token prefers
 * 0.13's per-request series over ITL (VLLM.perTokenTime) the same way.
 */
import {
  GATEWAY_QUEUE_NAMES,
  GATEWAY_REQUEST_NAMES,
  GATEWAY_REQUESTS,
  VLLM,
} from '../../metrics/vllmNaming.js';
import { anyOf, by, duration, selector, TAG, tagged, union, type Matcher } from './promql.js';

/**
 * The EPP's pool gauges (labels `name`, `namespace`), each under its names newest first: llm-d's
 * router exports them as `llm_d_epp_*`, Gateway API Inference Extension's EPP as
 * `inference_pool_*`; a pool is read under whichever its EPP exposes.
 */
export const GATEWAY_POOL = {
  averageQueueSize: ['llm_d_epp_average_queue_size', 'inference_pool_average_queue_size'],
  averageKvCacheUtilization: [
    'llm_d_epp_average_kv_cache_utilization',
    'inference_pool_average_kv_cache_utilization',
  ],
  readyPods: ['llm_d_epp_ready_endpoints', 'inference_pool_ready_pods'],
} as const;

/** The name a pool gauge is reported by when none of its names is found: the upstream EPP's. */
export const poolSeriesName = (key: PoolSignal): string => GATEWAY_POOL[key][GATEWAY_POOL[key].length - 1]!;

export type PoolSignal = keyof typeof GATEWAY_POOL;

/** Series whose newest sample time the inventory query reports (and whose presence names the vLLM version). */
export const SERIES = {
  running: VLLM.running,
  waiting: VLLM.waiting,
  success: VLLM.success,
  promptTokens: `${VLLM.promptTokens}_count`,
  generationTokens: `${VLLM.generationTokens}_count`,
  ttft: `${VLLM.ttft}_count`,
  requestTpot: `${VLLM.requestTpot}_count`,
  decodeTime: `${VLLM.decodeTime}_count`,
  itlNew: `${VLLM.itl[0]}_count`,
  itlOld: `${VLLM.itl[1]}_count`,
  kvNew: VLLM.kvUsage[0],
  kvOld: VLLM.kvUsage[1],
  cacheConfig: VLLM.cacheConfig,
  gateway: GATEWAY_REQUESTS,
  /** the same counter as llm-d's router names it */
  gatewayLlmd: GATEWAY_REQUEST_NAMES[0],
  /** the same counter as the EPP of v1.x names it */
  gatewayObjective: GATEWAY_REQUEST_NAMES[1],
  /** success counter labelled `finish_reason` (llm-d's simulator) rather than vLLM's `finished_reason` */
  finishReasonLabel: `${VLLM.success}{finish_reason}`,
  /** running gauge with an `engine` label (vLLM V1; absent on llm-d's simulator) */
  engineLabel: `${VLLM.running}{engine}`,
} as const;

export type SignalName =
  | 'inventory'
  | 'completions'
  | 'gatewayRequests'
  | 'gatewayQueue'
  | 'inFlightNow'
  | 'podSampledAt'
  | 'inFlightBefore'
  | 'running'
  | 'waiting'
  | 'readyReplicas'
  | 'kvCacheUsage'
  | 'promptTokens'
  | 'generationTokens'
  | 'ttft'
  | 'itl'
  | 'decodeTime'
  | 'kvTransfer'
  | 'kvTransferFailures'
  | 'ttftBuckets'
  | 'itlBuckets'
  | 'promptTokenBuckets'
  | 'generationTokenBuckets'
  | 'requestTpotBuckets'
  | 'requestTtftBuckets'
  | 'cacheConfig'
  | 'gatewayPool';

export interface QueryScope {
  /** model_name values of every variant */
  readonly models: readonly string[];
  readonly namespaces: readonly string[];
  /** group by pod as well (some variant tells its servers apart by a pod pattern) */
  readonly podLevel: boolean;
  /** labels to group by as well (a disaggregated variant's role label); default none */
  readonly groupLabels?: readonly string[];
  /** rate windows in seconds, preferred first (the rate window, then its fallback) */
  readonly windows: readonly number[];
  /** how far back a series that ended is still found (its newest sample then makes it stale, not missing) */
  readonly lookbackSeconds: number;
  readonly lookbackStepSeconds: number;
  /** model_name values of the variants whose demand comes from the gateway */
  readonly gatewayModels: readonly string[];
  /** InferencePool names whose EPP gauges are wanted */
  readonly pools: readonly string[];
}

export interface SignalQuery {
  readonly signal: SignalName;
  readonly text: string;
}

const SERVER_GROUP = ['model_name', 'namespace'] as const;

export function signalQueries(scope: QueryScope): SignalQuery[] {
  const group: readonly string[] = [
    ...SERVER_GROUP,
    ...(scope.podLevel ? ['pod'] : []),
    ...(scope.groupLabels ?? []),
  ];
  const s = (name: string, extra: readonly Matcher[] = []) =>
    selector(name, [
      ['model_name', '=~', anyOf(scope.models)],
      ['namespace', '=~', anyOf(scope.namespaces)],
      ...extra,
    ]);
  const windowed = (expr: (w: string) => string) =>
    union(scope.windows.map((w) => tagged(expr(duration(w)), TAG.window, String(w))));
  const sumIncreaseOver = (
    w: string,
    names: readonly string[],
    suffix: string,
    extra: readonly string[] = [],
  ) => `sum ${by(group, extra)} (${names.map((n) => `increase(${s(`${n}${suffix}`)}[${w}])`).join(' or ')})`;
  const sumIncrease = (names: readonly string[], suffix: string) =>
    windowed((w) => sumIncreaseOver(w, names, suffix));
  // p95 per window: by Prometheus per group; with pods selected by pattern, as bucket increases
  // per pod, which the parser sums per variant before taking the quantile (rows carry `le`).
  const p95 = (names: readonly string[]) =>
    windowed((w) =>
      scope.podLevel
        ? sumIncreaseOver(w, names, '_bucket', ['le'])
        : `histogram_quantile(0.95, ${sumIncreaseOver(w, names, '_bucket', ['le'])})`,
    );
  // Token-length histograms by bucket (the ITL cap and sizing by distribution): bucket increases
  // per group and `le`, summed per variant by the parser, which checks them before use.
  const buckets = (name: string) => windowed((w) => sumIncreaseOver(w, [name], '_bucket', ['le']));
  const histogram = (names: readonly string[]) =>
    union([
      tagged(sumIncrease(names, '_sum'), TAG.part, 'sum'),
      tagged(sumIncrease(names, '_count'), TAG.part, 'count'),
    ]);
  const inFlight = (offset: string, g: readonly string[] = group) =>
    `sum ${by(g)} (${s(VLLM.running)}${offset} + ${s(VLLM.waiting)}${offset})`;
  // Now, per pod as well: the parser sums the variant's pods, and keeps each pod's load for the
  // deletion costs of a scale-down (lib/loop/adoption.ts).
  const perPod = group.includes('pod') ? group : [...group, 'pod'];

  const queries: SignalQuery[] = [
    { signal: 'inventory', text: inventory(scope, group, s) },
    { signal: 'completions', text: sumIncrease([VLLM.success], '') },
    { signal: 'inFlightNow', text: inFlight('', perPod) },
    // each pod's newest sample: its load compared with the gateway's counters of that pod
    { signal: 'podSampledAt', text: `max ${by(perPod)} (timestamp(${s(VLLM.running)}))` },
    { signal: 'inFlightBefore', text: windowed((w) => inFlight(` offset ${w}`)) },
    { signal: 'running', text: `sum ${by(group)} (${s(VLLM.running)})` },
    { signal: 'waiting', text: `sum ${by(group)} (${s(VLLM.waiting)})` },
    {
      signal: 'readyReplicas',
      text: `count ${by(group)} (count ${by(group, ['instance', 'pod'])} (${s(VLLM.running)}))`,
    },
    {
      signal: 'kvCacheUsage',
      text: union([
        tagged(`sum ${by(group)} (${VLLM.kvUsage.map((n) => s(n)).join(' or ')})`, TAG.part, 'sum'),
        tagged(`count ${by(group)} (${VLLM.kvUsage.map((n) => s(n)).join(' or ')})`, TAG.part, 'count'),
      ]),
    },
    { signal: 'promptTokens', text: histogram([VLLM.promptTokens]) },
    { signal: 'generationTokens', text: histogram([VLLM.generationTokens]) },
    { signal: 'ttft', text: histogram([VLLM.ttft]) },
    { signal: 'itl', text: histogram(VLLM.perTokenTime) },
    { signal: 'decodeTime', text: histogram([VLLM.decodeTime]) },
    { signal: 'ttftBuckets', text: p95([VLLM.ttft]) },
    { signal: 'itlBuckets', text: p95(VLLM.perTokenTime) },
    { signal: 'promptTokenBuckets', text: buckets(VLLM.promptTokens) },
    { signal: 'generationTokenBuckets', text: buckets(VLLM.generationTokens) },
    // per request, its decode time over its tokens: the share over the ITL target (vLLM >= 0.13)
    { signal: 'requestTpotBuckets', text: buckets(VLLM.requestTpot) },
    {
      signal: 'cacheConfig',
      text: `max ${by(group, ['instance', 'pod', 'engine', 'block_size', 'num_gpu_blocks'])} (${s(VLLM.cacheConfig)})`,
    },
  ];
  // Disaggregated variants (their roles are grouped by a label): the KV connector's transfers, and
  // each request's time to first token by bucket (a prefill pod's queue and prefill: the misses
  // policy.burstSizing.concentration learns from)
  if ((scope.groupLabels ?? []).length > 0) {
    queries.push(
      { signal: 'kvTransfer', text: histogram([VLLM.kvTransferTime]) },
      { signal: 'kvTransferFailures', text: sumIncrease([VLLM.kvTransferFailures], '') },
      { signal: 'requestTtftBuckets', text: buckets(VLLM.ttft) },
    );
  }
  if (scope.gatewayModels.length > 0) {
    queries.push({
      signal: 'gatewayRequests',
      text: windowed(
        (w) =>
          `sum ${by(SERVER_GROUP)} (${GATEWAY_REQUEST_NAMES.map((n) => `increase(${gatewaySelector(scope, n)}[${w}])`).join(' or ')})`,
      ),
    });
    queries.push({ signal: 'gatewayQueue', text: gatewayQueueQuery(scope) });
  }
  if (scope.pools.length > 0) queries.push({ signal: 'gatewayPool', text: poolQuery(scope) });
  return queries;
}

/**
 * The gateway's request counter of the models whose demand it measures (it has no pod label),
 * under one of its names: an EPP exposes one of them, and `or` keeps the newer one where several are.
 */
function gatewaySelector(scope: QueryScope, name: string): string {
  return selector(name, [
    ['model_name', '=~', anyOf(scope.gatewayModels)],
    ['namespace', '=~', anyOf(scope.namespaces)],
  ]);
}

/**
 * The requests the gateway holds per model (its flow-control queue, summed over pools and
 * priorities) and the newest sample's time, each under each of its names (tagged `name` and
 * `ts@name`), so the parser takes the newest name an EPP exposes: the demand of a variant at zero
 * replicas, which has no vLLM series at all (docs/METRICS.md, "Inference gateway").
 */
function gatewayQueueQuery(scope: QueryScope): string {
  return union(
    GATEWAY_QUEUE_NAMES.flatMap((name) => [
      tagged(`sum ${by(SERVER_GROUP)} (${gatewaySelector(scope, name)})`, TAG.part, name),
      tagged(`max ${by(SERVER_GROUP)} (timestamp(${gatewaySelector(scope, name)}))`, TAG.part, `ts@${name}`),
    ]),
  );
}

/**
 * Newest sample time per group of every series the collector reads: `timestamp()` of the live
 * series, or, for a series that has ended (its target went away), the newest over a lookback,
 * so that it is reported stale with its age rather than missing.
 */
function inventory(
  scope: QueryScope,
  group: readonly string[],
  s: (name: string, extra?: readonly Matcher[]) => string,
): string {
  const lookback = `[${duration(scope.lookbackSeconds)}:${duration(scope.lookbackStepSeconds)}]`;
  const entries: [string, string, readonly string[]][] = [
    [SERIES.running, s(VLLM.running), group],
    [SERIES.waiting, s(VLLM.waiting), group],
    [SERIES.success, s(VLLM.success), group],
    [SERIES.promptTokens, s(SERIES.promptTokens), group],
    [SERIES.generationTokens, s(SERIES.generationTokens), group],
    [SERIES.ttft, s(SERIES.ttft), group],
    [SERIES.requestTpot, s(SERIES.requestTpot), group],
    [SERIES.decodeTime, s(SERIES.decodeTime), group],
    [SERIES.itlNew, s(SERIES.itlNew), group],
    [SERIES.itlOld, s(SERIES.itlOld), group],
    [SERIES.kvNew, s(SERIES.kvNew), group],
    [SERIES.kvOld, s(SERIES.kvOld), group],
    [SERIES.cacheConfig, s(SERIES.cacheConfig), group],
  ];
  // Label probes only name the servers' version: live series suffice.
  const probes: [string, string][] = [
    [SERIES.finishReasonLabel, s(VLLM.success, [['finish_reason', '!=', '']])],
    [SERIES.engineLabel, s(VLLM.running, [['engine', '!=', '']])],
  ];
  if (scope.gatewayModels.length > 0) {
    for (const name of GATEWAY_REQUEST_NAMES)
      entries.push([name, gatewaySelector(scope, name), SERVER_GROUP]);
  }
  return union([
    ...entries.flatMap(([series, sel, g]) => [
      tagged(`max ${by(g)} (timestamp(${sel}))`, TAG.series, series),
      tagged(`max ${by(g)} (max_over_time(timestamp(${sel})${lookback}))`, TAG.series, series),
    ]),
    ...probes.map(([series, sel]) => tagged(`max ${by(group)} (timestamp(${sel}))`, TAG.series, series)),
  ]);
}

/**
 * The EPP's pool gauges and their newest sample times, grouped by pool name and namespace, each
 * under each of its names (tagged `key@name`), so the parser takes the newest name present.
 */
function poolQuery(scope: QueryScope): string {
  const matchers: Matcher[] = [
    ['name', '=~', anyOf(scope.pools)],
    ['namespace', '=~', anyOf(scope.namespaces)],
  ];
  return union(
    (Object.entries(GATEWAY_POOL) as [PoolSignal, readonly string[]][]).flatMap(([key, names]) =>
      names.flatMap((name) => [
        tagged(`max by (name, namespace) (${selector(name, matchers)})`, TAG.part, `${key}@${name}`),
        tagged(
          `max by (name, namespace) (timestamp(${selector(name, matchers)}))`,
          TAG.part,
          `${key}:ts@${name}`,
        ),
      ]),
    ),
  );
}
