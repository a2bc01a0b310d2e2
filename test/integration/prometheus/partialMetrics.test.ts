/**
 * Partial metrics never scale down, against a real Prometheus: two emulated vLLM pods serve a
 * light load that one replica carries. While both are scraped, the policy scales 2 -> 1; once one
 * pod stops being scraped, Prometheus drops it from the sums while the other keeps every series
 * fresh, so arrivals look halved. The decision on that measurement keeps both replicas and says why.
 */
import type { LocalPrometheus, PrometheusMetricsSource } from '../../../lib/adapters/prometheus/index.js';
import { FixedLoadVariant, VllmEmulatorServer } from '../../../lib/adapters/vllmEmulator/index.js';
import { decidePool } from '../../../lib/policy/decide.js';
import { metricsQuery } from '../../../lib/policy/ports.js';
import { deployment, poolConfig, poolInput } from '../../policy/helpers.js';
import { now, shortWindowSource, query, startPrometheus, waitFor, waitForScrapes } from './helpers.js';

const config = poolConfig({
  chat: { metrics: { modelName: 'model-partial' } },
  policy: { scaleDownMaxStep: { replicas: 100, percent: 100 } },
});
const variant = config.variants[0]!;
const load = {
  requestRate: 0.2,
  inputTokens: 300,
  outputTokens: 60,
  ttftSeconds: 0.2,
  itlSeconds: 0.03,
  running: 1,
  waiting: 0,
  kvCacheUsage: 0.1,
};

const servers: VllmEmulatorServer[] = [];
let prom: LocalPrometheus | undefined;
let source: PrometheusMetricsSource;

beforeAll(async () => {
  const fleet = new FixedLoadVariant({
    model: 'model-partial',
    namespace: variant.namespace,
    pods: 2,
    naming: 'vllm-0.12',
    load,
  });
  for (const pod of fleet.pods) servers.push(new VllmEmulatorServer([fleet.podSource(pod)]));
  const targets: string[] = [];
  for (const s of servers) targets.push(await s.start());
  prom = await startPrometheus([{ job: 'vllm', targets }]);
  await waitForScrapes(prom, 'vllm', targets.length, 8);
  source = shortWindowSource(prom);
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  for (const s of servers) await s.stop();
});

/** One pool decision on what Prometheus reports now, with both replicas ready in the cluster. */
async function decideNow() {
  const at = now();
  const [observation] = await source.collect([metricsQuery(variant)], at);
  const { decisions } = decidePool(
    poolInput(config, {
      observations: [observation!],
      deployments: [deployment('L4', 2)],
      // seen for long enough that no stabilisation window holds a scale-down
      memory: {
        poolSequence: 1,
        variants: {
          'llm/chat': { sequence: 1, recommendations: [], demand: [], observedSince: at - 10_000 },
        },
      },
      now: at,
    }),
  );
  return { observation: observation!, decision: decisions[0]! };
}

it('scales down on a whole measurement of light load (so the next case can fail)', async () => {
  const { observation, decision } = await decideNow();
  expect(observation.readyReplicas?.value).toBe(2);
  expect(decision).toMatchObject({ action: 'scale-down', targetReplicas: 1 });
}, 20_000);

it('keeps both replicas once one pod stops being scraped, and says so in the reason', async () => {
  await servers[1]!.stop();
  await waitFor(
    'the stopped pod to be reported down',
    async () => (await query(prom!, 'up{job="vllm"} == 0')).length === 1,
    15_000,
  );
  // Past the rate window, the stopped pod has no samples left in it: arrivals look halved.
  await new Promise((r) => setTimeout(r, 6_000));
  const { observation, decision } = await decideNow();
  expect(observation.readyReplicas?.value).toBe(1);
  expect(observation.stale).toEqual([]);
  expect(observation.arrivalRate).toBeDefined();
  expect(decision).toMatchObject({ action: 'none', targetReplicas: 2, reason: 'partial-metrics' });
  expect(decision.message).toMatch(/metrics from 1 of 2 ready replicas/);
}, 40_000);
