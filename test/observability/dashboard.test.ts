/**
 * observability/dashboard.json: every query parses as PromQL (promtool, once Grafana's variables
 * are given values), selects only series the autoscaler publishes or reads, and the panels the
 * issue asks for are there.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { KNOWN_SERIES, metricNames, promtool } from './promtool.js';

interface Panel {
  readonly title: string;
  readonly targets?: { readonly expr: string }[];
}

const dashboard = JSON.parse(readFileSync('observability/dashboard.json', 'utf8')) as {
  panels: Panel[];
  templating: { list: { name: string; query: { query: string } }[] };
};

/** What Grafana puts in place of its variables when it runs a query. */
const VARIABLES: Record<string, string> = {
  __rate_interval: '1m',
  __interval: '30s',
  __range: '6h',
  namespace: 'llm',
  variant: 'chat-8b|code-70b',
};

function substitute(expr: string): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (m, name: string) => {
    const value = VARIABLES[name];
    if (value === undefined) throw new Error(`unknown Grafana variable ${m} in ${expr}`);
    return value;
  });
}

/** The series selector inside a label_values(selector, label) variable query. */
function variableSelector(query: string): string {
  const m = /^label_values\((.*),\s*\w+\)$/.exec(query.trim());
  if (!m) throw new Error(`unexpected variable query ${query}`);
  return m[1]!;
}

const queries = [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr }))),
  ...dashboard.templating.list.map((v) => ({
    where: `variable ${v.name}`,
    expr: variableSelector(v.query.query),
  })),
];

test('every query parses (promtool check rules on them as recording rules)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sva-dashboard-'));
  try {
    const file = join(dir, 'dashboard-queries.yml');
    writeFileSync(
      file,
      stringify({
        groups: [
          {
            name: 'dashboard',
            rules: queries.map((q, i) => ({ record: `sva_dashboard:query_${i}`, expr: substitute(q.expr) })),
          },
        ],
      }),
    );
    const r = promtool(['check', 'rules', file]);
    expect(r.output).toContain(`SUCCESS: ${queries.length} rules found`);
    expect(r.status).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a query that does not parse is caught', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sva-dashboard-'));
  try {
    const file = join(dir, 'bad.yml');
    writeFileSync(
      file,
      stringify({ groups: [{ name: 'bad', rules: [{ record: 'x', expr: 'sum by (a (b)' }] }] }),
    );
    expect(promtool(['check', 'rules', file]).status).not.toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('queries select only series the autoscaler publishes or reads', () => {
  for (const q of queries) {
    const names = metricNames(substitute(q.expr));
    expect({ where: q.where, names: names.length }).not.toMatchObject({ names: 0 });
    for (const name of names)
      expect({ where: q.where, name, known: KNOWN_SERIES.has(name) }).toMatchObject({ known: true });
  }
});

test('the panels: replicas, scaling actions by reason, demand, predicted vs observed TTFT and ITL, cost', () => {
  const byTitle = new Map(
    dashboard.panels.map((p) => [p.title, (p.targets ?? []).map((t) => t.expr).join('\n')]),
  );
  const uses = (title: string, ...series: string[]) => {
    const exprs = byTitle.get(title);
    expect({ title, found: exprs !== undefined }).toEqual({ title, found: true });
    for (const s of series) expect(exprs).toContain(s);
  };
  uses(
    'Desired vs current replicas',
    'inferno_desired_replicas',
    'inferno_current_replicas',
    'accelerator_type',
  );
  uses('Scaling actions by reason', 'inferno_replica_scaling_total', 'reason');
  uses('Demand', 'vllm:request_success_total', 'vllm:num_requests_waiting');
  uses('TTFT: predicted vs observed', 'inferno_predicted_ttft_seconds', 'vllm:time_to_first_token_seconds');
  uses('ITL: predicted vs observed', 'inferno_predicted_itl_seconds', 'vllm:inter_token_latency_seconds');
  uses('Cost per hour', 'inferno_replica_cost_per_hour');
  uses('Shadow: what sva would run', 'inferno_shadow_replicas');
  uses(
    'Held: paused, another autoscaler, or advice nobody scales on',
    'inferno_variant_paused',
    'inferno_autoscaler_conflicts',
    'inferno_advise_unconsumed',
  );
});
