/**
 * Where sva's cost above the oracle's goes, hour by hour (issue 14): sva and the oracle run on one
 * of the suite's traces (the oracle's schedule from bench/policies/.cache, searched if missing),
 * and each hour's excess is split into
 *   - idle devices: GPUs on nodes sva pays for that no replica asked for (node granularity, and
 *     nodes kept for replicas that never came);
 *   - held by the window: replicas the stabilisation window (or a step limit) kept above sva's own
 *     recommendation of the moment, on the accelerator decided;
 *   - the rest: what sva's recommendations (with the replicas a move keeps on another accelerator)
 *     cost beyond the oracle's fleet; negative where sva recommends less than the oracle holds.
 *
 *   npm run bench:excess -- [--trace FILE] [--fleet FILE] [--json]
 *
 * --fleet runs the trace on another config (a policy setting on trial, such as policy.spill or
 * policy.forecastCapacity). The oracle's schedule is cached by the fleet's hardware, models and
 * trace, not by the policy: a policy trial reuses the suite's, another fleet is searched once.
 *
 * The recommendation a window held is read from the decision's message ("(recommended N)"), the
 * one place the decision record states it.
 */
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../lib/config/load.js';
import { runClosedLoop } from '../../lib/closedLoop/closedLoop.js';
import { buildScenario } from '../../lib/closedLoop/scenario.js';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';
import { excessByHour, recordingSva } from './excessByHour.js';
import { searchOracle } from './oracleSearch.js';
import { createPolicyRun } from './policies.js';
import { CHAT_FLEET, DEFAULT_TRACES } from './traces.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CACHE_DIR = fileURLToPath(new URL('./.cache/', import.meta.url));

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      trace: { type: 'string' },
      fleet: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const given = values.trace ?? DEFAULT_TRACES[2]!.path;
  const known = DEFAULT_TRACES.find((t) => basename(t.path) === basename(given));
  const fleet = values.fleet ? resolve(values.fleet) : (known?.fleet ?? CHAT_FLEET);
  const config = loadConfig(fleet);
  const scenario = await buildScenario(config, {
    configPath: fleet,
    traceFiles: [resolve(REPO_ROOT, given)],
    rateScale: known?.rateScale ?? 1,
  });
  const schedule = searchOracle(config, scenario, {
    cacheDir: CACHE_DIR,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const decisions = new Map<number, DecisionRecord[]>();
  const sva = await runClosedLoop(config, scenario, { controller: recordingSva(config, decisions) });
  const setup = createPolicyRun('oracle', config, scenario, { schedule });
  const oracle = await runClosedLoop(config, setup.scenario, { controller: setup.controller });
  const rows = excessByHour(config, sva, oracle, decisions, scenario.measuredFrom);
  const total = rows.reduce(
    (a, r) => ({
      sva: a.sva + r.sva,
      oracle: a.oracle + r.oracle,
      idleDevices: a.idleDevices + r.idleDevices,
      heldByWindow: a.heldByWindow + r.heldByWindow,
      rest: a.rest + r.rest,
    }),
    { sva: 0, oracle: 0, idleDevices: 0, heldByWindow: 0, rest: 0 },
  );
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ trace: given, rows, total }, null, 2)}\n`);
    return;
  }
  const $ = (x: number) => x.toFixed(2).padStart(8);
  const lines = [
    `${given}: sva ${(sva.summary.sloAttainment * 100).toFixed(2)}% $${sva.summary.cost.toFixed(2)}, oracle ${(oracle.summary.sloAttainment * 100).toFixed(2)}% $${oracle.summary.cost.toFixed(2)} (timeline sums below)`,
    'hour    sva $  oracle $  excess $  idle devices $  held by window $  rest $',
    ...[...rows, { hour: 'all', ...total }].map(
      (r) =>
        `${String(r.hour).padEnd(4)}${$(r.sva)}  ${$(r.oracle)}  ${$(r.sva - r.oracle)}  ${$(r.idleDevices).padStart(14)}  ${$(r.heldByWindow).padStart(16)}  ${$(r.rest)}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main(process.argv.slice(2));
