/**
 * Scale from zero on the gateway's flow-control queue, against a real Prometheus: a variant at
 * zero replicas has no vLLM series at all, only its EPP's request counter and, once a request
 * waits for an endpoint, the flow-control queue gauge (llm-d's `llm_d_epp_flow_control_queue_size`,
 * the upstream EPP's `inference_extension_flow_control_queue_size`). A scheduled evaluation reads
 * the queue as the variant's waiting requests and gives it a replica, however long ago the request
 * arrived; with the queue empty the same variant stays at zero.
 */
import type { LocalPrometheus, PrometheusMetricsSource } from '../../../lib/adapters/prometheus/index.js';
import { gatewaySource, VllmEmulatorServer } from '../../../lib/adapters/vllmEmulator/index.js';
import { decidePool } from '../../../lib/policy/decide.js';
import { metricsQuery } from '../../../lib/policy/ports.js';
import { CHAT, deployment, poolConfig, poolInput } from '../../policy/helpers.js';
import { now, shortWindowSource, startPrometheus, waitForScrapes } from './helpers.js';

const variantOf = (name: string, model: string) => ({
  ...CHAT,
  name,
  minReplicas: 0,
  metrics: { modelName: model, gateway: true },
});
const config = poolConfig({
  variants: [variantOf('zero-llmd', 'model-llmd'), variantOf('zero-v1', 'model-v1')],
  policy: { idleWindowSeconds: 600 },
});

/** what each EPP holds in its flow-control queue, read at every scrape */
const queued = { 'model-llmd': 0, 'model-v1': 0 };
const start = now() - 3600;
const epp = (model: keyof typeof queued, naming: 'llm-d' | 'v1') => (t: number) =>
  // no request arrived within the rate window: the counter stands still
  gatewaySource({
    model,
    namespace: CHAT.namespace,
    requestRate: 0,
    naming,
    startSeconds: start,
    flowControlQueue: queued[model],
  })(t);

const servers = [
  new VllmEmulatorServer([epp('model-llmd', 'llm-d')]),
  new VllmEmulatorServer([epp('model-v1', 'v1')]),
];
let prom: LocalPrometheus | undefined;
let source: PrometheusMetricsSource;

beforeAll(async () => {
  const targets: string[] = [];
  for (const s of servers) targets.push(await s.start());
  prom = await startPrometheus([{ job: 'epp', targets }]);
  await waitForScrapes(prom, 'epp', targets.length, 3);
  source = shortWindowSource(prom);
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  for (const s of servers) await s.stop();
});

/** A scheduled evaluation of both variants at zero replicas, their last arrival an hour ago. */
async function evaluateNow() {
  const at = now();
  const observations = await source.collect(config.variants.map(metricsQuery), at);
  const memory = {
    poolSequence: 1,
    variants: Object.fromEntries(
      config.variants.map((v) => [
        `${v.namespace}/${v.name}`,
        {
          sequence: 1,
          recommendations: [],
          demand: [],
          observedSince: at - 10_000,
          lastArrivalAt: at - 3600,
        },
      ]),
    ),
  };
  const { decisions } = decidePool(
    poolInput(config, {
      observations,
      deployments: config.variants.map((v) => deployment('L4', 0, 0, `${v.namespace}/${v.name}`)),
      memory,
      now: at,
    }),
  );
  return { observations, decisions };
}

const waitForScrape = () => new Promise((r) => setTimeout(r, 2_500));

it('with nothing queued, a variant at zero stays there (so the next case can fail)', async () => {
  const { observations, decisions } = await evaluateNow();
  for (const o of observations) {
    expect(o.arrivalRate?.value).toBe(0);
    expect(o.waiting?.value).toBe(0);
  }
  expect(decisions.map((d) => [d.variant, d.targetReplicas, d.reason])).toEqual([
    ['zero-llmd', 0, 'idle'],
    ['zero-v1', 0, 'idle'],
  ]);
}, 20_000);

it('a request in the flow-control queue gets its variant a replica, under either name of the gauge', async () => {
  queued['model-llmd'] = 3;
  await waitForScrape();
  const { observations, decisions } = await evaluateNow();
  const [llmd, v1] = observations;
  expect(llmd!.waiting).toMatchObject({ value: 3, source: 'llm_d_epp_flow_control_queue_size' });
  expect(llmd!.arrivalRate?.value).toBe(0);
  expect(v1!.waiting).toMatchObject({ value: 0, source: 'inference_extension_flow_control_queue_size' });
  expect(decisions[0]).toMatchObject({ variant: 'zero-llmd', action: 'scale-up', targetReplicas: 1 });
  expect(decisions[1]).toMatchObject({ variant: 'zero-v1', targetReplicas: 0, reason: 'idle' });

  queued['model-v1'] = 1;
  await waitForScrape();
  const again = await evaluateNow();
  expect(again.observations[1]!.waiting?.value).toBe(1);
  expect(again.decisions[1]).toMatchObject({ variant: 'zero-v1', action: 'scale-up', targetReplicas: 1 });
}, 30_000);
