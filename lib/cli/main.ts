/** The `sva` command line: subcommands, and one clear line (never a stack trace) for a user's error. */
import { isUserError, UsageError } from './errors.js';

type Run = (
  args: string[],
  out: (line: string) => void,
  err: (line: string) => void,
) => number | Promise<number>;

interface Command {
  readonly run: Run;
  readonly usage: string;
}

// Each command is loaded when it runs, so `sva solve` does not start the AWS SDK and the
// Kubernetes client that `sva invoke` needs.
const COMMANDS: Record<string, () => Promise<Command>> = {
  solve: async () => {
    const m = await import('./solveCommand.js');
    return { run: m.solveCommand, usage: m.SOLVE_USAGE };
  },
  analyze: async () => {
    const m = await import('./analyzeCommand.js');
    return { run: m.analyzeCommand, usage: m.ANALYZE_USAGE };
  },
  simulate: async () => {
    const m = await import('./simulateCommand.js');
    return { run: m.simulateCommand, usage: m.SIMULATE_USAGE };
  },
  collect: async () => {
    const m = await import('./collectCommand.js');
    return { run: m.collectCommand, usage: m.COLLECT_USAGE };
  },
  'shadow-report': async () => {
    const m = await import('./shadowReportCommand.js');
    return { run: m.shadowReportCommand, usage: m.SHADOW_REPORT_USAGE };
  },
  invoke: async () => {
    const m = await import('./invokeCommand.js');
    return { run: m.invokeCommand, usage: m.INVOKE_USAGE };
  },
};

async function usage(): Promise<string> {
  // One after another: concurrent dynamic imports of modules sharing dependencies trip jest's
  // ESM loader, and `sva --help` is not in a hurry.
  const commands: Command[] = [];
  for (const load of Object.values(COMMANDS)) commands.push(await load());
  return ['sva: serverless variant autoscaler for vLLM fleets', '', ...commands.map((c) => c.usage)].join(
    '\n',
  );
}

export async function main(
  argv: string[],
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(await usage());
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    err(`sva: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see: sva --help)`);
    return 2;
  }
  const command = await load();
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
