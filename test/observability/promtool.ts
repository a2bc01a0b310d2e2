/**
 * promtool (Debian's prometheus package) for the observability tests, and the series the
 * autoscaler publishes or reads: what alert rules and dashboards may refer to.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ADOPTION, INFERNO, SVA_OPS } from '../../lib/loop/telemetry.js';
import { GATEWAY_REQUESTS, VLLM } from '../../lib/metrics/vllmNaming.js';

export const PROMTOOL_INSTALL =
  'apt-get install -y --no-install-recommends prometheus  (or bash .ci/install-prometheus.sh)';

export function promtool(args: string[], cwd?: string): { status: number | null; output: string } {
  const binary = process.env.PROMTOOL_BIN || '/usr/bin/promtool';
  if (!existsSync(binary))
    throw new Error(
      `promtool not found at ${binary}: install it with: ${PROMTOOL_INSTALL} (or set PROMTOOL_BIN)`,
    );
  const r = spawnSync(binary, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const HISTOGRAMS = [VLLM.ttft, ...VLLM.itl, VLLM.decodeTime, VLLM.promptTokens, VLLM.generationTokens];

/** Every series name the autoscaler publishes (inferno_*) or reads (vLLM's, the gateway's). */
export const KNOWN_SERIES: ReadonlySet<string> = new Set([
  ...Object.values(INFERNO),
  ...Object.values(SVA_OPS),
  ...Object.values(ADOPTION),
  VLLM.running,
  VLLM.waiting,
  VLLM.success,
  VLLM.cacheConfig,
  ...VLLM.kvUsage,
  ...HISTOGRAMS.flatMap((h) => [`${h}_sum`, `${h}_count`, `${h}_bucket`]),
  GATEWAY_REQUESTS,
]);

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
]);

/**
 * The metric names a (valid) PromQL expression selects: what is left once strings, label
 * matchers, ranges, grouping clauses, functions and keywords are taken out.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = bare.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(m[0])) continue;
    names.add(m[0]);
  }
  return [...names];
}
