/** How to reach a Prometheus-compatible server: address, time limit and authentication. */
import { sigV4Signer, type RequestSigner, type SigV4Options } from './sigv4.js';

export interface PrometheusConnection {
  /** base URL, e.g. `http://127.0.0.1:9090` or an AMP workspace URL; a push URL for remote write */
  readonly url: string;
  /** per request, milliseconds (default 5000) */
  readonly timeoutMs?: number;
  readonly bearerToken?: string;
  readonly basicAuth?: { readonly username: string; readonly password: string };
  /** sent with every request (tenant headers such as `X-Scope-OrgID`, ...) */
  readonly headers?: Readonly<Record<string, string>>;
  /** sign requests for Amazon Managed Prometheus */
  readonly sigv4?: SigV4Options;
}

export const DEFAULT_TIMEOUT_MS = 5000;

/** Custom headers plus the bearer token and basic credentials as an `Authorization` header. */
export function connectionHeaders(c: PrometheusConnection): Record<string, string> {
  const headers: Record<string, string> = { ...c.headers };
  if (c.bearerToken !== undefined) headers.Authorization = `Bearer ${c.bearerToken}`;
  else if (c.basicAuth !== undefined) {
    const token = Buffer.from(`${c.basicAuth.username}:${c.basicAuth.password}`).toString('base64');
    headers.Authorization = `Basic ${token}`;
  }
  return headers;
}

export function connectionSigner(c: PrometheusConnection): RequestSigner | undefined {
  return c.sigv4 ? sigV4Signer(c.sigv4) : undefined;
}

/** The URL without credentials, for messages. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
