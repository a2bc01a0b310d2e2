/**
 * Results as streaming aggregates: what sim.window() and sim.results() report equals what the
 * per-request records say (counts exactly, quantiles within the sketch's 1%), and without records
 * the simulation keeps no per-request state once requests are done.
 */
import {
  createFleetSim,
  poisson,
  SKETCH_RELATIVE_ACCURACY,
  type FleetSim,
  type RequestRecord,
} from '../../lib/fleetSimulator/index.js';
import { oneVariantConfig, recordsOf } from './helpers.js';

const TARGETS = { ttftMs: 150, itlMs: 14 };
const WIDTH = 30;

/** Two replicas under a load that sometimes exceeds them, so that some requests miss. */
function loaded(keepRecords: boolean): FleetSim {
  const base = oneVariantConfig({ initialReplicas: 2, profile: { maxBatchSize: 16 } });
  const sim = createFleetSim({
    ...base,
    results: { keepRecords, origin: 0, intervalSeconds: WIDTH, targets: { chat: TARGETS } },
  });
  const trace = poisson({
    rate: 60,
    duration: 300,
    inputTokens: { mean: 600, dist: 'exp' },
    outputTokens: { mean: 40, dist: 'exp' },
    seed: 3,
  });
  sim.addArrivals('chat', trace.requests);
  sim.runUntil(400);
  return sim;
}

/** The closed loop's per-request rule: unfinished misses, a one-token answer has no ITL to miss. */
function exact(records: readonly RequestRecord[], from: number, to: number) {
  const inSpan = records.filter((r) => r.arrival >= from && r.arrival < to);
  const done = inSpan.filter((r) => r.status === 'completed');
  const ttftOk = (r: RequestRecord) => r.ttft! * 1000 <= TARGETS.ttftMs;
  const itlOk = (r: RequestRecord) => r.itl === undefined || r.itl * 1000 <= TARGETS.itlMs;
  return {
    arrived: inSpan.length,
    completed: done.length,
    ttftMet: done.filter(ttftOk).length,
    itlMet: done.filter(itlOk).length,
    sloMet: done.filter((r) => ttftOk(r) && itlOk(r)).length,
    ttfts: done.map((r) => r.ttft!).sort((a, b) => a - b),
  };
}

const nearestRank = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1]!;

describe('results as streaming aggregates', () => {
  const sim = loaded(true);
  const records = recordsOf(sim);

  test('attainment per interval is exact: the same counts as the records give', () => {
    let missed = 0;
    for (let from = 0; from < 300; from += WIDTH) {
      const w = sim.window({ variant: 'chat', from, to: from + WIDTH });
      const e = exact(records, from, from + WIDTH);
      expect({
        arrived: w.arrived,
        completed: w.completed,
        ttftMet: w.ttftMet,
        itlMet: w.itlMet,
        sloMet: w.sloMet,
      }).toEqual({
        arrived: e.arrived,
        completed: e.completed,
        ttftMet: e.ttftMet,
        itlMet: e.itlMet,
        sloMet: e.sloMet,
      });
      missed += e.arrived - e.sloMet;
    }
    expect(missed).toBeGreaterThan(0); // the load does make some requests miss
  });

  test('latency quantiles are within the sketch accuracy of the exact ones', () => {
    const w = sim.window({ from: 0, to: 300 });
    const e = exact(records, 0, 300);
    for (const [q, value] of [
      [0.5, w.ttft.p50],
      [0.95, w.ttft.p95],
      [0.99, w.ttft.p99],
    ] as const) {
      const truth = nearestRank(e.ttfts, q);
      expect(Math.abs(value - truth) / truth).toBeLessThanOrEqual(SKETCH_RELATIVE_ACCURACY + 1e-12);
    }
    expect(w.ttft.max).toBe(e.ttfts.at(-1));
    expect(w.ttft.mean).toBeCloseTo(e.ttfts.reduce((a, b) => a + b, 0) / e.ttfts.length, 12);
  });

  test('by finish time, each completed request counts once, in the bin it finished in', () => {
    const done = records.filter((r) => r.status === 'completed');
    const w = sim.window({ by: 'finish', from: 60, to: 120 });
    expect(w.completed).toBe(done.filter((r) => r.finished! >= 60 && r.finished! < 120).length);
    expect(sim.window({ by: 'finish' }).completed).toBe(done.length);
  });

  test('without records the same aggregates, and results() holds none', () => {
    const lean = loaded(false);
    expect(lean.results().records).toBeUndefined();
    expect(lean.results().overall).toEqual(sim.results().overall);
    expect(lean.window({ from: 90, to: 120 })).toEqual(sim.window({ from: 90, to: 120 }));
  });

  test('targets must name a variant', () => {
    expect(() =>
      createFleetSim({ ...oneVariantConfig({}), results: { targets: { nope: { ttftMs: 1 } } } }),
    ).toThrow(/unknown variant "nope"\n.*results\.targets\.nope/);
  });
});
