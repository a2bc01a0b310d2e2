import { fileURLToPath } from 'node:url';
import { createFleetSim, cut, readTrace, type Trace } from '../../lib/fleetSimulator/index.js';
import { demoConfig, runToyController, sampleSum } from './helpers.js';

// The copies in the repository (data/traces/), identical to ../shared/data/traces.
const DATA = fileURLToPath(new URL('../../data/traces', import.meta.url));
let mooncake: Trace;
let azure: Trace;

beforeAll(async () => {
  [mooncake, azure] = await Promise.all([
    readTrace(`${DATA}/mooncake-conversation.jsonl`),
    readTrace(`${DATA}/azure-llm-2023-code.csv`),
  ]);
});

function demo(seed: number, minutes: number) {
  const sim = createFleetSim(demoConfig(seed));
  sim.addArrivals('chat', cut(mooncake, { duration: minutes * 60 }).requests);
  sim.addArrivals('code', cut(azure, { duration: minutes * 60 }).requests);
  runToyController(sim, minutes * 60 + 300);
  return sim;
}

describe('whole-fleet runs', () => {
  test('same seed gives identical results, scrapes and usage; another seed differs', () => {
    const a = demo(11, 10);
    const b = demo(11, 10);
    expect(b.results()).toEqual(a.results());
    expect(b.scrape()).toEqual(a.scrape());
    expect(b.usage()).toEqual(a.usage());
    // the seed drives the jittered provisioning and load delays
    expect(demo(12, 10).usage()).not.toEqual(a.usage());
  });

  test('the Mooncake trace on 4 replicas of an 8B profile completes every request', () => {
    const sim = createFleetSim({
      variants: [
        {
          name: 'chat',
          model: 'llama-8b',
          accelerator: 'H100',
          profileByAccelerator: {
            H100: {
              alpha: 8,
              beta: 0.3,
              gamma: 20,
              delta: 0.02,
              maxBatchSize: 64,
              kvCacheTokens: 200_000,
              gpusPerReplica: 1,
              loadSeconds: 30,
            },
          },
          initialReplicas: 4,
        },
      ],
      nodeGroups: [
        {
          name: 'p5',
          acceleratorType: 'H100',
          gpusPerNode: 8,
          maxNodes: 1,
          initialNodes: 1,
          provisionSeconds: 90,
        },
      ],
    });
    const start = performance.now();
    sim.addArrivals('chat', mooncake.requests);
    // Mooncake's prompts average 12k tokens (up to 100k+): chunked in 2048-token steps and
    // preempting each other in a 200k-token cache, the last ones finish after the trace's hour.
    for (let t = 15; t < 7400; t += 15) sim.scrape(t);
    const elapsed = performance.now() - start;
    const { overall } = sim.results();
    expect(overall.completed).toBe(12031);
    expect(sampleSum(sim.scrape(), 'vllm:num_preemptions_total')).toBeGreaterThan(0);
    expect(overall.itl.p50).toBeGreaterThan(0.008 + 0.0003); // at least alpha + beta
    expect(elapsed).toBeLessThan(10_000); // about 0.5 s on 2 cores
  });

  test('the demo load (Mooncake + Azure, an hour, controller every 15 s) runs in seconds', () => {
    const start = performance.now();
    const sim = demo(1, 60);
    const elapsed = performance.now() - start;
    const { byVariant } = sim.results();
    expect(byVariant.chat!.arrived).toBe(12031);
    expect(byVariant.code!.arrived).toBe(8819);
    expect(byVariant.chat!.completed + byVariant.code!.completed).toBe(12031 + 8819);
    expect(elapsed).toBeLessThan(15_000);
  });
});
