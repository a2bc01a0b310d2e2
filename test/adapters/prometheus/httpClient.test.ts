/**
 * The query client on the wire, against a loopback server: POSTed queries, bearer / basic / custom
 * headers, SigV4 signatures that verify, and failures (time limit, HTTP errors) told apart.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  PrometheusClient,
  PrometheusMetricsSource,
  PrometheusQueryError,
} from '../../../lib/adapters/prometheus/index.js';
import { rowsOf } from '../../../lib/adapters/prometheus/queryRows.js';
import { emptyVector, FakeServer } from './fakeServer.js';

const T = 1_800_000_000.5;
const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'tok',
};

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function serve(answer: ConstructorParameters<typeof FakeServer>[0]) {
  server = new FakeServer(answer);
  return server.start();
}

test('queries are POSTed as a form with the evaluation time, and the answer parsed', async () => {
  const url = await serve(() => ({
    status: 200,
    body: JSON.stringify({
      status: 'success',
      data: { resultType: 'vector', result: [{ metric: { model_name: 'm' }, value: [T, '4'] }] },
    }),
  }));
  const client = new PrometheusClient({
    url,
    bearerToken: 'secret-token',
    headers: { 'X-Scope-OrgID': 'tenant-1' },
  });
  const rows = rowsOf(await client.instant('sum by (model_name) (up)', T));
  expect(rows).toEqual([{ labels: { model_name: 'm' }, value: 4 }]);
  const [request] = server!.requests;
  expect(request!.method).toBe('POST');
  expect(request!.url).toBe('/api/v1/query');
  expect(new URLSearchParams(request!.body.toString())).toEqual(
    new URLSearchParams({ query: 'sum by (model_name) (up)', time: String(T) }),
  );
  expect(request!.headers.authorization).toBe('Bearer secret-token');
  expect(request!.headers['x-scope-orgid']).toBe('tenant-1');
});

test('basic credentials go in the Authorization header', async () => {
  const url = await serve(emptyVector);
  await new PrometheusClient({ url, basicAuth: { username: 'ops', password: 'p:w' } }).instant('up', T);
  expect(server!.requests[0]!.headers.authorization).toBe(
    `Basic ${Buffer.from('ops:p:w').toString('base64')}`,
  );
});

test('SigV4 signs the request as sent (URL, body, date), for Amazon Managed Prometheus', async () => {
  const base = await serve(emptyVector);
  const url = `${base}/workspaces/ws-1234`;
  const client = new PrometheusClient({ url, sigv4: { region: 'us-west-2', credentials: CREDENTIALS } });
  await client.instant('up{job="vllm"}', T);
  const r = server!.requests[0]!;
  expect(r.url).toBe('/workspaces/ws-1234/api/v1/query');
  const authorization = String(r.headers.authorization);
  expect(authorization).toMatch(
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-west-2\/aps\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
  );
  expect(r.headers['x-amz-security-token']).toBe('tok');
  // Recompute the signature from what arrived: it matches only if URL, body and headers are as signed.
  const date = String(r.headers['x-amz-date']);
  const signingDate = new Date(
    `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
  );
  const { hostname, port } = new URL(base);
  const expected = await new SignatureV4({
    service: 'aps',
    region: 'us-west-2',
    credentials: CREDENTIALS,
    sha256: Sha256,
  }).sign(
    new HttpRequest({
      method: r.method,
      protocol: 'http:',
      hostname,
      port: Number(port),
      path: r.url,
      headers: { host: String(r.headers.host), 'content-type': String(r.headers['content-type']) },
      body: r.body.toString(),
    }),
    { signingDate },
  );
  expect(authorization).toBe(expected.headers.authorization);
});

test('a server that does not answer in time is a timeout, named as such', async () => {
  const url = await serve(() => undefined);
  const client = new PrometheusClient({ url, timeoutMs: 200 });
  const started = Date.now();
  const error = await client.instant('up', T).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PrometheusQueryError);
  expect((error as PrometheusQueryError).kind).toBe('timeout');
  expect((error as Error).message).toBe(`prometheus at ${url} did not answer within 200 ms`);
  expect(Date.now() - started).toBeLessThan(3000);
});

test("HTTP errors carry the status and Prometheus' own message", async () => {
  const url = await serve((_, i) =>
    i === 0
      ? {
          status: 503,
          body: JSON.stringify({ status: 'error', errorType: 'unavailable', error: 'too many queries' }),
        }
      : {
          status: 400,
          body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error' }),
        },
  );
  const client = new PrometheusClient({ url });
  const overloaded = (await client.instant('up', T).catch((e: unknown) => e)) as PrometheusQueryError;
  expect([overloaded.kind, overloaded.status, overloaded.message]).toEqual([
    'http',
    503,
    `prometheus at ${url} answered HTTP 503: too many queries`,
  ]);
  const bad = (await client.instant('up(', T).catch((e: unknown) => e)) as PrometheusQueryError;
  expect(bad.message).toBe(`prometheus at ${url} answered HTTP 400: parse error`);
});

test('the metrics source never throws: failing answers become missing series with the reason', async () => {
  const url = await serve(() => ({ status: 502, body: 'bad gateway', contentType: 'text/plain' }));
  const source = new PrometheusMetricsSource({ connection: { url } });
  const [o] = await source.collect(
    [{ variant: 'llm/chat', namespace: 'llm', modelName: 'chat', gateway: false }],
    T,
  );
  expect(o!.arrivalRate).toBeUndefined();
  expect(o!.errors).toHaveLength(1);
  expect(o!.errors[0]).toMatch(
    new RegExp(`^(unexpected answer from prometheus|prometheus at) .*${url.replace(/\./g, '\\.')}`),
  );
  expect(o!.missing).toContain('vllm:request_success_total');
  expect(source.lastCollection).toMatchObject({ queries: 20, failed: 20 });
  expect(server!.requests).toHaveLength(20);
});

test('no variants, no queries', async () => {
  const url = await serve(emptyVector);
  expect(await new PrometheusMetricsSource({ connection: { url } }).collect([], T)).toEqual([]);
  expect(server!.requests).toHaveLength(0);
});
