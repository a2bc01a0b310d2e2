/**
 * Instant queries through `prometheus-query`, with its failures (plain objects, not Errors)
 * turned into a PrometheusQueryError that says what went wrong: unreachable, too slow, or an
 * HTTP error with Prometheus' own message. Queries go by POST, so that long selectors over
 * many variants never hit a URL length limit.
 */
import { PrometheusDriver, type PrometheusConnectionOptions, type QueryResult } from 'prometheus-query';
import {
  connectionHeaders,
  connectionSigner,
  DEFAULT_TIMEOUT_MS,
  displayUrl,
  type PrometheusConnection,
} from './connection.js';
import type { RequestSigner } from './sigv4.js';

export type PrometheusErrorKind = 'unreachable' | 'timeout' | 'http' | 'bad-response';

export class PrometheusQueryError extends Error {
  override readonly name = 'PrometheusQueryError';

  constructor(
    readonly kind: PrometheusErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

type RequestInterceptor = NonNullable<PrometheusConnectionOptions['requestInterceptor']>;
type AxiosConfig = Parameters<RequestInterceptor['onFulfilled']>[0];

/** A plain error object as prometheus-query throws it. */
interface DriverFailure {
  readonly errorType?: string;
  readonly error?: unknown;
  readonly httpStatus?: number;
  readonly code?: string;
  readonly message?: string;
}

/** Turns whatever prometheus-query threw into a PrometheusQueryError naming the server. */
export function toQueryError(thrown: unknown, url: string, timeoutMs: number): PrometheusQueryError {
  if (thrown instanceof PrometheusQueryError) return thrown;
  const where = displayUrl(url);
  const f: DriverFailure = typeof thrown === 'object' && thrown !== null ? thrown : {};
  const detail = String(f.error ?? f.message ?? thrown);
  switch (f.errorType) {
    case 'timeout_error':
      return new PrometheusQueryError(
        'timeout',
        `prometheus at ${where} did not answer within ${timeoutMs} ms`,
      );
    case 'network_error':
    case 'ssl_error':
      if (f.code === 'ETIMEDOUT')
        return new PrometheusQueryError(
          'timeout',
          `prometheus at ${where} did not answer within ${timeoutMs} ms`,
        );
      return new PrometheusQueryError(
        'unreachable',
        `prometheus unreachable at ${where}: ${f.code && !detail.includes(f.code) ? `${f.code} ` : ''}${detail}`,
      );
    case 'http_error':
      return new PrometheusQueryError(
        'http',
        `prometheus at ${where} answered HTTP ${f.httpStatus ?? '?'}: ${detail}`,
        f.httpStatus,
      );
    default:
      return new PrometheusQueryError(
        'bad-response',
        `unexpected answer from prometheus at ${where}: ${detail}`,
      );
  }
}

/** Signs the request axios is about to send (body included), for Amazon Managed Prometheus. */
function signingInterceptor(sign: RequestSigner): RequestInterceptor {
  return {
    onFulfilled: async (config: AxiosConfig) => {
      const url = new URL(`${config.baseURL ?? ''}${config.url ?? ''}`);
      const params = config.params instanceof URLSearchParams ? config.params : undefined;
      params?.forEach((value, key) => url.searchParams.append(key, value));
      config.params = undefined;
      const body = config.data instanceof URLSearchParams ? config.data.toString() : undefined;
      const headers: Record<string, string> = {};
      if (body !== undefined) {
        config.data = body;
        headers['content-type'] = 'application/x-www-form-urlencoded';
      }
      config.url = url.toString();
      config.baseURL = undefined;
      const signed = await sign({ method: config.method ?? 'GET', url: config.url, headers, body });
      for (const [name, value] of Object.entries(signed)) config.headers.set(name, value);
      return config;
    },
  };
}

export class PrometheusClient {
  private readonly driver: PrometheusDriver;
  readonly timeoutMs: number;

  constructor(readonly connection: PrometheusConnection) {
    this.timeoutMs = connection.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const signer = connectionSigner(connection);
    this.driver = new PrometheusDriver({
      endpoint: connection.url,
      baseURL: '/api/v1/',
      headers: connectionHeaders(connection),
      timeout: this.timeoutMs,
      preferPost: true,
      ...(signer ? { requestInterceptor: signingInterceptor(signer) } : {}),
    });
  }

  /** Evaluates a PromQL expression at every `stepSeconds` from `startSeconds` to `endSeconds` (query_range). */
  async range(
    query: string,
    startSeconds: number,
    endSeconds: number,
    stepSeconds: number,
  ): Promise<QueryResult> {
    try {
      return await this.driver.rangeQuery(query, startSeconds * 1000, endSeconds * 1000, stepSeconds);
    } catch (thrown) {
      throw toQueryError(thrown, this.connection.url, this.timeoutMs);
    }
  }

  /** Evaluates a PromQL expression at `timeSeconds` (epoch seconds). */
  async instant(query: string, timeSeconds: number): Promise<QueryResult> {
    try {
      return await this.driver.instantQuery(query, timeSeconds * 1000);
    } catch (thrown) {
      throw toQueryError(thrown, this.connection.url, this.timeoutMs);
    }
  }
}
