/**
 * `npm run bench:disaggregated`: a disaggregated fleet of Llama-3-70B beside the aggregated one
 * (config/disaggregated.yaml), each on its own, under the policies of ./policies.ts (the
 * disaggregated variant) and sva and the Dynamo-style planner (the aggregated one). Prints SLO
 * attainment (both targets met, by request) and cost over the measured span, and whether
 * disaggregation pays: the cheaper of the two at equal or better attainment.
 *
 * Options: --workload NAME (default: all), --duration S (default: the trace).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/schema.js';
import { buildScenario } from '../../lib/closedLoop/scenario.js';
import { runClosedLoop } from '../../lib/closedLoop/closedLoop.js';
import { svaController } from '../../lib/closedLoop/controller.js';
import { createPolicyRun } from '../policies/policies.js';
import { DISAGGREGATED_POLICIES, disaggregatedController } from './policies.js';

interface Workload {
  readonly name: string;
  readonly config: string;
  /** the variants' trace and targets, when they differ from the config's */
  readonly trace?: string;
  readonly targets?: { ttftMs: number; itlMs: number };
}

const WORKLOADS: readonly Workload[] = [
  // the suite's coding trace: 2k-token prompts (up to 7.4k), 28 output tokens, very bursty
  { name: 'azure-code', config: 'config/disaggregated.yaml' },
  // held back: long-context chat (Mooncake: 12k-token prompts on average, 343 output tokens)
  {
    name: 'mooncake-chat',
    config: 'config/disaggregated.yaml',
    trace: '../data/traces/mooncake-conversation.jsonl',
    targets: { ttftMs: 15000, itlMs: 50 },
  },
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

/** The config with only the aggregated, or only the disaggregated, variant. */
function configFor(w: Workload, kind: 'aggregated' | 'disaggregated'): Config {
  const doc: Doc = parse(readFileSync(w.config, 'utf8'));
  doc.variants = doc.variants.filter((v: Doc) => (kind === 'disaggregated') === (v.roles !== undefined));
  const names = new Set(doc.variants.map((v: Doc) => v.name));
  for (const name of Object.keys(doc.simulation.variants)) {
    if (!names.has(name)) delete doc.simulation.variants[name];
    else if (w.trace) doc.simulation.variants[name].trace = w.trace;
  }
  if (w.targets)
    for (const c of doc.serviceClasses) for (const m of Object.keys(c.targets)) c.targets[m] = w.targets;
  return parseConfig(doc, w.config);
}

interface Row {
  workload: string;
  variant: string;
  policy: string;
  attainment: number;
  ttft: number;
  itl: number;
  cost: number;
  p95TtftMs: number | null;
  seconds: number;
}

async function run(
  w: Workload,
  kind: 'aggregated' | 'disaggregated',
  policy: string,
  duration?: number,
): Promise<Row> {
  const config = configFor(w, kind);
  const scenario = await buildScenario(config, { configPath: w.config, durationSeconds: duration });
  let controller;
  let runScenario = scenario;
  if (kind === 'disaggregated')
    controller = disaggregatedController(policy as (typeof DISAGGREGATED_POLICIES)[number], config);
  else if (policy === 'sva') controller = svaController(config);
  else ({ controller, scenario: runScenario } = createPolicyRun('dynamo-planner', config, scenario));
  const result = await runClosedLoop(config, runScenario, { controller });
  const s = result.summary;
  return {
    workload: w.name,
    variant: kind,
    policy,
    attainment: s.sloAttainment,
    ttft: s.ttftAttainment,
    itl: s.itlAttainment,
    cost: s.cost,
    p95TtftMs: s.p95TtftMs,
    seconds: result.elapsedMs / 1000,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { workload: { type: 'string' }, duration: { type: 'string' } } });
  const duration = values.duration ? Number(values.duration) : undefined;
  const workloads = WORKLOADS.filter((w) => !values.workload || w.name === values.workload);
  for (const w of workloads) {
    const rows: Row[] = [];
    for (const policy of DISAGGREGATED_POLICIES) rows.push(await run(w, 'disaggregated', policy, duration));
    for (const policy of ['sva', 'dynamo-planner']) rows.push(await run(w, 'aggregated', policy, duration));
    const planner = rows.find((r) => r.variant === 'disaggregated' && r.policy === 'dynamo-planner')!;
    console.log(`\n## ${w.name}\n`);
    console.log(
      '| variant | policy | SLO attainment | TTFT met | ITL met | cost ($) | cost / planner (disaggregated) | p95 TTFT ms |',
    );
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of rows) {
      console.log(
        `| ${r.variant} | ${r.policy} | ${pct(r.attainment)} | ${pct(r.ttft)} | ${pct(r.itl)} | ${r.cost.toFixed(2)} | ${(r.cost / planner.cost).toFixed(2)} | ${r.p95TtftMs?.toFixed(0) ?? '-'} |`,
      );
    }
    const sva = rows.find((r) => r.variant === 'disaggregated' && r.policy === 'sva')!;
    const aggregated = rows.find((r) => r.variant === 'aggregated' && r.policy === 'sva')!;
    const goal =
      sva.attainment >= 0.99 && sva.cost <= 0.8 * planner.cost && sva.attainment >= planner.attainment;
    console.log(
      `\nsva on the disaggregated variant: ${pct(sva.attainment)} at ${(sva.cost / planner.cost).toFixed(2)}x the per-role planner's cost (planner ${pct(planner.attainment)}): goal (>= 99% at <= 0.8x, attainment >= planner's) ${goal ? 'met' : 'missed'}`,
    );
    const pays =
      sva.attainment >= aggregated.attainment && sva.cost <= aggregated.cost
        ? 'pays: at least as many requests within both targets, for less'
        : sva.attainment >= aggregated.attainment
          ? `serves more requests within both targets (${pct(sva.attainment)} against ${pct(aggregated.attainment)}) but costs ${(sva.cost / aggregated.cost).toFixed(2)}x: no equal-attainment comparison`
          : sva.cost <= aggregated.cost
            ? `costs less (${(sva.cost / aggregated.cost).toFixed(2)}x) but serves fewer within both targets (${pct(sva.attainment)} against ${pct(aggregated.attainment)}): no equal-attainment comparison`
            : 'does not pay: fewer requests within both targets, for more';
    console.log(`disaggregation against the aggregated variant under sva: ${pays}`);
    console.log(
      `(run times: ${rows.map((r) => `${r.variant}/${r.policy} ${r.seconds.toFixed(1)} s`).join(', ')})`,
    );
  }
}

await main();
