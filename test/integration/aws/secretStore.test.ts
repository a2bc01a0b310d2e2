/**
 * Prometheus credentials from Secrets Manager and SSM (moto), read by the functions' wiring at
 * start, and sent by the metrics source: never a plaintext variable for a remote address.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { Logger } from '@aws-lambda-powertools/logger';
import { evaluateWiring, prometheusCredentialsFromEnv } from '../../../functions/wiring.js';
import { captureLogs } from '../../functions/logs.js';
import { CREDENTIALS, REGION, startMoto, type Moto } from './moto.js';

jest.setTimeout(60_000);

let moto: Moto | undefined;
let secretArn = '';

beforeAll(async () => {
  moto = await startMoto();
  Object.assign(process.env, moto.env);
  const settings = { region: REGION, endpoint: moto.endpoint, credentials: CREDENTIALS };
  const secret = await new SecretsManagerClient(settings).send(
    new CreateSecretCommand({
      Name: 'sva/prometheus',
      SecretString: '{"bearerToken":"token-from-secrets-manager"}',
    }),
  );
  secretArn = secret.ARN!;
  await new SSMClient(settings).send(
    new PutParameterCommand({ Name: '/sva/prometheus', Type: 'SecureString', Value: 'token-from-ssm' }),
  );
});

afterAll(async () => {
  await moto?.stop();
});

const REMOTE = 'https://prometheus.example.com';

test('a Secrets Manager secret and an SSM SecureString, read with the functions own clients', async () => {
  const env = { ...moto!.env, SVA_PROMETHEUS_URL: REMOTE };
  expect(
    await prometheusCredentialsFromEnv({ ...env, SVA_PROMETHEUS_CREDENTIALS_SECRET: secretArn }),
  ).toEqual({
    bearerToken: 'token-from-secrets-manager',
  });
  expect(
    await prometheusCredentialsFromEnv({ ...env, SVA_PROMETHEUS_CREDENTIALS_PARAMETER: '/sva/prometheus' }),
  ).toEqual({ bearerToken: 'token-from-ssm' });
  await expect(
    prometheusCredentialsFromEnv({ ...env, SVA_PROMETHEUS_CREDENTIALS_PARAMETER: '/sva/missing' }),
  ).rejects.toThrow(/^SSM parameter \/sva\/missing: cannot be read \(ParameterNotFound/);
});

test('the metrics source sends the stored token', async () => {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const env = {
      ...moto!.env,
      SVA_CONFIG: 'events/local-config.yaml',
      SVA_STATE_TABLE: 'sva-state',
      SVA_QUEUE_URL: `${moto!.endpoint}/000000000000/q.fifo`,
      SVA_CLUSTER_NAME: 'gpu-cluster',
      SVA_PROMETHEUS_URL: url,
      SVA_PROMETHEUS_CREDENTIALS_SECRET: secretArn,
    };
    const { result: wiring } = await captureLogs(() =>
      evaluateWiring(env, new Logger({ serviceName: 'sva-test' })),
    );
    await wiring.deps.metrics.collect(
      [{ variant: 'llm/chat', namespace: 'llm', modelName: 'llama-3.1-8b', gateway: false }],
      Date.now() / 1000,
    );
    expect(seen.length).toBeGreaterThan(0);
    for (const h of seen) expect(h.authorization).toBe('Bearer token-from-secrets-manager');
  } finally {
    server.close();
  }
});
