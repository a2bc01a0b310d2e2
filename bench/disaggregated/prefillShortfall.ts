/**
 * Why sva's prefill plan asks fewer pods than Mooncake needs (bench/RESULTS.md, "Issue 15: the
 * prefill plan's shortfall"). For 6 to 11 H100 prefill pods on the trace's prompts and arrivals:
 *
 * - model: the M/G/c tail the optimizer sizes with (lib/optimizer/prefillTail.ts), Poisson
 *   arrivals at the trace's mean rate, the trace's prompts as the distribution;
 * - shared queue: the trace's arrivals replayed through one FCFS queue feeding c pods (what the
 *   model assumes), each prompt taking prefillAloneMs;
 * - per-pod queues: the same, but each arrival is sent on arrival to the pod with the fewest
 *   outstanding requests and waits there (the fleet simulator's router without a gateway), on
 *   the trace, on seeded Poisson arrivals at its rate, on its times with the prompts shuffled and
 *   on its requests spread over the 3 s after their timestamp (the trace comes in batches of about
 *   10 requests at one millisecond every 3 s);
 * to compare with the TTFT-missed share the fleet simulator reports for a fixed allocation
 * (bench/disaggregated/breakdown.ts --static P,3), which also counts the decode side and the pods'
 * start in the first minutes.
 *
 * A request misses when its wait + prefill + KV transfer alone + the decode's part exceeds the
 * target as asked. Usage: node bin/run-ts.js bench/disaggregated/prefillShortfall.ts
 */
import { readFileSync } from 'node:fs';
import { prefillTail } from '../../lib/optimizer/prefillTail.js';
import { prefillAloneMs, type RoleProfile } from '../../lib/optimizer/disaggregated.js';
import { SeededRandom } from '../../lib/fleetSimulator/random.js';

const TRACE = '../shared/data/traces/mooncake-conversation.jsonl';
const TTFT_MS = 15000;
/** config/disaggregated.yaml: the H100 prefill profile, the KV's size and link */
const H100: RoleProfile = { alpha: 0, beta: 0, gamma: 7.2, delta: 0.107, maxBatchedTokens: 512 };
const KV_MS_PER_TOKEN = (327680 / 25e9) * 1000;
const KV_LATENCY_MS = 5;
/** the decode's wait and first step: a few tens of ms on H100 (one decode step) */
const DECODE_MS = 40;

interface Arrival {
  readonly at: number;
  readonly tokens: number;
}

const trace: Arrival[] = readFileSync(TRACE, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as { timestamp: number; input_length: number })
  .map((r) => ({ at: r.timestamp, tokens: r.input_length }))
  .sort((a, b) => a.at - b.at);

const after = (tokens: number) => KV_LATENCY_MS + KV_MS_PER_TOKEN * tokens + DECODE_MS;
const service = (tokens: number) => prefillAloneMs(H100, tokens);
const misses = (at: number, start: number, tokens: number) =>
  start - at + service(tokens) + after(tokens) > TTFT_MS;

/** One FCFS queue, the earliest free pod takes the head. */
function sharedQueue(pods: number, arrivals: readonly Arrival[] = trace): number {
  const free = new Array<number>(pods).fill(0);
  let missed = 0;
  for (const a of arrivals) {
    let i = 0;
    for (let k = 1; k < pods; k++) if (free[k]! < free[i]!) i = k;
    const start = Math.max(a.at, free[i]!);
    free[i] = start + service(a.tokens);
    if (misses(a.at, start, a.tokens)) missed++;
  }
  return missed / arrivals.length;
}

/** Each arrival joins the pod with the fewest outstanding requests (first in order on a tie). */
function perPodQueues(pods: number, arrivals: readonly Arrival[] = trace): number {
  const done: number[][] = Array.from({ length: pods }, () => []);
  let missed = 0;
  for (const a of arrivals) {
    let best = 0;
    let bestCount = Infinity;
    for (let k = 0; k < pods; k++) {
      const q = done[k]!;
      while (q.length > 0 && q[0]! <= a.at) q.shift();
      if (q.length < bestCount) {
        best = k;
        bestCount = q.length;
      }
    }
    const q = done[best]!;
    const start = Math.max(a.at, q.length > 0 ? q[q.length - 1]! : 0);
    q.push(start + service(a.tokens));
    if (misses(a.at, start, a.tokens)) missed++;
  }
  return missed / arrivals.length;
}

const arrivals = trace;
const batches = new Set(trace.map((a) => a.at)).size;
const span = (arrivals[arrivals.length - 1]!.at - arrivals[0]!.at) / 1000;
const rate = arrivals.length / span;
const counts = new Map<number, number>();
for (const a of arrivals) counts.set(a.tokens, (counts.get(a.tokens) ?? 0) + 1);
const input = { values: [...counts.keys()], weights: [...counts.values()] };
const hopeless = arrivals.filter((a) => service(a.tokens) + after(a.tokens) > TTFT_MS).length;

console.log(
  `${arrivals.length} requests over ${span.toFixed(0)} s (${rate.toFixed(2)} req/s); ` +
    `${((100 * hopeless) / arrivals.length).toFixed(2)}% miss ${TTFT_MS} ms even alone; ` +
    `${batches} distinct timestamps (${(arrivals.length / batches).toFixed(1)} requests each)\n`,
);
/** Poisson arrivals at the trace's rate for 20 hours, prompts drawn from the trace's: a seeded replay. */
function poisson(): Arrival[] {
  const random = SeededRandom.stream(1, 0);
  const out: Arrival[] = [];
  let at = 0;
  while (at < 20 * 3600 * 1000) {
    at += (-Math.log(1 - random.next()) / rate) * 1000;
    out.push({ at, tokens: trace[Math.floor(random.next() * trace.length)]!.tokens });
  }
  return out;
}
const drawn = poisson();

/** The trace's arrival times with its prompts shuffled among them (seeded): sizes independent. */
function shuffled(): Arrival[] {
  const random = SeededRandom.stream(1, 1);
  const tokens = trace.map((a) => a.tokens);
  for (let i = tokens.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    [tokens[i], tokens[j]] = [tokens[j]!, tokens[i]!];
  }
  return trace.map((a, i) => ({ at: a.at, tokens: tokens[i]! }));
}
const mixed = shuffled();

/** The trace's requests spread uniformly over the 3 s after their timestamp (seeded): its
 * timestamps come in batches of about 10 at one millisecond every 3 s. */
function spreadOut(): Arrival[] {
  const random = SeededRandom.stream(1, 2);
  return trace
    .map((a) => ({ at: a.at + 3000 * random.next(), tokens: a.tokens }))
    .sort((x, y) => x.at - y.at);
}
const spread = spreadOut();

console.log(
  '| prefill pods | model (M/G/c, Poisson) | shared queue, trace | per-pod queues, trace | per-pod queues, Poisson | per-pod queues, trace times, prompts shuffled | per-pod queues, trace spread over 3 s |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (let pods = 6; pods <= 11; pods++) {
  const model = prefillTail({
    rate,
    replicas: pods,
    input,
    serviceMs: service,
    afterMs: after,
    ttftMs: TTFT_MS,
  });
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  console.log(
    `| ${pods} | ${pct(model.missShare)} | ${pct(sharedQueue(pods))} | ${pct(perPodQueues(pods))} | ${pct(perPodQueues(pods, drawn))} | ${pct(perPodQueues(pods, mixed))} | ${pct(perPodQueues(pods, spread))} |`,
  );
}
