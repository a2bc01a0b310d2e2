/**
 * A held-out workload's run, step by step every few minutes: what arrived, what sva recommended,
 * what its window kept and what was ready, against the oracle's fleet, with the latencies sva's
 * requests saw (the diagnosis of bench/RESULTS.md, "Held-out workloads").
 *
 *   node bin/run-ts.js bench/heldout/timeline.ts --trace FILE [--fleet FILE] [--rate-scale X] [--warmup S]
 *                                                [--every MIN] [--from MIN] [--to MIN]
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../lib/config/load.js';
import { runClosedLoop } from '../../lib/closedLoop/closedLoop.js';
import { buildScenario } from '../../lib/closedLoop/scenario.js';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';
import { recordingSva } from '../policies/excessByHour.js';
import { searchOracle } from '../policies/oracleSearch.js';
import { createPolicyRun } from '../policies/policies.js';
import { CHAT_FLEET } from '../policies/traces.js';

const CACHE_DIR = fileURLToPath(new URL('../policies/.cache/', import.meta.url));
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    trace: { type: 'string' },
    fleet: { type: 'string' },
    'rate-scale': { type: 'string' },
    warmup: { type: 'string' },
    every: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
  },
});
if (!values.trace) throw new Error('--trace FILE is required');
const fleet = resolve(values.fleet ?? CHAT_FLEET);
const config = loadConfig(fleet);
const scenario = await buildScenario(config, {
  configPath: fleet,
  traceFiles: [resolve(values.trace)],
  rateScale: Number(values['rate-scale'] ?? 1),
  ...(values.warmup !== undefined ? { warmupSeconds: Number(values.warmup) } : {}),
});
const schedule = searchOracle(config, scenario, {
  cacheDir: CACHE_DIR,
  log: (l) => process.stderr.write(`${l}\n`),
});
const decisions = new Map<number, DecisionRecord[]>();
const sva = await runClosedLoop(config, scenario, { controller: recordingSva(config, decisions) });
const setup = createPolicyRun('oracle', config, scenario, { schedule });
const oracle = await runClosedLoop(config, setup.scenario, { controller: setup.controller });
const every = Number(values.every ?? 5) * 60;
const from = Number(values.from ?? 0) * 60;
const to = Number(values.to ?? Infinity) * 60;
const sum = (r: Record<string, number>) =>
  Object.entries(r)
    .map(([a, n]) => `${n} ${a}`)
    .join('+') || '0';
const v = config.variants[0]!.name;
const oracleAt = new Map(oracle.timeline.map((p) => [p.t, p]));
process.stdout.write(
  `sva ${(sva.summary.sloAttainment * 100).toFixed(2)}% (TTFT ${(sva.summary.ttftAttainment * 100).toFixed(2)}%, ITL ${(sva.summary.itlAttainment * 100).toFixed(2)}%) $${sva.summary.cost.toFixed(2)}; oracle ${(oracle.summary.sloAttainment * 100).toFixed(2)}% $${oracle.summary.cost.toFixed(2)}\n` +
    'min    req/s  est/s  sva desired    ready          oracle        p95 TTFT s  p95 ITL ms  decision\n',
);
let next = from;
for (const p of sva.timeline) {
  if (p.t < next || p.t > to) continue;
  next = p.t + every;
  const s = p.variants[v]!;
  const o = oracleAt.get(p.t)?.variants[v];
  const d = (decisions.get(p.t + scenario.measuredFrom) ?? [])[0];
  process.stdout.write(
    `${(p.t / 60).toFixed(0).padEnd(6)} ${s.arrivalRate.toFixed(2).padStart(5)}  ${(s.estimatedRate ?? NaN).toFixed(2).padStart(5)}  ${sum(s.desired).padEnd(13)} ${sum(s.ready).padEnd(14)} ${(o ? sum(o.desired) : '-').padEnd(13)} ${s.p95TtftMs === null ? '     -' : (s.p95TtftMs / 1000).toFixed(2).padStart(6)}      ${s.p95ItlMs === null ? '    -' : s.p95ItlMs.toFixed(1).padStart(5)}       ${d ? `${d.reason}: ${d.message}`.slice(0, Number(process.env.MSG ?? 150)) : ''}\n`,
  );
}
