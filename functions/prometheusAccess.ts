/**
 * How the functions may reach Prometheus (SVA_PROMETHEUS_URL) and remote write
 * (SVA_REMOTE_WRITE_URL), checked when they start:
 *
 *   - a loopback address (the simulation, the local stack, tests): anything goes;
 *   - otherwise https only, and authenticated either by SigV4 (SVA_PROMETHEUS_SIGV4_REGION, Amazon
 *     Managed Prometheus) or with credentials from a secret store, read once at cold start:
 *       SVA_PROMETHEUS_CREDENTIALS_SECRET     Secrets Manager secret (ARN or name)
 *       SVA_PROMETHEUS_CREDENTIALS_PARAMETER  SSM SecureString parameter name
 *     holding a bearer token, or JSON {"bearerToken"} or {"username", "password"}.
 *
 * A token in a plain environment variable (SVA_PROMETHEUS_BEARER_TOKEN) or in the URL is readable
 * by anyone who may read the function's configuration, so it is refused for a remote address.
 */
import type { SecretReference, StoredCredentials } from '../lib/adapters/aws/secretStore.js';

export type Env = Readonly<Record<string, string | undefined>>;

export const PROMETHEUS_URL_VARIABLES = ['SVA_PROMETHEUS_URL', 'SVA_REMOTE_WRITE_URL'] as const;

export class PrometheusAccessError extends Error {
  override readonly name = 'PrometheusAccessError';
}

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine. */
export function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The secret the environment names, if any. */
export function secretReference(env: Env): SecretReference | undefined {
  const secret = env.SVA_PROMETHEUS_CREDENTIALS_SECRET;
  const parameter = env.SVA_PROMETHEUS_CREDENTIALS_PARAMETER;
  if (secret && parameter)
    throw new PrometheusAccessError(
      'set SVA_PROMETHEUS_CREDENTIALS_SECRET or SVA_PROMETHEUS_CREDENTIALS_PARAMETER, not both',
    );
  if (secret) return { store: 'secretsmanager', id: secret };
  if (parameter) return { store: 'ssm', name: parameter };
  return undefined;
}

const STORE_HINT =
  'Secrets Manager (SVA_PROMETHEUS_CREDENTIALS_SECRET) or SSM (SVA_PROMETHEUS_CREDENTIALS_PARAMETER)';

/**
 * Checks every Prometheus URL set; returns whether credentials are to be read from the secret
 * store (one is named, and some URL is set). Throws naming the variable at fault.
 */
export function checkPrometheusAccess(env: Env): { readonly readStoredCredentials: boolean } {
  const reference = secretReference(env);
  let anyUrl = false;
  for (const name of PROMETHEUS_URL_VARIABLES) {
    const value = env[name];
    if (!value) continue;
    anyUrl = true;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new PrometheusAccessError(`${name} is not a URL`);
    }
    if (isLoopback(url)) continue;
    const where = `${name} (${url.protocol}//${url.host})`;
    if (url.protocol !== 'https:')
      throw new PrometheusAccessError(`${where}: must be https; only loopback addresses may use http`);
    if (url.username || url.password)
      throw new PrometheusAccessError(
        `${where}: credentials in the URL are readable by anyone who can read the function's configuration; keep them in ${STORE_HINT}`,
      );
    if (env.SVA_PROMETHEUS_SIGV4_REGION) continue;
    if (env.SVA_PROMETHEUS_BEARER_TOKEN)
      throw new PrometheusAccessError(
        `${where}: SVA_PROMETHEUS_BEARER_TOKEN is a plaintext variable (only loopback addresses may use it); keep the token in ${STORE_HINT}`,
      );
    if (!reference)
      throw new PrometheusAccessError(
        `${where}: needs credentials: SVA_PROMETHEUS_SIGV4_REGION for Amazon Managed Prometheus, or a token in ${STORE_HINT}`,
      );
  }
  return { readStoredCredentials: anyUrl && reference !== undefined };
}

/** The credentials for one URL: stored ones for a remote address, the plaintext token only on loopback. */
export function credentialsFor(
  env: Env,
  url: string,
  stored: StoredCredentials | undefined,
): { bearerToken?: string; basicAuth?: { username: string; password: string } } {
  const loopback = isLoopback(new URL(url));
  if (stored && (!loopback || !env.SVA_PROMETHEUS_BEARER_TOKEN))
    return 'bearerToken' in stored
      ? { bearerToken: stored.bearerToken }
      : { basicAuth: { ...stored.basicAuth } };
  if (loopback && env.SVA_PROMETHEUS_BEARER_TOKEN) return { bearerToken: env.SVA_PROMETHEUS_BEARER_TOKEN };
  return {};
}
