/**
 * `sva collect --prometheus URL`: what the evaluator would see for every variant of a config, read
 * from a real Prometheus (every estimate, the series it came from and its age), so an operator
 * can check the inputs before trusting the outputs.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsClientSettings } from '../adapters/aws/clientConfig.js';
import { DynamoGatewayLoad, GatewayMetricsSource } from '../adapters/gatewayEvents/index.js';
import {
  PrometheusMetricsSource,
  type PrometheusConnection,
  type PrometheusObservation,
} from '../adapters/prometheus/index.js';
import { InputError } from '../config/errors.js';
import { loadConfig } from '../config/load.js';
import type { Estimate } from '../metrics/observation.js';
import { metricsQuery } from '../policy/ports.js';
import { roleQueries } from '../policy/disaggregated.js';
import { UsageError } from './errors.js';
import { positiveNumber } from './args.js';

const DEFAULT_CONFIG = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

export const COLLECT_USAGE = `usage: sva collect --prometheus URL [--config FILE] [--json] [--window S] [--max-age S] [--timeout MS]
                   [--header 'NAME: VALUE' ...] [--bearer-token-file FILE] [--sigv4-region REGION]
                   [--gateway-table TABLE]
  --prometheus URL         Prometheus (or compatible) base URL; user:password@ in it for basic auth
  --config FILE            sva config whose variants are read (default: config/default.yaml)
  --json                   print { "variants": [...] } as JSON
  --window S               rate window, seconds (default: the config's policy.metricsWindowSeconds; 5 min fallback)
  --max-age S              samples older than this are stale (default: policy.metricsMaxAgeSeconds)
  --timeout MS             time limit per query (default 5000)
  --header 'NAME: VALUE'   extra request header (repeatable), e.g. X-Scope-OrgID
  --bearer-token-file F    bearer token read from a file (or PROMETHEUS_BEARER_TOKEN)
  --sigv4-region REGION    sign requests for Amazon Managed Prometheus
  --gateway-table TABLE    merge the gateway's counters from this DynamoDB table, as evaluate does
                           (AWS_REGION, AWS_ENDPOINT_URL from the environment; docs/GATEWAY.md)`;

/** The estimates in the order the issue lists them, with their units for people. */
const ESTIMATES = [
  ['arrivalRate', 'req/s'],
  ['completionRate', 'req/s'],
  ['avgInputTokens', 'tokens'],
  ['avgOutputTokens', 'tokens'],
  ['ttftMs', 'ms'],
  ['itlMs', 'ms'],
  ['waiting', 'requests'],
  ['running', 'requests'],
  ['kvCacheUsage', 'fraction'],
  ['readyReplicas', 'replicas'],
  ['ttftP95Ms', 'ms'],
  ['itlP95Ms', 'ms'],
  ['kvCapacityTokens', 'tokens/replica'],
] as const satisfies readonly (readonly [keyof PrometheusObservation, string])[];

const POOL = ['averageQueueSize', 'averageKvCacheUtilization', 'readyPods'] as const;

/** The Prometheus connection the command-line flags describe (also `sva shadow-report`'s). */
export function connectionFrom(
  values: {
    prometheus?: string;
    timeout?: string;
    header?: string[];
    'bearer-token-file'?: string;
    'sigv4-region'?: string;
  },
  usage = COLLECT_USAGE,
): PrometheusConnection {
  if (!values.prometheus) throw new UsageError(`--prometheus URL is required\n${usage}`);
  let url: URL;
  try {
    url = new URL(values.prometheus);
  } catch {
    throw new UsageError(`--prometheus needs an http(s) URL, got "${values.prometheus}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--prometheus needs an http(s) URL, got "${values.prometheus}"`);
  const basicAuth = url.username
    ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }
    : undefined;
  url.username = '';
  url.password = '';
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header needs "NAME: VALUE", got "${h}"`);
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  let bearerToken = process.env.PROMETHEUS_BEARER_TOKEN || undefined;
  const tokenFile = values['bearer-token-file'];
  if (tokenFile !== undefined) {
    try {
      bearerToken = readFileSync(tokenFile, 'utf8').trim();
    } catch (err) {
      throw new InputError(`${tokenFile}: cannot read bearer token (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  return {
    url: url.toString().replace(/\/$/, ''),
    timeoutMs: positiveNumber(values.timeout, '--timeout'),
    headers,
    bearerToken,
    basicAuth,
    sigv4: values['sigv4-region'] ? { region: values['sigv4-region'] } : undefined,
  };
}

const valueOf = (e: Estimate | undefined) => (e ? e.value : null);

/** Where each estimate came from: the gateway's counters or a Prometheus series. */
function sources(o: PrometheusObservation, now: number) {
  const out: Record<string, { series: string; ageSeconds: number }> = {};
  for (const [key] of ESTIMATES) {
    const e = o[key];
    if (e) out[key] = { series: e.source, ageSeconds: Math.max(0, +(now - e.timestamp).toFixed(3)) };
  }
  return out;
}

export function observationJson(o: PrometheusObservation, now: number) {
  const slash = o.variant.indexOf('/');
  return {
    name: o.variant.slice(slash + 1),
    namespace: o.variant.slice(0, slash),
    model: o.model,
    arrivalRate: valueOf(o.arrivalRate),
    completionRate: valueOf(o.completionRate),
    avgInputTokens: valueOf(o.avgInputTokens),
    avgOutputTokens: valueOf(o.avgOutputTokens),
    ttftMs: valueOf(o.ttftMs),
    itlMs: valueOf(o.itlMs),
    waiting: valueOf(o.waiting),
    running: valueOf(o.running),
    kvCacheUsage: valueOf(o.kvCacheUsage),
    readyReplicas: valueOf(o.readyReplicas),
    vllmNaming: o.vllmNaming ?? null,
    stale: [...o.stale],
    missing: [...o.missing],
    // Beyond the evaluator's inputs: what else Prometheus tells, and where each value came from.
    windowSeconds: o.windowSeconds,
    ttftP95Ms: valueOf(o.ttftP95Ms),
    itlP95Ms: valueOf(o.itlP95Ms),
    kvCapacityTokens: valueOf(o.kvCapacityTokens),
    gatewayPool: o.gatewayPool ? Object.fromEntries(POOL.map((k) => [k, valueOf(o.gatewayPool?.[k])])) : null,
    sources: sources(o, now),
    outputByInputBucket: o.outputByInputBucket ?? null,
    errors: [...o.errors],
  };
}

/** Up to 4 significant digits, without trailing zeros. */
const format = (x: number) => String(Math.abs(x) >= 1000 ? Math.round(x) : Number(x.toPrecision(4)));

/** Columns padded to their widths; numbers right-aligned, text left-aligned. */
function table(
  header: readonly string[],
  rows: readonly string[][],
  rightAligned: readonly number[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (rightAligned.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatObservation(o: PrometheusObservation, now: number): string {
  const rows: string[][] = [];
  const row = (name: string, unit: string, e: Estimate | undefined) => {
    if (e) rows.push([name, format(e.value), unit, (now - e.timestamp).toFixed(1), e.source]);
  };
  for (const [key, unit] of ESTIMATES) row(key, unit, o[key]);
  for (const key of POOL) row(`pool.${key}`, '', o.gatewayPool?.[key]);
  const title = `${o.variant}  model ${o.model}, naming ${o.vllmNaming ?? 'unknown'}, window ${o.windowSeconds} s`;
  const estimates =
    rows.length > 0
      ? table(['estimate', 'value', 'unit', 'age s', 'source'], rows, [1, 3])
      : '(no estimates)';
  const list = (xs: readonly string[]) => (xs.length > 0 ? xs.join(', ') : '-');
  const byBucket = o.outputByInputBucket
    ? `\noutput by input bucket (gateway-events): expected ${format(o.outputByInputBucket.expectedOutputTokens)} tokens, overall ${format(o.outputByInputBucket.overallMeanOutputTokens)}; ` +
      o.outputByInputBucket.buckets
        .map(
          (b) =>
            `[${2 ** b.bucket}, ${2 ** (b.bucket + 1)}): ${b.arrivals} arriving, ${format(b.meanOutputTokens)} out`,
        )
        .join('; ')
    : '';
  return `${title}\n${estimates}${byBucket}\nstale: ${list(o.stale)}\nmissing: ${list(o.missing)}`;
}

export async function collectCommand(
  args: string[],
  out: (line: string) => void,
  err: (line: string) => void = () => {},
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      prometheus: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean', default: false },
      window: { type: 'string' },
      'max-age': { type: 'string' },
      timeout: { type: 'string' },
      header: { type: 'string', multiple: true },
      'bearer-token-file': { type: 'string' },
      'sigv4-region': { type: 'string' },
      'gateway-table': { type: 'string' },
    },
  });
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument "${positionals[0]}"\n${COLLECT_USAGE}`);
  const connection = connectionFrom(values);
  const config = loadConfig(values.config ?? DEFAULT_CONFIG);
  const source = new PrometheusMetricsSource({
    connection,
    windowSeconds: positiveNumber(values.window, '--window') ?? config.policy.metricsWindowSeconds,
    maxAgeSeconds: positiveNumber(values['max-age'], '--max-age') ?? config.policy.metricsMaxAgeSeconds,
  });
  const now = Date.now() / 1000;
  // a disaggregated variant is observed per role (`namespace/name@role`)
  const queries = [...config.variants.map(metricsQuery), ...roleQueries(config)];
  const table = values['gateway-table'];
  const merged = table
    ? new GatewayMetricsSource({
        store: new DynamoGatewayLoad(
          DynamoDBDocumentClient.from(new DynamoDBClient(awsClientSettings(process.env, 'DYNAMODB'))),
          table,
        ),
        fallback: source,
        windowSeconds: positiveNumber(values.window, '--window') ?? config.policy.metricsWindowSeconds,
        maxAgeSeconds: positiveNumber(values['max-age'], '--max-age') ?? config.policy.metricsMaxAgeSeconds,
        settings: config.gatewayEvents,
        // a look, not an evaluation: drifted counters are reported, not reset
        resetDrifted: false,
      })
    : undefined;
  // The merge keeps each Prometheus observation and replaces only the estimates the gateway has.
  const observations = merged
    ? ((await merged.collect(queries, now)) as PrometheusObservation[])
    : await source.collect(queries, now);
  for (const c of merged?.lastCollection ?? [])
    if (c.error) err(`sva collect: gateway counters of ${c.variant} not read: ${c.error}`);
  const stats = source.lastCollection;
  if (stats && stats.queries > 0 && stats.failed === stats.queries) {
    err(`sva collect: cannot read metrics: ${stats.errors.join('; ')}`);
    return 1;
  }
  if (values.json)
    out(JSON.stringify({ variants: observations.map((o) => observationJson(o, now)) }, null, 2));
  else out(observations.map((o) => formatObservation(o, now)).join('\n\n'));
  if (stats && stats.failed > 0) {
    err(`sva collect: ${stats.failed} of ${stats.queries} queries failed: ${stats.errors.join('; ')}`);
    return 1;
  }
  return 0;
}
