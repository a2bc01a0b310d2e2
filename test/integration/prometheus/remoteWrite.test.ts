/**
 * The inferno_* metrics pushed by remote write into a real Prometheus (remote-write receiver on)
 * come back from PromQL with exactly their names and labels, and the scaling counter keeps
 * counting across invocations (two sink instances, the value kept by the decision state); the
 * wva_* aliases the config can ask for.
 */
import { MemoryDecisionState } from '../../../lib/adapters/memory/index.js';
import {
  RemoteWriteError,
  RemoteWriteTelemetrySink,
  freeLoopbackPort,
  type LocalPrometheus,
} from '../../../lib/adapters/prometheus/index.js';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseConfig } from '../../../lib/config/load.js';
import {
  aliasingSink,
  currentPoint,
  desiredPoints,
  INFERNO,
  scalingLabels,
} from '../../../lib/loop/telemetry.js';
import type { TelemetryPoint } from '../../../lib/policy/ports.js';
import { query, startPrometheus } from './helpers.js';

let prom: LocalPrometheus | undefined;

beforeAll(async () => {
  prom = await startPrometheus([]);
}, 30_000);

afterAll(async () => {
  await prom?.stop();
});

const VARIANT = { variant: 'chat-8b', namespace: 'llm', acceleratorType: 'L40S' };
const GAUGE_LABELS = { variant_name: 'chat-8b', namespace: 'llm', accelerator_type: 'L40S' };
const SCALING = scalingLabels({ ...VARIANT, direction: 'up', reason: 'demand' });

/** One invocation of the apply use case's telemetry: a fresh sink, the counter from the shared state. */
async function invocation(
  state: MemoryDecisionState,
  timestampMs: number,
  replicas: number,
): Promise<number> {
  const sink = new RemoteWriteTelemetrySink({ connection: { url: prom!.remoteWriteUrl } });
  const { count: value } = await state.markDone('llm/chat-8b', { poolSequence: 1, count: SCALING });
  const points: TelemetryPoint[] = [
    ...desiredPoints({ ...VARIANT, replicas, current: replicas - 1, timestampMs }),
    currentPoint({ ...VARIANT, replicas, timestampMs }),
    { name: INFERNO.scalingTotal, labels: SCALING, value: value!, timestamp: timestampMs },
  ];
  await sink.publish(points);
  return value!;
}

test('pushed metrics come back with exactly their labels, and the counter increases across invocations', async () => {
  const state = new MemoryDecisionState();
  const t = Date.now();
  expect(await invocation(state, t - 2000, 3)).toBe(1);
  expect(await invocation(state, t - 1000, 4)).toBe(2);

  for (const [name, value] of [
    [INFERNO.desired, '4'],
    [INFERNO.current, '4'],
    [INFERNO.ratio, String(4 / 3)],
  ] as const) {
    const result = await query(prom!, name);
    expect(result).toHaveLength(1);
    expect(result[0]!.metric).toEqual({ __name__: name, ...GAUGE_LABELS });
    expect(result[0]!.value![1]).toBe(value);
  }
  const counter = await query(prom!, INFERNO.scalingTotal);
  expect(counter).toHaveLength(1);
  expect(counter[0]!.metric).toEqual({
    __name__: 'inferno_replica_scaling_total',
    variant_name: 'chat-8b',
    namespace: 'llm',
    accelerator_type: 'L40S',
    direction: 'up',
    reason: 'demand',
  });
  expect(counter[0]!.value![1]).toBe('2');
  const samples = await query(prom!, `${INFERNO.scalingTotal}[1m]`);
  expect(samples[0]!.values!.map(([ts, v]) => [ts * 1000, v])).toEqual([
    [t - 2000, '1'],
    [t - 1000, '2'],
  ]);
  const [resets] = await query(prom!, `resets(${INFERNO.scalingTotal}[1m])`);
  expect(resets!.value![1]).toBe('0');
  const [increase] = await query(prom!, `increase(${INFERNO.scalingTotal}[1m])`);
  expect(Number(increase!.value![1])).toBeGreaterThan(0);
});

test('a sample Prometheus rejects (out of order) is reported after one attempt, not retried', async () => {
  const sink = new RemoteWriteTelemetrySink({
    connection: { url: prom!.remoteWriteUrl },
    backoff: { attempts: 4, baseDelayMs: 10, maxDelayMs: 100 },
  });
  const point = { name: INFERNO.scalingTotal, labels: SCALING, value: 1, timestamp: Date.now() - 60_000 };
  const error = await sink.publish([point]).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RemoteWriteError);
  expect((error as RemoteWriteError).attempts).toBe(1);
  expect((error as RemoteWriteError).status).toBe(400);
  expect((error as Error).message).toMatch(
    /^remote write of 1 points to http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write failed after 1 attempt: HTTP 400/,
  );
});

test('an unreachable receiver is retried with backoff, then reported', async () => {
  const port = await freeLoopbackPort();
  const delays: number[] = [];
  const sink = new RemoteWriteTelemetrySink({
    connection: { url: `http://127.0.0.1:${port}/api/v1/write`, timeoutMs: 1000 },
    backoff: {
      attempts: 4,
      baseDelayMs: 20,
      maxDelayMs: 50,
      random: () => 1,
      sleep: async (ms) => {
        delays.push(ms);
      },
    },
  });
  await expect(
    sink.publish([{ name: INFERNO.desired, labels: GAUGE_LABELS, value: 1, timestamp: Date.now() }]),
  ).rejects.toThrow(/failed after 4 attempts: fetch failed \(ECONNREFUSED\)/);
  expect(delays).toEqual([20, 40, 50]);
});

test('asked for by the config, the gauges are pushed under the wva_* names too, with the same labels and values', async () => {
  const local = parse(readFileSync('events/local-config.yaml', 'utf8')) as Record<string, unknown>;
  const config = parseConfig({ ...local, telemetry: { aliases: ['wva'] } }, 'test');
  const sink = aliasingSink(
    new RemoteWriteTelemetrySink({ connection: { url: prom!.remoteWriteUrl } }),
    config.telemetry?.aliases ?? [],
  );
  const labels = { variant_name: 'alias-8b', namespace: 'llm', accelerator_type: 'L4' };
  const g = { variant: 'alias-8b', namespace: 'llm', acceleratorType: 'L4', timestampMs: Date.now() - 500 };
  await sink.publish([
    ...desiredPoints({ ...g, replicas: 6, current: 3 }),
    currentPoint({ ...g, replicas: 3 }),
  ]);
  for (const [name, value] of [
    ['wva_desired_replicas', '6'],
    ['wva_current_replicas', '3'],
    ['wva_desired_ratio', '2'],
    [INFERNO.desired, '6'],
  ] as const) {
    const result = await query(prom!, `${name}{variant_name="alias-8b"}`);
    expect(result.map((r) => [r.metric, r.value![1]])).toEqual([[{ __name__: name, ...labels }, value]]);
  }
});
