/** Runs the CLI in-process with collecting callbacks. */
import { main } from '../../lib/cli/main.js';

export interface CliResult {
  code: number;
  /** everything printed to stdout, one entry per call */
  out: string[];
  /** everything printed to stderr, split into lines */
  errLines: string[];
}

export async function run(...argv: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    (line) => out.push(line),
    (line) => err.push(line),
  );
  return { code, out, errLines: err.flatMap((e) => e.split('\n')) };
}

/** The single JSON document printed by a command. */
export function json<T = unknown>(result: CliResult): T {
  expect(result.out).toHaveLength(1);
  return JSON.parse(result.out[0]!) as T;
}

/** A line of a stack trace, which a user's error must never print. */
export const STACK_LINE = /^\s+at\s/;
