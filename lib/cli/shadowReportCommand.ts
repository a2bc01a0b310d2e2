/**
 * `sva shadow-report --prometheus URL`: what sva would have run against what ran, per variant
 * and day, from Prometheus history (lib/shadow/shadowReport.ts): the read-out of a week in
 * shadow mode before switching a variant to act (README "Adopting sva").
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PrometheusClient } from '../adapters/prometheus/index.js';
import { readShadowHistory } from '../adapters/prometheus/shadowHistory.js';
import { shadowReportPage } from '../closedLoop/html.js';
import { loadConfig } from '../config/load.js';
import { formatShadowReport, shadowReport, type ShadowDay } from '../shadow/shadowReport.js';
import { positiveNumber } from './args.js';
import { connectionFrom } from './collectCommand.js';
import { UsageError } from './errors.js';

const DEFAULT_CONFIG = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

export const SHADOW_REPORT_USAGE = `usage: sva shadow-report --prometheus URL [--config FILE] [--days N] [--end TIME] [--step S] [--json] [--html FILE]
                         [--timeout MS] [--header 'NAME: VALUE' ...] [--bearer-token-file FILE] [--sigv4-region REGION]
  --prometheus URL   Prometheus holding inferno_desired_replicas, kube_deployment_spec_replicas and vLLM's series
  --config FILE      sva config of the pool (default: config/default.yaml)
  --days N           days back from --end (default 7; fractions allowed)
  --end TIME         end of the span, ISO 8601 (default: now)
  --step S           resolution, seconds (default 300)
  --json             print { "days": [...] } as JSON
  --html FILE        also write the report as an HTML page
  other flags as for sva collect`;

export async function shadowReportCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      prometheus: { type: 'string' },
      config: { type: 'string' },
      days: { type: 'string' },
      end: { type: 'string' },
      step: { type: 'string' },
      json: { type: 'boolean', default: false },
      html: { type: 'string' },
      timeout: { type: 'string' },
      header: { type: 'string', multiple: true },
      'bearer-token-file': { type: 'string' },
      'sigv4-region': { type: 'string' },
    },
  });
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument "${positionals[0]}"\n${SHADOW_REPORT_USAGE}`);
  const connection = connectionFrom(values, SHADOW_REPORT_USAGE);
  const config = loadConfig(values.config ?? DEFAULT_CONFIG);
  const days = positiveNumber(values.days, '--days') ?? 7;
  const step = positiveNumber(values.step, '--step') ?? 300;
  let end = Date.now() / 1000;
  if (values.end !== undefined) {
    const t = Date.parse(values.end);
    if (Number.isNaN(t)) throw new UsageError(`--end needs an ISO 8601 time, got "${values.end}"`);
    end = t / 1000;
  }
  const rows = await shadowReportFromPrometheus(new PrometheusClient(connection), config, {
    from: end - days * 86_400,
    to: end,
    stepSeconds: step,
  });
  if (values.html) writeFileSync(values.html, shadowReportPage(rows, connection.url));
  if (values.json) out(JSON.stringify({ days: rows }, null, 2));
  else for (const line of formatShadowReport(rows)) out(line);
  return 0;
}

/** Reads the span's history and compares it (also what `npm run stack -- --shadow` prints). */
export async function shadowReportFromPrometheus(
  client: PrometheusClient,
  config: ReturnType<typeof loadConfig>,
  span: { from: number; to: number; stepSeconds: number },
): Promise<ShadowDay[]> {
  // the grid starts on a step boundary, as Prometheus aligns what it is asked for
  const from = Math.ceil(span.from / span.stepSeconds) * span.stepSeconds;
  const history = await readShadowHistory(client, config, { ...span, from });
  return shadowReport({ config, from, to: span.to, stepSeconds: span.stepSeconds, ...history });
}
