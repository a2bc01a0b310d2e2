/**
 * Prometheus down: a collection reports every series missing with the reason (never a zero), and
 * `sva collect` exits non-zero with one clear line. Against a real Prometheus, stopped.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrometheusMetricsSource, type LocalPrometheus } from '../../../lib/adapters/prometheus/index.js';
import type { MetricsQuery } from '../../../lib/policy/ports.js';
import { run, STACK_LINE } from '../../cli/run.js';
import { now, startPrometheus } from './helpers.js';

const QUERIES: MetricsQuery[] = [
  { variant: 'llm/chat', namespace: 'llm', modelName: 'chat-model', gateway: false },
  { variant: 'llm/code', namespace: 'llm', modelName: 'code-model', gateway: true },
];

let prom: LocalPrometheus | undefined;
let url: string;
let tmp: string | undefined;

beforeAll(async () => {
  prom = await startPrometheus([]);
  url = prom.url;
}, 30_000);

afterAll(async () => {
  await prom?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('a running Prometheus without these series reports them missing, without errors', async () => {
  const source = new PrometheusMetricsSource({ connection: { url } });
  const [chat] = await source.collect(QUERIES, now());
  expect(source.lastCollection).toMatchObject({ failed: 0 });
  expect(chat!.errors).toEqual([]);
  expect(chat!.missing).toContain('vllm:request_success_total');
  expect(chat!.missing.some((m) => m.startsWith('('))).toBe(false);
});

test('once Prometheus is down, every series is missing with the reason, and nothing is estimated', async () => {
  await prom!.stop();
  expect(prom!.running).toBe(false);
  const source = new PrometheusMetricsSource({ connection: { url, timeoutMs: 2000 } });
  const observations = await source.collect(QUERIES, now());
  expect(source.lastCollection?.failed).toBe(source.lastCollection?.queries);
  for (const o of observations) {
    expect(o.arrivalRate).toBeUndefined();
    expect(o.completionRate).toBeUndefined();
    expect(o.running).toBeUndefined();
    expect(o.readyReplicas).toBeUndefined();
    expect(o.missing).toEqual(
      expect.arrayContaining([
        'vllm:request_success_total',
        'vllm:num_requests_running',
        'vllm:num_requests_waiting',
      ]),
    );
    expect(o.errors).toHaveLength(1);
    expect(o.errors[0]).toMatch(new RegExp(`^prometheus unreachable at ${url}: .*ECONNREFUSED`));
    expect(o.missing).toContain(`(${o.errors[0]})`);
  }
  expect(observations[1]!.missing).toContain('inference_model_request_total');
});

test('sva collect exits 1 with one line naming the server when Prometheus is down', async () => {
  tmp = mkdtempSync(join(tmpdir(), 'sva-collect-down-'));
  const config = join(tmp, 'config.yaml');
  writeFileSync(
    config,
    [
      'accelerators: [{ name: L4, costPerHour: 1 }]',
      'models: [{ name: m, profiles: { L4: { alpha: 20, beta: 0.3, maxBatchSize: 32, atTokens: 512 } } }]',
      'serviceClasses: [{ name: c, priority: 1, targets: { m: { ttftMs: 1000, itlMs: 60 } } }]',
      'variants: [{ name: v, model: m, serviceClass: c }]',
      '',
    ].join('\n'),
  );
  for (const extra of [[], ['--json']]) {
    const result = await run('collect', '--prometheus', url, '--config', config, ...extra);
    expect(result.code).toBe(1);
    expect(result.out).toEqual([]);
    expect(result.errLines).toHaveLength(1);
    expect(result.errLines[0]).toMatch(
      new RegExp(`^sva collect: cannot read metrics: prometheus unreachable at ${url}: .*ECONNREFUSED`),
    );
    expect(result.errLines.some((l) => STACK_LINE.test(l))).toBe(false);
  }
});

test('sva collect explains its usage errors', async () => {
  const none = await run('collect');
  expect(none.code).toBe(2);
  expect(none.errLines).toEqual(['sva collect: --prometheus URL is required (see: sva collect --help)']);
  const bad = await run('collect', '--prometheus', 'not a url');
  expect(bad.code).toBe(2);
  expect(bad.errLines).toEqual([
    'sva collect: --prometheus needs an http(s) URL, got "not a url" (see: sva collect --help)',
  ]);
  const help = await run('collect', '--help');
  expect(help.code).toBe(0);
  expect(help.out[0]).toMatch(/^usage: sva collect --prometheus URL /);
  const missing = await run('collect', '--prometheus', url, '--config', '/nonexistent/config.yaml');
  expect(missing.code).toBe(1);
  expect(missing.errLines[0]).toBe('sva collect: /nonexistent/config.yaml: no such file');
});
