/**
 * The AWS clients' retry settings, through real SDK clients whose HTTP handler is scripted: what
 * the SDK's strategy retries, how often, and with the adapters' delays.
 */
import { DescribeNodegroupCommand, EKSClient } from '@aws-sdk/client-eks';
import { HttpResponse } from '@smithy/protocol-http';
import { Readable } from 'node:stream';
import { AWS_BACKOFF, awsClientSettings, awsRetryStrategy } from '../../../lib/adapters/aws/clientConfig.js';

const ENV = { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' };

function scriptedEks(replies: { status: number; type?: string }[], strategy = awsRetryStrategy()) {
  let calls = 0;
  const client = new EKSClient({
    ...awsClientSettings(ENV, 'EKS'),
    retryStrategy: strategy,
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
    requestHandler: {
      handle: async () => {
        const reply = replies[Math.min(calls++, replies.length - 1)]!;
        const ok = { nodegroup: { nodegroupName: 'gpu-l4', status: 'ACTIVE' } };
        const body = reply.status < 300 ? ok : { message: `failure ${calls}` };
        return {
          response: new HttpResponse({
            statusCode: reply.status,
            headers: {
              'content-type': 'application/json',
              ...(reply.type ? { 'x-amzn-errortype': reply.type } : {}),
            },
            body: Readable.from([Buffer.from(JSON.stringify(body))]),
          }),
        };
      },
    },
  });
  const describe = () =>
    client.send(new DescribeNodegroupCommand({ clusterName: 'c', nodegroupName: 'gpu-l4' }));
  return { describe, calls: () => calls };
}

const noDelay = () => awsRetryStrategy({ ...AWS_BACKOFF, random: () => 0 });

test('region and endpoint from the standard variables; every client gets the retry strategy', async () => {
  const settings = awsClientSettings(ENV, 'EKS');
  expect(settings).toMatchObject({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:5000' });
  expect(await settings.retryStrategy.maxAttempts()).toBe(AWS_BACKOFF.attempts);
  expect(
    awsClientSettings({ AWS_DEFAULT_REGION: 'us-east-2', AWS_ENDPOINT_URL: '' }, 'SQS'),
  ).not.toHaveProperty('endpoint');
  expect(() => awsClientSettings({}, 'SQS')).toThrow('AWS_REGION is not set');
});

test("a service's own endpoint variable comes before the shared one, as in the SDK", () => {
  const env = {
    ...ENV,
    AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:5001',
    AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:5002',
    AWS_ENDPOINT_URL_AUTO_SCALING: '',
  };
  expect(awsClientSettings(env, 'SQS').endpoint).toBe('http://127.0.0.1:5001');
  expect(awsClientSettings(env, 'DYNAMODB').endpoint).toBe('http://127.0.0.1:5002');
  // unset or empty: the shared one
  expect(awsClientSettings(env, 'EKS').endpoint).toBe('http://127.0.0.1:5000');
  expect(awsClientSettings(env, 'AUTO_SCALING').endpoint).toBe('http://127.0.0.1:5000');
  expect(
    awsClientSettings({ AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:5003' }, 'SSM'),
  ).not.toHaveProperty('endpoint');
});

test('throttling and server faults are retried by the SDK until the call goes through', async () => {
  const eks = scriptedEks(
    [{ status: 429, type: 'ThrottlingException' }, { status: 503 }, { status: 200 }],
    noDelay(),
  );
  const out = await eks.describe();
  expect(out.nodegroup?.status).toBe('ACTIVE');
  expect(eks.calls()).toBe(3);
});

test('the attempts are bounded by the policy, the first included', async () => {
  const eks = scriptedEks(
    [{ status: 500 }],
    awsRetryStrategy({ ...AWS_BACKOFF, attempts: 3, random: () => 0 }),
  );
  await expect(eks.describe()).rejects.toMatchObject({ $metadata: { httpStatusCode: 500, attempts: 3 } });
  expect(eks.calls()).toBe(3);
});

test('a client error (not found) is not retried', async () => {
  const eks = scriptedEks([{ status: 404, type: 'ResourceNotFoundException' }], noDelay());
  await expect(eks.describe()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  expect(eks.calls()).toBe(1);
});

test("the SDK waits the policy's delays between tries", async () => {
  const started = Date.now();
  const eks = scriptedEks(
    [{ status: 503 }, { status: 503 }, { status: 200 }],
    awsRetryStrategy({ attempts: 3, baseDelayMs: 150, maxDelayMs: 1000, jitter: 'none' }),
  );
  await eks.describe();
  // 150 ms, then 300 ms: the policy's doubling, not the SDK's default pace
  expect(Date.now() - started).toBeGreaterThanOrEqual(440);
  expect(Date.now() - started).toBeLessThan(2000);
});
