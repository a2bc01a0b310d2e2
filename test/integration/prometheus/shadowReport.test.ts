/**
 * `sva shadow-report` against a real Prometheus holding a day of history, remote-written as
 * evaluate writes inferno_desired_replicas (and as kube-state-metrics and vLLM's servers would be
 * scraped): sva following a day/night demand against a fixed size, per variant and day, with the
 * device-hours and cost worked out here from the same series, and the predicted latency at each.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { LocalPrometheus, RemoteWriteTelemetrySink } from '../../../lib/adapters/prometheus/index.js';
import { main } from '../../../lib/cli/main.js';
import type { TelemetryPoint } from '../../../lib/policy/ports.js';
import type { ShadowDay } from '../../../lib/shadow/shadowReport.js';
import { CHAT, poolConfig, ratePerReplica, TOKENS } from '../../policy/helpers.js';

jest.setTimeout(120_000);

const CODE = { ...CHAT, name: 'code', model: 'm70b', accelerator: '4xH100' };
const config = poolConfig({ variants: [CHAT, CODE] });
const r = ratePerReplica(config);
// the day reported: yesterday, UTC; the history written starts 10 minutes before it
const END = Math.floor(Date.now() / 86_400_000) * 86_400;
const FROM = END - 86_400;
const STEP = 300;

/** chat: 6 × r* req/s from 08:00 to 20:00, 1 × r* otherwise; code: a steady 0.05 req/s. */
const chatRate = (t: number) => {
  const hour = (t - FROM) / 3600;
  return hour >= 8 && hour < 20 ? 5.5 * r : 0.8 * r;
};
/** what sva decides for chat: the replicas the rate needs (its demand, without hysteresis) */
const chatDesired = (t: number) => Math.min(10, Math.max(1, Math.ceil(chatRate(t) / r)));

let prom: LocalPrometheus | undefined;
let dir = '';

beforeAll(async () => {
  prom = await LocalPrometheus.start({ jobs: [], outOfOrderTimeWindowSeconds: 3 * 86_400 });
  dir = mkdtempSync(join(tmpdir(), 'sva-shadow-'));
  const sink = new RemoteWriteTelemetrySink({ connection: { url: prom.remoteWriteUrl } });
  const counters = { chat: 0, code: 0 };
  for (let start = FROM - 600; start <= END; start += 3600) {
    const points: TelemetryPoint[] = [];
    for (let t = start; t < Math.min(start + 3600, END + 1); t += 60) {
      const at = (name: string, labels: Record<string, string>, value: number) =>
        points.push({ name, labels, value, timestamp: t * 1000 });
      const rates = { chat: chatRate(t), code: 0.05 };
      for (const [variant, model, type, desired, ran] of [
        ['chat', 'm8b', 'L4', chatDesired(t), 6],
        ['code', 'm70b', 'H100', 1, 2],
      ] as const) {
        counters[variant] += rates[variant] * 60;
        const done = Math.round(counters[variant]);
        const series = { namespace: 'llm', model_name: model };
        at(
          'inferno_desired_replicas',
          { namespace: 'llm', variant_name: variant, accelerator_type: type },
          desired,
        );
        at('kube_deployment_spec_replicas', { namespace: 'llm', deployment: variant }, ran);
        at('vllm:request_success_total', series, done);
        at('vllm:request_prompt_tokens_sum', series, done * TOKENS.input);
        at('vllm:request_prompt_tokens_count', series, done);
        at('vllm:request_generation_tokens_sum', series, done * TOKENS.output);
        at('vllm:request_generation_tokens_count', series, done);
      }
    }
    await sink.publish(points);
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
});

afterAll(async () => {
  await prom?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function report(...extra: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await main(
    [
      'shadow-report',
      '--prometheus',
      prom!.url,
      '--config',
      join(dir, 'config.json'),
      '--days',
      '1',
      '--end',
      new Date(END * 1000).toISOString(),
      '--step',
      String(STEP),
      ...extra,
    ],
    (l) => lines.push(l),
    (l) => lines.push(l),
  );
  return { code, lines };
}

test('a day per variant: device-hours and cost as the series say, predicted latency at each', async () => {
  const { code, lines } = await report('--json');
  expect(code).toBe(0);
  const days = (JSON.parse(lines.join('\n')) as { days: ShadowDay[] }).days;
  const day = new Date(FROM * 1000).toISOString().slice(0, 10);
  expect(days.map((d) => [d.variant, d.day, d.hours])).toEqual([
    ['llm/chat', day, 24],
    ['llm/code', day, 24],
  ]);
  const [chat, code_] = days as [ShadowDay, ShadowDay];
  // sva's chat replicas, summed on the report's grid: one L4 device and 1 per hour each
  let svaHours = 0;
  for (let t = FROM; t < END; t += STEP) svaHours += (chatDesired(t) * STEP) / 3600;
  expect(chat.sva.deviceHours).toBeCloseTo(svaHours, 6);
  expect(chat.ran.deviceHours).toBeCloseTo(6 * 24, 6);
  expect(chat.sva.cost).toBeCloseTo(svaHours * 1, 6);
  expect(chat.ran.cost).toBeCloseTo(6 * 24 * 1, 6);
  expect(chat.sva.meanReplicas).toBeCloseTo(svaHours / 24, 6);
  // code: 4xH100 replicas, 4 H100 devices and 20 an hour each
  expect(code_.sva.deviceHours).toBeCloseTo(96, 6);
  expect(code_.ran.deviceHours).toBeCloseTo(192, 6);
  expect(code_.sva.cost).toBeCloseTo(480, 6);
  expect(code_.ran.cost).toBeCloseTo(960, 6);
  // the fixed size is never loaded beyond the targets; sva, sized to the demand, runs closer to them
  expect(chat.ran.overTargetShare).toBe(0);
  expect(chat.sva.ttftMs!).toBeGreaterThan(chat.ran.ttftMs!);
  expect(chat.sva.itlMs!).toBeGreaterThan(chat.ran.itlMs!);
  expect(code_.sva.ttftMs).not.toBeNull();
});

test('the text table and the HTML section', async () => {
  const html = join(dir, 'shadow.html');
  const { code, lines } = await report('--html', html);
  expect(code).toBe(0);
  expect(lines[0]).toMatch(
    /^variant\s+day\s+hours\s+replicas sva\/ran\s+device-h sva\/ran\s+cost sva\/ran\s+saved/,
  );
  expect(lines.find((l) => l.startsWith('llm/code'))).toMatch(/96\.0\/192\.0\s+480\.00\/960\.00\s+50%/);
  expect(lines.at(-1)).toMatch(/^total/);
  const page = readFileSync(html, 'utf8');
  expect(page).toContain('<section id="shadow">');
  expect(page).toContain('<td>llm/chat</td>');
});

test('nothing to compare: a span without history says so', async () => {
  const { code, lines } = await report('--end', '2020-01-02T00:00:00Z');
  expect(code).toBe(0);
  expect(lines).toEqual([
    'no day where both what sva would have run (inferno_desired_replicas) and what ran (kube_deployment_spec_replicas) have samples',
  ]);
});
