/**
 * A disaggregated fleet behind a real Prometheus: the simulator (prefill pods handing their KV to
 * decode pods, labelled llm_d_ai_role as Prometheus's Kubernetes discovery labels llm-d's pods)
 * served by the vLLM emulator; the collector's role queries split the variant's pods by role and
 * read the NIXL transfer time and the failed transfers.
 */
import { PrometheusMetricsSource, type LocalPrometheus } from '../../../lib/adapters/prometheus/index.js';
import { simSource, VllmEmulatorServer } from '../../../lib/adapters/vllmEmulator/index.js';
import {
  createFleetSim,
  type FleetSimConfig,
  type VariantConfig,
} from '../../../lib/fleetSimulator/index.js';
import type { MetricsQuery } from '../../../lib/policy/ports.js';
import { now, startPrometheus, waitForScrapes } from './helpers.js';

const PROFILE = {
  alpha: 10,
  beta: 1,
  gamma: 20,
  delta: 0.1,
  maxBatchSize: 8,
  kvCacheTokens: 10_000,
  gpusPerReplica: 1,
  loadSeconds: 0,
};

/** A prefill and a decode variant of one model; 1 GB of KV a request, 0.1 s alone on 10 GB/s. */
function roles(model: string, failureProbability: number): VariantConfig[] {
  return [
    {
      name: model,
      namespace: 'llm',
      model,
      accelerator: 'H100',
      profileByAccelerator: { H100: { ...PROFILE, role: 'prefill' } },
      initialReplicas: 2,
      handoff: {
        decodeVariant: `${model}:decode`,
        kvBytesPerToken: 1e6,
        bandwidthBytesPerSecond: 1e10,
        latencySeconds: 0.01,
        failureProbability,
      },
    },
    {
      name: `${model}:decode`,
      namespace: 'llm',
      model,
      accelerator: 'H100',
      profileByAccelerator: { H100: { ...PROFILE, role: 'decode' } },
      initialReplicas: 1,
    },
  ];
}

const query = (model: string, role: 'prefill' | 'decode'): MetricsQuery => ({
  variant: `llm/${model}@${role}`,
  namespace: 'llm',
  modelName: model,
  labels: { llm_d_ai_role: role },
  gateway: false,
});

let server: VllmEmulatorServer | undefined;
let prom: LocalPrometheus | undefined;

afterAll(async () => {
  await prom?.stop();
  await server?.stop();
});

test('the roles apart, and the KV transfers of the decode pods, through Prometheus', async () => {
  const config: FleetSimConfig = {
    variants: [...roles('pd', 0), ...roles('pdfail', 1)],
    nodeGroups: [
      {
        name: 'h100',
        acceleratorType: 'H100',
        gpusPerNode: 8,
        maxNodes: 1,
        initialNodes: 1,
        provisionSeconds: 0,
      },
    ],
  };
  const sim = createFleetSim(config);
  // 4 requests a second of 1,000 prompt tokens and 5 output tokens, for a minute
  const requests = Array.from({ length: 240 }, (_, i) => ({
    arrival: i * 0.25,
    inputTokens: 1000,
    outputTokens: 5,
  }));
  sim.addArrivals('pd', requests);
  sim.addArrivals('pdfail', requests);
  server = new VllmEmulatorServer([simSource(sim)]);
  const target = await server.start();
  prom = await startPrometheus([{ job: 'vllm', targets: [target] }]);
  await waitForScrapes(prom, 'vllm', 1, 8);
  const source = new PrometheusMetricsSource({
    connection: { url: prom.url, timeoutMs: 5000 },
    windowSeconds: 5,
    maxAgeSeconds: 4,
    lookbackSeconds: 60,
    lookbackStepSeconds: 1,
  });
  const [prefill, decode, failing] = await source.collect(
    [query('pd', 'prefill'), query('pd', 'decode'), query('pdfail', 'decode')],
    now(),
  );
  // the prefill pods: every request passes once, with its 1,000-token prompt
  expect(prefill!.readyReplicas?.value).toBe(2);
  expect(prefill!.arrivalRate?.value).toBeGreaterThan(2);
  expect(prefill!.arrivalRate?.value).toBeLessThan(6);
  expect(prefill!.avgInputTokens?.value).toBeCloseTo(1000, 6);
  expect(prefill!.kvTransferMs).toBeUndefined();
  // each request's time to first token by bucket, as the prefill pods observe it (their queue and
  // prefill of a 1,000-token prompt: under a second, none beyond the last finite bound)
  const ttft = prefill!.requestTtftBuckets!;
  expect(ttft.counts.reduce((a, c) => a + c, 0)).toBeGreaterThan(0);
  expect(ttft.bounds.at(-1)).toBe(Infinity);
  expect(ttft.counts.at(-1)).toBe(0);
  // the decode pod: the same requests, and their KV transfers (0.1 s alone + 10 ms, a little more when two overlap)
  expect(decode!.readyReplicas?.value).toBe(1);
  expect(decode!.avgOutputTokens?.value).toBeCloseTo(5, 6);
  expect(decode!.kvTransferMs?.value).toBeGreaterThanOrEqual(110 - 1e-6);
  expect(decode!.kvTransferMs?.value).toBeLessThan(250);
  expect(decode!.kvTransferFailures?.value).toBe(0);
  // every transfer of the other model fails
  expect(failing!.kvTransferFailures?.value).toBeGreaterThan(0);
}, 60_000);
