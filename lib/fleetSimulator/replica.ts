/**
 * One vLLM engine with continuous batching, simulated iteration by iteration.
 *
 * Rules (times from the profile are milliseconds; simulated time is seconds):
 * - The engine runs iterations back to back while it has running requests.
 * - Scheduling at the start of an iteration, as vLLM V1 does: running requests first (every
 *   decoding request gets one token; partially prefilled prompts continue, oldest first), then
 *   waiting requests in strict FIFO order (a head that does not fit blocks those behind it) while
 *   running < maxBatchSize, the KV reservation fits, and prompt-token budget is left.
 * - Chunked prefill: at most maxPrefillTokens prompt tokens (vLLM max_num_batched_tokens, here
 *   counting prompt tokens only) are prefilled per iteration; a longer prompt continues in the
 *   next iterations. Unset means unlimited: every admitted prompt is prefilled whole at once.
 * - KV: admission reserves inputTokens + outputTokens of the cache for the request's lifetime, so
 *   nothing is ever preempted. The usage gauge reports what is actually filled (prompt tokens
 *   prefilled + tokens generated so far), as vLLM's block usage grows.
 * - Duration of an iteration = decode part + prefill part. Decode part: alpha + beta * d when
 *   d > 0 requests were decoding at its start, else 0. Prefill part: gamma + delta * (prompt tokens
 *   prefilled in it) when it prefills anything, else 0 (one forward pass, so gamma once per
 *   iteration, like P(n) in docs/SIZING.md).
 * - A prompt's first token is produced at the end of the iteration that prefills its last chunk,
 *   so TTFT = wait + the iterations of its prefill. Each later iteration produces one more token:
 *   a request with outputTokens = O finishes O - 1 iterations after its first token. Alone on an
 *   idle engine (no chunking): TTFT = gamma + delta * I, ITL = alpha + beta.
 */
import type { ServiceProfile } from '../analyzer/index.js';
import type { SimRequest } from './results.js';
import { VllmEngineMetrics } from './vllmMetrics.js';

/** A model's behaviour on one accelerator type. */
export interface ReplicaProfile extends ServiceProfile {
  /** max running requests (vLLM max_num_seqs) */
  readonly maxBatchSize: number;
  /** KV cache capacity in tokens */
  readonly kvCacheTokens: number;
  readonly gpusPerReplica: number;
  /** model load delay from placement on a node to ready (s) */
  readonly loadSeconds: number;
  /** KV block size reported in vllm:cache_config_info; default 16 */
  readonly blockSize?: number;
  /** longest input + output served; default kvCacheTokens; sets the token histogram buckets */
  readonly maxModelLen?: number;
  /** prompt tokens prefilled per iteration (chunked prefill); default unlimited */
  readonly maxPrefillTokens?: number;
}

/** Prefill work of the iteration being scheduled. */
interface PrefillPlan {
  /** prompt tokens the iteration may still prefill */
  budget: number;
  /** prompt tokens it prefills */
  tokens: number;
  /** requests whose last prompt chunk is in it */
  readonly done: SimRequest[];
}

interface Iteration {
  readonly start: number;
  readonly decoding: number;
  /** requests whose prefill ends with this iteration: each gets its first token */
  readonly prefillDone: readonly SimRequest[];
}

export class ReplicaEngine {
  readonly metrics: VllmEngineMetrics;
  readonly maxModelLen: number;
  private readonly waiting: SimRequest[] = [];
  private waitingHead = 0;
  /** admitted requests whose prompt is not fully prefilled yet, oldest first */
  private prefilling: SimRequest[] = [];
  private runningCount = 0;
  private decodingCount = 0;
  private reservedKv = 0;
  private filledKv = 0;
  /** index of the iteration in flight, or of the next one when idle */
  private iterationIndex = 0;
  private inFlight: Iteration | null = null;
  /** requests by the index of the iteration that produces their last token */
  private readonly finishing = new Map<number, SimRequest[]>();

  constructor(
    readonly id: string,
    readonly accelerator: string,
    readonly profile: ReplicaProfile,
  ) {
    this.maxModelLen = profile.maxModelLen ?? profile.kvCacheTokens;
    this.metrics = new VllmEngineMetrics(this.maxModelLen);
  }

  get running(): number {
    return this.runningCount;
  }

  get waitingCount(): number {
    return this.waiting.length - this.waitingHead;
  }

  /** requests accepted and not finished: what the router balances on */
  get outstanding(): number {
    return this.runningCount + this.waiting.length - this.waitingHead;
  }

  get kvCacheUsage(): number {
    return this.filledKv / this.profile.kvCacheTokens;
  }

  /** Whether the request can ever be served here (vLLM rejects such prompts up front). */
  canServe(request: SimRequest): boolean {
    const need = request.inputTokens + request.outputTokens;
    return need <= this.profile.kvCacheTokens && need <= this.maxModelLen;
  }

  /** Accepts a request into the waiting queue; the caller makes sure a step is scheduled. */
  enqueue(request: SimRequest, now: number): void {
    request.status = 'waiting';
    request.replica = this.id;
    request.accelerator = this.accelerator;
    request.dispatched = now;
    this.waiting.push(request);
  }

  /**
   * Ends the iteration in flight (whose end the caller scheduled for `now`), then starts the
   * next one. Returns the next iteration's end time, or null when the engine has gone idle.
   */
  step(now: number): number | null {
    if (this.inFlight !== null) this.finishIteration(now);
    const { profile, waiting } = this;
    const decoding = this.decodingCount;
    const plan: PrefillPlan = { budget: profile.maxPrefillTokens ?? Infinity, tokens: 0, done: [] };
    const stillPrefilling: SimRequest[] = [];
    for (const request of this.prefilling) {
      if (plan.budget > 0) this.prefillChunk(request, plan);
      if (request.prefilledTokens! < request.inputTokens) stillPrefilling.push(request);
    }
    while (this.waitingHead < waiting.length && this.runningCount < profile.maxBatchSize) {
      const request = waiting[this.waitingHead]!;
      const need = request.inputTokens + request.outputTokens;
      if (this.reservedKv + need > profile.kvCacheTokens) break;
      if (plan.budget <= 0 && request.inputTokens > 0) break;
      this.waitingHead++;
      this.runningCount++;
      this.reservedKv += need;
      request.status = 'running';
      request.scheduled = now;
      request.prefilledTokens = 0;
      this.metrics.queueTime.observe(now - request.dispatched!);
      this.prefillChunk(request, plan);
      if (request.prefilledTokens < request.inputTokens) stillPrefilling.push(request);
    }
    this.prefilling = stillPrefilling;
    this.compactWaiting();
    if (this.runningCount === 0) {
      this.inFlight = null;
      return null;
    }
    let ms = 0;
    if (decoding > 0) ms += profile.alpha + profile.beta * decoding;
    if (plan.tokens > 0 || plan.done.length > 0) ms += profile.gamma + profile.delta * plan.tokens;
    this.inFlight = { start: now, decoding, prefillDone: plan.done };
    return now + ms / 1000;
  }

  /** Schedules as much of the request's remaining prompt as the iteration's budget allows. */
  private prefillChunk(request: SimRequest, plan: PrefillPlan): void {
    const chunk = Math.min(request.inputTokens - request.prefilledTokens!, plan.budget);
    request.prefilledTokens! += chunk;
    plan.budget -= chunk;
    plan.tokens += chunk;
    this.filledKv += chunk;
    if (request.prefilledTokens === request.inputTokens) plan.done.push(request);
  }

  private compactWaiting(): void {
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting.splice(0, this.waitingHead);
      this.waitingHead = 0;
    }
  }

  private finishIteration(now: number): void {
    const { decoding, prefillDone, start } = this.inFlight!;
    const m = this.metrics;
    const produced = decoding + prefillDone.length;
    m.generationTokens += produced;
    this.filledKv += produced;
    // Every decoding request's previous token ended the previous iteration, so each token of
    // this iteration's decode part came exactly one iteration duration after its predecessor.
    if (decoding > 0) m.interTokenLatency.observe(now - start, decoding);
    for (const request of prefillDone) {
      request.firstToken = now;
      m.promptTokens += request.inputTokens;
      m.timeToFirstToken.observe(now - request.dispatched!);
      this.decodingCount++;
      const last = this.iterationIndex + request.outputTokens - 1;
      const bucket = this.finishing.get(last);
      if (bucket === undefined) this.finishing.set(last, [request]);
      else bucket.push(request);
    }
    const done = this.finishing.get(this.iterationIndex);
    if (done !== undefined) {
      this.finishing.delete(this.iterationIndex);
      for (const request of done) this.complete(request, now);
    }
    this.iterationIndex++;
  }

  private complete(request: SimRequest, now: number): void {
    const m = this.metrics;
    const tokens = request.inputTokens + request.outputTokens;
    this.runningCount--;
    this.decodingCount--;
    this.reservedKv -= tokens;
    this.filledKv -= tokens;
    request.status = 'completed';
    request.finished = now;
    m.success.stop++;
    m.promptTokensPerRequest.observe(request.inputTokens);
    m.generationTokensPerRequest.observe(request.outputTokens);
    m.e2eLatency.observe(now - request.dispatched!);
    m.inferenceTime.observe(now - request.scheduled!);
    m.prefillTime.observe(request.firstToken! - request.scheduled!);
    m.decodeTime.observe(now - request.firstToken!);
  }
}
