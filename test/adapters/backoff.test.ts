/** The adapters' one backoff: delays, bounds, what is retried, and the batch form. */
import { backoffDelay, retryRemaining, withBackoff, type BackoffPolicy } from '../../lib/adapters/backoff.js';

const sleeps: number[] = [];
const policy = (over: Partial<BackoffPolicy> = {}): BackoffPolicy => ({
  attempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 300,
  random: () => 1,
  sleep: async (ms) => void sleeps.push(ms),
  ...over,
});

beforeEach(() => {
  sleeps.length = 0;
});

test('delays double from the base up to the cap; full jitter draws within [0, cap]', () => {
  expect([0, 1, 2, 3].map((r) => backoffDelay(r, policy()))).toEqual([100, 200, 300, 300]);
  expect([0, 1, 2].map((r) => backoffDelay(r, policy({ random: () => 0.5 })))).toEqual([50, 100, 150]);
  expect(backoffDelay(5, policy({ random: () => 0 }))).toBe(0);
  expect([0, 1, 2].map((r) => backoffDelay(r, policy({ jitter: 'none', random: () => 0 })))).toEqual([
    100, 200, 300,
  ]);
});

test('Math.random is the default jitter: every delay within its range', () => {
  const p = { attempts: 3, baseDelayMs: 100, maxDelayMs: 1000 };
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(2, p);
    expect(d).toBeGreaterThanOrEqual(0);
    expect(d).toBeLessThanOrEqual(400);
  }
});

test('retries a retryable failure until it succeeds, telling fn its attempt', async () => {
  const seen: number[] = [];
  const result = await withBackoff(
    async (attempt) => {
      seen.push(attempt);
      if (attempt < 3) throw new Error('busy');
      return 'done';
    },
    () => true,
    policy(),
  );
  expect(result).toBe('done');
  expect(seen).toEqual([1, 2, 3]);
  expect(sleeps).toEqual([100, 200]);
});

test('stops after the attempts and throws the last error', async () => {
  let calls = 0;
  await expect(
    withBackoff(
      async () => {
        throw new Error(`failure ${++calls}`);
      },
      () => true,
      policy(),
    ),
  ).rejects.toThrow('failure 4');
  expect(calls).toBe(4);
  expect(sleeps).toEqual([100, 200, 300]);
});

test('an error the predicate rejects is thrown at once; the predicate sees the attempt', async () => {
  const asked: [string, number][] = [];
  let calls = 0;
  await expect(
    withBackoff(
      async () => {
        throw new Error(++calls === 1 ? 'transient' : 'fatal');
      },
      (err, attempt) => {
        asked.push([(err as Error).message, attempt]);
        return (err as Error).message === 'transient';
      },
      policy(),
    ),
  ).rejects.toThrow('fatal');
  expect(asked).toEqual([
    ['transient', 1],
    ['fatal', 2],
  ]);
  expect(sleeps).toEqual([100]);
});

test('fewer than one attempt still tries once', async () => {
  let calls = 0;
  await expect(
    withBackoff(
      async () => {
        calls++;
        throw new Error('no');
      },
      () => true,
      policy({ attempts: 0 }),
    ),
  ).rejects.toThrow('no');
  expect(calls).toBe(1);
  expect(sleeps).toEqual([]);
});

test('retryRemaining re-sends only what is left, and returns what the attempts did not clear', async () => {
  const sent: string[][] = [];
  const left = await retryRemaining(
    ['a', 'b', 'c'],
    async (pending) => {
      sent.push([...pending]);
      return pending.filter((x) => x !== 'a' && !(x === 'b' && sent.length > 1));
    },
    policy({ attempts: 3 }),
  );
  expect(sent).toEqual([['a', 'b', 'c'], ['b', 'c'], ['c']]);
  expect(left).toEqual(['c']);
  expect(sleeps).toEqual([100, 200]);
});

test('retryRemaining makes one call when everything goes through', async () => {
  let calls = 0;
  const left = await retryRemaining(
    [1, 2],
    async () => {
      calls++;
      return [];
    },
    policy(),
  );
  expect(left).toEqual([]);
  expect(calls).toBe(1);
  expect(sleeps).toEqual([]);
});
