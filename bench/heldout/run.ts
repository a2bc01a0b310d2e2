/**
 * The held-out probe: writes the derived workloads (make.ts) and runs the policy benchmark
 * (bench/policies/run.ts, through its CLI) on each, then prints one table of sva against the
 * yardsticks across them. The bench's own progress goes to stderr as it runs.
 *
 *   npm run bench:heldout -- [--only NAME ...] [--policy NAME ...] [--duration S] [--warmup S] [--out DIR] [--seed N]
 *
 * Defaults: every workload of workloads.ts; policies sva, oracle, keda-epp, or those the workload
 * names (two-days: sva and keda-epp), or those of --policy (static-best at the price of its search). Reports go to bench/heldout/out/<workload>/ (or --out
 * DIR) and the table's figures to heldout.json there. --warmup S is passed to the bench: the
 * seconds every policy runs on the trace's last minutes before the measured span.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { TraceResult } from '../policies/results.js';
import { CHAT_FLEET, CODE_FLEET } from '../policies/traces.js';
import { DEFAULT_SEED, makeWorkloads, tracePath } from './make.js';
import { WORKLOADS, type Workload } from './workloads.js';
import { runBenchCli } from './benchCli.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_OUT = fileURLToPath(new URL('./out/', import.meta.url));
const DEFAULT_POLICIES = ['sva', 'oracle', 'keda-epp'];

interface Outcome {
  readonly workload: string;
  readonly command: string;
  readonly result: TraceResult | null;
  readonly errors: string;
  /** the policies run on it */
  readonly ran: readonly string[];
}

/** Runs the bench on one workload; its stderr (progress) passes through. */
async function benchOn(
  w: Workload,
  out: string,
  policies: readonly string[],
  duration?: string,
  warmup?: string,
): Promise<Outcome> {
  const args = [
    '--trace',
    w.derive ? tracePath(w) : `${REPO_ROOT}${w.source}`,
    '--fleet',
    w.fleet === 'code' ? CODE_FLEET : CHAT_FLEET,
    ...(w.rateScale !== undefined ? ['--rate-scale', String(w.rateScale)] : []),
    ...(duration !== undefined ? ['--duration', duration] : []),
    ...(warmup !== undefined ? ['--warmup', warmup] : []),
    ...policies.flatMap((p) => ['--policy', p]),
    '--json',
    '--out',
    join(out, w.name),
  ];
  const command = `npm run bench -- ${args.map((a) => a.replace(REPO_ROOT, '')).join(' ')}`;
  process.stderr.write(`\nheldout: ${w.name}: ${command}\n`);
  const { json, rest } = await runBenchCli(args);
  return { workload: w.name, command, result: json as TraceResult | null, errors: rest, ran: policies };
}

const pct = (x: number | undefined) => (x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);

function table(outcomes: readonly Outcome[], policies: readonly string[]): string {
  const rows = [['workload', 'policy', 'within both', 'TTFT', 'ITL', 'cost', 'x oracle']];
  for (const o of outcomes) {
    for (const p of policies) {
      if (!o.ran.includes(p)) continue;
      const r = o.result?.policies[p];
      const y = o.result?.yardsticks[p];
      if (r) {
        rows.push([
          o.workload,
          p,
          pct(r.sloAttainment),
          pct(r.ttftAttainment),
          pct(r.itlAttainment),
          `$${r.cost.toFixed(2)}`,
          r.costVsOracle === null ? '-' : r.costVsOracle.toFixed(2),
        ]);
      } else if (y) {
        rows.push([
          o.workload,
          `${p} (misses ${pct(y.target)})`,
          pct(y.sloAttainment),
          pct(y.ttftAttainment),
          pct(y.itlAttainment),
          `$${y.cost.toFixed(2)}`,
          '-',
        ]);
      } else rows.push([o.workload, p, 'no result', '', '', '', '']);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    only: { type: 'string', multiple: true },
    policy: { type: 'string', multiple: true },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
  },
});
const seed = values.seed === undefined ? DEFAULT_SEED : Number(values.seed);
if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
const chosen = WORKLOADS.filter((w) => !values.only || values.only.includes(w.name));
const unknown = (values.only ?? []).filter((n) => !WORKLOADS.some((w) => w.name === n));
if (unknown.length > 0)
  throw new Error(
    `unknown workload ${unknown.join(', ')} (known: ${WORKLOADS.map((w) => w.name).join(', ')})`,
  );
const policies = values.policy ?? DEFAULT_POLICIES;
const notes = await makeWorkloads(
  seed,
  chosen.map((w) => w.name),
);
const outcomes: Outcome[] = [];
const out = resolve(values.out ?? DEFAULT_OUT);
for (const w of chosen)
  outcomes.push(
    await benchOn(w, out, values.policy ?? w.policies ?? DEFAULT_POLICIES, values.duration, values.warmup),
  );
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'heldout.json'),
  `${JSON.stringify({ seed, outcomes, notes: Object.fromEntries(notes) }, null, 2)}\n`,
);
const described = chosen.map(
  (w) =>
    `- ${w.name}: ${w.why}${notes.has(w.name) ? ` (${notes.get(w.name)})` : ` (${w.source} at x${w.rateScale})`}`,
);
const missed = outcomes.filter((o) => o.errors).map((o) => `${o.workload}: ${o.errors}`);
process.stdout.write(
  `Held-out workloads (derived, seed ${seed}):\n${described.join('\n')}\n\n${table(outcomes, policies)}\n${missed.length ? `\n${missed.join('\n')}\n` : ''}`,
);
