/** `sva solve FILE...`: the optimizer on Inferno SystemSpec files or our config with fixed loads. */
import { parseArgs } from 'node:util';
import { InputError } from '../config/errors.js';
import { loadSystem } from '../config/load.js';
import { configWarnings } from '../config/plausible.js';
import { solve } from '../optimizer/index.js';
import { isUserError, UsageError } from './errors.js';
import { solutionToJson } from './solutionJson.js';
import { formatSolutionTable } from './solutionTable.js';
import {
  formatDisaggregatedTable,
  solveDisaggregatedLoads,
  type DisaggregatedJson,
} from './disaggregatedOutput.js';

export const SOLVE_USAGE = `usage: sva solve FILE [FILE...] [--table] [--candidates]
  FILE          Inferno SystemSpec JSON ({"system": {...}}) or an sva config whose variants have a load
  --table       print a readable table instead of JSON
  --candidates  add every feasible candidate the optimizer weighed, per server
With several files, prints one JSON line per file: {"file", "solution"} or {"file", "error"}.
Warnings (legitimate but likely mistaken values, variants left without an allocation) go to stderr.
A solution that allocates nothing at all is an error.`;

/** The optimizer's answer for one file, with what is worth warning about; throws when it is empty. */
function solveFile(file: string) {
  const loaded = loadSystem(file);
  const { system } = loaded;
  const solution = solve(system);
  const warnings =
    loaded.kind === 'config'
      ? configWarnings(loaded.config).map((w) => `${file}: ${w.field}: warning: ${w.message}`)
      : [];
  const disaggregated: DisaggregatedJson[] =
    loaded.kind === 'config' ? solveDisaggregatedLoads(loaded.config, solution) : [];
  for (const d of disaggregated)
    if (!d.feasible) warnings.push(`${file}: ${d.variant}: warning: no plan for its roles: ${d.reason}`);
  const unallocated = system.servers.filter((s) => !solution.allocations.has(s.name));
  // An empty solution printed with exit 0 reads as "nothing to do"; it is always a sign that
  // the input cannot be sized (targets out of reach, no capacity), so it fails.
  if (system.servers.length > 0 && unallocated.length === system.servers.length)
    throw new InputError(
      `${file}: no allocation for any of the ${system.servers.length} variant(s): no accelerator meets their targets within the capacity`,
    );
  for (const s of unallocated)
    warnings.push(
      `${file}: ${s.name}: warning: no allocation: no accelerator meets its targets within the capacity`,
    );
  return { system, solution, warnings, disaggregated };
}

export function solveCommand(
  args: string[],
  out: (line: string) => void,
  err: (line: string) => void,
): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { table: { type: 'boolean', default: false }, candidates: { type: 'boolean', default: false } },
  });
  if (positionals.length === 0) throw new UsageError('solve needs a FILE');
  const warn = (lines: string[]) => lines.forEach((line) => err(`sva solve: ${line}`));
  if (positionals.length === 1) {
    const { system, solution, warnings, disaggregated } = solveFile(positionals[0]!);
    warn(warnings);
    out(
      values.table
        ? withDisaggregatedTable(formatSolutionTable(system, solution, values.candidates), disaggregated)
        : JSON.stringify(
            withDisaggregated(solutionToJson(system, solution, values.candidates), disaggregated),
            null,
            2,
          ),
    );
    return 0;
  }
  let failures = 0;
  for (const file of positionals) {
    try {
      const { system, solution, warnings, disaggregated } = solveFile(file);
      warn(warnings);
      if (values.table)
        out(
          `== ${file}\n${withDisaggregatedTable(formatSolutionTable(system, solution, values.candidates), disaggregated)}`,
        );
      else
        out(
          JSON.stringify({
            file,
            solution: withDisaggregated(solutionToJson(system, solution, values.candidates), disaggregated),
          }),
        );
    } catch (e) {
      if (!isUserError(e)) throw e;
      failures++;
      out(values.table ? `== ${file}\nerror: ${e.message}` : JSON.stringify({ file, error: e.message }));
    }
  }
  return failures > 0 ? 1 : 0;
}

/** Disaggregated variants appear under their own key, only when the file has any. */
function withDisaggregated<T extends object>(json: T, disaggregated: readonly DisaggregatedJson[]) {
  return disaggregated.length > 0 ? { ...json, disaggregated } : json;
}

function withDisaggregatedTable(table: string, disaggregated: readonly DisaggregatedJson[]): string {
  return disaggregated.length > 0 ? `${table}\n\n${formatDisaggregatedTable(disaggregated)}` : table;
}
