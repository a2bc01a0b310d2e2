/**
 * The chunked-ITL model (lib/analyzer/chunkedItl.ts) calibrated against the simulator
 * (lib/fleetSimulator, the engine the bench runs), issue 14 (branch w17i): for fixed fleets of
 * 1-6 ready replicas of one accelerator of the bench's chat fleet (bench/policies/fleet-chat.yaml,
 * default L40S) and Poisson arrivals at several rates per replica, each request's token pair drawn
 * from the ServeGen day (data/traces/servegen-mlarge-day6-24h.csv), the share of requests whose
 * own mean gap misses the ITL target, observed and as the model predicts it: from the sample's
 * exact mix (binned finely) and from the vLLM histograms the policy sizes with
 * (lib/policy/distribution.ts), overall and per output-length class (1-4, 5-32, 33+ tokens; a
 * class's share counts all its requests, one-token answers included, as the model does). The
 * router is the simulator's (fewest outstanding, no gateway), as in the bench. Each case also
 * prints the rate cap the policy's search sets at 1% misses for that fleet's demand.
 *
 *   node bin/run-ts.js bench/itlModel/calibrate.ts [--accelerator L40S] [--replicas 1,2,3,4,6]
 *     [--rates 0.5,1.1,1.7,2] [--hours 6] [--seed 1] [--json]
 *
 * Misses are counted over the requests arriving in the first `hours` (the fleet drains after);
 * "±" is one binomial standard error of the simulated share.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ItlShareModel, maxRateForItlShare, type TokenDistribution } from '../../lib/analyzer/chunkedItl.js';
import { mulberry32, readTrace, type TraceRequest } from '../../lib/fleetSimulator/index.js';
import { asHistogram, chatFleetEngine, finelyBinned, fixedFleetRecords } from './diagnose.js';

const DAY = 'data/traces/servegen-mlarge-day6-24h.csv';

export const CLASSES = [
  { name: '1-4', lo: 1, hi: 4 },
  { name: '5-32', lo: 5, hi: 32 },
  { name: '33+', lo: 33, hi: Infinity },
] as const;

const classOf = (tokens: number) => CLASSES.findIndex((k) => tokens >= k.lo && tokens <= k.hi);

/** Poisson arrivals at `rate` req/s for `duration` s, each with a token pair drawn from `pool`. */
export function poissonSample(
  pool: readonly TraceRequest[],
  rate: number,
  duration: number,
  seed: number,
): TraceRequest[] {
  const random = mulberry32(seed);
  const out: TraceRequest[] = [];
  for (let t = -Math.log(1 - random()) / rate; t < duration; t += -Math.log(1 - random()) / rate) {
    const r = pool[Math.floor(random() * pool.length)]!;
    out.push({ arrival: t, inputTokens: r.inputTokens, outputTokens: Math.max(r.outputTokens, 1) });
  }
  return out;
}

export interface Shares {
  readonly all: number;
  readonly byClass: readonly number[];
}

/** The model's miss shares, overall and per class, from its per-output-length misses. */
function modelShares(
  model: ItlShareModel,
  output: TokenDistribution,
  rate: number,
  replicas: number,
): Shares {
  const { missShare, missByOutput } = model.at(rate, replicas);
  const byClass = CLASSES.map((_, k) => {
    let w = 0;
    let m = 0;
    output.values.forEach((v, i) => {
      if (classOf(Math.round(v)) !== k) return;
      w += output.weights[i]!;
      m += output.weights[i]! * missByOutput[i]!;
    });
    return w > 0 ? m / w : 0;
  });
  return { all: missShare, byClass };
}

async function main() {
  const { values } = parseArgs({
    options: {
      accelerator: { type: 'string', default: 'L40S' },
      replicas: { type: 'string', default: '1,2,3,4,6' },
      rates: { type: 'string', default: '0.5,1.1,1.7,2' },
      hours: { type: 'string', default: '6' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
  });
  const accelerator = values.accelerator;
  const { ready, itlTargetMs } = chatFleetEngine(accelerator);
  const budget = ready.maxNumBatchedTokens ?? 2048;
  const pool = (await readTrace(resolve(DAY))).requests;
  const duration = Number(values.hours) * 3600;
  const seed = Number(values.seed);
  const fleets = values.replicas.split(',').map(Number);
  const rates = values.rates.split(',').map(Number);
  const pct = (x: number) => `${(100 * x).toFixed(2)}`.padStart(6);

  if (!values.json) {
    console.log(
      `${accelerator} (budget ${budget} tokens, ITL target ${itlTargetMs} ms), Poisson arrivals for ${values.hours} h, token pairs from the day; miss shares in %\n` +
        `replicas  req/s/replica  requests |   sim ± se    mix   hist | 1-4: sim    mix | 5-32: sim    mix | 33+: sim    mix | cap@1% (hist)`,
    );
  }
  const rows = [];
  for (const replicas of fleets) {
    for (const rate of rates) {
      const requests = poissonSample(
        pool,
        rate * replicas,
        duration,
        seed + 1000 * replicas + Math.round(rate * 100),
      );
      const records = fixedFleetRecords(
        { accelerator, replicas, profile: ready },
        requests,
        duration + 1800,
      ).filter((r) => r.arrival < duration);
      const counted = records.filter((r) => r.finished !== undefined);
      const missed = (r: (typeof counted)[number]) => r.itl !== undefined && r.itl * 1000 > itlTargetMs;
      const n = counted.length;
      const simAll = counted.filter(missed).length / n;
      const simByClass = CLASSES.map((_, k) => {
        const inClass = counted.filter((r) => classOf(r.outputTokens) === k);
        return {
          share: inClass.filter(missed).length / Math.max(inClass.length, 1),
          requests: inClass.length,
        };
      });
      const inputs = requests.map((r) => r.inputTokens);
      const outputs = requests.map((r) => r.outputTokens);
      const maxLen = ready.maxModelLen ?? ready.kvCacheTokens;
      const mixOut = finelyBinned(outputs);
      const histOut = asHistogram(outputs, maxLen);
      const mix = {
        engine: { profile: ready, budget },
        input: finelyBinned(inputs),
        output: mixOut,
        itlTargetMs,
      };
      const hist = {
        engine: { profile: ready, budget },
        input: asHistogram(inputs, maxLen),
        output: histOut,
        itlTargetMs,
      };
      const fromMix = modelShares(new ItlShareModel(mix), mixOut, rate, replicas);
      const fromHist = modelShares(new ItlShareModel(hist), histOut, rate, replicas);
      const cap = maxRateForItlShare(hist, 0.01, 50, rate * replicas);
      const row = {
        replicas,
        ratePerReplica: rate,
        requests: n,
        unfinished: records.length - n,
        simulated: { all: simAll, byClass: simByClass },
        model: { mix: fromMix, histogram: fromHist },
        capAt1Percent: cap,
      };
      rows.push(row);
      if (!values.json) {
        const se = Math.sqrt((simAll * (1 - simAll)) / n);
        const cls = simByClass
          .map((c, k) => `${pct(c.share)} ${pct(fromMix.byClass[k]!)}`)
          .map((s, k) => (k === 0 ? `  ${s}` : k === 1 ? `   ${s}` : `  ${s}`))
          .join(' |');
        console.log(
          `${String(replicas).padStart(8)}  ${rate.toFixed(2).padStart(13)}  ${String(n).padStart(8)} | ${pct(simAll)} ±${(100 * se).toFixed(2)} ${pct(fromMix.all)} ${pct(fromHist.all)} |${cls} | ${cap.toFixed(2).padStart(6)}`,
        );
      }
    }
  }
  if (values.json) console.log(JSON.stringify(rows, null, 2));
}

if (import.meta.url === `file://${process.argv[1] && resolve(process.argv[1])}`) await main();
