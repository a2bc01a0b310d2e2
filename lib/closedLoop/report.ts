/**
 * The simulation report: one self-contained HTML page (Chart.js inlined, so it opens offline)
 * with demand, replicas, latency against targets and cost over time, plus summary.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartJsSource, escapeHtml } from './html.js';
import type { SimulationRun } from './closedLoop.js';
import { hourlyRows } from './hourly.js';

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const num = (x: number | null, digits = 0) => (x === null ? '–' : x.toFixed(digits));

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

interface Dataset {
  label: string;
  data: (number | null)[];
  borderColor: string;
  borderDash?: number[];
  stepped?: boolean;
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
}

/**
 * The rate each evaluation sized for (its measured demand, backlog and forecast rise), placed at
 * the point a lead time later, when capacity asked for then could serve: set against the arrivals
 * there, it shows what the forecast expected against what came.
 */
export function forecastAgainstArrivals(run: SimulationRun, variant: string): (number | null)[] {
  const out: (number | null)[] = run.timeline.map(() => null);
  let j = 0;
  for (const p of run.timeline) {
    const f = p.variants[variant]?.forecast;
    if (!f) continue;
    const at = p.t + f.leadSeconds;
    while (j < run.timeline.length && run.timeline[j]!.t < at) j++;
    if (j >= run.timeline.length) break;
    // a later evaluation with a shorter lead time landing on the same point keeps the newest
    out[j] = f.rate;
  }
  return out;
}

function charts(run: SimulationRun): ChartSpec[] {
  const names = Object.keys(run.targets);
  const line = (
    label: string,
    data: (number | null)[],
    i: number,
    extra: Partial<Dataset> = {},
  ): Dataset => ({
    label,
    data,
    borderColor: PALETTE[i % PALETTE.length]!,
    pointRadius: 0,
    borderWidth: 1.5,
    ...extra,
  });
  const specs: ChartSpec[] = [];
  specs.push({
    id: 'demand',
    title: 'Demand: requests arriving vs what the evaluator estimated',
    yLabel: 'req/s',
    datasets: names.flatMap((n, i) => [
      line(
        `${n} arrivals`,
        run.timeline.map((p) => p.variants[n]!.arrivalRate),
        i,
      ),
      line(
        `${n} estimated`,
        run.timeline.map((p) => p.variants[n]!.estimatedRate),
        i,
        { borderDash: [4, 3] },
      ),
      ...(run.timeline.some((p) => p.variants[n]!.forecast)
        ? [
            line(`${n} sized for, shown a lead time later`, forecastAgainstArrivals(run, n), i, {
              borderDash: [1, 2],
              spanGaps: true,
            }),
          ]
        : []),
    ]),
  });
  let k = 0;
  const replicaSets: Dataset[] = [];
  for (const n of names) {
    const accs = [...new Set(run.timeline.flatMap((p) => Object.keys(p.variants[n]!.desired)))].sort();
    for (const acc of accs) {
      replicaSets.push(
        line(
          `${n} ${acc} desired`,
          run.timeline.map((p) => p.variants[n]!.desired[acc] ?? 0),
          k,
          { stepped: true },
        ),
      );
      replicaSets.push(
        line(
          `${n} ${acc} ready`,
          run.timeline.map((p) => p.variants[n]!.ready[acc] ?? 0),
          k,
          { stepped: true, borderDash: [4, 3] },
        ),
      );
      k++;
    }
  }
  specs.push({
    id: 'replicas',
    title: 'Replicas desired and ready, per accelerator',
    yLabel: 'replicas',
    datasets: replicaSets,
  });
  for (const [metric, key, target] of [
    ['TTFT', 'p95TtftMs', 'ttftMs'],
    ['ITL', 'p95ItlMs', 'itlMs'],
  ] as const) {
    specs.push({
      id: metric.toLowerCase(),
      title: `${metric}: p95 of requests finished in each interval, against the target`,
      yLabel: 'ms',
      logY: true,
      datasets: names.flatMap((n, i) => [
        line(
          `${n} p95 ${metric}`,
          run.timeline.map((p) => p.variants[n]![key]),
          i,
          { spanGaps: true },
        ),
        line(
          `${n} target`,
          run.timeline.map(() => run.targets[n]![target] || null),
          i,
          { borderDash: [2, 2], borderWidth: 1 },
        ),
      ]),
    });
  }
  specs.push({
    id: 'cost',
    title: 'Cost of the GPU nodes running ($/h)',
    yLabel: '$/h',
    datasets: [
      line(
        'cost per hour',
        run.timeline.map((p) => p.costPerHour),
        0,
        { stepped: true },
      ),
    ],
  });
  return specs;
}

/** The run hour by hour (runs of two hours or more): demand, capacity, cost, attainment, actions. */
function hourlySection(run: SimulationRun): string {
  if (run.summary.durationSeconds < 7200) return '';
  const rows = hourlyRows(run)
    .map((r) => {
      const replicas =
        Object.entries(r.replicas)
          .filter(([, n]) => n >= 0.05)
          .map(([acc, n]) => `${n.toFixed(1)} ${escapeHtml(acc)}`)
          .join(' + ') || '0';
      const slo = r.sloAttainment === null ? '–' : pct(r.sloAttainment);
      return `<tr><td>${r.hour}</td><td>${r.demand.toFixed(2)}</td><td>${replicas}</td><td>$${r.cost.toFixed(2)}</td><td>${slo}</td><td>${r.requests}</td><td>${r.scalingActions}</td></tr>`;
    })
    .join('\n');
  return (
    '<section><h2>By hour</h2><table><thead><tr><th>hour</th><th>req/s</th><th>mean replicas per accelerator</th>' +
    `<th>cost</th><th>SLO met</th><th>requests</th><th>actions</th></tr></thead><tbody>${rows}</tbody></table></section>`
  );
}

export function renderReport(run: SimulationRun, meta: { title: string; command: string }): string {
  const s = run.summary;
  const labels = run.timeline.map((p) => (p.t / 60).toFixed(1));
  const rows = s.variants
    .map(
      (v) =>
        `<tr><td>${escapeHtml(v.name)}</td><td>${pct(v.sloAttainment)}</td><td>${pct(v.ttftAttainment)}</td><td>${pct(v.itlAttainment)}</td>` +
        `<td>${num(v.p95TtftMs)}</td><td>${num(v.p95ItlMs, 1)}</td><td>${v.gpuHours.toFixed(1)}</td><td>$${v.cost.toFixed(2)}</td>` +
        `<td>${v.scalingActions}</td><td>${v.requests}</td><td>${v.dropped}</td></tr>`,
    )
    .join('\n');
  const events = run.events
    .slice(0, 400)
    .map(
      (e) =>
        `<tr><td>${(e.t / 60).toFixed(1)}</td><td>${escapeHtml(e.variant)}</td><td>${e.action}</td><td>${escapeHtml(e.accelerator)}</td>` +
        `<td>${e.from} → ${e.to}</td><td>${e.reason}</td><td>${escapeHtml(e.message)}</td></tr>`,
    )
    .join('\n');
  const specs = charts(run);
  const canvases = specs
    .map(
      (c) =>
        `<section><h2>${escapeHtml(c.title)}</h2><div class="chart"><canvas id="${c.id}"></canvas></div></section>`,
    )
    .join('\n');
  const data = JSON.stringify({ labels, specs }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(meta.title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1200px;color:#111;padding:0 16px}
h1{font-size:22px}h2{font-size:16px;margin:28px 0 8px}
table{border-collapse:collapse;font-size:13px;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.events td:last-child{text-align:left}
.kpis{display:flex;gap:16px;flex-wrap:wrap;margin:16px 0}.kpi{background:#f3f4f6;border-radius:8px;padding:10px 16px}
.kpi b{display:block;font-size:20px}.chart{position:relative;height:320px}code{background:#f3f4f6;padding:2px 4px}
.events{max-height:420px;overflow:auto;display:block}
</style></head><body>
<h1>${escapeHtml(meta.title)}</h1>
<p>Closed loop on a simulated vLLM fleet: <code>${escapeHtml(meta.command)}</code>. ${(s.durationSeconds / 60).toFixed(1)} simulated minutes, ${s.requests} requests.</p>
<div class="kpis">
<div class="kpi">SLO attainment<b>${pct(s.sloAttainment)}</b></div>
<div class="kpi">TTFT met<b>${pct(s.ttftAttainment)}</b></div>
<div class="kpi">ITL met<b>${pct(s.itlAttainment)}</b></div>
<div class="kpi">GPU-hours<b>${s.gpuHours.toFixed(1)}</b></div>
<div class="kpi">Cost<b>$${s.cost.toFixed(2)}</b></div>
<div class="kpi">Scaling actions<b>${s.scalingActions}</b></div>
<div class="kpi">Dropped<b>${s.dropped}</b></div>
</div>
<table><thead><tr><th>variant</th><th>SLO</th><th>TTFT met</th><th>ITL met</th><th>p95 TTFT ms</th><th>p95 ITL ms</th><th>GPU-h</th><th>cost</th><th>actions</th><th>requests</th><th>dropped</th></tr></thead>
<tbody>${rows}</tbody></table>
${hourlySection(run)}
${canvases}
<section><h2>Scaling actions</h2><table class="events"><thead><tr><th>min</th><th>variant</th><th>action</th><th>accelerator</th><th>replicas</th><th>reason</th><th>why</th></tr></thead><tbody>${events}</tbody></table></section>
<script>${chartJsSource()}</script>
<script>
const report = ${data};
for (const spec of report.specs) {
  new Chart(document.getElementById(spec.id), {
    type: 'line',
    data: { labels: report.labels, datasets: spec.datasets },
    options: {
      animation: false, maintainAspectRatio: false, interaction: { mode: 'index', intersect: false },
      scales: { x: { title: { display: true, text: 'simulated minutes' }, ticks: { maxTicksLimit: 20 } },
                y: { type: spec.logY ? 'logarithmic' : 'linear', title: { display: true, text: spec.yLabel }, beginAtZero: !spec.logY } },
      plugins: { legend: { labels: { boxWidth: 12, font: { size: 11 } } } },
    },
  });
}
</script>
</body></html>
`;
}

export function writeReport(
  outDir: string,
  run: SimulationRun,
  meta: { title: string; command: string },
): { html: string; summary: string } {
  mkdirSync(outDir, { recursive: true });
  const html = join(outDir, 'report.html');
  const summary = join(outDir, 'summary.json');
  writeFileSync(html, renderReport(run, meta));
  writeFileSync(summary, `${JSON.stringify(run.summary, null, 2)}\n`);
  return { html, summary };
}
