import { describe, expect, it, beforeAll } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { averageValueProposal, kedaEppRecommendation } from '../../bench/policies/kedaEpp.js';
import { predictNext } from '../../bench/policies/dynamoPlanner.js';
import {
  scheduledFleet,
  oracleRun,
  oracleLeadRun,
  staticBestRun,
  leadSeconds,
} from '../../bench/policies/oracle.js';
import {
  fewestPassing,
  fewestPassingBelow,
  searchOracle,
  searchStatic,
  type OracleSchedule,
} from '../../bench/policies/oracleSearch.js';
import { requestVerdict, windowVerdict } from '../../bench/policies/sloCheck.js';
import { parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/schema.js';
import { runClosedLoop, type SimulationRun } from '../../lib/closedLoop/closedLoop.js';
import type { Scenario } from '../../lib/closedLoop/scenario.js';
import { step as stepTrace, type RequestRecord, type Trace } from '../../lib/fleetSimulator/index.js';

const config: Config = parseConfig(
  {
    accelerators: [
      { name: 'L4', costPerHour: 0.8 },
      { name: 'L40S', costPerHour: 1.9 },
    ],
    models: [
      {
        name: 'llama-8b',
        profiles: {
          L4: {
            alpha: 28,
            beta: 0.4,
            gamma: 20,
            delta: 0.2,
            maxBatchSize: 32,
            atTokens: 512,
            kvCacheTokens: 48000,
          },
          L40S: {
            alpha: 12,
            beta: 0.15,
            gamma: 12,
            delta: 0.08,
            maxBatchSize: 96,
            atTokens: 512,
            kvCacheTokens: 240000,
          },
        },
      },
    ],
    serviceClasses: [{ name: 'chat', priority: 1, targets: { 'llama-8b': { ttftMs: 3000, itlMs: 60 } } }],
    variants: [
      {
        name: 'chat',
        namespace: 'llm',
        model: 'llama-8b',
        serviceClass: 'chat',
        accelerators: ['L4', 'L40S'],
        minReplicas: 1,
        maxReplicas: 12,
        startupSeconds: 45,
      },
    ],
    nodeGroups: [
      { name: 'gpu-l4', acceleratorType: 'L4', gpusPerNode: 1, maxNodes: 12, provisioningSeconds: 60 },
      { name: 'gpu-l40s', acceleratorType: 'L40S', gpusPerNode: 1, maxNodes: 12, provisioningSeconds: 60 },
    ],
    simulation: { seed: 1, delayJitter: 0.1, scrapeIntervalSeconds: 15, drainSeconds: 60 },
  },
  'yardstick test config',
);

function scenario(trace: Trace): Scenario {
  const profile = (p: {
    alpha: number;
    beta: number;
    gamma: number;
    delta: number;
    kvCacheTokens: number;
  }) => ({
    ...p,
    maxBatchSize: 256,
    gpusPerReplica: 1,
    loadSeconds: 45,
    maxPrefillTokens: 2048,
  });
  return {
    fleet: {
      variants: [
        {
          name: 'chat',
          namespace: 'llm',
          model: 'llama-8b',
          accelerator: 'L4',
          initialReplicas: 1,
          profileByAccelerator: {
            L4: profile({ alpha: 28, beta: 0.4, gamma: 20, delta: 0.2, kvCacheTokens: 48000 }),
            L40S: profile({ alpha: 12, beta: 0.15, gamma: 12, delta: 0.08, kvCacheTokens: 240000 }),
          },
        },
      ],
      nodeGroups: [
        {
          name: 'gpu-l4',
          acceleratorType: 'L4',
          gpusPerNode: 1,
          maxNodes: 12,
          initialNodes: 1,
          provisionSeconds: 60,
        },
        {
          name: 'gpu-l40s',
          acceleratorType: 'L40S',
          gpusPerNode: 1,
          maxNodes: 12,
          initialNodes: 0,
          provisionSeconds: 60,
        },
      ],
      seed: 1,
      delayJitter: 0.1,
    },
    traces: new Map([['chat', trace]]),
    durationSeconds: trace.duration!,
    measuredFrom: 0,
  };
}

describe('the search for the fewest replicas that pass', () => {
  const passAt = (least: number) => {
    const tried: number[] = [];
    return { tried, trial: (n: number) => (tried.push(n), { pass: n >= least }) };
  };

  it('finds the least passing count galloping up or down from the start, then bisecting', () => {
    for (const start of [1, 3, 7, 12, 30]) {
      const { tried, trial } = passAt(7);
      expect(fewestPassing(1, 30, start, trial)?.replicas).toBe(7);
      expect(tried.length).toBeLessThanOrEqual(10);
    }
  });

  it('gives up when even the most fails, and stops at the least allowed', () => {
    expect(fewestPassing(1, 5, 3, passAt(7).trial)).toBeNull();
    expect(fewestPassing(2, 10, 4, passAt(0).trial)?.replicas).toBe(2);
  });

  it('below a cap, tries the cap first and stops there when it fails', () => {
    const { tried, trial } = passAt(7);
    expect(fewestPassingBelow(1, 6, 3, trial)).toBeNull();
    expect(tried).toEqual([6]);
    expect(fewestPassingBelow(1, 9, 3, passAt(7).trial)?.replicas).toBe(7);
  });
});

describe('the verdict on a request and on a window', () => {
  const targets = { ttftMs: 1000, itlMs: 50 };
  const r = (fields: Partial<RequestRecord>): RequestRecord =>
    ({
      id: 0,
      variant: 'chat',
      status: 'running',
      arrival: 10,
      inputTokens: 100,
      outputTokens: 11,
      ...fields,
    }) as RequestRecord;

  it('misses once the first token is later than the TTFT target, or could no longer be in time', () => {
    expect(requestVerdict(r({ status: 'waiting' }), targets, 10.9)).toBe('open');
    expect(requestVerdict(r({ status: 'waiting' }), targets, 11.1)).toBe('missed');
    expect(requestVerdict(r({ firstToken: 11.2 }), targets, 11.3)).toBe('missed');
    expect(requestVerdict(r({ status: 'dropped' }), targets, 10)).toBe('missed');
  });

  it('misses once the mean gap so far exceeds the ITL target, meets when completed within both', () => {
    // 10 gaps after the first token: past 11 + 10 * 0.05 = 11.5 s unfinished, the mean is over 50 ms.
    expect(requestVerdict(r({ firstToken: 11 }), targets, 11.49)).toBe('open');
    expect(requestVerdict(r({ firstToken: 11 }), targets, 11.51)).toBe('missed');
    expect(
      requestVerdict(r({ status: 'completed', firstToken: 11, finished: 11.4, itl: 0.04 }), targets, 12),
    ).toBe('met');
    expect(
      requestVerdict(r({ status: 'completed', firstToken: 11, finished: 11.6, itl: 0.06 }), targets, 12),
    ).toBe('missed');
  });

  it('passes a window once 99% met, fails it once more than 1% missed', () => {
    expect(windowVerdict({ requests: 200, met: 198, missed: 0, open: 2 }, 0.99)).toBe('pass');
    expect(windowVerdict({ requests: 200, met: 150, missed: 2, open: 48 }, 0.99)).toBe('open');
    expect(windowVerdict({ requests: 200, met: 150, missed: 3, open: 47 }, 0.99)).toBe('fail');
    expect(windowVerdict({ requests: 0, met: 0, missed: 0, open: 0 }, 0.99)).toBe('pass');
  });
});

describe('the schedule held at a time', () => {
  const schedule: OracleSchedule = {
    intervalSeconds: 300,
    target: 0.99,
    stepSeconds: 15,
    trials: 0,
    fromCache: false,
    choices: [
      {
        start: 0,
        end: 300,
        accelerator: 'L4',
        replicas: 2,
        costPerHour: 1.6,
        requests: 10,
        met: 10,
        feasible: true,
      },
      {
        start: 300,
        end: 600,
        accelerator: 'L4',
        replicas: 5,
        costPerHour: 4,
        requests: 10,
        met: 10,
        feasible: true,
      },
      {
        start: 600,
        end: 900,
        accelerator: 'L40S',
        replicas: 3,
        costPerHour: 5.7,
        requests: 10,
        met: 10,
        feasible: true,
      },
    ],
  };

  it("holds the current interval's fleet without a lead", () => {
    expect([...scheduledFleet(schedule, 0)]).toEqual([['L4', 2]]);
    expect([...scheduledFleet(schedule, 299)]).toEqual([['L4', 2]]);
    expect([...scheduledFleet(schedule, 300)]).toEqual([['L4', 5]]);
    expect([...scheduledFleet(schedule, 2000)]).toEqual([['L40S', 3]]);
  });

  it('with a lead, also what the intervals starting within lead + one step need', () => {
    const lead = () => 100;
    expect([...scheduledFleet(schedule, 180, lead)]).toEqual([['L4', 2]]);
    expect([...scheduledFleet(schedule, 185, lead)]).toEqual([['L4', 5]]);
    expect(new Map(scheduledFleet(schedule, 500, lead))).toEqual(
      new Map([
        ['L4', 5],
        ['L40S', 3],
      ]),
    );
  });
});

describe('the yardsticks on a load that steps from 1 to 8 req/s', () => {
  const trace = stepTrace({
    rateBefore: 1,
    rateAfter: 8,
    at: 600,
    duration: 1200,
    seed: 9,
    inputTokens: { mean: 512, dist: 'exp' },
    outputTokens: 128,
  });
  const s = scenario(trace);
  let schedule: OracleSchedule;
  let oracle: SimulationRun;
  let lead: SimulationRun;

  beforeAll(async () => {
    schedule = searchOracle(config, s);
    const o = oracleRun(config, s, schedule);
    oracle = await runClosedLoop(config, o.scenario, { controller: o.controller });
    const l = oracleLeadRun(config, s, schedule);
    lead = await runClosedLoop(config, l.scenario, { controller: l.controller });
  });

  it('finds a fleet per 5-minute interval that meets the target, larger after the step', () => {
    expect(schedule.choices.map((c) => c.start)).toEqual([0, 300, 600, 900]);
    for (const c of schedule.choices) {
      expect(c.feasible).toBe(true);
      expect(c.met / c.requests).toBeGreaterThanOrEqual(0.99);
    }
    const cost = schedule.choices.map((c) => c.costPerHour);
    expect(Math.min(cost[2]!, cost[3]!)).toBeGreaterThan(Math.max(cost[0]!, cost[1]!));
  });

  it('replayed in the closed loop, is the run the search carried: it attains the target', () => {
    expect(oracle.summary.sloAttainment).toBeGreaterThanOrEqual(0.99);
    // Nodes are whole and billed: the oracle's cost is at least its schedule's.
    const scheduled = schedule.choices.reduce((a, c) => a + (c.costPerHour * (c.end - c.start)) / 3600, 0);
    expect(oracle.summary.cost).toBeGreaterThanOrEqual(scheduled - 1e-6);
  });

  it('oracle-lead asks for the step’s fleet a startup ahead and pays for it meanwhile', () => {
    const after = schedule.choices[2]!;
    const ahead = leadSeconds(config, config.variants[0]!, after.accelerator, 0.1);
    const up = lead.events.find((e) => e.accelerator === after.accelerator && e.to >= after.replicas);
    expect(up).toBeDefined();
    expect(up!.t).toBeLessThanOrEqual(600 - ahead);
    expect(up!.t).toBeGreaterThan(600 - ahead - 30);
    expect(lead.summary.sloAttainment).toBeGreaterThanOrEqual(0.99);
    expect(lead.summary.cost).toBeGreaterThan(oracle.summary.cost);
  });

  it('reads a search from its cache the second time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oracle-cache-'));
    const first = searchStatic(config, s, { cacheDir: dir });
    const again = searchStatic(config, s, { cacheDir: dir });
    expect(first.fromCache).toBe(false);
    expect(again).toEqual({ ...first, trials: 0, fromCache: true });
  });

  it('static-best holds one constant fleet that meets the target and costs at least the oracle', async () => {
    const choice = searchStatic(config, s);
    expect(choice.feasible).toBe(true);
    const r = staticBestRun(config, s, choice);
    const run = await runClosedLoop(config, r.scenario, { controller: r.controller });
    expect(run.events).toHaveLength(0);
    expect(run.summary.sloAttainment).toBeGreaterThanOrEqual(0.99);
    expect(run.summary.cost).toBeGreaterThanOrEqual(oracle.summary.cost - 1e-6);
  });
});

describe('keda-epp and dynamo-planner', () => {
  it('an AverageValue trigger proposes ceil(total / target), unchanged within 10%', () => {
    expect(averageValueProposal(50, 5, 4)).toBe(10);
    expect(averageValueProposal(21, 5, 4)).toBe(4); // 21 / 20 is within 10%
    expect(averageValueProposal(0, 5, 4)).toBe(0);
  });

  it('takes the larger of the queue and in-flight proposals, within min and max', () => {
    const v = config.variants[0]!;
    expect(kedaEppRecommendation({ current: 2, queued: 0, inFlight: 100, inFlightTarget: 25 }, v)).toBe(4);
    expect(kedaEppRecommendation({ current: 2, queued: 30, inFlight: 40, inFlightTarget: 25 }, v)).toBe(6);
    expect(kedaEppRecommendation({ current: 2, queued: 0, inFlight: 0, inFlightTarget: 25 }, v)).toBe(1);
    expect(kedaEppRecommendation({ current: 2, queued: 500, inFlight: 0, inFlightTarget: 25 }, v)).toBe(12);
  });

  it("the planner's constant predictor repeats the last interval", () => {
    const a = { rate: 1, inputTokens: 10, outputTokens: 5 };
    const b = { rate: 3, inputTokens: 20, outputTokens: 7 };
    expect(predictNext([a, b])).toEqual(b);
    expect(predictNext([])).toBeUndefined();
  });
});
