/**
 * Per-request outcomes and their summaries. The simulator mutates one `SimRequest` per request as
 * it moves through the fleet; `RequestRecord` is the read-only view handed to callers, with the
 * derived latencies filled in.
 */
import type { Summary } from './resultBook.js';

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
  replica: string | undefined;
  accelerator: string | undefined;
  /** sent to a replica (after any wait in the variant queue) */
  dispatched: number | undefined;
  /** admitted into a replica's batch, i.e. its prefill started */
  scheduled: number | undefined;
  firstToken: number | undefined;
  finished: number | undefined;
  /** engine bookkeeping: tokens in the replica's KV cache (computed) */
  computedTokens: number | undefined;
  /** engine bookkeeping: output tokens produced, except while decoding (see decodeBase) */
  generatedTokens: number | undefined;
  /** engine bookkeeping while decoding: after step j it has produced j - decodeBase tokens */
  decodeBase: number | undefined;
  /** engine bookkeeping: when its latest token came, kept across a preemption */
  lastTokenAt: number | undefined;
  /** engine bookkeeping: the next request finishing in the same step (an intrusive list) */
  nextFinishing: SimRequest | undefined;
  /** a disaggregated variant's prefill leg: the request it computes the prompt for */
  parent: SimRequest | undefined;
  /** a disaggregated request's KV handoff, once its transfer ended */
  handoff: KvHandoff | undefined;
}

/** The KV transfer of a disaggregated request from its prefill pod to a decode pod. */
export interface KvHandoff {
  readonly seconds: number;
  readonly bytes: number;
  /** the transfer failed: the decode pod recomputes the prompt */
  readonly failed: boolean;
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
  /** completed within the variant's TTFT target, ITL target, both (results.targets; none = met) */
  readonly ttftMet: number;
  readonly itlMet: number;
  readonly sloMet: number;
  /** latencies of the completed requests (s); quantiles within 1% (sketch.ts) */
  readonly ttft: Summary;
  readonly itl: Summary;
  readonly e2e: Summary;
  readonly queueTime: Summary;
}
