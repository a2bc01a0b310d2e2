/** Wiring from the environment: what is required, what is picked, and what fails how (no network here). */
import { PrometheusMetricsSource, RemoteWriteTelemetrySink } from '../../lib/adapters/prometheus/index.js';
import { Logger } from '@aws-lambda-powertools/logger';
import { GatewayMetricsSource, LambdaEvaluationTrigger } from '../../lib/adapters/gatewayEvents/index.js';
import { InProcessEvaluationTrigger } from '../../lib/adapters/memory/index.js';
import {
  applyWiring,
  evaluateWiring,
  ingestWiring,
  registerMetricsSource,
  WiringError,
  type Env,
} from '../../functions/wiring.js';
import { captureLogs } from './logs.js';

const logger = new Logger({ serviceName: 'sva-test' });
const base: Env = {
  AWS_REGION: 'us-east-1',
  SVA_CONFIG: 'events/local-config.yaml',
  SVA_STATE_TABLE: 'sva-state',
  SVA_QUEUE_URL: 'http://127.0.0.1:9/000000000000/q.fifo',
  SVA_CLUSTER_NAME: 'gpu-cluster',
  SVA_METRICS: 'config-load',
};
const without = (...names: string[]) =>
  Object.fromEntries(Object.entries(base).filter(([k]) => !names.includes(k)));

test.each([
  [without('SVA_CONFIG'), 'SVA_CONFIG is not set (the config file)'],
  [without('SVA_STATE_TABLE'), 'SVA_STATE_TABLE is not set (the DynamoDB table of the decision state)'],
  [without('SVA_QUEUE_URL'), 'SVA_QUEUE_URL is not set (the SQS FIFO queue of decisions)'],
  [
    without('SVA_METRICS'),
    'set SVA_PROMETHEUS_URL or SVA_GATEWAY_TABLE (or SVA_METRICS=config-load for fixed loads)',
  ],
  [without('SVA_CLUSTER_NAME'), 'neither KUBECONFIG nor SVA_CLUSTER_NAME is set (the Kubernetes API)'],
  [without('AWS_REGION'), 'AWS_REGION is not set (the region of the queue, table and cluster)'],
])('evaluate wiring refuses an incomplete environment (%#)', async (env, message) => {
  await expect(evaluateWiring(env, logger)).rejects.toThrow(message);
});

test('a metrics source that is not in this build is named, with the ones that are', async () => {
  const env = { ...without('SVA_METRICS'), SVA_METRICS: 'graphite' };
  const err = await evaluateWiring(env, logger).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WiringError);
  expect((err as Error).message).toMatch(
    /^metrics source "graphite" is not available in this build \(known: config-load, prometheus/,
  );
  registerMetricsSource('graphite', () => ({ collect: async () => [] }));
  const wired = await captureLogs(() => evaluateWiring(env, logger));
  expect(await wired.result.deps.metrics.collect([], 0)).toEqual([]);
});

test('SVA_PROMETHEUS_URL wires the Prometheus metrics source', async () => {
  const env = { ...without('SVA_METRICS'), SVA_PROMETHEUS_URL: 'http://127.0.0.1:9' };
  const { result } = await captureLogs(() => evaluateWiring(env, logger));
  expect(result.deps.metrics).toBeInstanceOf(PrometheusMetricsSource);
});

test('SVA_REMOTE_WRITE_URL wires the remote-write telemetry sink', async () => {
  const env = { ...base, SVA_REMOTE_WRITE_URL: 'http://127.0.0.1:9/api/v1/write' };
  const { result } = await captureLogs(() => applyWiring(env, logger));
  expect(result.deps.telemetry).toBeInstanceOf(RemoteWriteTelemetrySink);
});

test('a missing telemetry sink does not stop scaling: each publish reports it', async () => {
  const env = { ...base, SVA_TELEMETRY: 'statsd' };
  const { result, logs } = await captureLogs(() => applyWiring(env, logger));
  await expect(result.deps.telemetry.publish([])).rejects.toThrow('telemetry sink "statsd" is not available');
  expect(
    logs.find((l) => l.message === 'telemetry sink unavailable: metrics are not published'),
  ).toMatchObject({
    level: 'WARN',
  });
});

test('apply options come from the config', async () => {
  const { result } = await captureLogs(() => applyWiring({ ...base, KUBECONFIG: '' }, logger));
  expect(result.options.maxAgeSeconds).toBe(300);
  expect([...(result.options.acceleratorTypes ?? [])]).toEqual([
    ['L4', 'L4'],
    ['H100', 'H100'],
  ]);
});

describe('ingest wiring and the gateway-events source', () => {
  const ingestBase: Env = {
    AWS_REGION: 'us-east-1',
    SVA_CONFIG: 'events/local-config.yaml',
    SVA_GATEWAY_TABLE: 'gw',
  };

  test.each([
    [
      { ...ingestBase, SVA_GATEWAY_TABLE: undefined },
      "SVA_GATEWAY_TABLE is not set (the DynamoDB table of the gateway's counters)",
    ],
    [ingestBase, 'SVA_EVALUATE_FUNCTION is not set (the evaluate function to invoke)'],
    [
      { ...ingestBase, SVA_EVALUATION_TRIGGER: 'cron' },
      'evaluation trigger "cron" is not available (known: lambda, in-process)',
    ],
  ])('ingest refuses an incomplete environment (%#)', async (env, message) => {
    await expect(ingestWiring(env, logger)).rejects.toThrow(message);
  });

  test('ingest invokes evaluate on Lambda, or runs it in-process for the local stack', async () => {
    const lambda = await ingestWiring({ ...ingestBase, SVA_EVALUATE_FUNCTION: 'sva-dev-evaluate' }, logger);
    expect(lambda.deps.trigger).toBeInstanceOf(LambdaEvaluationTrigger);
    const local = await ingestWiring({ ...ingestBase, SVA_EVALUATION_TRIGGER: 'in-process' }, logger);
    expect(local.deps.trigger).toBeInstanceOf(InProcessEvaluationTrigger);
  });

  test('evaluate reads the gateway counters when SVA_GATEWAY_TABLE is set, Prometheus filling in', async () => {
    const env = {
      ...without('SVA_METRICS'),
      SVA_GATEWAY_TABLE: 'gw',
      SVA_PROMETHEUS_URL: 'http://127.0.0.1:9090',
    };
    const { deps } = await evaluateWiring(env, logger);
    expect(deps.metrics).toBeInstanceOf(GatewayMetricsSource);
  });
});
