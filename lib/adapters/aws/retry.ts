/**
 * Bounded retry with exponential backoff and full jitter, for the transient failures an AWS
 * adapter may retry in place (throttling, failed batch entries). Everything else is thrown at
 * once: the message's next delivery is the retry for conditions that take longer to clear.
 */

export interface BackoffOptions {
  /** total tries, the first included (>= 1) */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** injectable for tests */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { attempts: 5, baseDelayMs: 100, maxDelayMs: 2000 };

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Delay before retry number `retry` (0-based): uniform in [0, min(max, base * 2^retry)]. */
export function backoffDelay(retry: number, opts: BackoffOptions): number {
  const cap = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** retry);
  return Math.round((opts.random ?? Math.random)() * cap);
}

/** Runs `fn` until it succeeds, throws an error `retryable` rejects, or the attempts run out (last error thrown). */
export async function withBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  retryable: (err: unknown) => boolean,
  opts: BackoffOptions = DEFAULT_BACKOFF,
): Promise<T> {
  const attempts = Math.max(1, Math.floor(opts.attempts));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !retryable(err)) throw err;
      await (opts.sleep ?? sleep)(backoffDelay(attempt - 1, opts));
    }
  }
}

const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'SlowDown',
]);

/** An AWS SDK error that says "slow down": by name, by the SDK's own flag, or HTTP 429. */
export function isThrottling(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as {
    name?: unknown;
    $retryable?: { throttling?: boolean };
    $metadata?: { httpStatusCode?: number };
  };
  return (
    (typeof e.name === 'string' && THROTTLING_NAMES.has(e.name)) ||
    e.$retryable?.throttling === true ||
    e.$metadata?.httpStatusCode === 429
  );
}

/** The error's name and message, for messages that must stay free of request details. */
export function describeError(err: unknown): string {
  if (err instanceof Error)
    return err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message;
  return String(err);
}
