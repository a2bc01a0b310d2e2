/**
 * Helpers for tests against a real Prometheus: start it (failing with the install command when
 * absent), wait for scrapes with bounded polling, and query it directly.
 */
import {
  LocalPrometheus,
  PrometheusMetricsSource,
  type ScrapeJob,
} from '../../../lib/adapters/prometheus/index.js';
import type { FixedLoad } from '../../../lib/adapters/vllmEmulator/index.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Starts Prometheus on loopback scraping the jobs every second (throws the install command if absent). */
export function startPrometheus(jobs: readonly ScrapeJob[]): Promise<LocalPrometheus> {
  return LocalPrometheus.start({ jobs, scrapeIntervalSeconds: 1 });
}

/**
 * A metrics source on a 1 s scrape interval: a 5 s rate window (30 s when too few samples), a
 * series older than 4 s stale, so a test sees a scrape stop within seconds.
 */
export function shortWindowSource(prom: LocalPrometheus): PrometheusMetricsSource {
  return new PrometheusMetricsSource({
    connection: { url: prom.url, timeoutMs: 5000 },
    windowSeconds: 5,
    fallbackWindowSeconds: 30,
    maxAgeSeconds: 4,
    lookbackSeconds: 60,
    lookbackStepSeconds: 1,
  });
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value?: [number, string];
  readonly values?: [number, string][];
}

/** An instant query straight through the HTTP API (not through the code under test). */
export async function query(prom: LocalPrometheus, expr: string): Promise<PromSample[]> {
  const response = await fetch(`${prom.url}/api/v1/query`, {
    method: 'POST',
    body: new URLSearchParams({ query: expr }),
    signal: AbortSignal.timeout(5000),
  });
  const body = (await response.json()) as { status: string; error?: string; data: { result: PromSample[] } };
  if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
  return body.data.result;
}

/** Polls `check` every `everyMs` until it holds, at most `timeoutMs` (and so a bounded number of times). */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 250,
): Promise<void> {
  const tries = Math.ceil(timeoutMs / everyMs);
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Waits until every target of the job has been scraped successfully at least `scrapes` times. */
export async function waitForScrapes(
  prom: LocalPrometheus,
  job: string,
  targets: number,
  scrapes: number,
  timeoutMs = 25_000,
): Promise<void> {
  await waitFor(
    `${targets} targets of ${job} scraped ${scrapes} times`,
    async () => {
      const result = await query(prom, `sum_over_time(up{job="${job}"}[1m])`);
      return result.length === targets && result.every((r) => Number(r.value?.[1]) >= scrapes);
    },
    timeoutMs,
  );
}

export const now = () => Date.now() / 1000;

/** A steady load whose estimates are known: arrivals = completions (gauges constant). */
export const LOAD: FixedLoad = {
  requestRate: 8,
  inputTokens: 700,
  outputTokens: 120,
  ttftSeconds: 0.3,
  itlSeconds: 0.04,
  running: 6,
  waiting: 2,
  kvCacheUsage: 0.4,
};
