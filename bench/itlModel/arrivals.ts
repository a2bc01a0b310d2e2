/**
 * What in the day's arrivals makes a fixed fleet miss ITL more than Poisson arrivals at the same
 * rate (issue 14, branch w17i). Hours of the ServeGen day on n ready replicas of the bench's chat
 * accelerator (bench/policies/fleet-chat.yaml, L40S), the hour's own requests with their arrival
 * times rearranged:
 *   - trace: as recorded;
 *   - ties spread: requests sharing a timestamp spread uniformly over the gap to the next one;
 *   - within 5 s / 30 s: each request's time redrawn uniformly within its 5-s / 30-s bin (each
 *     bin's count kept: Poisson-like below the bin, the trace's own rate above it);
 *   - pairs shuffled: the recorded times, the token pairs shuffled over the hour (counts' bursts
 *     kept, long prompts no longer arriving together);
 *   - Poisson: times of a Poisson process at the hour's rate, pairs in order.
 * Beside each, the chunked-ITL model's miss share at the hour's rate and the mean of its shares at
 * each 30-s bin's rate, both from the hour's token mix. Shares count every request (one-token
 * answers cannot miss). Last, the index of dispersion of the hour's arrival counts over windows of
 * 0.2 to 30 s (variance / mean; 1 for Poisson arrivals).
 *
 *   node bin/run-ts.js bench/itlModel/arrivals.ts [--cases 11:3,16:3,12:4,22:6] [--seed 1]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ItlShareModel } from '../../lib/analyzer/chunkedItl.js';
import { cut, mulberry32, readTrace, type TraceRequest } from '../../lib/fleetSimulator/index.js';
import { chatFleetEngine, finelyBinned, fixedFleetRecords } from './diagnose.js';

const DAY = 'data/traces/servegen-mlarge-day6-24h.csv';

type Arrange = (requests: readonly TraceRequest[], random: () => number, duration: number) => TraceRequest[];

const sorted = (rs: TraceRequest[]) => rs.sort((a, b) => a.arrival - b.arrival);

const withinBins =
  (seconds: number): Arrange =>
  (rs, random) =>
    sorted(rs.map((r) => ({ ...r, arrival: (Math.floor(r.arrival / seconds) + random()) * seconds })));

export const ARRANGEMENTS: readonly { name: string; arrange: Arrange }[] = [
  { name: 'trace', arrange: (rs) => [...rs] },
  {
    name: 'ties spread',
    arrange: (rs, random) => {
      const out: TraceRequest[] = [];
      for (let i = 0; i < rs.length;) {
        let j = i;
        while (j < rs.length && rs[j]!.arrival === rs[i]!.arrival) j++;
        const gap = (rs[j]?.arrival ?? rs[i]!.arrival + 1) - rs[i]!.arrival;
        for (let k = i; k < j; k++)
          out.push({ ...rs[k]!, arrival: rs[i]!.arrival + (k === i ? 0 : random() * gap) });
        i = j;
      }
      return sorted(out);
    },
  },
  { name: 'within 5 s', arrange: withinBins(5) },
  { name: 'within 30 s', arrange: withinBins(30) },
  {
    name: 'pairs shuffled',
    arrange: (rs, random) => {
      const pairs = rs.map((r) => ({ inputTokens: r.inputTokens, outputTokens: r.outputTokens }));
      for (let i = pairs.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [pairs[i], pairs[j]] = [pairs[j]!, pairs[i]!];
      }
      return rs.map((r, i) => ({ ...r, ...pairs[i]! }));
    },
  },
  {
    name: 'Poisson',
    arrange: (rs, random, duration) => {
      const rate = rs.length / duration;
      let t = 0;
      return rs.map((r) => {
        t += -Math.log(1 - random()) / rate;
        return { ...r, arrival: t };
      });
    },
  },
];

/** Variance over mean of the counts in windows of `seconds` (1 for a Poisson process). */
export function dispersion(requests: readonly TraceRequest[], seconds: number, duration: number): number {
  const counts = new Array<number>(Math.ceil(duration / seconds)).fill(0);
  for (const r of requests) counts[Math.min(Math.floor(r.arrival / seconds), counts.length - 1)]!++;
  const mean = counts.reduce((a, c) => a + c, 0) / counts.length;
  const variance = counts.reduce((a, c) => a + (c - mean) ** 2, 0) / counts.length;
  return mean > 0 ? variance / mean : 1;
}

const DISPERSION_WINDOWS = [0.2, 1, 5, 30] as const;

async function main() {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string', default: '11:3,16:3,12:4,22:6' },
      accelerator: { type: 'string', default: 'L40S' },
      seed: { type: 'string', default: '1' },
    },
  });
  const accelerator = values.accelerator;
  const { ready, itlTargetMs } = chatFleetEngine(accelerator);
  const day = await readTrace(resolve(DAY));
  const hour = 3600;
  console.log(
    `the day's hours on n ready ${accelerator}, ITL misses in % of requests (sim), and the model's at the hour's rate / at each 30-s bin's rate\n` +
      `hour  n  req/s/replica  model  model(30 s) | ${ARRANGEMENTS.map((a) => a.name.padStart(14)).join(' ')} | counts' variance / mean over ${DISPERSION_WINDOWS.join(', ')} s`,
  );
  for (const c of values.cases.split(',')) {
    const [h, n] = c.split(':').map(Number) as [number, number];
    const requests = cut(day, { start: h * hour, duration: hour }).requests.map((r) => ({
      ...r,
      outputTokens: Math.max(r.outputTokens, 1),
    }));
    const model = new ItlShareModel({
      engine: { profile: ready, budget: ready.maxNumBatchedTokens ?? 2048 },
      input: finelyBinned(requests.map((r) => r.inputTokens)),
      output: finelyBinned(requests.map((r) => r.outputTokens)),
      itlTargetMs,
    });
    const rate = requests.length / hour / n;
    const bins = new Map<number, number>();
    for (const r of requests)
      bins.set(Math.floor(r.arrival / 30), (bins.get(Math.floor(r.arrival / 30)) ?? 0) + 1);
    let binned = 0;
    for (const count of bins.values()) binned += count * model.at(count / 30 / n, n).missShare;
    const shares = ARRANGEMENTS.map(({ arrange }) => {
      const arranged = arrange(requests, mulberry32(Number(values.seed) + h), hour);
      const records = fixedFleetRecords({ accelerator, replicas: n, profile: ready }, arranged, hour + 1800);
      return records.filter((r) => r.itl !== undefined && r.itl * 1000 > itlTargetMs).length / records.length;
    });
    const pct = (x: number) => (100 * x).toFixed(2);
    console.log(
      `${String(h).padStart(4)} ${String(n).padStart(2)}  ${rate.toFixed(2).padStart(13)}  ${pct(model.at(rate, n).missShare).padStart(5)}  ${pct(binned / requests.length).padStart(11)} | ${shares.map((s) => pct(s).padStart(14)).join(' ')} | ${DISPERSION_WINDOWS.map((w) => dispersion(requests, w, hour).toFixed(2)).join(' ')}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1] && resolve(process.argv[1])}`) await main();
