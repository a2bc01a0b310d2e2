/**
 * One vLLM engine with continuous batching, simulated step by step as vLLM's V1 scheduler runs it.
 *
 * Rules (times from the profile are milliseconds; simulated time is seconds):
 * - The engine runs steps back to back while it has running requests.
 * - Token budget: each step schedules at most maxNumBatchedTokens tokens (vLLM
 *   max_num_batched_tokens, default 2048), decode tokens and prefill chunks together. A request
 *   needs (prompt + tokens generated so far) - (tokens already in its KV cache): 1 when decoding,
 *   the rest of its prompt when prefilling.
 * - Order within a step: every decoding request gets its one token first (vLLM requires
 *   max_num_batched_tokens >= max_num_seqs, so they always fit), then partially prefilled requests
 *   continue, oldest first, then waiting requests are admitted in strict FIFO order (a head that
 *   does not fit blocks those behind it) while running < maxBatchSize and budget is left. (V1 walks
 *   its running list in admission order; a request still prefilling is always the newest there,
 *   so decodes-first is the same order.)
 * - Chunked prefill (default on, as V1 always does): a prompt longer than the budget left is
 *   prefilled in chunks over several steps. With chunkedPrefill: false a prompt is prefilled whole
 *   or waits; the budget then defaults to max(maxModelLen, 2048) as in vLLM.
 * - KV cache, kvAllocation 'on-demand' (default, vLLM V1): cache space is taken as tokens are
 *   computed (a prefill chunk, one token per decode step) and freed when the request finishes.
 *   Admitting a request needs room for its first chunk only. When the running requests' next step
 *   does not fit, the newest running request is preempted (recompute): its KV is freed, it goes
 *   back to the front of the waiting queue, and when admitted again it prefills its prompt and
 *   the tokens it had generated (vllm:num_preemptions_total counts these). No waiting request is
 *   admitted in a step that preempted, unless nothing is left running. KV is counted in tokens,
 *   not rounded up to blocks (blocks waste under blockSize / 2 tokens per request).
 *   kvAllocation 'reserve' (legacy): admission reserves prompt + output for the request's
 *   lifetime, so nothing is ever preempted.
 * - Duration of a step = decode part + prefill part. Decode part: alpha + beta * d when d
 *   requests decode in it, else 0. Prefill part: gamma + delta * (prefill tokens in it) when it
 *   prefills anything, else 0 (one forward pass, so gamma once per step, like P(n) in
 *   docs/SIZING.md).
 * - A request produces a token at the end of the step that computes its last known token: the
 *   first token ends the step with its prompt's last chunk (TTFT = wait + the steps of its
 *   prefill), then one token per step. A request with outputTokens = O finishes O - 1 steps after
 *   its first token unless preempted. Alone on an idle engine (prompt within the budget):
 *   TTFT = gamma + delta * I, ITL = alpha + beta.
 *
 * Decoding requests are handled in bulk (a count, and the step each one finishes in), so a step
 * costs O(prefilling requests), not O(batch): that is what lets a day of traffic run in seconds.
 */
import type { ServiceProfile } from '../analyzer/index.js';
import type { SimRequest } from './results.js';
import { Histogram, ITL_BUCKETS, VllmEngineMetrics } from './vllmMetrics.js';

export type KvAllocation = 'on-demand' | 'reserve';

/** vLLM's default max_num_batched_tokens with chunked prefill (V1) */
export const DEFAULT_MAX_NUM_BATCHED_TOKENS = 2048;

/** A model's behaviour on one accelerator type. */
export interface ReplicaProfile extends ServiceProfile {
  /** max running requests (vLLM max_num_seqs) */
  readonly maxBatchSize: number;
  /** KV cache capacity in tokens */
  readonly kvCacheTokens: number;
  readonly gpusPerReplica: number;
  /**
   * delay from placement on a node (and any image pull) to ready (s): framework start, weights
   * load, engine initialisation
   */
  readonly loadSeconds: number;
  /** pulling the image first, on a node that has not run this model before (s); default 0 */
  readonly imagePullSeconds?: number;
  /** KV block size reported in vllm:cache_config_info; default 16 */
  readonly blockSize?: number;
  /** longest input + output served; default kvCacheTokens; sets the token histogram buckets */
  readonly maxModelLen?: number;
  /**
   * tokens per engine step, decode and prefill together (vLLM max_num_batched_tokens); default
   * 2048, or max(maxModelLen, 2048) when chunkedPrefill is false
   */
  readonly maxNumBatchedTokens?: number;
  /** prefill long prompts in chunks across steps; default true (vLLM V1) */
  readonly chunkedPrefill?: boolean;
  /** default 'on-demand' (vLLM V1); 'reserve' holds prompt + output from admission, no preemption */
  readonly kvAllocation?: KvAllocation;
  /**
   * a disaggregated variant's role: 'prefill' engines get one-token requests (the prompt's);
   * 'decode' engines receive requests with their prompt's KV already transferred and expose the
   * KV connector's (NIXL) metrics. Default: neither (aggregated)
   */
  readonly role?: 'prefill' | 'decode';
}

/** The step budget a profile implies (see ReplicaProfile.maxNumBatchedTokens). */
export function stepTokenBudget(profile: ReplicaProfile): number {
  if (profile.maxNumBatchedTokens !== undefined) return profile.maxNumBatchedTokens;
  if (profile.chunkedPrefill === false) {
    return Math.max(profile.maxModelLen ?? profile.kvCacheTokens, DEFAULT_MAX_NUM_BATCHED_TOKENS);
  }
  return DEFAULT_MAX_NUM_BATCHED_TOKENS;
}

interface Step {
  readonly start: number;
  readonly decoding: number;
  /** requests that compute their last known token in this step: each produces a token */
  readonly prefillDone: readonly SimRequest[];
}

export class ReplicaEngine {
  readonly metrics: VllmEngineMetrics;
  readonly maxModelLen: number;
  private readonly budget: number;
  private readonly chunked: boolean;
  private readonly reserve: boolean;
  private waiting: SimRequest[] = [];
  private waitingHead = 0;
  /** admitted requests in admission order: the last is the first preempted */
  private readonly runningList: SimRequest[] = [];
  /** running requests whose prompt (or recompute) is not fully prefilled yet, oldest first */
  private prefilling: SimRequest[] = [];
  private decodingCount = 0;
  private reservedKv = 0;
  /** KV tokens taken by running requests */
  private filledKv = 0;
  /** index of the step in flight, or of the next one when idle */
  private stepIndex = 0;
  private inFlight: Step | null = null;
  /**
   * decoding requests by the index of the step that produces their last token, each step's as a
   * list linked through nextFinishing (no array per step: those would outlive young garbage
   * collection and make memory grow with the day)
   */
  private readonly finishing = new Map<number, SimRequest>();
  /** requests completed since the fleet last took them (takeCompleted) */
  private completedOut: SimRequest[] = [];

  constructor(
    readonly id: string,
    readonly accelerator: string,
    readonly profile: ReplicaProfile,
    /** expose vllm:request_time_per_output_token_seconds, as vLLM >= 0.13 does */
    requestTimePerOutputToken = false,
  ) {
    this.maxModelLen = profile.maxModelLen ?? profile.kvCacheTokens;
    this.metrics = new VllmEngineMetrics(this.maxModelLen, profile.role === 'decode');
    if (requestTimePerOutputToken) this.metrics.requestTimePerOutputToken = new Histogram(ITL_BUCKETS);
    this.budget = stepTokenBudget(profile);
    this.chunked = profile.chunkedPrefill ?? true;
    this.reserve = profile.kvAllocation === 'reserve';
  }

  get running(): number {
    return this.runningList.length;
  }

  get waitingCount(): number {
    return this.waiting.length - this.waitingHead;
  }

  /** requests accepted and not finished: what the router balances on */
  get outstanding(): number {
    return this.runningList.length + this.waiting.length - this.waitingHead;
  }

  get kvCacheUsage(): number {
    return this.filledKv / this.profile.kvCacheTokens;
  }

  /** The requests completed since the last call, in completion order. */
  takeCompleted(): SimRequest[] {
    const out = this.completedOut;
    if (out.length > 0) this.completedOut = [];
    return out;
  }

  /** Whether the request can ever be served here (vLLM rejects such prompts up front). */
  canServe(request: SimRequest): boolean {
    const need = request.inputTokens + request.outputTokens;
    if (need > this.profile.kvCacheTokens || need > this.maxModelLen) return false;
    // without chunking a prompt (or its recompute) must fit one step
    return this.chunked || need - 1 <= this.budget;
  }

  /**
   * Accepts a request into the waiting queue; the caller makes sure a step is scheduled.
   * `kvTokens`: tokens whose KV arrived with it (a decode engine of a disaggregated variant):
   * admission takes cache room for them and computes only the rest.
   */
  enqueue(request: SimRequest, now: number, kvTokens = 0): void {
    request.status = 'waiting';
    request.replica = this.id;
    request.accelerator = this.accelerator;
    request.dispatched = now;
    request.computedTokens = kvTokens;
    request.generatedTokens = 0;
    this.waiting.push(request);
  }

  /**
   * Ends the step in flight (whose end the caller scheduled for `now`), then starts the next one.
   * Returns the next step's end time, or null when the engine has gone idle.
   */
  step(now: number): number | null {
    if (this.inFlight !== null) this.finishStep(now);
    const { profile, waiting } = this;
    const capacity = profile.kvCacheTokens;

    // Running requests first: preempt the newest while their step does not fit the cache.
    let preempted = false;
    for (;;) {
      if (this.reserve || this.runningList.length === 0) break;
      const need = this.decodingCount + this.chunkTokens(this.budget - this.decodingCount);
      if (this.filledKv + need <= capacity) break;
      this.preempt(this.runningList[this.runningList.length - 1]!, now);
      preempted = true;
    }
    const decoding = this.decodingCount;
    let budget = this.budget - decoding;
    this.filledKv += decoding;
    let prefillTokens = 0;
    const done: SimRequest[] = [];
    const stillPrefilling: SimRequest[] = [];
    for (const request of this.prefilling) {
      const chunk = Math.min(target(request) - request.computedTokens!, budget);
      request.computedTokens! += chunk;
      budget -= chunk;
      prefillTokens += chunk;
      if (request.computedTokens === target(request)) done.push(request);
      else stillPrefilling.push(request);
    }
    this.filledKv += prefillTokens;

    // Then waiting requests, FIFO, unless this step preempted (vLLM V1 admits none then).
    while (
      (!preempted || this.runningList.length === 0) &&
      this.waitingHead < waiting.length &&
      this.runningList.length < profile.maxBatchSize
    ) {
      const request = waiting[this.waitingHead]!;
      // KV that came with the request (disaggregated decode; 0 otherwise) is taken at admission
      const loaded = request.computedTokens!;
      const tokens = target(request) - loaded;
      if (budget <= 0 && tokens > 0) break;
      if (!this.chunked && tokens > budget) break;
      const chunk = Math.min(tokens, budget);
      if (this.reserve) {
        if (this.reservedKv + request.inputTokens + request.outputTokens > capacity) break;
        this.reservedKv += request.inputTokens + request.outputTokens;
      } else if (this.filledKv + loaded + chunk > capacity) break;
      this.waitingHead++;
      this.runningList.push(request);
      request.status = 'running';
      if (request.scheduled === undefined) {
        request.scheduled = now;
        this.metrics.queueTime.observe(now - request.dispatched!);
      }
      request.computedTokens = loaded + chunk;
      this.filledKv += loaded + chunk;
      budget -= chunk;
      prefillTokens += chunk;
      if (chunk === tokens) done.push(request);
      else stillPrefilling.push(request);
    }
    this.prefilling = stillPrefilling;
    this.compactWaiting();
    if (this.runningList.length === 0) {
      this.inFlight = null;
      return null;
    }
    let ms = 0;
    if (decoding > 0) ms += profile.alpha + profile.beta * decoding;
    if (prefillTokens > 0 || done.length > 0) ms += profile.gamma + profile.delta * prefillTokens;
    this.inFlight = { start: now, decoding, prefillDone: done };
    return now + ms / 1000;
  }

  /** Prefill tokens the partially prefilled requests would take from `budget` this step. */
  private chunkTokens(budget: number): number {
    let tokens = 0;
    for (const request of this.prefilling) {
      if (budget <= 0) break;
      const chunk = Math.min(target(request) - request.computedTokens!, budget);
      tokens += chunk;
      budget -= chunk;
    }
    return tokens;
  }

  /** Recompute preemption: frees the request's KV and puts it back at the head of waiting. */
  private preempt(request: SimRequest, now: number): void {
    this.runningList.pop();
    if (request.decodeBase !== undefined) {
      // A decoding request: its progress follows from the step index (see finishStep).
      request.generatedTokens = this.stepIndex - 1 - request.decodeBase;
      // every token but the latest is in its KV (the latest is computed by the step being planned)
      request.computedTokens = request.inputTokens + request.generatedTokens - 1;
      this.unlinkFinishing(request, request.decodeBase + request.outputTokens);
      request.decodeBase = undefined;
      request.lastTokenAt = now; // its latest token ended the previous step, i.e. now
      this.decodingCount--;
    } else {
      this.prefilling = this.prefilling.filter((r) => r !== request);
    }
    this.filledKv -= request.computedTokens!;
    request.computedTokens = 0;
    request.status = 'waiting';
    if (this.waitingHead > 0) this.waiting[--this.waitingHead] = request;
    else this.waiting.unshift(request);
    this.metrics.preemptions++;
  }

  private compactWaiting(): void {
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.waitingHead);
      this.waitingHead = 0;
    }
  }

  private finishStep(now: number): void {
    const { decoding, prefillDone, start } = this.inFlight!;
    const m = this.metrics;
    m.generationTokens += decoding + prefillDone.length;
    // Every decoding request's previous token ended the previous step (steps run back to back and
    // decodes always fit), so each token of this step's decode part came one step after its
    // predecessor.
    if (decoding > 0) m.interTokenLatency.observe(now - start, decoding);
    for (const request of prefillDone) {
      request.generatedTokens!++;
      if (request.generatedTokens === 1) {
        request.firstToken = now;
        m.promptTokens += request.inputTokens;
        m.timeToFirstToken.observe(now - request.dispatched!);
      } else {
        // a recomputed request: this token's gap includes its time preempted
        m.interTokenLatency.observe(now - request.lastTokenAt!);
      }
      if (request.generatedTokens === request.outputTokens) {
        this.complete(request, now);
        continue;
      }
      // From here on it produces one token per step: after step j it has j - decodeBase tokens.
      this.decodingCount++;
      request.decodeBase = this.stepIndex - request.generatedTokens!;
      const last = request.decodeBase + request.outputTokens;
      request.nextFinishing = this.finishing.get(last);
      this.finishing.set(last, request);
    }
    let request = this.finishing.get(this.stepIndex);
    if (request !== undefined) this.finishing.delete(this.stepIndex);
    while (request !== undefined) {
      const next = request.nextFinishing;
      request.nextFinishing = undefined;
      this.decodingCount--;
      request.decodeBase = undefined;
      request.generatedTokens = request.outputTokens;
      this.complete(request, now);
      request = next;
    }
    this.stepIndex++;
  }

  private unlinkFinishing(request: SimRequest, step: number): void {
    const head = this.finishing.get(step)!;
    if (head === request) {
      if (request.nextFinishing === undefined) this.finishing.delete(step);
      else this.finishing.set(step, request.nextFinishing);
    } else {
      let previous = head;
      while (previous.nextFinishing !== request) previous = previous.nextFinishing!;
      previous.nextFinishing = request.nextFinishing;
    }
    request.nextFinishing = undefined;
  }

  private complete(request: SimRequest, now: number): void {
    const m = this.metrics;
    const list = this.runningList;
    // usually among the oldest: search from the front
    list.splice(list.indexOf(request), 1);
    // KV held: prompt + every generated token but the last, which is never fed back
    this.filledKv -= request.inputTokens + request.outputTokens - 1;
    if (this.reserve) this.reservedKv -= request.inputTokens + request.outputTokens;
    request.computedTokens = undefined;
    request.status = 'completed';
    request.finished = now;
    m.success.stop++;
    m.promptTokensPerRequest.observe(request.inputTokens);
    m.generationTokensPerRequest.observe(request.outputTokens);
    m.e2eLatency.observe(now - request.dispatched!);
    m.inferenceTime.observe(now - request.scheduled!);
    m.prefillTime.observe(request.firstToken! - request.scheduled!);
    m.decodeTime.observe(now - request.firstToken!);
    // as vLLM 0.13 and the results judge it: decode time over the tokens after the first
    if (request.outputTokens > 1)
      m.requestTimePerOutputToken?.observe((now - request.firstToken!) / (request.outputTokens - 1));
    this.completedOut.push(request);
  }
}

/** Tokens a request must have computed before it produces its next token. */
function target(request: SimRequest): number {
  return request.inputTokens + request.generatedTokens!;
}
