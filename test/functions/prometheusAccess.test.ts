/**
 * Remote Prometheus and remote-write URLs: https, with SigV4 or credentials from a secret store,
 * never a plaintext token; loopback addresses (simulation, local stack, tests) are exempt. The
 * wiring refuses a bad setup when the function starts, naming the variable.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import {
  applyWiring,
  evaluateWiring,
  prometheusCredentialsFromEnv,
  WiringError,
} from '../../functions/wiring.js';
import { checkPrometheusAccess, credentialsFor, isLoopback } from '../../functions/prometheusAccess.js';
import { parseCredentials, type SecretStoreClients } from '../../lib/adapters/aws/secretStore.js';
import { captureLogs } from './logs.js';

const logger = new Logger({ serviceName: 'sva-test' });
const base = {
  AWS_REGION: 'us-east-1',
  SVA_CONFIG: 'events/local-config.yaml',
  SVA_STATE_TABLE: 'sva-state',
  SVA_QUEUE_URL: 'http://127.0.0.1:9/000000000000/q.fifo',
  SVA_CLUSTER_NAME: 'gpu-cluster',
};
const REMOTE = 'https://prometheus.example.com';
const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:sva-prometheus-AbCdEf';

test.each([
  ['http://127.0.0.1:9090', true],
  ['http://127.8.9.10:9090', true],
  ['http://localhost:9090', true],
  ['http://[::1]:9090', true],
  ['http://10.0.0.5:9090', false],
  ['https://127.0.0.1.example.com', false],
  ['http://localhost.example.com', false],
])('loopback: %s → %s', (url, loopback) => {
  expect(isLoopback(new URL(url))).toBe(loopback);
});

test.each([
  [
    { SVA_PROMETHEUS_URL: 'http://prometheus.monitoring:9090' },
    'SVA_PROMETHEUS_URL (http://prometheus.monitoring:9090): must be https; only loopback addresses may use http',
  ],
  [
    { SVA_REMOTE_WRITE_URL: 'http://10.0.0.5/api/v1/write', SVA_PROMETHEUS_CREDENTIALS_SECRET: SECRET },
    'SVA_REMOTE_WRITE_URL (http://10.0.0.5): must be https; only loopback addresses may use http',
  ],
  [
    { SVA_PROMETHEUS_URL: REMOTE, SVA_PROMETHEUS_BEARER_TOKEN: 'plain' },
    'SVA_PROMETHEUS_URL (https://prometheus.example.com): SVA_PROMETHEUS_BEARER_TOKEN is a plaintext variable (only loopback addresses may use it); keep the token in Secrets Manager (SVA_PROMETHEUS_CREDENTIALS_SECRET) or SSM (SVA_PROMETHEUS_CREDENTIALS_PARAMETER)',
  ],
  [
    { SVA_PROMETHEUS_URL: 'https://user:pass@prometheus.example.com' },
    /^SVA_PROMETHEUS_URL \(https:\/\/prometheus\.example\.com\): credentials in the URL are readable/,
  ],
  [
    { SVA_PROMETHEUS_URL: REMOTE },
    'SVA_PROMETHEUS_URL (https://prometheus.example.com): needs credentials: SVA_PROMETHEUS_SIGV4_REGION for Amazon Managed Prometheus, or a token in Secrets Manager (SVA_PROMETHEUS_CREDENTIALS_SECRET) or SSM (SVA_PROMETHEUS_CREDENTIALS_PARAMETER)',
  ],
  [
    {
      SVA_PROMETHEUS_URL: REMOTE,
      SVA_PROMETHEUS_CREDENTIALS_SECRET: SECRET,
      SVA_PROMETHEUS_CREDENTIALS_PARAMETER: '/sva/prometheus',
    },
    'set SVA_PROMETHEUS_CREDENTIALS_SECRET or SVA_PROMETHEUS_CREDENTIALS_PARAMETER, not both',
  ],
  [{ SVA_PROMETHEUS_URL: '127.0.0.1:9090' }, 'SVA_PROMETHEUS_URL is not a URL'],
])('refused at start (%#), evaluate and apply alike', async (vars, message) => {
  for (const wire of [evaluateWiring, applyWiring]) {
    const err = await wire({ ...base, ...vars }, logger).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WiringError);
    if (typeof message === 'string') expect((err as Error).message).toBe(message);
    else expect((err as Error).message).toMatch(message);
  }
});

test('accepted: loopback with anything, SigV4, or a secret store', () => {
  expect(
    checkPrometheusAccess({
      SVA_PROMETHEUS_URL: 'http://127.0.0.1:9090',
      SVA_REMOTE_WRITE_URL: 'http://localhost:9090/api/v1/write',
      SVA_PROMETHEUS_BEARER_TOKEN: 'local',
    }),
  ).toEqual({ readStoredCredentials: false });
  expect(
    checkPrometheusAccess({
      SVA_PROMETHEUS_URL: 'https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1',
      SVA_PROMETHEUS_SIGV4_REGION: 'us-east-1',
    }),
  ).toEqual({ readStoredCredentials: false });
  expect(
    checkPrometheusAccess({ SVA_PROMETHEUS_URL: REMOTE, SVA_PROMETHEUS_CREDENTIALS_PARAMETER: '/sva/prom' }),
  ).toEqual({ readStoredCredentials: true });
});

test('credentials per URL: stored ones, and the plaintext token only on loopback', () => {
  const stored = { bearerToken: 'from-the-store' };
  expect(credentialsFor({}, REMOTE, stored)).toEqual({ bearerToken: 'from-the-store' });
  expect(
    credentialsFor({ SVA_PROMETHEUS_BEARER_TOKEN: 'plain' }, 'http://127.0.0.1:9090', undefined),
  ).toEqual({ bearerToken: 'plain' });
  expect(credentialsFor({ SVA_PROMETHEUS_BEARER_TOKEN: 'plain' }, REMOTE, undefined)).toEqual({});
  expect(credentialsFor({}, REMOTE, { basicAuth: { username: 'u', password: 'p' } })).toEqual({
    basicAuth: { username: 'u', password: 'p' },
  });
});

test('the secret is read once, at start, from the store the environment names', async () => {
  const asked: string[] = [];
  const clients: SecretStoreClients = {
    secretsManager: () => ({
      send: async (c) => {
        asked.push(`secretsmanager ${c.input.SecretId}`);
        return { SecretString: '{"username":"sva","password":"s3cret"}' };
      },
    }),
    ssm: () => ({
      send: async (c) => {
        asked.push(`ssm ${c.input.Name} ${c.input.WithDecryption}`);
        return { Parameter: { Value: 'token-from-ssm' } };
      },
    }),
  };
  const env = { ...base, SVA_PROMETHEUS_URL: REMOTE };
  expect(
    await prometheusCredentialsFromEnv({ ...env, SVA_PROMETHEUS_CREDENTIALS_SECRET: SECRET }, () => clients),
  ).toEqual({ basicAuth: { username: 'sva', password: 's3cret' } });
  expect(
    await prometheusCredentialsFromEnv(
      { ...env, SVA_PROMETHEUS_CREDENTIALS_PARAMETER: '/sva/prometheus' },
      () => clients,
    ),
  ).toEqual({ bearerToken: 'token-from-ssm' });
  expect(asked).toEqual([`secretsmanager ${SECRET}`, 'ssm /sva/prometheus true']);
});

test('a secret that cannot be read or parsed names the secret, never its value', async () => {
  const failing: SecretStoreClients = {
    secretsManager: () => ({
      send: async () => {
        throw Object.assign(new Error("Secrets Manager can't find the specified secret."), {
          name: 'ResourceNotFoundException',
        });
      },
    }),
    ssm: () => ({ send: async () => ({ Parameter: { Value: '{"token": "leak-me"}' } }) }),
  };
  const env = { ...base, SVA_PROMETHEUS_URL: REMOTE };
  await expect(
    prometheusCredentialsFromEnv({ ...env, SVA_PROMETHEUS_CREDENTIALS_SECRET: SECRET }, () => failing),
  ).rejects.toThrow(
    `Secrets Manager secret ${SECRET}: cannot be read (ResourceNotFoundException: Secrets Manager can't find the specified secret.)`,
  );
  const err = (await prometheusCredentialsFromEnv(
    { ...env, SVA_PROMETHEUS_CREDENTIALS_PARAMETER: '/sva/prometheus' },
    () => failing,
  ).catch((e: unknown) => e)) as Error;
  expect(err.message).toBe(
    'SSM parameter /sva/prometheus: JSON must hold "bearerToken", or "username" and "password" (found: token)',
  );
  expect(err.message).not.toContain('leak-me');
  expect(parseCredentials('  abc  ', 'x')).toEqual({ bearerToken: 'abc' });
});

test('the local stack and tests go on as before: loopback URLs with a plaintext token', async () => {
  const env = {
    ...base,
    SVA_PROMETHEUS_URL: 'http://127.0.0.1:9',
    SVA_REMOTE_WRITE_URL: 'http://127.0.0.1:9/api/v1/write',
    SVA_PROMETHEUS_BEARER_TOKEN: 'local',
  };
  await captureLogs(() => evaluateWiring(env, logger));
  await captureLogs(() => applyWiring(env, logger));
});
