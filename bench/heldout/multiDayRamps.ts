/**
 * sva on a multi-day workload (multiDay.ts) with its decision records: attainment and cost day by
 * day, then, hour by hour over a window of every day (the morning ramp by default), the hour's
 * arrivals, attainment and cost beside what the decisions were made of, sampled every few
 * minutes: the measured rate, the season's forecast over the lead time (expected, error, the rate
 * sized for) or why there is none, the forecast rise taken and the replicas asked for.
 *
 *   node bin/run-ts.js bench/heldout/multiDayRamps.ts --trace FILE [--fleet FILE] [--from-hour H]
 *       [--to-hour H] [--every MIN]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../lib/config/load.js';
import { runClosedLoop } from '../../lib/closedLoop/closedLoop.js';
import { hourlyRows } from '../../lib/closedLoop/hourly.js';
import { buildScenario } from '../../lib/closedLoop/scenario.js';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';
import { recordingSva } from '../policies/excessByHour.js';
import { CHAT_FLEET } from '../policies/traces.js';
import { byDay, DAY_SECONDS } from './multiDay.js';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    trace: { type: 'string' },
    fleet: { type: 'string' },
    'from-hour': { type: 'string', default: '8' },
    'to-hour': { type: 'string', default: '13' },
    every: { type: 'string', default: '10' },
  },
});
if (!values.trace) throw new Error('--trace FILE is required');
const fleet = resolve(values.fleet ?? CHAT_FLEET);
const config = loadConfig(fleet);
const scenario = await buildScenario(config, { configPath: fleet, traceFiles: [resolve(values.trace)] });
const decisions = new Map<number, DecisionRecord[]>();
process.stderr.write(`multi-day ramps: sva on ${values.trace} with ${fleet}\n`);
let shown = 0;
const run = await runClosedLoop(config, scenario, {
  controller: recordingSva(config, decisions),
  onProgress: (fraction) => {
    const tenth = Math.floor(fraction * 10 + 1e-9);
    while (shown < tenth) process.stderr.write(`  sva ${++shown * 10}%\n`);
  },
});
const rows = hourlyRows(run);
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const out: string[] = [
  `sva ${pct(run.summary.sloAttainment)} $${run.summary.cost.toFixed(2)}`,
  ...byDay(rows).map(
    (d) => `day ${d.day + 1}: ${d.requests} requests, ${pct(d.met / d.requests)}, $${d.cost.toFixed(2)}`,
  ),
  '',
  'hour  req/s  attained  cost    | min   measured  season (expected+2*error=rate)  forecast  demand  replicas',
];
const from = Number(values['from-hour']);
const to = Number(values['to-hour']);
const every = Number(values.every) * 60;
const steps = [...decisions.keys()].sort((a, b) => a - b);
const days = Math.ceil(rows.length / 24);
for (let d = 0; d < days; d++) {
  for (let h = d * 24 + from; h < d * 24 + to && h < rows.length; h++) {
    const r = rows[h]!;
    out.push(
      `${String(h).padEnd(5)} ${r.demand.toFixed(2).padStart(5)}  ${(r.sloAttainment === null ? '-' : pct(r.sloAttainment)).padStart(8)}  $${r.cost.toFixed(2).padEnd(6)}`,
    );
    // Decision steps are simulated seconds, the measured span starting after the warm-up.
    const start = scenario.measuredFrom + h * 3600;
    for (let t = start; t < start + 3600; t += every) {
      const step = steps.find((s) => s >= t);
      const rec = step === undefined ? undefined : decisions.get(step)?.[0];
      const dem = rec?.inputs.demand;
      if (!rec || !dem) continue;
      const s = dem.seasonal;
      const season =
        s === undefined
          ? 'off'
          : s.kind === 'forecast'
            ? `${s.expected.toFixed(2)}+2*${s.error.toFixed(2)}=${s.rate.toFixed(2)}`
            : s.note.slice(0, 30);
      out.push(
        `${''.padEnd(32)}| ${(((step! - scenario.measuredFrom) % DAY_SECONDS) / 60).toFixed(0).padEnd(5)} ${dem.measured.toFixed(2).padStart(8)}  ${season.padEnd(30)}  ${dem.forecastRate.toFixed(2).padStart(8)}  ${(rec.inputs.demandRate ?? NaN).toFixed(2).padStart(6)}  ${rec.targetReplicas} ${rec.accelerator}`,
      );
    }
  }
}
process.stdout.write(`${out.join('\n')}\n`);
