/**
 * The benchmark's report: one self-contained HTML page (Chart.js inlined, as in
 * lib/closedLoop/report.ts, so it opens offline) with, per trace, the results table and the
 * policies' curves side by side: demand, replicas, cost per hour and p95 latencies per interval
 * against the targets.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartJsSource, escapeHtml } from '../../lib/closedLoop/html.js';
import type { SimulationRun } from '../../lib/closedLoop/closedLoop.js';
import { hourlyRows, type HourRow } from '../../lib/closedLoop/hourly.js';
import { TABLE_HEADER, tableRows, type TraceResult } from './results.js';

export interface TraceReport {
  /** the trace file as given */
  readonly trace: string;
  readonly rateScale: number;
  readonly requests: number;
  readonly durationSeconds: number;
  /** runs in the order to show them */
  readonly runs: readonly SimulationRun[];
}

export interface ReportMeta {
  readonly title: string;
  readonly command: string;
  /** sentences printed above the results (how the policies and scales were set) */
  readonly notes: readonly string[];
}

/** One colour per policy, the same on every chart. */
const COLOURS: Record<string, string> = {
  sva: '#2563eb',
  oracle: '#111827',
  'keda-queue': '#dc2626',
  'hpa-kv': '#ea580c',
  wva: '#16a34a',
  'static-peak': '#9333ea',
  'oracle-lead': '#4b5563',
  'static-best': '#9ca3af',
  'keda-epp': '#be123c',
  'dynamo-planner': '#65a30d',
};
const colour = (name: string, i: number) => COLOURS[name] ?? ['#0891b2', '#ca8a04', '#db2777'][i % 3]!;

interface Point {
  x: number;
  y: number | null;
}

interface Dataset {
  label: string;
  data: Point[];
  borderColor: string;
  backgroundColor: string;
  borderDash?: number[];
  stepped?: boolean;
  hidden?: boolean;
  pointRadius: number;
  borderWidth: number;
  spanGaps?: boolean;
}

interface ChartSpec {
  id: string;
  title: string;
  yLabel: string;
  datasets: Dataset[];
  logY?: boolean;
  /** default 'simulated minutes' */
  xLabel?: string;
}

const minutes = (t: number) => Math.round((t / 60) * 1000) / 1000;

function line(label: string, data: Point[], color: string, extra: Partial<Dataset> = {}): Dataset {
  return {
    label,
    data,
    borderColor: color,
    backgroundColor: color,
    pointRadius: 0,
    borderWidth: 1.5,
    ...extra,
  };
}

function sum(values: Record<string, number>): number {
  return Object.values(values).reduce((a, b) => a + b, 0);
}

function charts(prefix: string, report: TraceReport): ChartSpec[] {
  const { runs } = report;
  const reference = runs.find((r) => r.controller === 'oracle') ?? runs[0];
  const variants = reference ? Object.keys(reference.targets) : [];
  const specs: ChartSpec[] = [];
  if (reference) {
    specs.push({
      id: `${prefix}-demand`,
      title:
        'Demand: requests arriving per second (per oracle interval), and the rate sva sized for, shown a lead time later (its forecast against what came)',
      yLabel: 'req/s',
      datasets: variants.flatMap((n) => {
        const sva = runs.find((r) => r.controller === 'sva');
        const forecast = sva?.timeline.flatMap((p) => {
          const f = p.variants[n]?.forecast;
          return f ? [{ x: minutes(p.t + f.leadSeconds), y: f.rate }] : [];
        });
        return [
          line(
            `${n} arrivals`,
            reference.timeline.map((p) => ({ x: minutes(p.t), y: p.variants[n]!.arrivalRate })),
            '#6b7280',
            { stepped: true },
          ),
          ...(forecast && forecast.length > 0
            ? [
                line(`${n} sva sized for (a lead time later)`, forecast, colour('sva', 0), {
                  borderDash: [2, 2],
                }),
              ]
            : []),
        ];
      }),
    });
  }
  specs.push({
    id: `${prefix}-replicas`,
    title: 'Replicas asked for (all accelerators; dashed: ready, hidden until clicked)',
    yLabel: 'replicas',
    datasets: runs.flatMap((run, i) => [
      line(
        run.controller,
        run.timeline.map((p) => ({
          x: minutes(p.t),
          y: Object.values(p.variants).reduce((a, v) => a + sum(v.desired), 0),
        })),
        colour(run.controller, i),
        { stepped: true },
      ),
      line(
        `${run.controller} ready`,
        run.timeline.map((p) => ({
          x: minutes(p.t),
          y: Object.values(p.variants).reduce((a, v) => a + sum(v.ready), 0),
        })),
        colour(run.controller, i),
        { stepped: true, borderDash: [4, 3], hidden: true },
      ),
    ]),
  });
  specs.push({
    id: `${prefix}-cost`,
    title: 'Cost of the GPU nodes running, ready or provisioning ($/h)',
    yLabel: '$/h',
    datasets: runs.map((run, i) =>
      line(
        run.controller,
        run.timeline.map((p) => ({ x: minutes(p.t), y: p.costPerHour })),
        colour(run.controller, i),
        { stepped: true },
      ),
    ),
  });
  for (const [metric, key, target] of [
    ['TTFT', 'p95TtftMs', 'ttftMs'],
    ['ITL', 'p95ItlMs', 'itlMs'],
  ] as const) {
    const first = reference?.timeline[0]?.t ?? 0;
    const last = Math.max(0, ...runs.map((r) => r.timeline.at(-1)?.t ?? 0));
    specs.push({
      id: `${prefix}-${metric.toLowerCase()}`,
      title: `${metric}: p95 of the requests finished in each control interval, against the target`,
      yLabel: 'ms',
      logY: true,
      datasets: [
        ...runs.map((run, i) =>
          line(
            run.controller,
            run.timeline.map((p) => ({
              x: minutes(p.t),
              y: Object.values(p.variants).reduce<number | null>(
                (a, v) => (v[key] === null ? a : Math.max(a ?? 0, v[key]!)),
                null,
              ),
            })),
            colour(run.controller, i),
            { spanGaps: true, borderWidth: 1 },
          ),
        ),
        ...variants.map((n) => {
          const value = reference!.targets[n]![target] || null;
          return line(
            `${n} target`,
            [
              { x: minutes(first), y: value },
              { x: minutes(last), y: value },
            ],
            '#111827',
            { borderDash: [6, 4], borderWidth: 2 },
          );
        }),
      ],
    });
  }
  return specs;
}

/** The policy the hour-by-hour view follows against the oracle: sva when it ran, else the first. */
function focus(runs: readonly SimulationRun[]): SimulationRun | undefined {
  return runs.find((r) => r.controller === 'sva') ?? runs.find((r) => r.controller !== 'oracle');
}

/**
 * The day hour by hour: demand, capacity per accelerator of the focus policy against the
 * oracle's, cost, attainment and scaling actions per hour for every policy.
 */
function hourlyCharts(prefix: string, report: TraceReport): { specs: ChartSpec[]; table: string } {
  const rows = new Map(report.runs.map((r) => [r.controller, hourlyRows(r)]));
  const hours = (name: string, y: (row: HourRow) => number | null): Point[] =>
    (rows.get(name) ?? []).map((row) => ({ x: row.hour + 0.5, y: y(row) }));
  const oracle = report.runs.find((r) => r.controller === 'oracle');
  const main = focus(report.runs);
  const reference = oracle ?? main;
  const specs: ChartSpec[] = [];
  const perPolicy = (id: string, title: string, yLabel: string, y: (row: HourRow) => number | null) =>
    specs.push({
      id: `${prefix}-hourly-${id}`,
      title,
      yLabel,
      xLabel: 'hour',
      datasets: report.runs.map((run, i) =>
        line(run.controller, hours(run.controller, y), colour(run.controller, i), {
          hidden: ![main?.controller, 'oracle', 'oracle-lead', 'static-best', 'keda-epp'].includes(
            run.controller,
          ),
        }),
      ),
    });
  if (reference) {
    specs.push({
      id: `${prefix}-hourly-demand`,
      title: 'By hour: demand (mean requests per second)',
      yLabel: 'req/s',
      xLabel: 'hour',
      datasets: [
        line(
          'arrivals',
          hours(reference.controller, (r) => r.demand),
          '#6b7280',
          { stepped: true },
        ),
      ],
    });
  }
  const capacity: Dataset[] = [];
  for (const [k, run] of [main, oracle].entries()) {
    if (!run) continue;
    const accelerators = [
      ...new Set((rows.get(run.controller) ?? []).flatMap((r) => Object.keys(r.replicas))),
    ];
    for (const [j, acc] of accelerators.entries()) {
      capacity.push(
        line(
          `${run.controller} ${acc}`,
          hours(run.controller, (r) => r.replicas[acc] ?? 0),
          ['#2563eb', '#0891b2', '#9333ea', '#16a34a'][j % 4]!,
          k === 1 ? { borderDash: [6, 4] } : {},
        ),
      );
    }
  }
  specs.push({
    id: `${prefix}-hourly-capacity`,
    title: `By hour: mean replicas per accelerator, ${main?.controller ?? '-'} (solid) against the oracle (dashed)`,
    yLabel: 'replicas',
    xLabel: 'hour',
    datasets: capacity,
  });
  perPolicy('cost', 'By hour: cost of the GPU nodes ($ per hour)', '$', (r) => r.cost);
  perPolicy('slo', 'By hour: share of the requests arriving that met both targets (%)', '%', (r) =>
    r.sloAttainment === null ? null : r.sloAttainment * 100,
  );
  perPolicy('actions', 'By hour: scaling actions', 'actions', (r) => r.scalingActions);
  const names = [main, oracle].filter((r): r is SimulationRun => r !== undefined).map((r) => r.controller);
  const fmtReplicas = (r: HourRow | undefined) =>
    r
      ? Object.entries(r.replicas)
          .filter(([, n]) => n >= 0.05)
          .map(([acc, n]) => `${n.toFixed(1)} ${acc}`)
          .join(' + ') || '0'
      : '-';
  const head = [
    'hour',
    'req/s',
    ...names.flatMap((n) => [`${n} replicas`, `${n} $`, `${n} SLO`, `${n} actions`]),
  ];
  const body = (rows.get(reference?.controller ?? '') ?? []).map((row, h) =>
    [
      String(h),
      row.demand.toFixed(2),
      ...names.flatMap((n) => {
        const r = rows.get(n)?.[h];
        return [
          fmtReplicas(r),
          r ? r.cost.toFixed(2) : '-',
          r?.sloAttainment == null ? '-' : `${(r.sloAttainment * 100).toFixed(2)}%`,
          r ? String(r.scalingActions) : '-',
        ];
      }),
    ]
      .map((c) => `<td>${escapeHtml(c)}</td>`)
      .join(''),
  );
  const table =
    `<h3>By hour: ${escapeHtml(names.join(' against '))}</h3><table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${body.map((r) => `<tr>${r}</tr>`).join('\n')}</tbody></table>`;
  return { specs, table };
}

/** Accelerators a run used, with the most replicas it asked for on each. */
function acceleratorsUsed(run: SimulationRun): string {
  const most = new Map<string, number>();
  for (const p of run.timeline) {
    for (const v of Object.values(p.variants)) {
      for (const [acc, n] of Object.entries(v.desired)) most.set(acc, Math.max(most.get(acc) ?? 0, n));
    }
  }
  return [...most]
    .filter(([, n]) => n > 0)
    .map(([acc, n]) => `${acc} ≤${n}`)
    .join(', ');
}

export function renderBenchReport(traces: readonly TraceReport[], meta: ReportMeta): string {
  const allSpecs: ChartSpec[] = [];
  const sections = traces.map((report, k) => {
    const specs = charts(`t${k}`, report);
    allSpecs.push(...specs);
    const head = [...TABLE_HEADER, 'accelerators (max replicas)'];
    const rows = tableRows(report.runs).map((cells, i) => [...cells, acceleratorsUsed(report.runs[i]!)]);
    const table =
      `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>` +
      rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n') +
      '</tbody></table>';
    // Runs of two hours or more are shown hour by hour as well (the day's shape).
    const hourly = report.durationSeconds >= 7200 ? hourlyCharts(`t${k}`, report) : undefined;
    if (hourly) specs.push(...hourly.specs);
    allSpecs.push(...(hourly?.specs ?? []));
    const canvases =
      specs
        .map((c) => `<h3>${escapeHtml(c.title)}</h3><div class="chart"><canvas id="${c.id}"></canvas></div>`)
        .join('\n') + (hourly ? `\n${hourly.table}` : '');
    return (
      `<section><h2>${escapeHtml(report.trace)} (rate ×${report.rateScale})</h2>` +
      `<p>${report.requests} requests over ${(report.durationSeconds / 60).toFixed(1)} simulated minutes.</p>` +
      `${table}\n${canvases}</section>`
    );
  });
  const data = JSON.stringify(allSpecs).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(meta.title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1280px;color:#111;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin:36px 0 8px;border-top:1px solid #ccc;padding-top:16px}h3{font-size:14px;margin:22px 0 6px}
table{border-collapse:collapse;font-size:13px;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:right}
td:first-child,th:first-child,td:last-child,th:last-child{text-align:left}
.chart{position:relative;height:300px}code{background:#f3f4f6;padding:2px 4px}li{margin:3px 0}
</style></head><body>
<h1>${escapeHtml(meta.title)}</h1>
<p><code>${escapeHtml(meta.command)}</code></p>
<ul>${meta.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>
${sections.join('\n')}
<script>${chartJsSource()}</script>
<script>
const specs = ${data};
for (const spec of specs) {
  new Chart(document.getElementById(spec.id), {
    type: 'line',
    data: { datasets: spec.datasets },
    options: {
      animation: false, maintainAspectRatio: false, parsing: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: { x: { type: 'linear', title: { display: true, text: spec.xLabel || 'simulated minutes' } },
                y: { type: spec.logY ? 'logarithmic' : 'linear', title: { display: true, text: spec.yLabel }, beginAtZero: !spec.logY } },
      plugins: { legend: { labels: { boxWidth: 12, font: { size: 11 } } } },
    },
  });
}
</script>
</body></html>
`;
}

export function writeBenchReport(
  outDir: string,
  traces: readonly TraceReport[],
  results: readonly TraceResult[],
  meta: ReportMeta,
): { html: string; json: string } {
  mkdirSync(outDir, { recursive: true });
  const html = join(outDir, 'report.html');
  const json = join(outDir, 'results.json');
  writeFileSync(html, renderBenchReport(traces, meta));
  writeFileSync(json, `${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`);
  return { html, json };
}
