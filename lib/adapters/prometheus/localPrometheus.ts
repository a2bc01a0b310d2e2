/**
 * A real Prometheus (Debian's package) started as a child process on loopback, for integration
 * tests, benchmarks and the local stack: a generated config scraping the given targets, its own
 * port and data folder, the remote-write receiver on. Stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { withBackoff } from '../backoff.js';

export const PROMETHEUS_INSTALL_COMMAND = 'apt-get install -y --no-install-recommends prometheus';
const DEFAULT_BINARY = '/usr/bin/prometheus';

/** The Prometheus binary (PROMETHEUS_BIN, or Debian's), or an error saying how to install it. */
export function findPrometheusBinary(env: NodeJS.ProcessEnv = process.env): string {
  const binary = env.PROMETHEUS_BIN || DEFAULT_BINARY;
  if (!existsSync(binary)) {
    throw new Error(
      `Prometheus not found at ${binary}; install it with: ${PROMETHEUS_INSTALL_COMMAND} (or set PROMETHEUS_BIN)`,
    );
  }
  return binary;
}

export interface ScrapeJob {
  readonly job: string;
  /** host:port of each target */
  readonly targets: readonly string[];
  readonly metricsPath?: string;
  readonly intervalSeconds?: number;
}

export interface LocalPrometheusOptions {
  readonly jobs: readonly ScrapeJob[];
  /** default scrape interval (default 1 s) */
  readonly scrapeIntervalSeconds?: number;
  readonly binary?: string;
  /** how long to wait for /-/ready (default 15 s) */
  readonly readyTimeoutMs?: number;
  /** alerting and recording rule files to load (absolute paths) */
  readonly ruleFiles?: readonly string[];
  /** rule evaluation interval (default 15 s) */
  readonly evaluationIntervalSeconds?: number;
  /**
   * Accept remote-written samples this far behind the newest (a backfilled history: the shadow
   * report's tests); default none, as Prometheus
   */
  readonly outOfOrderTimeWindowSeconds?: number;
}

/** The generated configuration: every job scraped on its interval, labels kept as the targets expose them. */
export function prometheusConfig(options: LocalPrometheusOptions): string {
  const interval = options.scrapeIntervalSeconds ?? 1;
  const seconds = (s: number) => `${Math.round(s * 1000)}ms`;
  return stringify({
    global: {
      scrape_interval: seconds(interval),
      scrape_timeout: seconds(interval),
      evaluation_interval: seconds(options.evaluationIntervalSeconds ?? 15),
    },
    ...(options.ruleFiles?.length ? { rule_files: [...options.ruleFiles] } : {}),
    ...(options.outOfOrderTimeWindowSeconds
      ? {
          storage: {
            tsdb: { out_of_order_time_window: `${Math.round(options.outOfOrderTimeWindowSeconds)}s` },
          },
        }
      : {}),
    scrape_configs: options.jobs.map((j) => ({
      job_name: j.job,
      honor_labels: true,
      metrics_path: j.metricsPath ?? '/metrics',
      ...(j.intervalSeconds !== undefined
        ? { scrape_interval: seconds(j.intervalSeconds), scrape_timeout: seconds(j.intervalSeconds) }
        : {}),
      static_configs: [{ targets: [...j.targets] }],
    })),
  });
}

/** A port free on 127.0.0.1 at the time of asking. */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Signals a process that may have exited meanwhile. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class PrometheusExited extends Error {
  constructor(stderr: string) {
    super(`Prometheus exited at start: ${stderr}`);
  }
}

export class LocalPrometheus {
  private exited = false;
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly dir: string,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    child.once('exit', () => {
      this.exited = true;
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get remoteWriteUrl(): string {
    return `${this.url}/api/v1/write`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Starts Prometheus and waits until it is ready; on any failure the process is stopped first. */
  static async start(options: LocalPrometheusOptions): Promise<LocalPrometheus> {
    const binary = options.binary ?? findPrometheusBinary();
    const dir = await mkdtemp(join(tmpdir(), 'sva-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    await writeFile(config, prometheusConfig(options));
    try {
      // A port found free can be taken before Prometheus binds it: try a few, at once.
      return await withBackoff(
        async () => {
          const port = await freeLoopbackPort();
          const child = spawn(
            binary,
            [
              `--config.file=${config}`,
              `--storage.tsdb.path=${join(dir, 'data')}`,
              `--web.listen-address=127.0.0.1:${port}`,
              '--web.enable-remote-write-receiver',
              '--log.level=warn',
            ],
            { stdio: ['ignore', 'ignore', 'pipe'] },
          );
          const prometheus = new LocalPrometheus(child, port, dir);
          try {
            await prometheus.waitReady(options.readyTimeoutMs ?? 15_000);
            return prometheus;
          } catch (err) {
            await prometheus.stop(false);
            throw err;
          }
        },
        (err) => /address already in use/.test((err as Error).message),
        { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 },
      );
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Polls /-/ready until it answers OK, the process exits, or the time is up. */
  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await withBackoff(
      async () => {
        if (this.exited) throw new PrometheusExited(this.stderr.trim() || '(no output)');
        const response = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        if (!response.ok) throw new Error(`/-/ready answered HTTP ${response.status}`);
      },
      // Not listening yet, or not ready yet: poll again while there is time.
      (err) => !(err instanceof PrometheusExited) && Date.now() < deadline,
      { attempts: Number.POSITIVE_INFINITY, baseDelayMs: 50, maxDelayMs: 50, jitter: 'none' },
    ).catch((err: unknown) => {
      if (err instanceof PrometheusExited) throw err;
      throw new Error(`Prometheus not ready within ${timeoutMs} ms: ${this.stderr.trim() || '(no output)'}`);
    });
  }

  /** Stops the process by its PID (SIGTERM, then SIGKILL after 5 s) and removes its folder. */
  async stop(removeDir = true): Promise<void> {
    const pid = this.child.pid;
    if (!this.exited && pid !== undefined) {
      const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
      signal(pid, 'SIGTERM');
      const deadline = Date.now() + 5000;
      while (!this.exited && Date.now() < deadline) await Promise.race([exited, delay(50)]);
      if (!this.exited) {
        signal(pid, 'SIGKILL');
        await Promise.race([exited, delay(2000)]);
      }
    }
    if (removeDir) await rm(this.dir, { recursive: true, force: true });
  }
}
