/**
 * Where the time of one evaluation goes: every HTTP request this process makes (the AWS SDK and
 * @kubernetes/client-node both go through node:http), timestamped from Node's diagnostics
 * channels, with no change to the code measured. Requests are named by what they ask: the
 * `X-Amz-Target` of DynamoDB and SQS (JSON protocols), EKS and Kubernetes by method and path.
 */
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface RequestSpan {
  /** "dynamodb GetItem", "sqs ReceiveMessage", "kube PATCH deployments/scale", … */
  readonly kind: string;
  readonly startMs: number;
  endMs: number;
}

/** The request's kind, from its target header or its path. */
function kindOf(request: ClientRequest): string {
  const target = request.getHeader('x-amz-target');
  if (typeof target === 'string') {
    const [service, op] = target.split('.');
    return `${service?.startsWith('DynamoDB') ? 'dynamodb' : service === 'AmazonSQS' ? 'sqs' : service} ${op}`;
  }
  const path = request.path.split('?')[0]!;
  if (path.startsWith('/apis/') || path.startsWith('/api/')) {
    const scale = path.endsWith('/scale')
      ? 'deployments/scale'
      : path.includes('/deployments')
        ? 'deployments'
        : path;
    return `kube ${request.method} ${scale}`;
  }
  if (path.startsWith('/clusters'))
    return `eks ${request.method} ${path.split('/').slice(3, 4).join('') || 'cluster'}`;
  return `aws ${request.method} ${path}`;
}

/** Records requests from now until stop(). */
export function recordRequests(): { stop(): RequestSpan[] } {
  const spans: RequestSpan[] = [];
  const open = new WeakMap<ClientRequest, RequestSpan>();
  const onStart = (message: unknown) => {
    const { request } = message as { request: ClientRequest };
    const span = { kind: kindOf(request), startMs: performance.now(), endMs: NaN };
    open.set(request, span);
    spans.push(span);
  };
  const onFinish = (message: unknown) => {
    const { request } = message as { request: ClientRequest; response: IncomingMessage };
    const span = open.get(request);
    if (span) span.endMs = performance.now();
  };
  diagnostics.subscribe('http.client.request.start', onStart);
  diagnostics.subscribe('http.client.response.finish', onFinish);
  return {
    stop() {
      diagnostics.unsubscribe('http.client.request.start', onStart);
      diagnostics.unsubscribe('http.client.response.finish', onFinish);
      return spans;
    },
  };
}

export interface KindSummary {
  readonly kind: string;
  readonly count: number;
  /** summed request time: what the servers (and the wire) took */
  readonly totalMs: number;
  /** from the first start to the last end, relative to the window's start */
  readonly firstMs: number;
  readonly lastMs: number;
}

/** Per kind of request within [fromMs, toMs]: how many, how long in all, when. */
export function summarise(spans: readonly RequestSpan[], fromMs: number, toMs: number): KindSummary[] {
  const by = new Map<string, RequestSpan[]>();
  for (const s of spans) {
    if (s.startMs < fromMs || s.startMs > toMs) continue;
    by.set(s.kind, [...(by.get(s.kind) ?? []), s]);
  }
  return [...by.entries()]
    .map(([kind, list]) => ({
      kind,
      count: list.length,
      totalMs: list.reduce((n, s) => n + (Number.isFinite(s.endMs) ? s.endMs - s.startMs : 0), 0),
      firstMs: Math.min(...list.map((s) => s.startMs)) - fromMs,
      lastMs: Math.max(...list.map((s) => (Number.isFinite(s.endMs) ? s.endMs : s.startMs))) - fromMs,
    }))
    .sort((a, b) => a.firstMs - b.firstMs);
}

/** A table of the summary, one line per kind. */
export function formatSummary(rows: readonly KindSummary[]): string {
  return rows
    .map(
      (r) =>
        `  ${r.kind.padEnd(34)} ${String(r.count).padStart(5)} requests ${r.totalMs.toFixed(0).padStart(6)} ms in all, ${(r.totalMs / r.count).toFixed(1).padStart(5)} ms each, from ${r.firstMs.toFixed(0).padStart(5)} to ${r.lastMs.toFixed(0).padStart(5)} ms`,
    )
    .join('\n');
}

/**
 * CPU time a process has used so far, ms (Linux /proc: user + system), or undefined elsewhere:
 * whether a server was busy all along a run (the bottleneck) or waiting.
 */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name, which is in parentheses and may hold spaces
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux build that matters here. */
const CLOCK_TICKS_PER_SECOND = 100;
