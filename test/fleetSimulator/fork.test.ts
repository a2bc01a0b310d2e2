import { fileURLToPath } from 'node:url';
import {
  createFleetSim,
  cut,
  poisson,
  readTrace,
  type FleetSim,
  type Trace,
} from '../../lib/fleetSimulator/index.js';
import { demoConfig, oneVariantConfig, runToyController } from './helpers.js';

const DATA = fileURLToPath(new URL('../../data/traces', import.meta.url));
let mooncake: Trace;
let azure: Trace;

beforeAll(async () => {
  [mooncake, azure] = await Promise.all([
    readTrace(`${DATA}/mooncake-conversation.jsonl`),
    readTrace(`${DATA}/azure-llm-2023-code.csv`),
  ]);
});

/** The demo fleet with 10 minutes of both traces, driven by the toy controller up to `until`. */
function demoUntil(until: number): FleetSim {
  const sim = createFleetSim(demoConfig(7));
  sim.addArrivals('chat', cut(mooncake, { duration: 600 }).requests);
  sim.addArrivals('code', cut(azure, { duration: 600 }).requests);
  runToyController(sim, until);
  return sim;
}

function everything(sim: FleetSim) {
  return { results: sim.results(), scrape: sim.scrape(), usage: sim.usage(), state: sim.state() };
}

/**
 * Cost of fork() on an overloaded replica pair holding ~600 requests in flight (the oracle forks
 * once per candidate fleet per interval: thousands of times a day). Measured when the file loads
 * so that the figure can be part of the test's name.
 */
function measureForkCost() {
  const sim = createFleetSim({
    ...oneVariantConfig({ initialReplicas: 2, profile: { maxBatchSize: 256 } }),
    results: { keepRecords: false },
  });
  sim.addArrivals(
    'chat',
    poisson({ rate: 400, duration: 60, inputTokens: 500, outputTokens: 300, seed: 3 }).requests,
  );
  sim.runUntil(2);
  const state = sim.state();
  const inFlight = state.variants[0]!.replicas.reduce((n, r) => n + r.running + r.waiting, 0);
  const runs = 300;
  const start = performance.now();
  for (let i = 0; i < runs; i++) sim.fork();
  return { inFlight, ms: (performance.now() - start) / runs };
}
const cost = measureForkCost();

describe('fork()', () => {
  test('the original and the fork, given the same calls, give identical results', () => {
    const original = demoUntil(300);
    const fork = original.fork();
    for (const sim of [original, fork]) {
      runToyController(sim, 900, 15, 24, 300);
      sim.setReplicas('chat', 'H100', 2);
      sim.runUntil(1200);
    }
    expect(everything(fork)).toEqual(everything(original));
    // and the same as a run that never forked
    const reference = demoUntil(300);
    runToyController(reference, 900, 15, 24, 300);
    reference.setReplicas('chat', 'H100', 2);
    reference.runUntil(1200);
    expect(everything(reference)).toEqual(everything(original));
  });

  test('neither affects the other: different calls on the fork leave the original as it was', () => {
    const original = demoUntil(300);
    const before = everything(original);
    const fork = original.fork();
    fork.setReplicas('chat', 'H100', 1);
    fork.setNodeGroupSize('p5', 3);
    fork.addArrivals('batch', [{ arrival: 310, inputTokens: 100, outputTokens: 10 }]);
    runToyController(fork, 1000, 30, 5, 300);
    expect(everything(original)).toEqual(before);

    // the original continues exactly like a run that never forked
    const reference = demoUntil(300);
    for (const sim of [original, reference]) runToyController(sim, 900, 15, 24, 300);
    expect(everything(original)).toEqual(everything(reference));
    // and the fork's future really was different
    expect(fork.usage()).not.toEqual(original.usage());
  });

  test('a fork keeps the random state: jittered delays continue the same sequence', () => {
    const sim = createFleetSim(oneVariantConfig({ initialReplicas: 0, delayJitter: 0.5, initialNodes: 0 }));
    sim.setNodeGroupSize('h100', 1);
    const fork = sim.fork();
    for (const s of [sim, fork]) {
      s.runUntil(100);
      s.setReplicas('chat', 'H100', 3);
      s.runUntil(200);
    }
    expect(fork.usage()).toEqual(sim.usage());
    expect(fork.state()).toEqual(sim.state());
  });

  test(`costs ${cost.ms.toFixed(2)} ms with ${cost.inFlight} requests in flight`, () => {
    expect(cost.inFlight).toBeGreaterThan(300);
    // thousands of forks a day must stay within seconds
    expect(cost.ms).toBeLessThan(20);
  });
});
