/**
 * When the simulated node groups launch and release nodes on a closed-loop scenario (issue 14,
 * branch w18n): runs the config as `npm start` does (with gateway events) and prints each node
 * launched or removed, seen at the evaluations (every policy.intervalSeconds), and for each
 * launch how long after the group's last release it came: a node bought back within a lead time
 * of its release paid a new node's start where a replica on the kept node would have started.
 *
 *   node bin/run-ts.js bench/capacity/nodes.ts [--config FILE] [--group REGEX]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../lib/config/load.js';
import { runClosedLoop } from '../../lib/closedLoop/closedLoop.js';
import { buildScenario } from '../../lib/closedLoop/scenario.js';
import { observeSteps } from '../../lib/closedLoop/controller.js';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';
import { recordingSva } from '../policies/excessByHour.js';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    config: { type: 'string', default: 'config/default.yaml' },
    group: { type: 'string', default: '.' },
  },
});
const configPath = resolve(values.config!);
const config = loadConfig(configPath);
const scenario = await buildScenario(config, { configPath });
const group = new RegExp(values.group!);
const live = new Map<string, Set<string>>();
const lastRelease = new Map<string, number>();
const lines: string[] = [];
await runClosedLoop(config, scenario, {
  controller: observeSteps(recordingSva(config, new Map<number, DecisionRecord[]>()), (ctx) => {
    const state = ctx.sim.state();
    const t = Math.round(state.time);
    for (const g of state.nodeGroups) {
      if (!group.test(g.name)) continue;
      const before = live.get(g.name);
      const now = new Set(g.nodes.map((n) => n.id));
      live.set(g.name, now);
      // the first evaluation's nodes are the start, not launches
      if (!before) continue;
      for (const id of before) {
        if (now.has(id)) continue;
        lines.push(`${String(t).padStart(6)}  ${g.name.padEnd(10)} released ${id}`);
        lastRelease.set(g.name, t);
      }
      for (const id of now) {
        if (before.has(id)) continue;
        const released = lastRelease.get(g.name);
        const after = released === undefined ? '' : `  (${t - released} s after the group's last release)`;
        lines.push(`${String(t).padStart(6)}  ${g.name.padEnd(10)} launched ${id}${after}`);
      }
    }
  }),
  gatewayEvents: true,
});
process.stdout.write(
  `${values.config}: simulated seconds; the measured span starts at ${Math.round(scenario.measuredFrom)} s\n${lines.join('\n')}\n`,
);
