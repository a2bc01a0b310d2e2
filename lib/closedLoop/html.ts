/** Pieces of the self-contained HTML reports (the simulation's and the policy benchmark's). */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ShadowDay } from '../shadow/shadowReport.js';

/** Chart.js's UMD build, to inline in a page so that it opens offline. */
export function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  // The package exports only its module entry points; the UMD build sits beside them.
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const cell = (x: number | null, digits: number) => (x === null ? '–' : x.toFixed(digits));

/**
 * The shadow report's section (lib/shadow/shadowReport.ts): per variant and day, what sva would
 * have run beside what ran, with the device-hours, cost and predicted latency of each.
 */
export function shadowReportSection(rows: readonly ShadowDay[]): string {
  const head = [
    'variant',
    'day',
    'hours',
    'replicas (sva / ran)',
    'device-hours (sva / ran)',
    'cost (sva / ran)',
    'predicted TTFT ms (sva / ran)',
    'predicted ITL ms (sva / ran)',
    'steps over target (sva / ran)',
  ];
  const pct = (x: number | null) => (x === null ? '–' : `${Math.round(100 * x)}%`);
  const body = rows.map((r) =>
    [
      r.variant,
      r.day,
      r.hours.toFixed(1),
      `${r.sva.meanReplicas.toFixed(1)} / ${r.ran.meanReplicas.toFixed(1)}`,
      `${r.sva.deviceHours.toFixed(1)} / ${r.ran.deviceHours.toFixed(1)}`,
      `${r.sva.cost.toFixed(2)} / ${r.ran.cost.toFixed(2)}`,
      `${cell(r.sva.ttftMs, 0)} / ${cell(r.ran.ttftMs, 0)}`,
      `${cell(r.sva.itlMs, 1)} / ${cell(r.ran.itlMs, 1)}`,
      `${pct(r.sva.overTargetShare)} / ${pct(r.ran.overTargetShare)}`,
    ]
      .map((c) => `<td>${escapeHtml(c)}</td>`)
      .join(''),
  );
  return [
    '<section id="shadow">',
    '<h2>Shadow: what sva would have run, beside what ran</h2>',
    '<p>From Prometheus history: <code>inferno_desired_replicas</code> (sva) against',
    "<code>kube_deployment_spec_replicas</code> (what ran), with the queue model's predicted mean",
    'latency of each on the demand vLLM measured.</p>',
    rows.length === 0
      ? '<p>No day where both sides have samples.</p>'
      : `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${body
          .map((b) => `<tr>${b}</tr>`)
          .join('')}</tbody></table>`,
    '</section>',
  ].join('\n');
}

/** A page holding only the shadow report, as `sva shadow-report --html` writes it. */
export function shadowReportPage(rows: readonly ShadowDay[], source: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sva shadow report</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}td:first-child,td:nth-child(2){text-align:left}</style>
</head><body>
<h1>sva shadow report</h1>
<p>Source: ${escapeHtml(source)}</p>
${shadowReportSection(rows)}
</body></html>
`;
}
