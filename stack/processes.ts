/**
 * Servers for integration tests: started on 127.0.0.1 with ports chosen at run time, polled
 * until ready with bounded waits, and stopped by their PID (TERM, then KILL).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Throws, with the command that installs it, when `command` is not runnable. */
export function requireCommand(command: string, args: string[], install: string): void {
  const r = spawnSync(command, args, { stdio: 'ignore', timeout: 20_000 });
  if (r.error || r.status !== 0) {
    throw new Error(
      `${command} is not available (${r.error?.message ?? `exit ${r.status}`}): install it with: ${install}`,
    );
  }
}

export class ServerProcess {
  private readonly child: ChildProcess;
  private log = '';
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString('utf8')).slice(-16_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code) => {
        this.exitCode = code;
        resolve();
      });
      this.child.on('error', (err) => {
        this.log += `\nspawn error: ${err.message}`;
        this.exitCode = -1;
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  output(): string {
    return this.log;
  }

  /** Polls `ready` every 100 ms until it says yes; fails with the server's output on timeout or exit. */
  async waitUntil(ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running)
        throw new Error(
          `${this.name} exited (${this.exitCode}) before it was ready:\n${this.log.slice(-4000)}`,
        );
      if (await ready().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.log.slice(-4000)}`);
  }

  private async exitWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), ms);
    });
    try {
      return await Promise.race([this.exited.then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** TERM by PID, KILL after 5 s. */
  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (!this.running || pid === undefined) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    if (!(await this.exitWithin(5000)) && this.running) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await this.exitWithin(2000);
    }
  }
}

/** Stops every server given, in order, even if some fail to stop. */
export async function stopAll(servers: readonly (ServerProcess | undefined)[]): Promise<void> {
  for (const s of servers) await s?.stop().catch(() => undefined);
}
