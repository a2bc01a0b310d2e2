/**
 * Where the spill's attainment goes on a closed-loop scenario (issue 14, branch w16s): runs the
 * config (default: config/default.yaml, as `npm start`, with gateway events) with
 * policy.spill on and off and prints, per variant, the steps where either run's decision differs
 * in accelerator, replicas per accelerator or reason, with the messages, and the minutes each
 * ran on each accelerator.
 *
 *   node bin/run-ts.js bench/spill/diagnose.ts [--config FILE] [--variant NAME] [--every]
 *                                              [--trace FILE ...] [--rate-scale X] [--flag NAME]
 *
 * --flag names the policy section whose `enabled` the two runs differ in (default spill; also
 * windowYields, burstSizing: issue 14, branch w16n); the config's other settings are both runs'.
 * --every prints every step, not only those where the two runs differ; --trace and --rate-scale
 * as `sva simulate` takes them (a bench fleet, such as bench/policies/fleet-code.yaml with the
 * Azure code trace at x4, has no traces of its own).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/schema.js';
import type { SimulationRun } from '../../lib/closedLoop/closedLoop.js';
import { buildScenario } from '../../lib/closedLoop/scenario.js';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';
import type { FleetSim } from '../../lib/fleetSimulator/index.js';
import { runRecordingSva } from '../policies/excessByHour.js';

interface Run {
  readonly run: SimulationRun;
  readonly decisions: Map<number, DecisionRecord[]>;
  readonly sim: FleetSim;
  /** the scenario's warm-up: the timeline's times count from it, the simulator's and the decisions' do not */
  readonly from: number;
}

async function simulate(
  config: Config,
  configPath: string,
  traceFiles: string[] | undefined,
  rateScale: number | undefined,
): Promise<Run> {
  const scenario = await buildScenario(config, { configPath, traceFiles, rateScale });
  const { run, sim, decisions } = await runRecordingSva(config, scenario, { gatewayEvents: true });
  return { run, decisions, sim, from: scenario.measuredFrom };
}

const deployments = (d: DecisionRecord | undefined) =>
  d ? d.deployments.map((x) => `${x.accelerator}:${x.replicas}`).join(' ') : '-';

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', default: 'config/default.yaml' },
      variant: { type: 'string' },
      every: { type: 'boolean', default: false },
      trace: { type: 'string', multiple: true },
      'rate-scale': { type: 'string' },
      flag: { type: 'string', default: 'spill' },
    },
  });
  const configPath = resolve(values.config!);
  const base = loadConfig(configPath);
  const flag = values.flag as 'spill' | 'windowYields' | 'burstSizing';
  if (!['spill', 'windowYields', 'burstSizing'].includes(flag))
    throw new Error(`--flag: one of spill, windowYields, burstSizing (got ${flag})`);
  const withSpill = (enabled: boolean): Config => ({
    ...base,
    policy: { ...base.policy, [flag]: { ...base.policy[flag], enabled } },
  });
  const traces = values.trace?.map((t) => resolve(t));
  const scale = values['rate-scale'] ? Number(values['rate-scale']) : undefined;
  const off = await simulate(withSpill(false), configPath, traces, scale);
  const on = await simulate(withSpill(true), configPath, traces, scale);
  for (const [name, r] of [
    ['off', off],
    ['on', on],
  ] as const) {
    const s = r.run.summary;
    process.stdout.write(
      `${flag} ${name}: ${(s.sloAttainment * 100).toFixed(2)}% $${s.cost.toFixed(2)} ` +
        s.variants
          .map((v) => `${v.name} ${(v.sloAttainment * 100).toFixed(2)}% $${v.cost.toFixed(2)}`)
          .join(', ') +
        '\n',
    );
  }
  const variants = base.variants.map((v) => v.name).filter((n) => !values.variant || n === values.variant);
  for (const variant of variants) {
    process.stdout.write(`\n== ${variant}: ready replica-minutes per accelerator\n`);
    for (const [name, r] of [
      ['off', off],
      ['on', on],
    ] as const) {
      const minutes = new Map<string, number>();
      let prev = 0;
      for (const p of r.run.timeline) {
        for (const [acc, n] of Object.entries(p.variants[variant]?.ready ?? {}))
          minutes.set(acc, (minutes.get(acc) ?? 0) + (n * (p.t - prev)) / 60);
        prev = p.t;
      }
      process.stdout.write(`  ${name}: ${[...minutes].map(([a, m]) => `${a} ${m.toFixed(0)}`).join(', ')}\n`);
    }
    process.stdout.write(
      `== ${variant}: per 5 min by arrival (simulated s, as the steps'), requests that missed a target, ready replicas (mean) and the worst interval's p95 TTFT (s)\n`,
    );
    const start = off.from;
    for (let from = start; from < start + off.run.summary.durationSeconds; from += 300) {
      const row = [off, on].map((r) => {
        // timeline points count from the warm-up's end; `from` is simulated time, as the decisions'
        const points = r.run.timeline.filter((p) => p.t + r.from > from && p.t + r.from <= from + 300);
        const ready = new Map<string, number>();
        for (const p of points)
          for (const [acc, n] of Object.entries(p.variants[variant]?.ready ?? {}))
            ready.set(acc, (ready.get(acc) ?? 0) + n / points.length);
        const ttft = Math.max(0, ...points.map((p) => p.variants[variant]?.p95TtftMs ?? 0)) / 1000;
        const w = r.sim.window({ variant, from, to: from + 300, by: 'arrival' });
        return `${w.arrived - w.sloMet} of ${w.arrived} missed; ${[...ready]
          .filter(([, n]) => n > 0.05)
          .map(([a, n]) => `${a} ${n.toFixed(1)}`)
          .join(' ')} ttft ${ttft.toFixed(1)}`;
      });
      process.stdout.write(`${String(from).padStart(6)} | ${row[0]} | ${row[1]}\n`);
    }
    process.stdout.write(`== ${variant}: steps (t s | off | on)\n`);
    const times = [...new Set([...off.decisions.keys(), ...on.decisions.keys()])].sort((a, b) => a - b);
    for (const t of times) {
      const a = off.decisions.get(t)?.find((d) => d.variant === variant);
      const b = on.decisions.get(t)?.find((d) => d.variant === variant);
      const same = deployments(a) === deployments(b) && a?.reason === b?.reason;
      if (same && !values.every) continue;
      process.stdout.write(
        `${String(Math.round(t)).padStart(6)} | ${deployments(a)} ${a?.reason ?? ''} | ${deployments(b)} ${b?.reason ?? ''}\n` +
          `         off: ${a?.message ?? ''}\n         on:  ${b?.message ?? ''}\n`,
      );
    }
  }
}

await main(process.argv.slice(2));
