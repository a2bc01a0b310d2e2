/**
 * Per-request outcomes and their summaries. The simulator mutates one `SimRequest` per request as
 * it moves through the fleet; `RequestRecord` is the read-only view handed to callers, with the
 * derived latencies filled in.
 */

export type RequestStatus = 'queued' | 'waiting' | 'running' | 'completed' | 'dropped' | 'rejected';

/** Mutable simulation state of one request (times in simulated seconds). */
export interface SimRequest {
  readonly id: number;
  readonly variant: string;
  readonly arrival: number;
  readonly inputTokens: number;
  /** at least 1: a request with no output still produces the token that ends its prefill */
  readonly outputTokens: number;
  status: RequestStatus;
  replica?: string;
  accelerator?: string;
  /** sent to a replica (after any wait in the variant queue) */
  dispatched?: number;
  /** admitted into a replica's batch, i.e. its prefill started */
  scheduled?: number;
  firstToken?: number;
  finished?: number;
  /** engine bookkeeping: tokens in the replica's KV cache (computed) */
  computedTokens?: number;
  /** engine bookkeeping: output tokens produced, except while decoding (see decodeBase) */
  generatedTokens?: number;
  /** engine bookkeeping while decoding: after step j it has produced j - decodeBase tokens */
  decodeBase?: number;
  /** engine bookkeeping: when its latest token came, kept across a preemption */
  lastTokenAt?: number;
}

export interface RequestRecord {
  readonly id: number;
  readonly variant: string;
  readonly status: RequestStatus;
  readonly arrival: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly replica?: string;
  readonly accelerator?: string;
  readonly dispatched?: number;
  readonly scheduled?: number;
  readonly firstToken?: number;
  readonly finished?: number;
  /** arrival to admission into a batch, including any wait for a ready replica (s) */
  readonly queueTime?: number;
  /** arrival to first token (s) */
  readonly ttft?: number;
  /** mean gap between tokens after the first, (finished - firstToken) / (outputTokens - 1) (s);
   *  undefined for one-token outputs */
  readonly itl?: number;
  /** arrival to last token (s) */
  readonly e2e?: number;
}

export function toRecord(request: SimRequest): RequestRecord {
  const { arrival, scheduled, firstToken, finished, outputTokens } = request;
  return {
    id: request.id,
    variant: request.variant,
    status: request.status,
    arrival,
    inputTokens: request.inputTokens,
    outputTokens,
    replica: request.replica,
    accelerator: request.accelerator,
    dispatched: request.dispatched,
    scheduled,
    firstToken,
    finished,
    queueTime: scheduled === undefined ? undefined : scheduled - arrival,
    ttft: firstToken === undefined ? undefined : firstToken - arrival,
    itl:
      finished === undefined || firstToken === undefined || outputTokens < 2
        ? undefined
        : (finished - firstToken) / (outputTokens - 1),
    e2e: finished === undefined ? undefined : finished - arrival,
  };
}

/** Distribution summary; every field but `count` is NaN when there are no values. */
export interface Summary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Quantile by linear interpolation between order statistics (R type 7) of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

export function summarize(values: readonly number[]): Summary {
  const sorted = Float64Array.from(values).sort();
  const list = Array.from(sorted);
  let total = 0;
  for (const v of list) total += v;
  return {
    count: list.length,
    mean: list.length === 0 ? NaN : total / list.length,
    p50: quantile(list, 0.5),
    p90: quantile(list, 0.9),
    p95: quantile(list, 0.95),
    p99: quantile(list, 0.99),
    max: list.length === 0 ? NaN : list[list.length - 1]!,
  };
}

export interface RequestStats {
  /** requests whose arrival time has passed */
  readonly arrived: number;
  readonly completed: number;
  /** waiting in the variant queue for a ready replica */
  readonly queued: number;
  /** dispatched to a replica and not yet finished (waiting or running there) */
  readonly inFlight: number;
  /** turned away because the variant queue was full */
  readonly dropped: number;
  /** could never be served: input + output exceed the replica's KV cache or max model length */
  readonly rejected: number;
  readonly ttft: Summary;
  readonly itl: Summary;
  readonly e2e: Summary;
  readonly queueTime: Summary;
}

export function requestStats(records: readonly RequestRecord[]): RequestStats {
  const counts: Record<RequestStatus, number> = {
    queued: 0,
    waiting: 0,
    running: 0,
    completed: 0,
    dropped: 0,
    rejected: 0,
  };
  const ttft: number[] = [];
  const itl: number[] = [];
  const e2e: number[] = [];
  const queueTime: number[] = [];
  for (const r of records) {
    counts[r.status]++;
    if (r.status !== 'completed') continue;
    ttft.push(r.ttft!);
    e2e.push(r.e2e!);
    queueTime.push(r.queueTime!);
    if (r.itl !== undefined) itl.push(r.itl);
  }
  return {
    arrived: records.length,
    completed: counts.completed,
    queued: counts.queued,
    inFlight: counts.waiting + counts.running,
    dropped: counts.dropped,
    rejected: counts.rejected,
    ttft: summarize(ttft),
    itl: summarize(itl),
    e2e: summarize(e2e),
    queueTime: summarize(queueTime),
  };
}
