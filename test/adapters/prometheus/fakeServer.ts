/** A loopback HTTP server that records requests and answers as told (unit tests of the HTTP clients). */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** status and body of the answer; `undefined` never answers (to test time limits) */
export type Answer = { status: number; body: string; contentType?: string } | undefined;

export class FakeServer {
  readonly requests: Recorded[] = [];
  private server?: Server;

  constructor(private answer: (request: Recorded, index: number) => Answer) {}

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const recorded = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        this.requests.push(recorded);
        const a = this.answer(recorded, this.requests.length - 1);
        if (a) res.writeHead(a.status, { 'content-type': a.contentType ?? 'application/json' }).end(a.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections();
    await closed;
  }
}

export const emptyVector = () => ({
  status: 200,
  body: JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }),
});
