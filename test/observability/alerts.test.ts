/**
 * observability/alerts.yml: valid rules (promtool check rules), firing as intended on the series
 * evaluate and apply write (promtool test rules with observability/alerts.test.yml), and
 * referring only to series the autoscaler publishes or reads.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { KNOWN_SERIES, metricNames, promtool } from './promtool.js';

interface Rule {
  readonly alert?: string;
  readonly expr: string;
}

const rules = (
  parse(readFileSync('observability/alerts.yml', 'utf8')) as { groups: { rules: Rule[] }[] }
).groups.flatMap((g) => g.rules);

test('promtool check rules accepts observability/alerts.yml', () => {
  const r = promtool(['check', 'rules', 'observability/alerts.yml']);
  expect(r.output).toContain(`SUCCESS: ${rules.length} rules found`);
  expect(r.status).toBe(0);
});

test('the rules fire when they should and only then (promtool test rules)', () => {
  const r = promtool(['test', 'rules', 'observability/alerts.test.yml']);
  expect(r.output).toContain('SUCCESS');
  expect(r.status).toBe(0);
});

test('the alerts the issue asks for are there, on series we publish or read', () => {
  expect(rules.map((r) => r.alert)).toEqual([
    'SvaNoDecisionPublished',
    'SvaDesiredCurrentDiverging',
    'SvaMetricsStale',
    'SvaPredictedTtftOverTarget',
    'SvaPredictedItlOverTarget',
    'SvaDecisionsDropped',
    'SvaAutoscalerConflict',
    'SvaAdviceUnconsumed',
    'SvaVariantPausedLong',
  ]);
  for (const rule of rules) {
    const names = metricNames(rule.expr);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names)
      expect({ rule: rule.alert, name, known: KNOWN_SERIES.has(name) }).toMatchObject({ known: true });
  }
});

test('metricNames finds the selected series and nothing else', () => {
  expect(
    metricNames(
      'histogram_quantile(0.95, sum by (namespace, le) (rate(vllm:time_to_first_token_seconds_bucket{namespace=~"a|b"}[5m]))) > on (namespace) group_left inferno_target_ttft_seconds',
    ).sort(),
  ).toEqual(['inferno_target_ttft_seconds', 'vllm:time_to_first_token_seconds_bucket']);
  expect(metricNames('time() - max_over_time(x_total[1h]) > 180 or absent(y)')).toEqual(['x_total', 'y']);
});
