/**
 * Arrivals per step (policy.burstSizing) from a real Prometheus: samples written at known times
 * (remote write) of two pods' completion counters and in-flight gauges, and of the gateway's
 * request counter of another variant, come back through the metrics source's range query as the
 * per-step counts the fluid replay needs: completions plus the growth in flight, a counter reset
 * and a pod born in the look-back counted as the simulation's sample store counts them; the
 * gateway's counter where the arrival rate comes from it; and nothing (no burst information, not
 * a missing series) for a variant without the series.
 */
import {
  PrometheusMetricsSource,
  RemoteWriteTelemetrySink,
  type LocalPrometheus,
} from '../../../lib/adapters/prometheus/index.js';
import { DEFAULT_ROLE_LABEL } from '../../../lib/config/roles.js';
import { GATEWAY_REQUESTS, VLLM } from '../../../lib/metrics/vllmNaming.js';
import type { MetricsQuery } from '../../../lib/policy/ports.js';
import type { TelemetryPoint } from '../../../lib/policy/ports.js';
import { startPrometheus } from './helpers.js';

const STEP = 5;
const STEPS = 6;
/** the newest step's end: whole seconds a little in the past, so the samples are all there */
const END = Math.floor(Date.now() / 1000 / STEP) * STEP - STEP;
const at = (k: number) => END - (STEPS - k) * STEP;

const vllm = (model: string): MetricsQuery => ({
  variant: `llm/${model}`,
  namespace: 'llm',
  modelName: model,
  gateway: false,
});

let prom: LocalPrometheus | undefined;

/** Per grid point k = 0..STEPS, for pods a (all along) and b (from k = 4): completions, running, waiting. */
const POD_A = {
  success: [100, 110, 112, 130, 3, 8, 8],
  running: [2, 6, 1, 3, 1, 1, 0],
  waiting: [0, 1, 0, 0, 0, 0, 0],
};
const POD_B = { success: [null, null, null, null, 4, 9, 9], running: [null, null, null, null, 2, 0, 0] };

beforeAll(async () => {
  prom = await startPrometheus([]);
  const points: TelemetryPoint[] = [];
  const push = (name: string, labels: Record<string, string>, values: readonly (number | null)[]) =>
    values.forEach((value, k) => {
      if (value !== null) points.push({ name, labels, value, timestamp: at(k) * 1000 });
    });
  const pod = (model: string, p: string) => ({ model_name: model, namespace: 'llm', pod: p });
  push(VLLM.success, pod('m-steps', 'a'), POD_A.success);
  push(VLLM.running, pod('m-steps', 'a'), POD_A.running);
  push(VLLM.waiting, pod('m-steps', 'a'), POD_A.waiting);
  push(VLLM.success, pod('m-steps', 'b'), POD_B.success);
  push(VLLM.running, pod('m-steps', 'b'), POD_B.running);
  push(
    VLLM.waiting,
    pod('m-steps', 'b'),
    POD_B.running.map((v) => (v === null ? null : 0)),
  );
  // a variant behind the gateway: its requests per step are the gateway's, whatever vLLM completes
  push(GATEWAY_REQUESTS, { model_name: 'm-gw', namespace: 'llm' }, [0, 40, 40, 240, 250, 250, 260]);
  push(VLLM.success, pod('m-gw', 'g'), [0, 1, 2, 3, 4, 5, 6]);
  push(VLLM.running, pod('m-gw', 'g'), [0, 0, 0, 0, 0, 0, 0]);
  push(VLLM.waiting, pod('m-gw', 'g'), [0, 0, 0, 0, 0, 0, 0]);
  // a disaggregated variant: its prefill and decode pods told apart by the role label
  const role = (p: string, r: string) => ({ ...pod('m-pd', p), [DEFAULT_ROLE_LABEL]: r });
  push(VLLM.success, role('p', 'prefill'), [0, 20, 30, 30, 50, 50, 60]);
  push(VLLM.running, role('p', 'prefill'), [0, 2, 2, 0, 0, 0, 0]);
  push(VLLM.waiting, role('p', 'prefill'), [0, 0, 0, 0, 0, 0, 0]);
  push(VLLM.success, role('d', 'decode'), [0, 5, 45, 45, 45, 70, 70]);
  push(VLLM.running, role('d', 'decode'), [0, 0, 0, 0, 0, 0, 0]);
  push(VLLM.waiting, role('d', 'decode'), [0, 0, 0, 0, 0, 0, 0]);
  await new RemoteWriteTelemetrySink({ connection: { url: prom.remoteWriteUrl } }).publish(points);
}, 30_000);

afterAll(async () => {
  await prom?.stop();
});

function source(): PrometheusMetricsSource {
  return new PrometheusMetricsSource({
    connection: { url: prom!.url, timeoutMs: 5000 },
    windowSeconds: STEPS * STEP,
    maxAgeSeconds: 60,
    arrivalSteps: { stepSeconds: STEP, lookbackSeconds: STEPS * STEP },
  });
}

test('completions plus the growth in flight per step, across a counter reset and a pod born in the look-back', async () => {
  const [o] = await source().collect([vllm('m-steps')], END);
  // in flight (a + b): 2, 7, 1, 3, 3, 1, 0; completions per step: a 10, 2, 18, 3 (reset), 5, 0; b 4 (born), 5, 0
  expect(o!.arrivalSteps).toEqual({
    stepSeconds: STEP,
    counts: [
      10 + 5,
      0 /* 2 done, 6 fewer in flight: clamped */,
      18 + 2,
      3 + 4 + 0,
      5 + 5 - 2,
      0 /* 1 fewer in flight: clamped */,
    ],
    source: `${VLLM.success} + d(${VLLM.running}+${VLLM.waiting})/dt`,
    timestamp: END,
  });
  expect(o!.errors).toEqual([]);
  // asked at a fraction of a second past it, the grid is the same whole seconds
  const [later] = await source().collect([vllm('m-steps')], END + 0.7);
  expect(later!.arrivalSteps).toEqual(o!.arrivalSteps);
});

test("the gateway's counter per step where the arrival rate comes from the gateway", async () => {
  const [o] = await source().collect([{ ...vllm('m-gw'), gateway: true }], END);
  expect(o!.arrivalRate!.source).toBe(GATEWAY_REQUESTS);
  expect(o!.arrivalSteps).toMatchObject({ counts: [40, 0, 200, 10, 0, 10], timestamp: END });
  // without the gateway in the config, vLLM's completions are the arrivals, per step too
  const [plain] = await source().collect([vllm('m-gw')], END);
  expect(plain!.arrivalSteps!.counts).toEqual([1, 1, 1, 1, 1, 1]);
});

test("a disaggregated variant's roles apart, through the role queries' label, in one range query", async () => {
  const roleQuery = (r: string): MetricsQuery => ({
    ...vllm('m-pd'),
    variant: `llm/m-pd@${r}`,
    labels: { [DEFAULT_ROLE_LABEL]: r },
  });
  const asked = source();
  const [plain, prefill, decode] = await asked.collect(
    [vllm('m-steps'), roleQuery('prefill'), roleQuery('decode')],
    END,
  );
  // the prefill pods: 20 done + 2 in flight, 10 done, 0 done with 2 fewer in flight, 20, 0, 10
  expect(prefill!.arrivalSteps!.counts).toEqual([22, 10, 0, 20, 0, 10]);
  expect(decode!.arrivalSteps!.counts).toEqual([5, 40, 0, 0, 25, 0]);
  // the variant grouped by the role label too is counted as before
  expect(plain!.arrivalSteps!.counts).toEqual([15, 0, 20, 7, 8, 0]);
  expect(asked.lastCollection!.failed).toBe(0);
});

test('a variant without the series has no per-step counts and nothing more missing', async () => {
  const without = new PrometheusMetricsSource({
    connection: { url: prom!.url, timeoutMs: 5000 },
    windowSeconds: STEPS * STEP,
    maxAgeSeconds: 60,
  });
  const [asked] = await source().collect([vllm('m-none')], END);
  const [plain] = await without.collect([vllm('m-none')], END);
  expect(asked!.arrivalSteps).toBeUndefined();
  expect(asked!.missing).toEqual(plain!.missing);
  expect(asked!.stale).toEqual(plain!.stale);
});

test('one range query more per collection, only when asked', async () => {
  const asked = source();
  await asked.collect([vllm('m-steps'), vllm('m-gw')], END);
  const plain = new PrometheusMetricsSource({ connection: { url: prom!.url, timeoutMs: 5000 } });
  await plain.collect([vllm('m-steps'), vllm('m-gw')], END);
  expect(asked.lastCollection!.queries).toBe(plain.lastCollection!.queries + 1);
});
