/**
 * The policy bench (bench/policies/run.ts) run through its CLI, as a user would, for the probes
 * that run it on derived workloads: its progress (stderr) passes through, and its `--json`
 * answer is read from stdout. The JSON comes first; yardsticks that missed the target are
 * listed after it, past a blank line.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface BenchCliOutput {
  /** the parsed JSON, or null when the bench printed none (or none that parses) */
  readonly json: unknown;
  /** what the bench printed after its JSON (or all of it, without one) */
  readonly rest: string;
}

export function runBenchCli(args: readonly string[]): Promise<BenchCliOutput> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [`${REPO_ROOT}bin/run-ts.js`, `${REPO_ROOT}bench/policies/run.ts`, ...args],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', fail);
    child.on('close', () => {
      const end = stdout.indexOf('\n}\n');
      let json: unknown = null;
      try {
        json = end >= 0 ? JSON.parse(stdout.slice(0, end + 2)) : null;
      } catch {
        json = null;
      }
      done({ json, rest: stdout.slice(end >= 0 ? end + 3 : 0).trim() });
    });
  });
}
