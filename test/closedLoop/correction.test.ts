/**
 * The closed loop with a wrong profile: the online correction converges (issue 14, item 4).
 *
 * The fleet's replicas take the service times of the true L4 profile; the autoscaler's config
 * says they take 1.3 times as long (pessimistic) or 0.7 times (optimistic). An hour of Poisson
 * traffic with a step in the middle: by its last quarter the corrected model predicts the TTFT
 * and ITL the replicas show within 10%, and requests meet their targets meanwhile as well as
 * they do when the config has the true profile.
 */
import { parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/schema.js';
import { step } from '../../lib/fleetSimulator/index.js';
import type { Scenario } from '../../lib/closedLoop/scenario.js';
import { runRecordingDecisions, type Outcome } from './helpers.js';

const HOUR = 3600;
const STEP_AT = 1500;
const RATE_BEFORE = 3;
const RATE_AFTER = 6;
const P = 75;
const S = 45;
const TOKENS = { input: 512, output: 128 };
const TARGETS = { ttftMs: 2000, itlMs: 60 };
const TRUE_L4 = { alpha: 28, beta: 0.4, gamma: 20, delta: 0.2 };

function config(scale: number): Config {
  return parseConfig(
    {
      accelerators: [{ name: 'L4', costPerHour: 0.805 }],
      models: [
        {
          name: 'llama-8b',
          profiles: {
            L4: {
              alpha: TRUE_L4.alpha * scale,
              beta: TRUE_L4.beta * scale,
              gamma: TRUE_L4.gamma * scale,
              delta: TRUE_L4.delta * scale,
              maxBatchSize: 32,
              atTokens: 512,
              kvCacheTokens: 48_000,
            },
          },
        },
      ],
      serviceClasses: [{ name: 'interactive', priority: 1, targets: { 'llama-8b': TARGETS } }],
      variants: [
        {
          name: 'chat',
          namespace: 'llm',
          model: 'llama-8b',
          serviceClass: 'interactive',
          accelerator: 'L4',
          minReplicas: 1,
          maxReplicas: 20,
          startupSeconds: S,
        },
      ],
      nodeGroups: [
        { name: 'gpu-l4', acceleratorType: 'L4', gpusPerNode: 1, maxNodes: 20, provisioningSeconds: P },
      ],
      simulation: { seed: 1, delayJitter: 0, scrapeIntervalSeconds: 15, drainSeconds: 60 },
    },
    `closed-loop correction test, profile x${scale}`,
  );
}

function scenario(initialReplicas: number): Scenario {
  return {
    fleet: {
      variants: [
        {
          name: 'chat',
          namespace: 'llm',
          model: 'llama-8b',
          accelerator: 'L4',
          initialReplicas,
          profileByAccelerator: {
            L4: {
              ...TRUE_L4,
              maxBatchSize: 256,
              kvCacheTokens: 48_000,
              gpusPerReplica: 1,
              loadSeconds: S,
              maxNumBatchedTokens: 2048,
            },
          },
        },
      ],
      nodeGroups: [
        {
          name: 'gpu-l4',
          acceleratorType: 'L4',
          gpusPerNode: 1,
          minNodes: 0,
          maxNodes: 20,
          initialNodes: initialReplicas,
          provisionSeconds: P,
        },
      ],
      seed: 3,
      delayJitter: 0,
    },
    traces: new Map([
      [
        'chat',
        step({
          rateBefore: RATE_BEFORE,
          rateAfter: RATE_AFTER,
          at: STEP_AT,
          duration: HOUR,
          inputTokens: { mean: TOKENS.input, dist: 'exp' },
          outputTokens: { mean: TOKENS.output, dist: 'exp' },
          seed: 11,
        }),
      ],
    ]),
    durationSeconds: HOUR,
    measuredFrom: 0,
  };
}

// Started with enough replicas for the first load on either profile: the loop's first
// decisions, not the start, are under test.
const run = (scale: number): Promise<Outcome> => runRecordingDecisions(config(scale), scenario(3));

/** Median of predicted / observed over the decisions in [from, to) that had both. */
function medianRatio(o: Outcome, from: number, to: number, which: 'Ttft' | 'Itl'): number {
  const ratios = o.decisions
    .filter(({ t }) => t >= from && t < to)
    .map(({ d }) => d.inputs.latency)
    .flatMap((l) => {
      const observed = l?.[`observed${which}Ms`];
      return l && observed ? [l[`predicted${which}Ms`] / observed] : [];
    })
    .sort((a, b) => a - b);
  expect(ratios.length).toBeGreaterThan(10);
  return ratios[Math.floor(ratios.length / 2)]!;
}

/** Share of the hour's requests that met both targets. */
function attainment(o: Outcome): number {
  const w = o.fleet.window({ variant: 'chat', from: 0, to: HOUR, by: 'arrival' });
  expect(w.arrived).toBeGreaterThan(0.9 * (RATE_BEFORE * STEP_AT + RATE_AFTER * (HOUR - STEP_AT)));
  expect(w.dropped + w.rejected).toBe(0);
  return w.sloMet / w.arrived;
}

let truth: Outcome;
beforeAll(async () => {
  truth = await run(1);
});

describe.each([
  ['pessimistic', 1.3],
  ['optimistic', 0.7],
])('closed loop: a profile %s by 30%% (service times x%s)', (_name, scale) => {
  let o: Outcome;
  beforeAll(async () => {
    o = await run(scale);
  });

  it('starts off: the uncorrected model is about 30% off', () => {
    const first = o.decisions.find(({ d }) => d.inputs.latency?.observedItlMs)!.d.inputs.latency!;
    const itlOff = first.predictedItlMs / first.observedItlMs!;
    expect(Math.abs(itlOff - 1)).toBeGreaterThan(0.15);
    expect(itlOff > 1).toBe(scale > 1);
  });

  it('predicts TTFT and ITL within 10% of the observed ones in the last quarter of the hour', () => {
    for (const which of ['Ttft', 'Itl'] as const) {
      const r = medianRatio(o, 0.75 * HOUR, HOUR, which);
      expect(r).toBeGreaterThan(0.9);
      expect(r).toBeLessThan(1.1);
    }
    // and the factors it learned point the right way
    const c = o.decisions.at(-1)!.d.inputs.modelCorrection!;
    expect(c.itl > 1).toBe(scale < 1);
  });

  it('holds the targets meanwhile, as well as with the true profile', () => {
    // The step costs some requests whatever the profile (the reaction and start-up delays):
    // learning the profile must cost no more than a few in a thousand on top.
    const withTruth = attainment(truth);
    expect(withTruth).toBeGreaterThan(0.95);
    expect(attainment(o)).toBeGreaterThanOrEqual(withTruth - 0.005);
  });
});
