/**
 * The closed loop on arrivals that cluster within a second (policy.itlMissCorrection): the
 * chunked-ITL model takes each 15-s step's arrivals as Poisson, so it under-counts the prompts a
 * request decodes next to when they come four at a time. The servers expose vLLM 0.13's
 * per-request time per output token; the factor learnt from it must settle (not oscillate) above
 * 1 within the hour (about 2 here, on 3-4 replicas), and the loop with it must hold the ITL misses
 * within the allowed share where the loop without it does not.
 */
import { parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/schema.js';
import { poisson, type Trace } from '../../lib/fleetSimulator/index.js';
import type { Scenario } from '../../lib/closedLoop/scenario.js';
import { runRecordingDecisions, type Outcome } from './helpers.js';

const HOUR = 3600;
const RATE = 3;
/** requests per cluster, arriving within CLUSTER_SECONDS of each other */
const CLUSTER = 10;
const CLUSTER_SECONDS = 0.5;
const L40S = { alpha: 12, beta: 0.15, gamma: 12, delta: 0.08 };
const TARGETS = { ttftMs: 8000, itlMs: 60 };

function config(learn: boolean, against: 'model' | 'target' = 'model'): Config {
  return parseConfig(
    {
      accelerators: [{ name: 'L40S', costPerHour: 1.861 }],
      models: [
        {
          name: 'llama-8b',
          profiles: {
            L40S: {
              ...L40S,
              maxBatchSize: 96,
              atTokens: 512,
              kvCacheTokens: 240_000,
              maxBatchedTokens: 1024,
            },
          },
        },
      ],
      serviceClasses: [{ name: 'chat', priority: 1, targets: { 'llama-8b': TARGETS } }],
      variants: [
        {
          name: 'chat',
          namespace: 'llm',
          model: 'llama-8b',
          serviceClass: 'chat',
          accelerator: 'L40S',
          minReplicas: 1,
          maxReplicas: 24,
          startupSeconds: 60,
        },
      ],
      nodeGroups: [
        { name: 'gpu', acceleratorType: 'L40S', gpusPerNode: 1, maxNodes: 24, provisioningSeconds: 60 },
      ],
      policy: { intervalSeconds: 30, itlMissCorrection: { enabled: learn, against } },
      simulation: { seed: 1, delayJitter: 0, scrapeIntervalSeconds: 15, drainSeconds: 60 },
    },
    `closed-loop ITL miss correction test (${learn ? `on against the ${against}` : 'off'})`,
  );
}

/** Poisson clusters of CLUSTER requests each, spread over CLUSTER_SECONDS; the tokens as drawn. */
function clustered(): Trace {
  const base = poisson({
    rate: RATE,
    duration: HOUR,
    inputTokens: { mean: 1500, dist: 'exp' },
    outputTokens: { mean: 150, dist: 'exp' },
    seed: 7,
  });
  const requests = base.requests.map((r, i) => {
    const head = base.requests[i - (i % CLUSTER)]!;
    return { ...r, arrival: head.arrival + (CLUSTER_SECONDS * (i % CLUSTER)) / CLUSTER };
  });
  return { ...base, requests: [...requests].sort((a, b) => a.arrival - b.arrival) };
}

function scenario(): Scenario {
  return {
    fleet: {
      variants: [
        {
          name: 'chat',
          namespace: 'llm',
          model: 'llama-8b',
          accelerator: 'L40S',
          initialReplicas: 4,
          profileByAccelerator: {
            L40S: {
              ...L40S,
              maxBatchSize: 96,
              kvCacheTokens: 240_000,
              gpusPerReplica: 1,
              loadSeconds: 60,
              maxNumBatchedTokens: 1024,
            },
          },
        },
      ],
      nodeGroups: [
        {
          name: 'gpu',
          acceleratorType: 'L40S',
          gpusPerNode: 1,
          minNodes: 0,
          maxNodes: 24,
          initialNodes: 4,
          provisionSeconds: 60,
        },
      ],
      seed: 3,
      delayJitter: 0,
      requestTimePerOutputToken: true,
    },
    traces: new Map([['chat', clustered()]]),
    durationSeconds: HOUR,
    measuredFrom: 0,
  };
}

const run = (learn: boolean, against?: 'model' | 'target'): Promise<Outcome> =>
  runRecordingDecisions(config(learn, against), scenario());

/** Share of the requests arriving in [from, to) that missed ITL. */
function itlMissed(o: Outcome, from: number, to: number): number {
  const w = o.fleet.window({ variant: 'chat', from, to, by: 'arrival' });
  expect(w.completed).toBeGreaterThan(0.9 * RATE * (to - from));
  return 1 - w.itlMet / w.completed;
}

const factors = (o: Outcome, from: number, to: number) =>
  o.decisions.filter(({ t }) => t >= from && t < to).map(({ d }) => d.inputs.itlMiss?.factor ?? NaN);

let on: Outcome;
let off: Outcome;
let outcome: Outcome;
beforeAll(async () => {
  on = await run(true);
  off = await run(false);
  outcome = await run(true, 'target');
});

describe('closed loop: clustered arrivals with policy.itlMissCorrection', () => {
  it('learns that the model is optimistic: the pooled misses exceed the predicted ones', () => {
    const last = on.decisions.at(-1)!.d.inputs.itlMiss!;
    expect(last.pooled!.misses).toBeGreaterThan(last.pooled!.predicted);
    expect(last.factor).toBeGreaterThan(1.2);
  });

  it('settles: over the last 20 minutes the factor moves within 20% and ends near the pool ratio', () => {
    const late = factors(on, HOUR - 1200, HOUR);
    expect(late.length).toBeGreaterThan(30);
    expect(late.every(Number.isFinite)).toBe(true);
    // (measured: 2.47 to 2.91)
    expect(Math.max(...late) / Math.min(...late)).toBeLessThan(1.2);
    const last = on.decisions.at(-1)!.d.inputs.itlMiss!;
    const ratio = last.pooled!.misses / last.pooled!.predicted;
    expect(last.factor / Math.min(Math.max(ratio, 0.5), 4)).toBeGreaterThan(0.85);
    expect(last.factor / Math.min(Math.max(ratio, 0.5), 4)).toBeLessThan(1.15);
  });

  it('holds the second half hour within the allowed 1% of ITL misses, where the loop without it does not', () => {
    // (measured: 0.64% with the factor, 2.47% without, for 76% more GPU time; before the mean
    // time per token was weighted by tokens, the per-request mean read the engine as slower and
    // the loop without the factor held more: 1.26% without, 0.62% with, for 26% more)
    expect(itlMissed(off, HOUR / 2, HOUR)).toBeGreaterThan(0.01);
    expect(itlMissed(on, HOUR / 2, HOUR)).toBeLessThan(0.01);
    const gpu = (o: Outcome) => o.fleet.usage().gpuSeconds.L40S!;
    expect(gpu(on) / gpu(off)).toBeLessThan(2);
  });

  it('records nothing of it with the flag off, and sizes with no factor', () => {
    expect(off.decisions.some(({ d }) => d.inputs.itlMiss !== undefined)).toBe(false);
  });
});

describe("closed loop: the same with against: 'target' (the miss budget learnt from the outcome)", () => {
  it('compares each window with the allowed share over the factor in force', () => {
    const ds = outcome.decisions.map(({ d }) => d.inputs.itlMiss!);
    let checked = 0;
    for (let i = 1; i < ds.length; i++) {
      const w = ds[i]!.window;
      if (!w) continue;
      expect(w.predictedShare).toBeCloseTo(0.01 / ds[i - 1]!.factor, 9);
      checked++;
    }
    expect(checked).toBeGreaterThan(60);
  });

  // (measured: the factor ends at 2.79, 2.54-2.89 over the last 20 minutes; 0.79% of the second
  // half hour's requests miss, 2.47% without the correction, for 1.69x its GPU time)
  it('raises the factor where the fleet misses more than allowed and brings the misses within it', () => {
    const last = outcome.decisions.at(-1)!.d.inputs.itlMiss!;
    expect(last.factor).toBeGreaterThan(1.2);
    expect(itlMissed(outcome, HOUR / 2, HOUR)).toBeLessThan(0.01);
  });
});
