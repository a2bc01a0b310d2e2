/**
 * Output length by input bucket (issue 16, item 4): how much better the next interval's decode
 * work (output tokens of the requests arriving in it) is predicted from the output length per
 * log2 input-length bucket than from the overall mean, on the policy suite's traces
 * (bench/policies/traces.ts, at the suite's rate scales).
 *
 *   npm run bench:output -- [--interval 30] [--window 60] [--stats-window 900] [--json]
 *
 * At every interval's start t the predictor knows what the gateway's events told it before t:
 * the output lengths per bucket over the statistics window (the requests arrived in
 * [t - stats window, t), their completions taken as known: an upper bound on what a live
 * gateway has, whose longest requests may still run) and the rate window's arrivals per bucket.
 * Both predictors go through lib/gateway/load.ts's outputByInputBucket, as evaluate does. Three
 * settings, each scored by the weighted absolute percentage error Σ|predicted - actual| / Σ actual
 * over the intervals:
 *
 *   forecast    the requests to come are the rate window's, as many and of the same mix:
 *               n̂ × the mix's expected output, against n̂ × the overall mean (what demand sizes with);
 *   count       the next interval's number of requests known: N × the mix's expected output,
 *               against N × the overall mean (the output-length prediction alone);
 *   per request the next interval's prompts known (the gateway sees each at dispatch): the sum of
 *               their buckets' means, against N × the overall mean.
 */
import { parseArgs } from 'node:util';
import { amplify, readTrace, type TraceRequest } from '../../lib/fleetSimulator/traces.js';
import type { BucketCounts } from '../../lib/gateway/aggregate.js';
import { inputBucket } from '../../lib/gateway/events.js';
import { outputByInputBucket } from '../../lib/gateway/load.js';
import { DEFAULT_TRACES } from '../policies/traces.js';

const SLOT_SECONDS = 10;

type Counts = Map<number, BucketCounts>;

function add(into: Counts, bucket: number, c: BucketCounts): void {
  const o = into.get(bucket);
  into.set(
    bucket,
    o
      ? {
          arrivals: o.arrivals + c.arrivals,
          inputTokens: o.inputTokens + c.inputTokens,
          completions: o.completions + c.completions,
          outputTokens: o.outputTokens + c.outputTokens,
        }
      : c,
  );
}

/** Per slot of SLOT_SECONDS, what the gateway's events would have counted. */
function slotsOf(requests: readonly TraceRequest[]): Counts[] {
  const slots: Counts[] = [];
  for (const r of requests) {
    const i = Math.floor(r.arrival / SLOT_SECONDS);
    while (slots.length <= i) slots.push(new Map());
    add(slots[i]!, inputBucket(r.inputTokens), {
      arrivals: 1,
      inputTokens: r.inputTokens,
      completions: 1,
      outputTokens: r.outputTokens,
    });
  }
  return slots;
}

function sumSlots(slots: readonly Counts[], from: number, to: number): Counts {
  const out: Counts = new Map();
  for (let i = Math.max(0, from); i < Math.min(to, slots.length); i++)
    for (const [b, c] of slots[i]!) add(out, b, c);
  return out;
}

interface Scores {
  actual: number;
  error: Record<
    | 'forecastWindow'
    | 'forecastMean'
    | 'forecastBucket'
    | 'countWindow'
    | 'countMean'
    | 'countBucket'
    | 'requestBucket',
    number
  >;
}

function evaluateTrace(
  requests: readonly TraceRequest[],
  o: { interval: number; window: number; stats: number },
) {
  const slots = slotsOf(requests);
  const end = requests.length ? requests[requests.length - 1]!.arrival : 0;
  const scores: Scores = {
    actual: 0,
    error: {
      forecastWindow: 0,
      forecastMean: 0,
      forecastBucket: 0,
      countWindow: 0,
      countMean: 0,
      countBucket: 0,
      requestBucket: 0,
    },
  };
  let intervals = 0;
  let cursor = 0;
  for (let t = o.stats; t + o.interval <= end; t += o.interval) {
    const learned = sumSlots(slots, (t - o.stats) / SLOT_SECONDS, t / SLOT_SECONDS);
    const recent = sumSlots(slots, (t - o.window) / SLOT_SECONDS, t / SLOT_SECONDS);
    const byBucket = outputByInputBucket(recent, learned);
    if (!byBucket) continue;
    const means = new Map(byBucket.buckets.map((b) => [b.bucket, b.meanOutputTokens]));
    while (cursor < requests.length && requests[cursor]!.arrival < t) cursor++;
    let actual = 0;
    let count = 0;
    let perRequest = 0;
    for (let i = cursor; i < requests.length && requests[i]!.arrival < t + o.interval; i++) {
      const r = requests[i]!;
      actual += r.outputTokens;
      count++;
      perRequest += means.get(inputBucket(r.inputTokens)) ?? byBucket.overallMeanOutputTokens;
    }
    const recentArrivals = [...recent.values()].reduce((a, c) => a + c.arrivals, 0);
    // the rate window's own mean output (what vLLM's histograms give demand without the gateway)
    const recentCompletions = [...recent.values()].reduce((a, c) => a + c.completions, 0);
    const windowMean =
      recentCompletions > 0
        ? [...recent.values()].reduce((a, c) => a + c.outputTokens, 0) / recentCompletions
        : byBucket.overallMeanOutputTokens;
    const forecastCount = (recentArrivals * o.interval) / o.window;
    const e = scores.error;
    e.forecastWindow += Math.abs(forecastCount * windowMean - actual);
    e.forecastMean += Math.abs(forecastCount * byBucket.overallMeanOutputTokens - actual);
    e.countWindow += Math.abs(count * windowMean - actual);
    e.forecastBucket += Math.abs(forecastCount * byBucket.expectedOutputTokens - actual);
    e.countMean += Math.abs(count * byBucket.overallMeanOutputTokens - actual);
    e.countBucket += Math.abs(count * byBucket.expectedOutputTokens - actual);
    e.requestBucket += Math.abs(perRequest - actual);
    scores.actual += actual;
    intervals++;
  }
  const wape = (x: number) => (scores.actual > 0 ? x / scores.actual : NaN);
  const gain = (mean: number, bucket: number) => (mean > 0 ? 1 - bucket / mean : NaN);
  const e = scores.error;
  return {
    intervals,
    wape: {
      forecast: {
        windowMean: wape(e.forecastWindow),
        overallMean: wape(e.forecastMean),
        byBucket: wape(e.forecastBucket),
      },
      count: {
        windowMean: wape(e.countWindow),
        overallMean: wape(e.countMean),
        byBucket: wape(e.countBucket),
      },
      perRequest: { overallMean: wape(e.countMean), byBucket: wape(e.requestBucket) },
    },
    /** share of the overall mean's error the buckets remove */
    gain: {
      forecast: gain(e.forecastMean, e.forecastBucket),
      forecastOverWindowMean: gain(e.forecastWindow, e.forecastBucket),
      count: gain(e.countMean, e.countBucket),
      countOverWindowMean: gain(e.countWindow, e.countBucket),
      perRequest: gain(e.countMean, e.requestBucket),
    },
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      interval: { type: 'string', default: '30' },
      window: { type: 'string', default: '60' },
      'stats-window': { type: 'string', default: '900' },
      json: { type: 'boolean', default: false },
    },
  });
  const o = {
    interval: Number(values.interval),
    window: Number(values.window),
    stats: Number(values['stats-window']),
  };
  for (const [k, v] of Object.entries(o))
    if (!(v > 0 && v % SLOT_SECONDS === 0))
      throw new Error(`--${k} must be a positive multiple of ${SLOT_SECONDS} s`);
  const results = [];
  for (const t of DEFAULT_TRACES) {
    const trace = amplify(await readTrace(t.path), t.rateScale);
    results.push({ trace: t.path, rateScale: t.rateScale, ...evaluateTrace(trace.requests, o) });
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ settings: o, results }, null, 2)}\n`);
    return 0;
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  process.stdout.write(
    `next ${o.interval} s interval's decode tokens, predicted at its start (rate window ${o.window} s, buckets learned over ${o.stats} s):\n` +
      `weighted absolute error, rate window's mean | overall mean -> by input bucket (share of the overall mean's error removed; of the window mean's)\n`,
  );
  for (const r of results) {
    process.stdout.write(
      `${r.trace} x${r.rateScale} (${r.intervals} intervals)\n` +
        `  forecast     ${pct(r.wape.forecast.windowMean)} | ${pct(r.wape.forecast.overallMean)} -> ${pct(r.wape.forecast.byBucket)} (${pct(r.gain.forecast)}; ${pct(r.gain.forecastOverWindowMean)})\n` +
        `  count known  ${pct(r.wape.count.windowMean)} | ${pct(r.wape.count.overallMean)} -> ${pct(r.wape.count.byBucket)} (${pct(r.gain.count)}; ${pct(r.gain.countOverWindowMean)})\n` +
        `  per request  ${pct(r.wape.perRequest.overallMean)} -> ${pct(r.wape.perRequest.byBucket)} (${pct(r.gain.perRequest)})\n`,
    );
  }
  return 0;
}

process.exitCode = await main();
