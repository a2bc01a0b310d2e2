/** The remote-write sink: its timeseries, its headers, retries with backoff and what it reports. */
import { RemoteWriteError, RemoteWriteTelemetrySink } from '../../../lib/adapters/prometheus/index.js';
import { REMOTE_WRITE_BACKOFF, toTimeseries } from '../../../lib/adapters/prometheus/remoteWriteSink.js';
import type { TelemetryPoint } from '../../../lib/policy/ports.js';
import { FakeServer } from './fakeServer.js';

const LABELS = { variant_name: 'chat', namespace: 'llm', accelerator_type: 'L4' };
const POINTS: TelemetryPoint[] = [
  { name: 'inferno_desired_replicas', labels: LABELS, value: 3, timestamp: 2000 },
  { name: 'inferno_current_replicas', labels: LABELS, value: 2, timestamp: 2000 },
  { name: 'inferno_desired_replicas', labels: LABELS, value: 4, timestamp: 1000 },
];

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

test('one timeseries per name and labels, labels sorted by name, samples in time order', () => {
  const series = toTimeseries(POINTS);
  expect(series).toEqual([
    {
      labels: {
        __name__: 'inferno_desired_replicas',
        accelerator_type: 'L4',
        namespace: 'llm',
        variant_name: 'chat',
      },
      samples: [
        { value: 4, timestamp: 1000 },
        { value: 3, timestamp: 2000 },
      ],
    },
    {
      labels: {
        __name__: 'inferno_current_replicas',
        accelerator_type: 'L4',
        namespace: 'llm',
        variant_name: 'chat',
      },
      samples: [{ value: 2, timestamp: 2000 }],
    },
  ]);
  expect(Object.keys(series[0]!.labels)).toEqual([
    '__name__',
    'accelerator_type',
    'namespace',
    'variant_name',
  ]);
  expect(() => toTimeseries([{ ...POINTS[0]!, name: 'bad-name' }])).toThrow(RemoteWriteError);
  expect(() => toTimeseries([{ ...POINTS[0]!, labels: { 'bad-label': 'x' } }])).toThrow(
    'invalid label name "bad-label"',
  );
});

test('pushes snappy-compressed protobuf with its headers, retrying server errors with backoff', async () => {
  server = new FakeServer((_, i) => (i < 2 ? { status: 503, body: 'busy' } : { status: 204, body: '' }));
  const url = `${await server.start()}/api/v1/write`;
  const delays: number[] = [];
  const sink = new RemoteWriteTelemetrySink({
    connection: { url, bearerToken: 'tok', headers: { 'X-Scope-OrgID': 'tenant' } },
    backoff: {
      ...REMOTE_WRITE_BACKOFF,
      random: () => 1, // the top of each jitter range
      sleep: async (ms) => {
        delays.push(ms);
      },
    },
  });
  await sink.publish(POINTS);
  expect(server.requests).toHaveLength(3);
  expect(delays).toEqual([200, 400]);
  const r = server.requests[2]!;
  expect(r.method).toBe('POST');
  expect(r.url).toBe('/api/v1/write');
  expect(r.headers).toMatchObject({
    'content-type': 'application/x-protobuf',
    'content-encoding': 'snappy',
    'x-prometheus-remote-write-version': '0.1.0',
    authorization: 'Bearer tok',
    'x-scope-orgid': 'tenant',
  });
  expect(r.body.length).toBeGreaterThan(20);
});

test('gives up after the bounded retries, naming the status and the server', async () => {
  server = new FakeServer(() => ({ status: 500, body: 'boom\n', contentType: 'text/plain' }));
  const url = `${await server.start()}/api/v1/write`;
  const sink = new RemoteWriteTelemetrySink({
    connection: { url },
    backoff: { ...REMOTE_WRITE_BACKOFF, attempts: 3, sleep: async () => {} },
  });
  const error = (await sink.publish(POINTS).catch((e: unknown) => e)) as RemoteWriteError;
  expect(error).toBeInstanceOf(RemoteWriteError);
  expect(error.attempts).toBe(3);
  expect(error.status).toBe(500);
  expect(error.message).toBe(
    `remote write of 3 points to ${url} failed after 3 attempts: HTTP 500 Internal Server Error: boom`,
  );
  expect(server.requests).toHaveLength(3);
});

test('a receiver that does not answer in time is a failed attempt', async () => {
  server = new FakeServer(() => undefined);
  const url = `${await server.start()}/api/v1/write`;
  const sink = new RemoteWriteTelemetrySink({
    connection: { url, timeoutMs: 150 },
    backoff: { ...REMOTE_WRITE_BACKOFF, attempts: 2, sleep: async () => {} },
  });
  await expect(sink.publish(POINTS)).rejects.toThrow(/failed after 2 attempts: no answer within 150 ms$/);
});

test('SigV4 signs pushes for Amazon Managed Prometheus; nothing to publish sends nothing', async () => {
  server = new FakeServer(() => ({ status: 200, body: '' }));
  const url = `${await server.start()}/workspaces/ws-1/api/v1/remote_write`;
  const sink = new RemoteWriteTelemetrySink({
    connection: {
      url,
      sigv4: { region: 'eu-west-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } },
    },
  });
  await sink.publish([]);
  expect(server.requests).toHaveLength(0);
  await sink.publish(POINTS);
  const r = server.requests[0]!;
  expect(String(r.headers.authorization)).toMatch(
    /^AWS4-HMAC-SHA256 Credential=AKID\/\d{8}\/eu-west-1\/aps\/aws4_request, SignedHeaders=content-encoding;content-type;host;x-amz-content-sha256;x-amz-date;x-prometheus-remote-write-version, Signature=[0-9a-f]{64}$/,
  );
});
