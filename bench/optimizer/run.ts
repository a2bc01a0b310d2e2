/**
 * Optimizer benchmark: the whole path `sva solve` takes on a generated 1,000-server system
 * (parse the Inferno JSON, import it, solve, build and serialise the JSON solution), timed over
 * several runs after a warm-up.
 *
 *   node bin/run-ts.js bench/optimizer/run.ts [--runs 9] [--warmup 2] [--servers 1000] [--seed 1]
 *                                             [--json] [--write FILE]
 *
 * --write FILE saves the generated system as an Inferno SystemSpec and times
 * `node bin/sva.js solve FILE` once, end to end, in a child process.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { solutionToJson } from '../../lib/cli/solutionJson.js';
import { infernoToSystem, parseInfernoSystem } from '../../lib/config/index.js';
import { solve, type Solution, type SystemSpec } from '../../lib/optimizer/index.js';
import { generateSystem } from './generateSystem.js';

/** The target for the whole solve of such a system; the reference takes 15.6 s. */
const TARGET_MS = 250;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '9' },
    warmup: { type: 'string', default: '2' },
    servers: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    write: { type: 'string' },
  },
});

function positiveInt(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got ${text}`);
    process.exit(2);
  }
  return n;
}

const runs = positiveInt('runs', values.runs, 1);
const warmup = positiveInt('warmup', values.warmup, 0);
const servers = positiveInt('servers', values.servers, 1);
const seed = positiveInt('seed', values.seed, 0);

interface RunTimes {
  total: number;
  import: number;
  solve: number;
  json: number;
}

interface RunResult {
  times: RunTimes;
  system: SystemSpec;
  solution: Solution;
  output: string;
}

const SOURCE = 'generated.json';

/** One pass of what `sva solve FILE` does after reading the file. */
function runOnce(text: string): RunResult {
  const t0 = performance.now();
  const system = infernoToSystem(parseInfernoSystem(JSON.parse(text), SOURCE), SOURCE);
  const t1 = performance.now();
  const solution = solve(system);
  const t2 = performance.now();
  const output = JSON.stringify(solutionToJson(system, solution, false), null, 2);
  const t3 = performance.now();
  return {
    times: { total: t3 - t0, import: t1 - t0, solve: t2 - t1, json: t3 - t2 },
    system,
    solution,
    output,
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Candidates, and how the servers came out: in full, by best effort (fewer replicas than needed), or not at all. */
function outcome(system: SystemSpec, solution: Solution) {
  let candidates = 0;
  let withoutCandidates = 0;
  let full = 0;
  let bestEffort = 0;
  let unallocated = 0;
  for (const server of system.servers) {
    const list = solution.candidates.get(server.name) ?? [];
    candidates += list.length;
    if (list.length === 0) withoutCandidates++;
    const a = solution.allocations.get(server.name);
    if (!a) {
      unallocated++;
      continue;
    }
    const needed = list.find((c) => c.accelerator === a.accelerator)?.numReplicas ?? a.numReplicas;
    if (a.numReplicas < needed) bestEffort++;
    else full++;
  }
  return { candidates, withoutCandidates, allocated: full + bestEffort, full, bestEffort, unallocated };
}

const generated = generateSystem({ servers, seed });
const text = JSON.stringify(generated.document);

// Keep only the first result and the times, so earlier runs' garbage does not weigh on later ones.
const first = runOnce(text);
const measured: RunTimes[] = [];
for (let i = 1; i < warmup + runs; i++) {
  const r = runOnce(text);
  if (r.output !== first.output) throw new Error('runs gave different solutions');
  if (i >= warmup) measured.push(r.times);
}
if (warmup === 0) measured.unshift(first.times);
const totals = measured.map((t) => t.total);
const stats = first.solution.stats;
const served = outcome(first.system, first.solution);

/** Runs bin/sva.js once in a child process: wall time, exit code and stdout. */
function spawnSva(args: string[]) {
  const t0 = performance.now();
  const child = spawnSync(process.execPath, [`${REPO_ROOT}bin/sva.js`, ...args], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const wallMs = performance.now() - t0;
  if (child.status !== 0 && child.status !== 2) process.stderr.write(child.stderr);
  return { wallMs, exitCode: child.status, stdout: child.stdout.trimEnd() };
}

let cli:
  | { file: string; wallMs: number; startupMs: number; exitCode: number | null; sameSolution: boolean }
  | undefined;
if (values.write !== undefined) {
  const file = values.write;
  writeFileSync(file, `${JSON.stringify(generated.document, null, 1)}\n`);
  // Node + tsx start-up and loading the CLI, without solving anything.
  const startup = spawnSva(['--help']);
  const solved = spawnSva(['solve', file]);
  cli = {
    file,
    wallMs: solved.wallMs,
    startupMs: startup.wallMs,
    exitCode: solved.exitCode,
    sameSolution: solved.stdout === first.output,
  };
}

const s = generated.summary;
const report = {
  system: {
    servers: s.servers,
    acceleratorConfigurations: s.acceleratorConfigurations,
    acceleratorTypes: s.acceleratorTypes,
    models: s.models,
    serviceClasses: s.serviceClasses,
    distinctShapes: s.distinctShapes,
    withCurrentAllocation: s.withCurrentAllocation,
    capacity: s.capacity,
    saturationPolicy: generated.document.system.optimizerData.optimizer.saturationPolicy,
    seed,
  },
  runs,
  warmup,
  ms: {
    median: median(totals),
    min: Math.min(...totals),
    max: Math.max(...totals),
    first: first.times.total,
    phasesMedian: {
      import: median(measured.map((t) => t.import)),
      solve: median(measured.map((t) => t.solve)),
      json: median(measured.map((t) => t.json)),
    },
  },
  sizings: stats.sizings,
  evaluations: stats.evaluations,
  ...served,
  targetMs: TARGET_MS,
  targetMet: median(totals) < TARGET_MS,
  ...(cli ? { cli } : {}),
};

const ms = (x: number) => `${x.toFixed(1)} ms`;
if (values.json) {
  console.log(JSON.stringify(report, null, 2));
} else {
  const capacity = Object.entries(s.capacity)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  console.log(
    [
      `optimizer benchmark: ${s.servers} servers, ${s.acceleratorConfigurations} accelerator configurations ` +
        `(${s.acceleratorTypes} types), ${s.models} models, ${s.serviceClasses} service classes, seed ${seed}`,
      `  ${s.distinctShapes} distinct (in, out) token shapes; ${s.withCurrentAllocation} servers with a current allocation`,
      `  limited, ${report.system.saturationPolicy}; capacity: ${capacity}`,
      `whole solve path (JSON parse + Inferno import + solve + JSON solution), ${runs} runs after ${warmup} warm-up:`,
      `  median ${ms(report.ms.median)}   min ${ms(report.ms.min)}   max ${ms(report.ms.max)}   (first, cold: ${ms(report.ms.first)})`,
      `  median by phase: import ${ms(report.ms.phasesMedian.import)}, solve ${ms(report.ms.phasesMedian.solve)}, ` +
        `JSON ${ms(report.ms.phasesMedian.json)}`,
      `  distinct sizings ${stats.sizings}, queue-model evaluations ${stats.evaluations}`,
      `  candidates ${served.candidates} (servers without any: ${served.withoutCandidates})`,
      `  allocated ${served.allocated} (in full ${served.full}, best effort ${served.bestEffort}), unallocated ${served.unallocated}`,
      `  target < ${TARGET_MS} ms: ${report.targetMet ? 'met' : 'MISSED'} (reference Go optimizer: 15.6 s)`,
      ...(cli
        ? [
            `node bin/sva.js solve ${cli.file}: ${ms(cli.wallMs)} wall, exit ${cli.exitCode}, ` +
              `${cli.sameSolution ? 'same solution as in-process' : 'DIFFERENT solution from in-process'}`,
            `  (node bin/sva.js --help, start-up alone: ${ms(cli.startupMs)})`,
          ]
        : []),
    ].join('\n'),
  );
}
