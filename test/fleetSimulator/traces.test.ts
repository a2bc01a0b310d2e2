import { fileURLToPath } from 'node:url';
import {
  amplify,
  cut,
  dequantise,
  detectGrid,
  loop,
  parseTrace,
  readTrace,
  scaleRate,
  traceDuration,
  TraceError,
  type Trace,
  type TraceRequest,
} from '../../lib/fleetSimulator/index.js';
import { mulberry32 } from '../../lib/fleetSimulator/random.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/traces/${name}`, import.meta.url));
// The copies in the repository (data/traces/), identical to ../shared/data/traces.
const DATA = fileURLToPath(new URL('../../data/traces', import.meta.url));

describe('trace readers', () => {
  test('Azure CSV: CRLF, 7 fractional digits kept, seconds from the earliest row, sorted', async () => {
    const trace = await readTrace(fixture('azure-small.csv'));
    expect(trace.name).toBe('azure-small');
    const arrivals = trace.requests.map((r) => r.arrival);
    expect(arrivals[0]).toBe(0);
    expect(arrivals[1]).toBeCloseTo(1e-7, 12); // one unit of the 7th digit survives
    expect(arrivals[2]).toBeCloseTo(0.21941, 12); // the out-of-order row, sorted into place
    expect(arrivals[3]).toBeCloseTo(0.31941, 12);
    expect(arrivals[4]).toBeCloseTo(13.4428667, 12);
    expect(trace.requests[2]).toMatchObject({ inputTokens: 7433, outputTokens: 0 });
  });

  test('Mooncake JSON lines: ms timestamps, extra fields ignored, trailing blank line ok', async () => {
    const trace = await readTrace(fixture('mooncake-small.jsonl'));
    expect(trace.requests).toEqual([
      { arrival: 0, inputTokens: 6758, outputTokens: 500 },
      { arrival: 0, inputTokens: 7322, outputTokens: 490 },
      { arrival: 1.2005, inputTokens: 100, outputTokens: 3 },
      { arrival: 1.5, inputTokens: 2290, outputTokens: 316 },
    ]);
  });

  test('plain CSV: sorted stably, blank trailing lines ok', async () => {
    const trace = await readTrace(fixture('plain-small.csv'));
    expect(trace.requests).toEqual([
      { arrival: 0.25, inputTokens: 200, outputTokens: 10 },
      { arrival: 0.5, inputTokens: 100, outputTokens: 20 },
      { arrival: 2, inputTokens: 300, outputTokens: 0 },
    ]);
  });

  test.each([
    ['bad-output.csv', /bad-output\.csv:5: output_tokens is not a non-negative integer: "abc"$/],
    ['bad-timestamp.csv', /bad-timestamp\.csv:3: timestamp_s is not a non-negative number: "-1"$/],
    ['short-row.csv', /short-row\.csv:2: expected 3 fields, got 2/],
    ['bad-azure-date.csv', /bad-azure-date\.csv:3: TIMESTAMP is not a date-time/],
    ['bad-json.jsonl', /bad-json\.jsonl:3: not valid JSON/],
    ['missing-field.jsonl', /missing-field\.jsonl:2: output_length is missing$/],
    ['header-only.csv', /header-only\.csv: trace has no requests$/],
    ['unknown-header.csv', /unknown-header\.csv:1: unrecognised trace format/],
  ])('%s fails with the file, line and field', async (name, message) => {
    await expect(readTrace(fixture(name))).rejects.toThrow(TraceError);
    await expect(readTrace(fixture(name))).rejects.toThrow(message);
  });

  test('an empty file and a missing file are errors', async () => {
    expect(() => parseTrace('\n\n', 'empty.csv')).toThrow('empty.csv: trace has no requests');
    await expect(readTrace(fixture('does-not-exist.csv'))).rejects.toThrow(/cannot read trace/);
  });

  test('the real Azure trace: 8,819 requests over 57 minutes', async () => {
    const trace = await readTrace(`${DATA}/azure-llm-2023-code.csv`);
    expect(trace.requests).toHaveLength(8819);
    expect(trace.requests[0]).toEqual({ arrival: 0, inputTokens: 4808, outputTokens: 10 });
    expect(trace.requests[1]!.arrival).toBeCloseTo(0.052, 12);
    const last = trace.requests.at(-1)!.arrival;
    // last row 19:14:19.9280160, first 18:17:03.9799600
    expect(last).toBeCloseTo(57 * 60 + 15.948056, 9);
    const meanInput = trace.requests.reduce((s, r) => s + r.inputTokens, 0) / trace.requests.length;
    expect(Math.round(meanInput)).toBe(2048);
  });

  test('the real Mooncake trace: 12,031 requests, read well under a second', async () => {
    const start = performance.now();
    const trace = await readTrace(`${DATA}/mooncake-conversation.jsonl`);
    const elapsed = performance.now() - start;
    expect(trace.requests).toHaveLength(12031);
    expect(trace.requests.at(-1)!.arrival).toBeCloseTo(3536.999, 9);
    expect(elapsed).toBeLessThan(1000);
  });
});

describe('trace transformations', () => {
  const trace = parseTrace(
    'timestamp_s,input_tokens,output_tokens\n0,1,1\n1,2,2\n2,3,3\n3,4,4\n',
    'four.csv',
  );

  test('traceDuration extends the last arrival by the mean gap', () => {
    expect(traceDuration(trace)).toBe(4);
  });

  test('scaleRate compresses time', () => {
    const fast = scaleRate(trace, 2);
    expect(fast.requests.map((r) => r.arrival)).toEqual([0, 0.5, 1, 1.5]);
    expect(() => scaleRate(trace, 0)).toThrow(TraceError);
  });

  test('cut keeps [start, start + duration) and shifts it to 0', () => {
    const window = cut(trace, { start: 1, duration: 2 });
    expect(window.requests).toEqual([
      { arrival: 0, inputTokens: 2, outputTokens: 2 },
      { arrival: 1, inputTokens: 3, outputTokens: 3 },
    ]);
    expect(window.duration).toBe(2);
    expect(cut(trace, { start: 2 }).requests.map((r) => r.arrival)).toEqual([0, 1]);
  });

  test('loop repeats the trace with its duration as period', () => {
    const looped = loop(trace, 10);
    expect(looped.requests.map((r) => r.arrival)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(looped.requests[5]!.inputTokens).toBe(2);
    expect(loop(cut(trace, { start: 0, duration: 3 }), 7).requests.map((r) => r.arrival)).toEqual([
      0, 1, 2, 3, 4, 5, 6,
    ]);
  });
});

describe('amplify', () => {
  const base = {
    name: 'base',
    duration: 100,
    requests: [0, 10, 20, 50, 90].map((arrival, i) => ({ arrival, inputTokens: 100 + i, outputTokens: 10 })),
  };

  it('multiplies the rate by overlaying shifted copies and keeps the length', () => {
    const x3 = amplify(base, 3);
    expect(x3.requests).toHaveLength(15);
    expect(x3.duration).toBe(100);
    expect(Math.max(...x3.requests.map((r) => r.arrival))).toBeLessThan(100);
    // the second copy is shifted by a third of the period, wrapping round
    expect(x3.requests.map((r) => r.arrival)).toEqual(
      expect.arrayContaining([
        0,
        10,
        20,
        50,
        90,
        100 / 3,
        10 + 100 / 3,
        20 + 100 / 3,
        50 + 100 / 3,
        90 + 100 / 3 - 100,
      ]),
    );
    const arrivals = x3.requests.map((r) => r.arrival);
    expect(arrivals).toEqual([...arrivals].sort((a, b) => a - b));
  });

  it('thins the last copy to the fraction left over, the same way for the same seed', () => {
    const big = {
      name: 'big',
      duration: 1000,
      requests: Array.from({ length: 2000 }, (_, i) => ({ arrival: i / 2, inputTokens: 1, outputTokens: 1 })),
    };
    const half = amplify(big, 1.5, 7);
    expect(half.requests.length).toBeGreaterThan(2000 + 900);
    expect(half.requests.length).toBeLessThan(2000 + 1100);
    expect(amplify(big, 1.5, 7).requests).toEqual(half.requests);
    const thin = amplify(big, 0.25, 7);
    expect(thin.requests.length).toBeGreaterThan(400);
    expect(thin.requests.length).toBeLessThan(600);
  });

  it('rejects a factor that is not positive', () => {
    expect(() => amplify(base, 0)).toThrow(TraceError);
  });
});

describe('timestamps on a grid', () => {
  // Like the Mooncake trace: ticks every 3 s jittered by -1 to +3 ms, several requests each.
  const grid = (ticks: number, seed = 3): Trace => {
    const random = mulberry32(seed);
    const requests: TraceRequest[] = [];
    for (let k = 0; k < ticks; k++) {
      const jitter = k === 0 ? 0 : Math.floor(random() * 5) - 1;
      const arrival = (3000 * k + jitter) / 1000;
      const count = 1 + Math.floor(random() * 12);
      for (let i = 0; i < count; i++) requests.push({ arrival, inputTokens: 1000 * k + i, outputTokens: i });
    }
    return { name: 'grid', requests };
  };
  // Poisson arrivals at 5 per second, timestamps in whole ms (a few chance ties).
  const poisson = (n: number): Trace => {
    const random = mulberry32(11);
    let t = 0;
    const requests: TraceRequest[] = [];
    for (let i = 0; i < n; i++) {
      t += -Math.log(1 - random()) / 5;
      requests.push({ arrival: Math.round(t * 1000) / 1000, inputTokens: i, outputTokens: 1 });
    }
    return { name: 'poisson', requests };
  };
  const ticksOf = (trace: Trace) => [...new Set(trace.requests.map((r) => r.arrival))];

  test('detectGrid finds a jittered 3 s grid and not a millisecond trace', () => {
    const found = detectGrid(grid(200));
    expect(found?.step).toBeCloseTo(3, 2);
    expect(found?.ticks).toBe(200);
    expect(found?.tiedShare).toBeGreaterThan(0.8);
    const plain = poisson(2000);
    expect(ticksOf(plain).length).toBeLessThan(2000); // it does have ties, just not many
    expect(detectGrid(plain)).toBeUndefined();
  });

  test('detectGrid needs every gap to be a whole number of steps (ticks may be empty)', () => {
    const requests = [0, 0, 3, 3, 4.4, 4.4, 9, 9].map((arrival, i) => ({
      arrival,
      inputTokens: i,
      outputTokens: 1,
    }));
    expect(detectGrid({ name: 'x', requests })).toBeUndefined();
    const missingTicks = [0, 0, 3, 3, 12, 12, 15, 15].map((arrival, i) => ({
      arrival,
      inputTokens: i,
      outputTokens: 1,
    }));
    expect(detectGrid({ name: 'x', requests: missingTicks })?.step).toBeCloseTo(3, 12);
  });

  test('dequantise spreads each tick over it: counts, order and tokens kept, deterministic', () => {
    const trace = grid(200);
    const spread = dequantise(trace);
    expect(spread.requests).toHaveLength(trace.requests.length);
    const ticks = ticksOf(trace);
    for (const [i, r] of spread.requests.entries()) {
      const before = trace.requests[i]!;
      // the same request in the same place, moved only within its tick
      expect([r.inputTokens, r.outputTokens]).toEqual([before.inputTokens, before.outputTokens]);
      const next = ticks[ticks.indexOf(before.arrival) + 1] ?? Infinity;
      expect(r.arrival).toBeGreaterThanOrEqual(before.arrival);
      expect(r.arrival).toBeLessThan(Math.min(next, before.arrival + 3.0001));
      if (i > 0) expect(r.arrival).toBeGreaterThanOrEqual(spread.requests[i - 1]!.arrival);
    }
    // no longer tied, and spread over the whole tick rather than bunched at its start
    expect(ticksOf(spread)).toHaveLength(spread.requests.length);
    const offsets = spread.requests.map((r, i) => r.arrival - trace.requests[i]!.arrival);
    expect(offsets.reduce((a, x) => a + x, 0) / offsets.length).toBeGreaterThan(1.3);
    expect(Math.max(...offsets)).toBeGreaterThan(2.8);
    expect(dequantise(trace)).toEqual(spread);
    expect(dequantise(trace, { seed: 2 }).requests).not.toEqual(spread.requests);
  });

  test('dequantise with a step given uses it, cut by the next tick and the duration', () => {
    const requests = [0, 0, 1, 10, 10].map((arrival, i) => ({ arrival, inputTokens: i, outputTokens: 1 }));
    const spread = dequantise({ name: 'x', requests, duration: 10.5 }, { step: 2 });
    const arrivals = spread.requests.map((r) => r.arrival);
    expect(arrivals[0]! >= 0 && arrivals[1]! < 1).toBe(true); // cut at the next tick, 1 s on
    expect(arrivals[2]! >= 1 && arrivals[2]! < 3).toBe(true); // a whole step
    expect(arrivals[3]! >= 10 && arrivals[4]! < 10.5).toBe(true); // cut at the duration
    expect(spread.duration).toBe(10.5);
    expect(() => dequantise({ name: 'x', requests }, { step: 0 })).toThrow(TraceError);
  });

  test('dequantise leaves a trace without a grid as it is', () => {
    const plain = poisson(2000);
    expect(dequantise(plain)).toBe(plain);
  });

  test('the real traces: Mooncake on a 3 s grid, Azure and ServeGen not', async () => {
    const mooncake = detectGrid(await readTrace(`${DATA}/mooncake-conversation.jsonl`));
    expect(mooncake).toMatchObject({ ticks: 1180, tiedShare: 1 });
    expect(mooncake!.step).toBeCloseTo(3, 4);
    expect(detectGrid(await readTrace(`${DATA}/azure-llm-2023-code.csv`))).toBeUndefined();
    expect(detectGrid(await readTrace(`${DATA}/servegen-mlarge-day6-24h.csv`))).toBeUndefined();
  });
});
