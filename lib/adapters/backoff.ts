/**
 * The one retry policy of the adapters: bounded attempts, exponential backoff with full jitter.
 * The AWS clients are given it as their SDK retry strategy (aws/clientConfig.ts); the adapters
 * use `withBackoff` for what no SDK retries: failed entries of an SQS batch, Kubernetes 409
 * conflicts, Prometheus remote write, a local Prometheus becoming ready.
 */

export interface BackoffPolicy {
  /** total tries, the first included (>= 1) */
  readonly attempts: number;
  /** the cap of the first delay, doubled for each next one */
  readonly baseDelayMs: number;
  /** the cap of any one delay */
  readonly maxDelayMs: number;
  /**
   * 'full' (default): uniform in [0, cap], so callers failing together do not retry together;
   * 'none': the cap itself, for waits where nobody competes (a local process starting).
   */
  readonly jitter?: 'full' | 'none';
  /** injectable for tests */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Delay before retry number `retry` (0-based): min(max, base * 2^retry), jittered as the policy says. */
export function backoffDelay(retry: number, policy: BackoffPolicy): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  if (policy.jitter === 'none') return cap;
  return Math.round((policy.random ?? Math.random)() * cap);
}

/** Total tries the policy allows: at least one. */
export const attemptsOf = (policy: BackoffPolicy): number => Math.max(1, Math.floor(policy.attempts));

/**
 * Runs `fn` until it succeeds, throws an error `retryable` rejects, or the attempts run out;
 * the last error is thrown. `fn` is told which attempt it is (1-based).
 */
export async function withBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  retryable: (err: unknown, attempt: number) => boolean,
  policy: BackoffPolicy,
): Promise<T> {
  const attempts = attemptsOf(policy);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !retryable(err, attempt)) throw err;
      await (policy.sleep ?? sleep)(backoffDelay(attempt - 1, policy));
    }
  }
}

/**
 * For calls that partly fail (a batch): `step` sends what is pending and returns what is still
 * worth another try; it is called again with that after a backoff delay, until nothing is left
 * or the attempts run out. Returns what was still pending at the end (empty on success).
 */
export async function retryRemaining<T>(
  pending: readonly T[],
  step: (pending: readonly T[], attempt: number) => Promise<readonly T[]>,
  policy: BackoffPolicy,
): Promise<readonly T[]> {
  const attempts = attemptsOf(policy);
  for (let attempt = 1; ; attempt++) {
    pending = await step(pending, attempt);
    if (pending.length === 0 || attempt >= attempts) return pending;
    await (policy.sleep ?? sleep)(backoffDelay(attempt - 1, policy));
  }
}
