/**
 * The gateway-event path in the closed loop: the simulated fleet's gateway sends its request
 * events through the ingest use case, evaluate reads the counters. A variant at zero replicas
 * has no vLLM metrics: without the events it never sees its first requests; with them the first
 * request triggers an evaluation at the next tick, before the scheduled one.
 */
import { parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/schema.js';
import { runClosedLoop } from '../../lib/closedLoop/closedLoop.js';
import type { Scenario } from '../../lib/closedLoop/scenario.js';

const INTERVAL = 60;
const SCRAPE = 15;
const FIRST = 100;
const L4 = {
  alpha: 28,
  beta: 0.4,
  gamma: 20,
  delta: 0.2,
  maxBatchSize: 32,
  atTokens: 512,
  kvCacheTokens: 48_000,
};

const config: Config = parseConfig(
  {
    accelerators: [{ name: 'L4', costPerHour: 0.805 }],
    models: [{ name: 'llama-8b', profiles: { L4 } }],
    serviceClasses: [
      { name: 'interactive', priority: 1, targets: { 'llama-8b': { ttftMs: 3000, itlMs: 60 } } },
    ],
    variants: [
      {
        name: 'chat',
        namespace: 'llm',
        model: 'llama-8b',
        serviceClass: 'interactive',
        accelerator: 'L4',
        minReplicas: 0,
        maxReplicas: 4,
        startupSeconds: 30,
      },
    ],
    nodeGroups: [
      { name: 'gpu-l4', acceleratorType: 'L4', gpusPerNode: 1, maxNodes: 4, provisioningSeconds: 60 },
    ],
    policy: { intervalSeconds: INTERVAL, metricsWindowSeconds: 60 },
    simulation: { seed: 1, delayJitter: 0, scrapeIntervalSeconds: SCRAPE, drainSeconds: 60 },
  },
  'gateway events test config',
);

function scenario(): Scenario {
  // one request every 2 s from FIRST on
  const requests = Array.from({ length: 100 }, (_, i) => ({
    arrival: FIRST + 2 * i,
    inputTokens: 300,
    outputTokens: 60,
  }));
  return {
    fleet: {
      variants: [
        {
          name: 'chat',
          namespace: 'llm',
          model: 'llama-8b',
          accelerator: 'L4',
          initialReplicas: 0,
          profileByAccelerator: {
            L4: { ...L4, maxBatchSize: 256, gpusPerReplica: 1, loadSeconds: 30, maxNumBatchedTokens: 2048 },
          },
        },
      ],
      nodeGroups: [
        {
          name: 'gpu-l4',
          acceleratorType: 'L4',
          gpusPerNode: 1,
          minNodes: 0,
          maxNodes: 4,
          initialNodes: 1,
          provisionSeconds: 60,
        },
      ],
      seed: 1,
      delayJitter: 0,
    },
    traces: new Map([['chat', { name: 'steady', requests }]]),
    durationSeconds: 400,
    measuredFrom: 0,
  };
}

test('without gateway events a variant at zero never sees its requests', async () => {
  const run = await runClosedLoop(config, scenario());
  expect(run.events.filter((e) => e.to > e.from)).toEqual([]);
});

test('with them, the first request scales it from zero at the next tick, before the scheduled evaluation', async () => {
  const run = await runClosedLoop(config, scenario(), { gatewayEvents: true });
  const first = run.events.find((e) => e.from === 0 && e.to > 0);
  expect(first).toBeDefined();
  // the tick after the first arrival (t = 105), not the schedule's next evaluation (t = 120)
  expect(first!.t).toBe(Math.ceil(FIRST / SCRAPE) * SCRAPE);
  expect(first!.t).toBeLessThan(Math.ceil(FIRST / INTERVAL) * INTERVAL);
  // and the requests are served
  const chat = run.summary.variants.find((v) => v.name === 'chat')!;
  expect(chat.requests).toBe(100);
  expect(chat.dropped).toBe(0);
});
