/**
 * TelemetrySink pushing the autoscaler's inferno_* points by Prometheus remote write (nothing
 * scrapes a function). Points are written as given: names, labels and values, including the
 * running value of inferno_replica_scaling_total that the decision state keeps across
 * invocations. A failed push (429, 5xx, no answer) is retried with the adapters' backoff a bounded
 * number of times, then reported by a RemoteWriteError; the use cases catch it, so it never fails a scaling action.
 */
import remoteWrite from 'prometheus-remote-write';
import type { TelemetryPoint, TelemetrySink } from '../../policy/ports.js';
import { withBackoff, type BackoffPolicy } from '../backoff.js';
import {
  connectionHeaders,
  connectionSigner,
  DEFAULT_TIMEOUT_MS,
  displayUrl,
  type PrometheusConnection,
} from './connection.js';

export interface RemoteWriteSinkOptions {
  /** `url` is the push endpoint, e.g. `http://127.0.0.1:9090/api/v1/write` */
  readonly connection: PrometheusConnection;
  /** tries of one push and the delays between them (default REMOTE_WRITE_BACKOFF) */
  readonly backoff?: BackoffPolicy;
}

export const REMOTE_WRITE_BACKOFF: BackoffPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 2000 };

export class RemoteWriteError extends Error {
  override readonly name = 'RemoteWriteError';

  constructor(
    message: string,
    readonly attempts: number,
    readonly status?: number,
  ) {
    super(message);
  }
}

type PushOptions = NonNullable<Parameters<typeof remoteWrite.pushTimeseries>[1]>;
type MinimalFetch = NonNullable<PushOptions['fetch']>;
/** prometheus-remote-write's Timeseries (its types do not export it). */
export interface Timeseries {
  readonly labels: { __name__: string; [label: string]: string };
  readonly samples: { value: number; timestamp: number }[];
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** One timeseries per name and label set, labels sorted by name, samples in time order. */
export function toTimeseries(points: readonly TelemetryPoint[]): Timeseries[] {
  const series = new Map<string, Timeseries>();
  for (const p of points) {
    if (!METRIC_NAME.test(p.name)) throw new RemoteWriteError(`invalid metric name "${p.name}"`, 0);
    const bad = Object.keys(p.labels).find((l) => !LABEL_NAME.test(l) || l.startsWith('__'));
    if (bad !== undefined) throw new RemoteWriteError(`invalid label name "${bad}" on ${p.name}`, 0);
    const all: Record<string, string> = { __name__: p.name, ...p.labels };
    const labels = Object.fromEntries(
      Object.keys(all)
        .sort()
        .map((k) => [k, all[k]!]),
    ) as Timeseries['labels'];
    const key = JSON.stringify(labels);
    const existing = series.get(key);
    const sample = { value: p.value, timestamp: Math.round(p.timestamp) };
    if (existing) existing.samples.push(sample);
    else series.set(key, { labels, samples: [sample] });
  }
  const out = [...series.values()];
  for (const s of out) s.samples.sort((a, b) => a.timestamp - b.timestamp);
  return out;
}

/** One failed push: the status, when the receiver answered, and what went wrong. */
class PushFailure extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** No answer, too many requests, or a server fault: the same push may go through later. */
const retryable = (err: unknown) =>
  err instanceof PushFailure && (err.status === undefined || err.status === 429 || err.status >= 500);

export class RemoteWriteTelemetrySink implements TelemetrySink {
  private readonly fetch: MinimalFetch;

  constructor(private readonly options: RemoteWriteSinkOptions) {
    const timeoutMs = options.connection.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const sign = connectionSigner(options.connection);
    this.fetch = async (url, init) => {
      const raw = init?.body ?? new ArrayBuffer(0);
      const body = Uint8Array.from(raw instanceof Uint8Array ? raw : new Uint8Array(raw));
      let headers: Record<string, string> = {
        ...init?.headers,
        'Content-Encoding': 'snappy',
        'X-Prometheus-Remote-Write-Version': '0.1.0',
      };
      if (sign) headers = await sign({ method: 'POST', url, headers, body });
      return globalThis.fetch(url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    };
  }

  async publish(points: readonly TelemetryPoint[]): Promise<void> {
    if (points.length === 0) return;
    const timeseries = toTimeseries(points);
    const { connection } = this.options;
    let attempts = 0;
    try {
      await withBackoff(
        async (attempt) => {
          attempts = attempt;
          await this.push(timeseries);
        },
        retryable,
        this.options.backoff ?? REMOTE_WRITE_BACKOFF,
      );
      return;
    } catch (err) {
      if (!(err instanceof PushFailure)) throw err;
      throw new RemoteWriteError(
        `remote write of ${points.length} points to ${displayUrl(connection.url)} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${err.message}`,
        attempts,
        err.status,
      );
    }
  }

  /** One push; any failure is a PushFailure saying what went wrong. */
  private async push(timeseries: Timeseries[]): Promise<void> {
    const { connection } = this.options;
    let result: Awaited<ReturnType<typeof remoteWrite.pushTimeseries>>;
    try {
      result = await remoteWrite.pushTimeseries(timeseries, {
        url: connection.url,
        headers: connectionHeaders(connection),
        fetch: this.fetch,
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      throw new PushFailure(
        e.name === 'TimeoutError'
          ? `no answer within ${connection.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`
          : `${e.message}${e.cause ? ` (${e.cause.code ?? e.cause.message})` : ''}`,
      );
    }
    // errorMessage is empty on success; the status is what tells.
    if (result.status >= 200 && result.status < 300) return;
    throw new PushFailure(
      `HTTP ${result.status} ${result.statusText}${result.errorMessage ? `: ${result.errorMessage.trim()}` : ''}`,
      result.status,
    );
  }
}
