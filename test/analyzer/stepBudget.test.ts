/**
 * A replica's saturated throughput under a step token budget, against the simulator's engine
 * (lib/fleetSimulator/replica.ts), which schedules each step as vLLM V1 does: long prompts and
 * short answers, every step full.
 */
import { budgetBoundReplica, buildReplicaModel } from '../../lib/analyzer/index.js';
import { createFleetSim } from '../../lib/fleetSimulator/index.js';
import { oneVariantConfig, recordsOf, requests } from '../fleetSimulator/helpers.js';

// the code fleet's L40S profile (bench/policies/fleet-code.yaml), prompts in chunks of 512 tokens
const PROFILE = { alpha: 12, beta: 0.15, gamma: 12, delta: 0.08 };
const BUDGET = 512;

/** Completions per second of one replica given `count` requests at once, over the middle of the run. */
function simulatedRate(input: number, output: number, count: number): number {
  const sim = createFleetSim(
    oneVariantConfig({
      profile: { ...PROFILE, maxBatchSize: 96, kvCacheTokens: 240_000, maxNumBatchedTokens: BUDGET },
    }),
  );
  sim.addArrivals(
    'chat',
    requests(...Array.from({ length: count }, () => [1, input, output] as [number, number, number])),
  );
  sim.runUntil(10_000);
  const finishes = recordsOf(sim)
    .map((r) => r.arrival + r.e2e!)
    .sort((a, b) => a - b);
  const [from, to] = [Math.floor(count * 0.2), Math.floor(count * 0.8)];
  return (to - from) / (finishes[to]! - finishes[from]!);
}

test('long prompts, short answers: the budget bounds the rate, as the engine runs it', () => {
  const bound = budgetBoundReplica(PROFILE, 2000, 21, BUDGET);
  const rate = simulatedRate(2000, 21, 400);
  expect(bound.rate).toBeCloseTo(rate, 0);
  expect(Math.abs(bound.rate - rate) / rate).toBeLessThan(0.05);
  // the queue model at a full batch knows no budget and promises far more
  const model = buildReplicaModel(
    PROFILE,
    { avgInputTokens: 2000, avgOutputTokens: 21 },
    { maxBatchSize: 96, maxQueueSize: 96 },
  );
  expect(1000 / model.invMu[95]!).toBeGreaterThan(1.3 * rate);
});

test("a step's time and a prompt's chunks", () => {
  // x = 512 / 2020 requests a step; d = 20 x decode; 512 - d prefill tokens: 4 chunks of a 2000-token prompt
  const b = budgetBoundReplica(PROFILE, 2000, 21, BUDGET);
  const x = 512 / 2020;
  const d = 20 * x;
  const step = 12 + 0.15 * d + 12 + 0.08 * (512 - d);
  expect(b.stepMs).toBeCloseTo(step, 9);
  expect(b.rate).toBeCloseTo((1000 * x) / step, 9);
  expect(b.prefillMs).toBeCloseTo(4 * step, 9);
});
