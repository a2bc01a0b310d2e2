/** `sva solve FILE...`: the optimizer on Inferno SystemSpec files or our config with fixed loads. */
import { parseArgs } from 'node:util';
import { loadSystem } from '../config/load.js';
import { solve } from '../optimizer/index.js';
import { isUserError, UsageError } from './errors.js';
import { solutionToJson } from './solutionJson.js';
import { formatSolutionTable } from './solutionTable.js';

export const SOLVE_USAGE = `usage: sva solve FILE [FILE...] [--table] [--candidates]
  FILE          Inferno SystemSpec JSON ({"system": {...}}) or an sva config whose variants have a load
  --table       print a readable table instead of JSON
  --candidates  add every feasible candidate the optimizer weighed, per server
With several files, prints one JSON line per file: {"file", "solution"} or {"file", "error"}.`;

export function solveCommand(args: string[], out: (line: string) => void): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { table: { type: 'boolean', default: false }, candidates: { type: 'boolean', default: false } },
  });
  if (positionals.length === 0) throw new UsageError('solve needs a FILE');
  const solveFile = (file: string) => {
    const { system } = loadSystem(file);
    return { system, solution: solve(system) };
  };
  if (positionals.length === 1) {
    const { system, solution } = solveFile(positionals[0]!);
    out(
      values.table
        ? formatSolutionTable(system, solution, values.candidates)
        : JSON.stringify(solutionToJson(system, solution, values.candidates), null, 2),
    );
    return 0;
  }
  let failures = 0;
  for (const file of positionals) {
    try {
      const { system, solution } = solveFile(file);
      if (values.table) out(`== ${file}\n${formatSolutionTable(system, solution, values.candidates)}`);
      else out(JSON.stringify({ file, solution: solutionToJson(system, solution, values.candidates) }));
    } catch (err) {
      if (!isUserError(err)) throw err;
      failures++;
      out(values.table ? `== ${file}\nerror: ${err.message}` : JSON.stringify({ file, error: err.message }));
    }
  }
  return failures > 0 ? 1 : 0;
}
