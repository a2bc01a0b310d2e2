/**
 * The per-request ITL model (lib/analyzer/chunkedItl.ts) against the simulator (lib/fleetSimulator),
 * at a fixed fleet: a slice of a trace served by n ready replicas of one accelerator, with no
 * autoscaling. Prints, per case, the share of requests within the ITL target and the p95 of the
 * per-request mean gap, as the simulator observed them and as the model predicts them at the
 * replica's rate, from the slice's own token distributions (the exact mix, binned finely) and
 * from the vLLM token histograms the policy sizes from (lib/policy/distribution.ts); and the rate
 * cap the model sets at 1% misses next to the rate each replica took.
 *
 *   node bin/run-ts.js bench/itlModel/diagnose.ts [--json]
 */
import { resolve } from 'node:path';
import { ItlShareModel, type TokenDistribution } from '../../lib/analyzer/chunkedItl.js';
import { maxRateForItlShare } from '../../lib/analyzer/chunkedItl.js';
import {
  amplify,
  createFleetSim,
  cut,
  mulberry32,
  oneTwoFiveBuckets,
  readTrace,
  type ReplicaProfile,
  type RequestRecord,
  type Trace,
  type TraceRequest,
} from '../../lib/fleetSimulator/index.js';
import { bucketsToDistribution } from '../../lib/policy/distribution.js';
import { loadConfig } from '../../lib/config/load.js';
import { targetsOf } from '../../lib/config/resolved.js';
import { simProfiles } from '../../lib/closedLoop/scenario.js';
import { CHAT_FLEET } from '../policies/traces.js';

interface Case {
  readonly name: string;
  readonly trace: string;
  /** amplify factor (more users, same time scale) */
  readonly scale: number;
  readonly start: number;
  readonly duration: number;
  readonly accelerator: string;
  readonly replicas: number;
  readonly profile: ReplicaProfile;
  readonly itlTargetMs: number;
  /** replace the slice's arrival times by a Poisson process at its mean rate (same token pairs) */
  readonly poisson?: boolean;
}

const H100_8B: ReplicaProfile = {
  alpha: 6.5,
  beta: 0.05,
  gamma: 8,
  delta: 0.04,
  maxBatchSize: 256,
  kvCacheTokens: 480000,
  gpusPerReplica: 1,
  loadSeconds: 0,
};
const L40S_8B: ReplicaProfile = {
  alpha: 12,
  beta: 0.15,
  gamma: 12,
  delta: 0.08,
  maxBatchSize: 96,
  kvCacheTokens: 240000,
  gpusPerReplica: 1,
  loadSeconds: 0,
};
const A10G_8B: ReplicaProfile = {
  alpha: 22,
  beta: 0.3,
  gamma: 18,
  delta: 0.15,
  maxBatchSize: 32,
  kvCacheTokens: 48000,
  gpusPerReplica: 1,
  loadSeconds: 0,
};
const H100X4_70B: ReplicaProfile = {
  alpha: 28.3,
  beta: 0.35,
  gamma: 25,
  delta: 0.06,
  maxBatchSize: 192,
  kvCacheTokens: 350000,
  gpusPerReplica: 4,
  loadSeconds: 0,
  maxNumBatchedTokens: 512,
};
const A100X4_70B: ReplicaProfile = { ...H100X4_70B, alpha: 45, beta: 0.6, gamma: 40, delta: 0.12 };

const MOONCAKE = 'data/traces/mooncake-conversation.jsonl';
const AZURE = 'data/traces/azure-llm-2023-code.csv';
const DAY = 'data/traces/servegen-mlarge-day6-24h.csv';
const chat = (budget: number | undefined, p: ReplicaProfile) =>
  budget === undefined ? p : { ...p, maxNumBatchedTokens: budget };

/** config/default.yaml: chat-8b (budget 2048, ITL 60 ms), code-70b (budget 512, ITL 100 ms); the bench's day (budget 1024). */
export const CASES: readonly Case[] = [
  ...[4, 8, 16, 24].flatMap((n) =>
    (['L40S', 'H100'] as const).map((acc) => ({
      name: `default chat-8b mooncake x1, ${n} ${acc}`,
      trace: MOONCAKE,
      scale: 1,
      start: 600,
      duration: 1200,
      accelerator: acc,
      replicas: n,
      profile: acc === 'L40S' ? L40S_8B : H100_8B,
      itlTargetMs: 60,
    })),
  ),
  ...[2, 4].flatMap((n) =>
    (['4xA100', '4xH100'] as const).map((acc) => ({
      name: `default code-70b azure x1, ${n} ${acc}`,
      trace: AZURE,
      scale: 1,
      start: 600,
      duration: 1200,
      accelerator: acc,
      replicas: n,
      profile: acc === '4xA100' ? A100X4_70B : H100X4_70B,
      itlTargetMs: 100,
    })),
  ),
  ...[
    { hour: 23, n: 4, acc: 'L40S', p: L40S_8B },
    { hour: 23, n: 6, acc: 'L40S', p: L40S_8B },
    { hour: 23, n: 10, acc: 'L40S', p: L40S_8B },
    { hour: 23, n: 14, acc: 'L40S', p: L40S_8B },
    { hour: 23, n: 4, acc: 'L40S', p: L40S_8B, poisson: true },
    { hour: 23, n: 6, acc: 'L40S', p: L40S_8B, poisson: true },
    { hour: 23, n: 10, acc: 'L40S', p: L40S_8B, poisson: true },
    { hour: 0, n: 3, acc: 'L40S', p: L40S_8B },
    { hour: 0, n: 2, acc: 'A10G', p: A10G_8B },
    { hour: 12, n: 4, acc: 'L40S', p: L40S_8B },
  ].map(({ hour, n, acc, p, poisson }) => ({
    name: `day hour ${hour}, ${n} ${acc}${poisson ? ' (Poisson)' : ''}`,
    poisson,
    trace: DAY,
    scale: 1,
    start: hour * 3600,
    duration: 3600,
    accelerator: acc,
    replicas: n,
    profile: chat(1024, p),
    itlTargetMs: 60,
  })),
];

/** Token counts binned geometrically (ratio 1.1), each bin at its mean: the mix itself, small enough to model. */
export function finelyBinned(counts: readonly number[]): TokenDistribution {
  const bins = new Map<number, { n: number; sum: number }>();
  for (const c of counts) {
    const k = Math.floor(Math.log(Math.max(c, 1)) / Math.log(1.1));
    const b = bins.get(k) ?? { n: 0, sum: 0 };
    b.n++;
    b.sum += c;
    bins.set(k, b);
  }
  const list = [...bins.values()];
  return { values: list.map((b) => b.sum / b.n), weights: list.map((b) => b.n / counts.length) };
}

/** The distribution the policy builds from vLLM's histograms (1-2-5 buckets up to maxModelLen). */
export function asHistogram(counts: readonly number[], maxModelLen: number): TokenDistribution {
  const bounds = [...oneTwoFiveBuckets(maxModelLen), Infinity];
  const hist = bounds.map(() => 0);
  for (const c of counts) hist[bounds.findIndex((b) => c <= b)]!++;
  const mean = counts.reduce((a, c) => a + c, 0) / counts.length;
  return bucketsToDistribution({ bounds, counts: hist }, mean)!;
}

export interface Observed {
  readonly attainment: number;
  readonly p95Ms: number;
  readonly completed: number;
}

/** The fixed fleet a case runs: n ready replicas of one accelerator, no autoscaling. */
/**
 * The bench's chat fleet (bench/policies/fleet-chat.yaml) on one accelerator, as the fixed-fleet
 * benchmarks run it: a replica ready at once (no image pull, no load) and the ITL target.
 */
export function chatFleetEngine(accelerator: string): { ready: ReplicaProfile; itlTargetMs: number } {
  const config = loadConfig(CHAT_FLEET);
  const variant = config.variants[0]!;
  const profile = simProfiles(config, variant, [accelerator])[accelerator];
  if (!profile) throw new Error(`${accelerator}: not an accelerator of ${CHAT_FLEET}`);
  return {
    ready: { ...profile, loadSeconds: 0, imagePullSeconds: 0 },
    itlTargetMs: targetsOf(config, variant).itlMs ?? 0,
  };
}

export interface FixedFleet {
  readonly accelerator: string;
  readonly replicas: number;
  readonly profile: ReplicaProfile;
}

/** Runs the requests on a fixed fleet until `until` (s); the records of every request. */
export function fixedFleetRecords(
  fleet: FixedFleet,
  requests: readonly TraceRequest[],
  until: number,
): readonly RequestRecord[] {
  const sim = createFleetSim({
    variants: [
      {
        name: 'v',
        model: 'm',
        accelerator: fleet.accelerator,
        profileByAccelerator: { [fleet.accelerator]: fleet.profile },
        initialReplicas: fleet.replicas,
      },
    ],
    nodeGroups: [
      {
        name: 'g',
        acceleratorType: fleet.accelerator,
        gpusPerNode: fleet.profile.gpusPerReplica,
        maxNodes: fleet.replicas,
        initialNodes: fleet.replicas,
        provisionSeconds: 0,
      },
    ],
    results: { keepRecords: true },
  });
  sim.addArrivals('v', requests);
  sim.runUntil(until);
  return sim.results().records!;
}

/** Runs the slice on n ready replicas; the ITL of every completed request with at least two tokens. */
export function simulate(c: Case, requests: readonly TraceRequest[], until: number): Observed {
  const itls = fixedFleetRecords(c, requests, until)
    .filter((r) => r.itl !== undefined)
    .map((r) => r.itl! * 1000)
    .sort((a, b) => a - b);
  const met = itls.filter((x) => x <= c.itlTargetMs).length;
  return {
    attainment: met / itls.length,
    p95Ms: itls[Math.floor(0.95 * (itls.length - 1))]!,
    completed: itls.length,
  };
}

export interface Predicted {
  readonly attainment: number;
  readonly p95Ms: number;
  /** req/s per replica at which 1% miss */
  readonly capAt1Percent: number;
}

export function predict(
  c: Case,
  input: TokenDistribution,
  output: TokenDistribution,
  ratePerReplica: number,
): Predicted {
  const engine = { profile: c.profile, budget: c.profile.maxNumBatchedTokens ?? 2048 };
  const miss = (target: number) =>
    new ItlShareModel({ engine, input, output, itlTargetMs: target }).at(ratePerReplica, c.replicas)
      .missShare;
  // the model's p95: the target at which 5% miss (the miss share falls with the target)
  let lo = 1;
  let hi = 4000;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (miss(mid) > 0.05) lo = mid;
    else hi = mid;
  }
  return {
    attainment: 1 - miss(c.itlTargetMs),
    p95Ms: hi,
    capAt1Percent: maxRateForItlShare(
      { engine, input, output, itlTargetMs: c.itlTargetMs },
      0.01,
      500,
      ratePerReplica * c.replicas,
    ),
  };
}

export async function slice(c: Case): Promise<Trace> {
  const trace = await readTrace(resolve(c.trace));
  const s = cut(c.scale === 1 ? trace : amplify(trace, c.scale), { start: c.start, duration: c.duration });
  if (!c.poisson) return s;
  const random = mulberry32(7);
  const rate = s.requests.length / c.duration;
  let t = 0;
  return {
    ...s,
    requests: s.requests.map((r) => {
      t += -Math.log(1 - random()) / rate;
      return { ...r, arrival: t };
    }),
  };
}

async function main() {
  const json = process.argv.includes('--json');
  const rows = [];
  for (const c of CASES) {
    const s = await slice(c);
    const rate = s.requests.length / c.duration / c.replicas;
    const observed = simulate(c, s.requests, c.duration + 600);
    const inputs = s.requests.map((r) => r.inputTokens);
    const outputs = s.requests.map((r) => Math.max(r.outputTokens, 1));
    const exact = predict(c, finelyBinned(inputs), finelyBinned(outputs), rate);
    const maxLen = c.profile.kvCacheTokens;
    const hist = predict(c, asHistogram(inputs, maxLen), asHistogram(outputs, maxLen), rate);
    const row = { case: c.name, ratePerReplica: rate, observed, exact, histogram: hist };
    rows.push(row);
    if (!json) {
      const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
      console.log(
        `${c.name.padEnd(40)} ${rate.toFixed(2).padStart(6)} req/s/replica | sim ${pct(observed.attainment).padStart(7)} p95 ${observed.p95Ms.toFixed(1).padStart(6)} | ` +
          `model(mix) ${pct(exact.attainment).padStart(7)} p95 ${exact.p95Ms.toFixed(1).padStart(6)} cap ${exact.capAt1Percent.toFixed(2).padStart(6)} | ` +
          `model(hist) ${pct(hist.attainment).padStart(7)} p95 ${hist.p95Ms.toFixed(1).padStart(6)} cap ${hist.capAt1Percent.toFixed(2).padStart(6)}`,
      );
    }
  }
  if (json) console.log(JSON.stringify(rows, null, 2));
}

if (import.meta.url === `file://${process.argv[1] && resolve(process.argv[1])}`) await main();
