/**
 * Where a variant's TTFT misses on `npm start`'s scenario come from (issue 14, branch w19w): runs
 * the config (default config/default.yaml with gateway events, as `npm start`) keeping every
 * request, and files each request of the variant (default chat-8b) that arrived in the measured
 * span and missed the TTFT target (or never got a first token) under the first class that fits:
 *   - inherent: its own prefill alone on an idle engine of its accelerator (the simulator's step
 *     model: ceil(I / budget) * gamma + delta * I) is over the target;
 *   - other accelerator: served by an accelerator other than --accelerator (default L40S);
 *   - no ready replica: it waited at the gateway more than 1 s for a ready replica;
 *   - behind a long prompt: while it waited for admission or prefilled, other prompts of at
 *     least --long tokens prefilled on its replica, and their prefill work there (delta * tokens)
 *     is at least half its wait beyond its own prefill;
 *   - batch/KV full: at its dispatch its replica ran maxBatchSize requests, or their KV (prompt
 *     plus tokens generated so far) filled at least 90% of the cache;
 *   - other.
 * Whether fewer replicas were ready than the policy asked for at the control step of its arrival
 * is counted beside (column "short"): on default.yaml the 16-node L40S group caps chat-8b's L40S
 * replicas while the ask goes to 16-23, so that holds nearly always and explains nothing alone.
 * The head-of-line term: each prompt P of the measured span blocks admission on its replica for
 * its own prefill; a request arriving then is late when the rest of that prefill plus its own is
 * over the target. Expected such misses = sum over P of (arrivals per ready replica per second at
 * P's arrival) * mean over the span's requests v of max(0, prefill(P) - (target - prefill(v))),
 * counting only v that are not inherent. It is printed beside the observed count.
 * For each class it prints counts and shares, the wait split (gateway, admission, prefill), and
 * the 15-s arrival step at the arrival beside the burst replay's busiest step (decision record's
 * inputs.bursts.peakRate of the last evaluation before) and the replica's own share of that step.
 *
 *   node bin/run-ts.js bench/itlModel/ttftLate.ts [--config FILE] [--variant NAME]
 *        [--accelerator L40S] [--long 20000] [--json]
 *
 * --accelerator is a type as the simulator names replicas' accelerators (H100, not 4xH100).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../lib/config/load.js';
import { buildScenario, simProfiles } from '../../lib/closedLoop/scenario.js';
import type { ReplicaProfile, RequestRecord } from '../../lib/fleetSimulator/index.js';
import { stepTokenBudget } from '../../lib/fleetSimulator/replica.js';
import { runRecordingSva } from '../policies/excessByHour.js';

const STEP_SECONDS = 15;
const CLASSES = [
  'inherent',
  'other accelerator',
  'no ready replica',
  'behind a long prompt',
  'batch/KV full',
  'other',
] as const;
type LateClass = (typeof CLASSES)[number];

/** Own prefill alone on an idle engine (ms), as the simulator's steps take it. */
function ownPrefillMs(profile: ReplicaProfile, inputTokens: number): number {
  const budget = stepTokenBudget(profile);
  return Math.ceil(inputTokens / budget) * profile.gamma + profile.delta * inputTokens;
}

const quantile = (xs: readonly number[], q: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', default: 'config/default.yaml' },
      variant: { type: 'string', default: 'chat-8b' },
      accelerator: { type: 'string', default: 'L40S' },
      long: { type: 'string', default: '20000' },
      json: { type: 'boolean', default: false },
    },
  });
  const configPath = resolve(values.config!);
  const config = loadConfig(configPath);
  const variant = config.variants.find((v) => v.name === values.variant);
  if (!variant) throw new Error(`--variant: no variant ${values.variant} in ${configPath}`);
  const longTokens = Number(values.long);
  const scenario = await buildScenario(config, { configPath });
  const { run, sim, decisions } = await runRecordingSva(config, scenario, {
    gatewayEvents: true,
    keepRecords: true,
  });
  const from = scenario.measuredFrom;
  const end = scenario.durationSeconds;
  const ttftMs = run.targets[variant.name]!.ttftMs;
  const profiles = simProfiles(config, variant);
  const all = sim.results().records!.filter((r) => r.variant === variant.name);
  const measured = all.filter((r) => r.arrival >= from && r.arrival < end);
  const late = (r: RequestRecord) => r.ttft === undefined || r.ttft * 1000 > ttftMs;

  // Control steps: what the policy asked for, what was ready, and the replay's busiest step.
  const steps = [...decisions.keys()].sort((a, b) => a - b);
  const timelineAt = new Map(run.timeline.map((p) => [p.t + from, p.variants[variant.name]!]));
  const stepBefore = (t: number) => {
    let lo = 0;
    let hi = steps.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (steps[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? steps[lo - 1]! : undefined;
  };
  const decisionAt = (t: number) => decisions.get(t)?.find((d) => d.variant === variant.name);
  const starting = (t: number | undefined) => {
    if (t === undefined) return true;
    const d = decisionAt(t);
    const p = timelineAt.get(t);
    if (!d || !p) return false;
    const asked = d.deployments.reduce((a, x) => a + x.replicas, 0) + (d.spill?.replicas ?? 0);
    const ready = Object.values(p.ready).reduce((a, n) => a + n, 0);
    return ready < asked;
  };

  // 15-s arrival steps, fleet-wide and per replica (every request of the variant, warm-up too).
  const fleetStep = new Map<number, number>();
  const replicaStep = new Map<string, number>();
  for (const r of all) {
    const k = Math.floor(r.arrival / STEP_SECONDS);
    fleetStep.set(k, (fleetStep.get(k) ?? 0) + 1);
    if (r.replica) replicaStep.set(`${r.replica} ${k}`, (replicaStep.get(`${r.replica} ${k}`) ?? 0) + 1);
  }
  const byReplica = new Map<string, RequestRecord[]>();
  for (const r of all) {
    if (!r.replica || r.scheduled === undefined) continue;
    if (!byReplica.has(r.replica)) byReplica.set(r.replica, []);
    byReplica.get(r.replica)!.push(r);
  }

  interface Row {
    readonly cls: LateClass;
    readonly r: RequestRecord;
    readonly ownMs: number;
    readonly gatewayS: number;
    readonly admissionS: number;
    readonly prefillS: number;
    readonly longAheadMs: number;
    readonly running: number;
    readonly kvShare: number;
    readonly starting: boolean;
    readonly stepRate: number;
    readonly replayPeak: number | undefined;
    readonly replayPerReplica: number | undefined;
    readonly readyThen: number | undefined;
    readonly replicaStepRate: number;
  }
  const rows: Row[] = [];
  for (const r of measured.filter(late)) {
    const acc = r.accelerator;
    const profile = acc ? profiles[acc] : undefined;
    const ownMs = profile ? ownPrefillMs(profile, r.inputTokens) : NaN;
    const gatewayS = (r.dispatched ?? r.arrival) - r.arrival;
    const admissionS = r.scheduled !== undefined ? r.scheduled - (r.dispatched ?? r.arrival) : NaN;
    const prefillS =
      r.firstToken !== undefined && r.scheduled !== undefined ? r.firstToken - r.scheduled : NaN;
    const t0 = r.dispatched ?? r.arrival;
    const t1 = r.firstToken ?? end;
    // others on the replica: long prompts whose prefill overlapped this one's wait and prefill
    let longAheadMs = 0;
    let running = 0;
    let kv = 0;
    for (const o of r.replica ? (byReplica.get(r.replica) ?? []) : []) {
      if (o === r) continue;
      const oFirst = o.firstToken ?? end;
      if (o.inputTokens >= longTokens && o.scheduled! < t1 && oFirst > t0 && profile) {
        // the part of its prefill inside [t0, t1], prorated by time
        const span = Math.max(oFirst - o.scheduled!, 1e-9);
        const overlap = Math.min(oFirst, t1) - Math.max(o.scheduled!, t0);
        longAheadMs += (profile.delta * o.inputTokens * Math.max(overlap, 0)) / span;
      }
      const oEnd = o.finished ?? end;
      if (o.scheduled! <= t0 && oEnd > t0) {
        running++;
        const generated =
          o.firstToken !== undefined && o.firstToken <= t0 ? 1 + (t0 - o.firstToken) / 0.03 : 0;
        kv += o.inputTokens + Math.min(generated, o.outputTokens);
      }
    }
    const kvShare = profile ? kv / profile.kvCacheTokens : NaN;
    const st = stepBefore(r.arrival);
    const d = st !== undefined ? decisionAt(st) : undefined;
    const bursts = d?.inputs?.bursts;
    const p = st !== undefined ? timelineAt.get(st) : undefined;
    const readyThen = p ? Object.values(p.ready).reduce((a, n) => a + n, 0) : undefined;
    const k = Math.floor(r.arrival / STEP_SECONDS);
    const isStarting = starting(st);
    const waitBeyondOwnMs = (r.ttft ?? t1 - r.arrival) * 1000 - ownMs;
    let cls: LateClass;
    if (ownMs > ttftMs) cls = 'inherent';
    else if (acc !== values.accelerator) cls = 'other accelerator';
    else if (gatewayS > 1) cls = 'no ready replica';
    else if (longAheadMs >= 0.5 * waitBeyondOwnMs) cls = 'behind a long prompt';
    else if (profile && (running >= profile.maxBatchSize || kvShare >= 0.9)) cls = 'batch/KV full';
    else cls = 'other';
    rows.push({
      cls,
      r,
      ownMs,
      gatewayS,
      admissionS,
      prefillS,
      longAheadMs,
      running,
      kvShare,
      starting: isStarting,
      stepRate: (fleetStep.get(k) ?? 0) / STEP_SECONDS,
      replayPeak: bursts?.peakRate,
      replayPerReplica: bursts?.perReplicaRate,
      readyThen,
      replicaStepRate: r.replica ? (replicaStep.get(`${r.replica} ${k}`) ?? 0) / STEP_SECONDS : NaN,
    });
  }

  const summary = CLASSES.map((cls) => {
    const rs = rows.filter((x) => x.cls === cls);
    const med = (f: (x: Row) => number) => quantile(rs.map(f).filter(Number.isFinite), 0.5);
    const ratios = rs.filter((x) => x.replayPeak).map((x) => x.stepRate / x.replayPeak!);
    return {
      cls,
      count: rs.length,
      shareOfLate: rs.length / Math.max(rows.length, 1),
      shareOfRequests: rs.length / Math.max(measured.length, 1),
      medianInputTokens: med((x) => x.r.inputTokens),
      medianOwnPrefillS: med((x) => x.ownMs / 1000),
      medianTtftS: med((x) => x.r.ttft ?? NaN),
      medianGatewayS: med((x) => x.gatewayS),
      medianAdmissionS: med((x) => x.admissionS),
      medianPrefillS: med((x) => x.prefillS),
      medianLongAheadS: med((x) => x.longAheadMs / 1000),
      medianRunning: med((x) => x.running),
      medianKvShare: med((x) => x.kvShare),
      whileStarting: rs.filter((x) => x.starting).length,
      medianStepRate: med((x) => x.stepRate),
      medianReplayPeak: med((x) => x.replayPeak ?? NaN),
      stepOverReplayPeak: {
        median: quantile(ratios, 0.5),
        p90: quantile(ratios, 0.9),
        max: quantile(ratios, 1),
      },
      medianReplicaStepRate: med((x) => x.replicaStepRate),
      medianReplayPerReplica: med((x) => x.replayPerReplica ?? NaN),
      medianReadyThen: med((x) => x.readyThen ?? NaN),
      byAccelerator: Object.fromEntries(
        [...new Set(rs.map((x) => x.r.accelerator ?? '-'))].map((a) => [
          a,
          rs.filter((x) => (x.r.accelerator ?? '-') === a).length,
        ]),
      ),
    };
  });
  // the busiest 15-s steps overall, for comparison with those at the misses
  const measuredSteps = [...fleetStep].filter(([k]) => k * STEP_SECONDS >= from && k * STEP_SECONDS < end);
  const stepRates = measuredSteps.map(([, n]) => n / STEP_SECONDS);
  const peaks = steps
    .filter((t) => t >= from)
    .map((t) => decisionAt(t)?.inputs?.bursts?.peakRate)
    .filter((x): x is number => x !== undefined);
  // The head-of-line term (see the header), over the prompts served on --accelerator.
  const main = profiles[values.accelerator!];
  let headOfLine = 0;
  if (main) {
    const slacks = measured
      .map((x) => ttftMs - ownPrefillMs(main, x.inputTokens))
      .filter((x) => x >= 0)
      .sort((a, b) => a - b);
    const suffix = [0];
    for (let i = slacks.length - 1; i >= 0; i--) suffix.unshift(suffix[0]! + slacks[i]!);
    for (const r of measured.filter((x) => x.accelerator === values.accelerator)) {
      const pMs = ownPrefillMs(main, r.inputTokens);
      // mean over v of max(0, pMs - slack_v): the slacks below pMs
      let lo = 0;
      let hi = slacks.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (slacks[mid]! < pMs) lo = mid + 1;
        else hi = mid;
      }
      const below = lo;
      const sumBelow = suffix[0]! - suffix[below]!;
      const meanExcessS = (below * pMs - sumBelow) / measured.length / 1000;
      const st = stepBefore(r.arrival);
      const p = st !== undefined ? timelineAt.get(st) : undefined;
      const ready = p?.ready[values.accelerator!] ?? 0;
      const k = Math.floor(r.arrival / STEP_SECONDS);
      if (ready > 0) headOfLine += (((fleetStep.get(k) ?? 0) / STEP_SECONDS) * meanExcessS) / ready;
    }
  }
  const v = run.summary.variants.find((x) => x.name === variant.name);
  const out = {
    config: values.config,
    variant: variant.name,
    ttftTargetMs: ttftMs,
    ttftAttainment: v?.ttftAttainment,
    requests: measured.length,
    ttftLate: rows.length,
    lateShare: rows.length / Math.max(measured.length, 1),
    servedBy: Object.fromEntries(
      [...new Set(measured.map((r) => r.accelerator ?? '-'))].map((a) => [
        a,
        measured.filter((r) => (r.accelerator ?? '-') === a).length,
      ]),
    ),
    stepRates: {
      median: quantile(stepRates, 0.5),
      p99: quantile(stepRates, 0.99),
      max: quantile(stepRates, 1),
    },
    replayPeakRates: { min: quantile(peaks, 0), median: quantile(peaks, 0.5), max: quantile(peaks, 1) },
    classes: summary,
    headOfLine: {
      predicted: headOfLine,
      observed: rows.filter((x) => x.cls === 'behind a long prompt').length,
      prefillLimitTokens: main ? Math.floor(ttftMs / (main.delta + main.gamma / stepTokenBudget(main))) : NaN,
      profile: main ? { gamma: main.gamma, delta: main.delta, budget: stepTokenBudget(main) } : undefined,
    },
    late: values.json
      ? rows.map((x) => ({
          cls: x.cls,
          arrival: x.r.arrival - from,
          replica: x.r.replica,
          accelerator: x.r.accelerator,
          inputTokens: x.r.inputTokens,
          ttft: x.r.ttft,
          ownPrefillS: x.ownMs / 1000,
          gatewayS: x.gatewayS,
          admissionS: x.admissionS,
          prefillS: x.prefillS,
          longAheadS: x.longAheadMs / 1000,
          running: x.running,
          kvShare: x.kvShare,
          stepRate: x.stepRate,
          replayPeak: x.replayPeak,
          replicaStepRate: x.replicaStepRate,
          replayPerReplica: x.replayPerReplica,
          readyThen: x.readyThen,
        }))
      : undefined,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const lines = [
    `${variant.name} on ${values.config}: ${measured.length} requests, ${rows.length} TTFT-late (${pct(out.lateShare)}; summary TTFT attainment ${pct(v?.ttftAttainment ?? NaN)}), target ${ttftMs} ms; served by ${JSON.stringify(out.servedBy)}`,
    `15-s arrival steps (req/s): median ${f(out.stepRates.median, 2)}, p99 ${f(out.stepRates.p99, 2)}, max ${f(out.stepRates.max, 2)}; the replay's busiest step over evaluations: min ${f(out.replayPeakRates.min, 2)}, median ${f(out.replayPeakRates.median, 2)}, max ${f(out.replayPeakRates.max, 2)}`,
    'class                  late  of late  of all   in tok  own s  TTFT s  gw s  adm s  pf s  long s  run  KV   short  step/s  replay  step/replay med/p90/max  repl/s  replay/repl  ready  accelerators',
    ...summary.map(
      (s) =>
        `${s.cls.padEnd(21)} ${String(s.count).padStart(5)}  ${pct(s.shareOfLate).padStart(7)} ${pct(s.shareOfRequests).padStart(6)}  ${f(s.medianInputTokens, 0).padStart(6)} ${f(s.medianOwnPrefillS).padStart(6)} ${f(s.medianTtftS).padStart(6)} ${f(s.medianGatewayS).padStart(5)} ${f(s.medianAdmissionS).padStart(6)} ${f(s.medianPrefillS).padStart(5)} ${f(s.medianLongAheadS).padStart(6)} ${f(s.medianRunning, 0).padStart(4)} ${f(s.medianKvShare, 2).padStart(4)} ${String(s.whileStarting).padStart(6)} ${f(s.medianStepRate, 2).padStart(7)} ${f(s.medianReplayPeak, 2).padStart(7)}  ${f(s.stepOverReplayPeak.median, 2)}/${f(s.stepOverReplayPeak.p90, 2)}/${f(s.stepOverReplayPeak.max, 2)}`.padEnd(
          170,
        ) +
        ` ${f(s.medianReplicaStepRate, 2).padStart(6)} ${f(s.medianReplayPerReplica, 2).padStart(12)} ${f(s.medianReadyThen, 0).padStart(6)}  ${JSON.stringify(s.byAccelerator)}`,
    ),
    `head-of-line term: ${f(headOfLine, 1)} misses expected behind others' prefill on ${values.accelerator} (observed ${out.headOfLine.observed}); own prefill over the target above ${out.headOfLine.prefillLimitTokens} tokens (gamma ${main?.gamma} ms per ${main ? stepTokenBudget(main) : '-'}-token chunk, delta ${main?.delta} ms a token)`,
    "(medians; gw = arrival to dispatch, adm = dispatch to admission, pf = admission to first token, long = other long prompts' prefill work on the replica during its wait, run/KV = its replica at its dispatch, short = how many arrived while fewer replicas were ready than asked)",
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main(process.argv.slice(2));
