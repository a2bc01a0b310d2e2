/**
 * An HTTP server on loopback serving /metrics for emulated vLLM replicas (and gateways): each
 * scrape asks every source for its samples at the current time and answers with prom-client's
 * text exposition. Port 0 picks a free port.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricSample } from '../../fleetSimulator/prometheusText.js';
import { EXPOSITION_CONTENT_TYPE, exposition } from './promClientText.js';

/** Samples at epoch second `t`. */
export type SampleSource = (t: number) => readonly MetricSample[];

export class VllmEmulatorServer {
  private server?: Server;
  private readonly sources: SampleSource[];
  /** scrapes answered so far */
  scrapes = 0;

  constructor(
    sources: readonly SampleSource[] = [],
    private readonly clock: () => number = () => Date.now() / 1000,
  ) {
    this.sources = [...sources];
  }

  add(source: SampleSource): this {
    this.sources.push(source);
    return this;
  }

  /** The current exposition. */
  async render(): Promise<string> {
    const t = this.clock();
    return exposition(this.sources.flatMap((s) => s(t)));
  }

  /** Listens on 127.0.0.1 (port 0: any free one) and returns `host:port`, the scrape target. */
  async start(port = 0): Promise<string> {
    if (this.server) return this.target;
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      this.render().then(
        (text) => {
          this.scrapes++;
          res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE }).end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`);
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return this.target;
  }

  get port(): number {
    if (!this.server) throw new Error('emulator not started');
    return (this.server.address() as AddressInfo).port;
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `http://${this.target}/metrics`;
  }

  /** Closes the server and its open connections (a scraper's keep-alive ones included). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}
