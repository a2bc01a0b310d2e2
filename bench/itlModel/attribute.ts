/**
 * Where sva's ITL misses on a trace come from (issue 14, branch w17i): runs sva on the suite's
 * trace as `npm run bench` does (default the ServeGen day on bench/policies/fleet-chat.yaml),
 * keeping every request, and files each request that missed the ITL target by the fleet's state
 * at the control step before its first token:
 *   - starting: replicas the policy asked for were still starting (pending a node or loading),
 *     so the fleet served with fewer than asked: the lead time;
 *   - at the ask: every replica asked for was ready. Split further by whether the policy raised
 *     its ask within the next `--raised` seconds (the ask lagged a rise the metrics had not shown
 *     yet: the estimate's lag) or not (steady).
 * For the steps at the ask on one accelerator, the chunked-ITL model (lib/analyzer/chunkedItl.ts)
 * predicts the misses of the step's own arrivals at the step's own rate per ready replica, the
 * hour's token mix, Poisson arrivals: the predicted count beside the observed one says whether the
 * model is optimistic where the fleet was what it asked for. Counts are over the measured span
 * (after the warm-up), by arrival.
 *
 *   node bin/run-ts.js bench/itlModel/attribute.ts [--trace FILE] [--raised 600] [--json]
 */
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ItlShareModel } from '../../lib/analyzer/chunkedItl.js';
import { loadConfig } from '../../lib/config/load.js';
import type { TimelinePoint } from '../../lib/closedLoop/closedLoop.js';
import { buildScenario, simProfiles } from '../../lib/closedLoop/scenario.js';
import type { RequestRecord } from '../../lib/fleetSimulator/index.js';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';
import { runRecordingSva } from '../policies/excessByHour.js';
import { CHAT_FLEET, DEFAULT_TRACES } from '../policies/traces.js';
import { finelyBinned } from './diagnose.js';
import { CLASSES } from './calibrate.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The fleet at one control step (absolute time t): what the policy asked for and what served. */
interface StepState {
  readonly t: number;
  readonly asked: number;
  readonly created: number;
  readonly ready: Readonly<Record<string, number>>;
  readonly readyTotal: number;
}

type Cause = 'starting' | 'at ask, raised after' | 'at ask, steady' | 'above ask';
const CAUSES: readonly Cause[] = ['starting', 'at ask, raised after', 'at ask, steady', 'above ask'];

function stepStates(
  timeline: readonly TimelinePoint[],
  decisions: ReadonlyMap<number, readonly DecisionRecord[]>,
  from: number,
  variant: string,
): StepState[] {
  return timeline.map((p) => {
    const v = p.variants[variant]!;
    const d = decisions.get(p.t + from)?.find((x) => x.variant === variant);
    const created = Object.values(v.desired).reduce((a, n) => a + n, 0);
    const asked = d ? d.deployments.reduce((a, x) => a + x.replicas, 0) + (d.spill?.replicas ?? 0) : created;
    return {
      t: p.t + from,
      asked,
      created,
      ready: v.ready,
      readyTotal: Object.values(v.ready).reduce((a, n) => a + n, 0),
    };
  });
}

/** Index of the last step at or before t (-1 before the first). */
function stepAt(states: readonly StepState[], t: number): number {
  let lo = 0;
  let hi = states.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (states[mid]!.t <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function causeAt(states: readonly StepState[], i: number, raisedSeconds: number): Cause {
  const s = states[i]!;
  if (s.readyTotal < Math.min(s.asked, s.created) || s.created < s.asked) return 'starting';
  if (s.readyTotal > s.asked) return 'above ask';
  for (let j = i + 1; j < states.length && states[j]!.t <= s.t + raisedSeconds; j++) {
    if (states[j]!.asked > s.asked) return 'at ask, raised after';
  }
  return 'at ask, steady';
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      trace: { type: 'string' },
      raised: { type: 'string', default: '600' },
      json: { type: 'boolean', default: false },
    },
  });
  const given = values.trace ?? DEFAULT_TRACES[2]!.path;
  const known = DEFAULT_TRACES.find((t) => basename(t.path) === basename(given));
  const fleet = known?.fleet ?? CHAT_FLEET;
  const config = loadConfig(fleet);
  const scenario = await buildScenario(config, {
    configPath: fleet,
    traceFiles: [resolve(REPO_ROOT, given)],
    rateScale: known?.rateScale ?? 1,
  });
  const { run, sim, decisions } = await runRecordingSva(config, scenario, { keepRecords: true });
  const variant = config.variants[0]!;
  const from = scenario.measuredFrom;
  const end = scenario.durationSeconds;
  const itlMs = run.targets[variant.name]!.itlMs;
  const states = stepStates(run.timeline, decisions, from, variant.name);
  const raisedSeconds = Number(values.raised);
  const records = sim
    .results()
    .records!.filter((r) => r.variant === variant.name && r.arrival >= from && r.arrival < end);
  const missed = (r: RequestRecord) => r.itl !== undefined && r.itl * 1000 > itlMs;

  // misses by cause, by the ready replicas then, by output class
  const byCause = new Map<Cause, number>(CAUSES.map((c) => [c, 0]));
  const byReady = new Map<number, Map<Cause, number>>();
  const byClass = CLASSES.map(() => new Map<Cause, number>(CAUSES.map((c) => [c, 0])));
  const requestsByCause = new Map<Cause, number>(CAUSES.map((c) => [c, 0]));
  const stepOf = new Map<RequestRecord, number>();
  for (const r of records) {
    const i = stepAt(states, r.firstToken ?? r.arrival);
    if (i < 0) continue;
    stepOf.set(r, i);
    const cause = causeAt(states, i, raisedSeconds);
    requestsByCause.set(cause, requestsByCause.get(cause)! + 1);
    if (!missed(r)) continue;
    byCause.set(cause, byCause.get(cause)! + 1);
    const n = states[i]!.readyTotal;
    if (!byReady.has(n)) byReady.set(n, new Map(CAUSES.map((c) => [c, 0])));
    byReady.get(n)!.set(cause, byReady.get(n)!.get(cause)! + 1);
    const k = CLASSES.findIndex((c) => r.outputTokens >= c.lo && r.outputTokens <= c.hi);
    byClass[k]!.set(cause, byClass[k]!.get(cause)! + 1);
  }

  // The model at the ask: each step's arrivals at its own rate per ready replica, the hour's mix.
  const profiles = simProfiles(config, variant);
  const hourModels = new Map<string, ItlShareModel>();
  const modelFor = (hour: number, accelerator: string) => {
    const key = `${hour} ${accelerator}`;
    let m = hourModels.get(key);
    if (!m) {
      const inHour = records.filter((r) => Math.floor((r.arrival - from) / 3600) === hour);
      const profile = profiles[accelerator]!;
      m = new ItlShareModel({
        engine: { profile, budget: profile.maxNumBatchedTokens ?? 2048 },
        input: finelyBinned(inHour.map((r) => r.inputTokens)),
        output: finelyBinned(inHour.map((r) => Math.max(r.outputTokens, 1))),
        itlTargetMs: itlMs,
      });
      hourModels.set(key, m);
    }
    return m;
  };
  const arrivalsByStep = new Map<number, RequestRecord[]>();
  for (const r of records) {
    const i = stepAt(states, r.arrival);
    if (i < 0) continue;
    if (!arrivalsByStep.has(i)) arrivalsByStep.set(i, []);
    arrivalsByStep.get(i)!.push(r);
  }
  // While replicas start: the model's misses with the ready replicas and as if the asked ones were
  // ready (same arrivals); the difference is what the lag costs by the model's account.
  const lag = { requests: 0, observed: 0, predictedReady: 0, predictedAsked: 0 };
  for (const [i, arrived] of arrivalsByStep) {
    const s = states[i]!;
    if (causeAt(states, i, raisedSeconds) !== 'starting') continue;
    const accs = Object.entries(s.ready).filter(([, n]) => n > 0);
    if (accs.length !== 1) continue;
    const [accelerator, ready] = accs[0]!;
    const asked = Math.max(s.asked, ready);
    const seconds = (states[i + 1]?.t ?? s.t + 30) - s.t;
    const model = modelFor(Math.floor((s.t - from) / 3600), accelerator);
    lag.requests += arrived.length;
    lag.observed += arrived.filter(missed).length;
    lag.predictedReady += arrived.length * model.at(arrived.length / seconds / ready, ready).missShare;
    lag.predictedAsked += arrived.length * model.at(arrived.length / seconds / asked, asked).missShare;
  }

  let predicted = 0;
  let observedAtAsk = 0;
  let requestsAtAsk = 0;
  let mixedSteps = 0;
  const atAskByReady = new Map<number, { requests: number; observed: number; predicted: number }>();
  for (const [i, arrived] of arrivalsByStep) {
    const s = states[i]!;
    if (!causeAt(states, i, raisedSeconds).startsWith('at ask')) continue;
    const accs = Object.entries(s.ready).filter(([, n]) => n > 0);
    if (accs.length !== 1) {
      mixedSteps++;
      continue;
    }
    const [accelerator, ready] = accs[0]!;
    const next = states[i + 1]?.t ?? s.t + 30;
    const rate = arrived.length / (next - s.t) / ready;
    const hour = Math.floor((s.t - from) / 3600);
    const share = modelFor(hour, accelerator).at(rate, ready).missShare;
    const seen = arrived.filter(missed).length;
    predicted += share * arrived.length;
    observedAtAsk += seen;
    requestsAtAsk += arrived.length;
    const row = atAskByReady.get(ready) ?? { requests: 0, observed: 0, predicted: 0 };
    atAskByReady.set(ready, {
      requests: row.requests + arrived.length,
      observed: row.observed + seen,
      predicted: row.predicted + share * arrived.length,
    });
  }

  // hour by hour: requests, misses, and the mean ready replicas over the hour's steps
  const hours = new Map<
    number,
    { requests: number; misses: number; readySum: number; steps: number; byAcc: Map<string, number> }
  >();
  const hourRow = (h: number) => {
    if (!hours.has(h)) hours.set(h, { requests: 0, misses: 0, readySum: 0, steps: 0, byAcc: new Map() });
    return hours.get(h)!;
  };
  for (const r of records) {
    const row = hourRow(Math.floor((r.arrival - from) / 3600));
    row.requests++;
    if (missed(r)) row.misses++;
  }
  for (const st of states) {
    if (st.t - from >= end - from) continue;
    const row = hourRow(Math.floor((st.t - from - 1e-9) / 3600));
    row.readySum += st.readyTotal;
    row.steps++;
    for (const [acc, n] of Object.entries(st.ready)) row.byAcc.set(acc, (row.byAcc.get(acc) ?? 0) + n);
  }
  const byHour = [...hours]
    .sort(([a], [b]) => a - b)
    .map(([hour, r]) => ({
      hour,
      requests: r.requests,
      misses: r.misses,
      meanReady: r.readySum / Math.max(r.steps, 1),
      meanReadyBy: Object.fromEntries(
        [...r.byAcc].filter(([, n]) => n > 0).map(([acc, n]) => [acc, n / Math.max(r.steps, 1)]),
      ),
    }));

  const total = records.length;
  const misses = [...byCause.values()].reduce((a, n) => a + n, 0);
  const out = {
    trace: given,
    attainment: run.summary.sloAttainment,
    itlAttainment: run.summary.itlAttainment,
    cost: run.summary.cost,
    requests: total,
    itlMisses: misses,
    byCause: Object.fromEntries(byCause),
    requestsByCause: Object.fromEntries(requestsByCause),
    byReady: Object.fromEntries(
      [...byReady].sort(([a], [b]) => a - b).map(([n, m]) => [n, Object.fromEntries(m)]),
    ),
    byClass: Object.fromEntries(CLASSES.map((c, k) => [c.name, Object.fromEntries(byClass[k]!)])),
    atAsk: { requests: requestsAtAsk, observed: observedAtAsk, predicted, mixedSteps },
    whileStarting: lag,
    atAskByReady: Object.fromEntries([...atAskByReady].sort(([a], [b]) => a - b)),
    byHour,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const pct = (a: number, b: number) => `${((100 * a) / Math.max(b, 1)).toFixed(2)}%`;
  const lines = [
    `${given}: sva ${(100 * run.summary.sloAttainment).toFixed(2)}% (ITL ${(100 * run.summary.itlAttainment).toFixed(2)}%) $${run.summary.cost.toFixed(2)}; ${total} requests, ${misses} ITL misses (${pct(misses, total)})`,
    `cause (state at the step before the first token; raised = the ask rose within ${raisedSeconds} s)`,
    ...CAUSES.map(
      (c) =>
        `  ${c.padEnd(22)} ${String(byCause.get(c)).padStart(6)} misses (${pct(byCause.get(c)!, misses).padStart(7)} of them) of ${String(requestsByCause.get(c)).padStart(7)} requests (${pct(byCause.get(c)!, requestsByCause.get(c)!)} missed)`,
    ),
    'misses by the ready replicas then: ' + CAUSES.join(' / '),
    ...[...byReady]
      .sort(([a], [b]) => a - b)
      .map(
        ([n, m]) =>
          `  ${String(n).padStart(3)} ready: ${CAUSES.map((c) => String(m.get(c)).padStart(5)).join(' ')}`,
      ),
    'misses by output tokens: ' + CAUSES.join(' / '),
    ...CLASSES.map(
      (c, k) =>
        `  ${c.name.padEnd(5)} ${CAUSES.map((x) => String(byClass[k]!.get(x)).padStart(5)).join(' ')}`,
    ),
    `at the ask, one accelerator (${mixedSteps} steps on two skipped): ${observedAtAsk} misses of ${requestsAtAsk} requests observed, ${predicted.toFixed(0)} predicted by the model at each step's rate (Poisson, the hour's mix)`,
    ...[...atAskByReady]
      .sort(([a], [b]) => a - b)
      .map(
        ([n, r]) =>
          `  ${String(n).padStart(3)} ready: ${String(r.requests).padStart(7)} requests, observed ${pct(r.observed, r.requests).padStart(7)}, predicted ${pct(r.predicted, r.requests).padStart(7)}`,
      ),
    `while replicas started (one accelerator, by arrival): ${lag.observed} misses of ${lag.requests} requests observed; the model predicts ${lag.predictedReady.toFixed(0)} with the ready replicas, ${lag.predictedAsked.toFixed(0)} had the asked ones been ready`,
    'hour  requests  ITL misses  mean ready',
    ...byHour.map(
      (h) =>
        `  ${String(h.hour).padStart(2)}  ${String(h.requests).padStart(8)}  ${String(h.misses).padStart(5)} ${pct(h.misses, h.requests).padStart(6)}  ${h.meanReady.toFixed(1).padStart(5)}  ${Object.entries(
          h.meanReadyBy,
        )
          .map(([acc, n]) => `${acc} ${n.toFixed(1)}`)
          .join(', ')}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main(process.argv.slice(2));
