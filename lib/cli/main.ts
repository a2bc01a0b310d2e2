/** The `sva` command line: subcommands, and one clear line (never a stack trace) for a user's error. */
import { ANALYZE_USAGE, analyzeCommand } from './analyzeCommand.js';
import { COLLECT_USAGE, collectCommand } from './collectCommand.js';
import { isUserError, UsageError } from './errors.js';
import { INVOKE_USAGE, invokeCommand } from './invokeCommand.js';
import { SIMULATE_USAGE, simulateCommand } from './simulateCommand.js';
import { SOLVE_USAGE, solveCommand } from './solveCommand.js';

type Command = (
  args: string[],
  out: (line: string) => void,
  err: (line: string) => void,
) => number | Promise<number>;

const COMMANDS: Record<string, { run: Command; usage: string }> = {
  solve: { run: solveCommand, usage: SOLVE_USAGE },
  analyze: { run: analyzeCommand, usage: ANALYZE_USAGE },
  simulate: { run: simulateCommand, usage: SIMULATE_USAGE },
  collect: { run: collectCommand, usage: COLLECT_USAGE },
  invoke: { run: invokeCommand, usage: INVOKE_USAGE },
};

function usage(): string {
  return [
    'sva: serverless variant autoscaler for vLLM fleets',
    '',
    ...Object.values(COMMANDS).map((c) => c.usage),
  ].join('\n');
}

export async function main(
  argv: string[],
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    err(`sva: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    out(command.usage);
    return 0;
  }
  try {
    return await command.run(args, out, err);
  } catch (e) {
    // Wrong words on the command line: one line, and where to find the right ones.
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`sva ${name}: ${(e as Error).message.split('\n')[0]} (see: sva ${name} --help)`);
      return 2;
    }
    if (isUserError(e)) {
      err(`sva ${name}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
