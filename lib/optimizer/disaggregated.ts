/**
 * Sizing a disaggregated variant (docs/SIZING.md section 7): prefill pods that only prefill,
 * decode pods that only decode, and the KV cache moved between them. Pure: numbers in, numbers
 * out. Rates are requests per second, times milliseconds, bandwidths bytes per second.
 *
 * - Prefill role: a replica is the queue of docs/SIZING.md section 2 with one output token (the
 *   prompt's), so its service time is the prefill alone. A prompt longer than the step budget B
 *   is prefilled in ceil(I / B) chunks, each paying the step's base time gamma; at most
 *   max(floor(B / I), 1) prompts share a step.
 * - Transfer: I x kvBytesPerToken bytes over the prefill pod's link, shared by the transfers in
 *   flight on it (processor sharing: the mean time is the alone time / (1 - link utilisation)),
 *   plus the fixed latency per transfer. A measured transfer time (the NIXL histogram), when
 *   longer, replaces the model's.
 * - Decode role: the same queue with no prompt and O decode steps (the first token is the decode
 *   pod's, as llm-d returns it), as many requests in the batch as the KV cache holds at I + O / 2
 *   tokens each. ITL is one decode step at the effective concurrency: no prefill interleaves.
 *   With the prompts' spread known (load.spread) and an overflow share, each decode pod also
 *   takes no more than the rate whose mean concurrency keeps the KV in flight within the cache
 *   but for that share of the time (kvConcurrency, kvRateCap): a batch sized on the mean prompt
 *   fills the cache whenever long prompts coincide, and vLLM then preempts or stops admitting.
 * - TTFT = prefill wait + prefill + transfer + decode wait + the decode's first step.
 * - With the prompts' spread (load.spread), the prefill pods are also enough for no more than the
 *   share allowed of the requests to miss the TTFT target as asked (lib/optimizer/prefillTail.ts):
 *   the mean prompt within the margined target says nothing of the long prompts, which miss
 *   first; the role's maxReplicas bounds what the tail may ask.
 *
 * For each pair of accelerators (prefill, decode) and a few shares of the TTFT budget given to
 * the decode's wait, the decode replicas are the fewest meeting the ITL target and their wait
 * share; the prefill replicas are then the fewest whose TTFT with the transfer fits what is left.
 * The ratio bound raises the smaller side; the cheapest pair that fits the free devices wins.
 */
import { buildReplicaModel, evaluateAt, sizeReplica, type ServiceProfile } from '../analyzer/index.js';
import { probit } from 'simple-statistics';
import type { TokenDistribution } from '../analyzer/chunkedItl.js';
import { QUEUE_TO_BATCH_RATIO } from './candidates.js';
import { missBudget, prefillTail, tailWithin } from './prefillTail.js';

/** vLLM's default max_num_batched_tokens (the prefill step budget when the profile gives none). */
export const DEFAULT_STEP_TOKENS = 2048;
/** vLLM's default max_num_seqs: the decode batch never exceeds it. */
export const MAX_NUM_SEQS = 256;
/** Shares of the TTFT budget tried for the decode's wait: the rest goes to prefill and transfer. */
export const DECODE_WAIT_SHARES = [0.05, 0.1, 0.2] as const;
/** A link never planned above this utilisation: the transfer time grows without bound near 1. */
export const MAX_LINK_UTILISATION = 0.9;
/** Prefill replicas searched above the throughput bound before giving up on a pair. */
const PREFILL_SEARCH_LIMIT = 2000;

export interface RoleProfile extends ServiceProfile {
  /** tokens per engine step (vLLM max_num_batched_tokens); default 2048 */
  readonly maxBatchedTokens?: number;
  /** KV cache of one replica (tokens); without it the decode batch is MAX_NUM_SEQS */
  readonly kvCacheTokens?: number;
}

/** One accelerator a role may run on. */
export interface RoleOption {
  readonly accelerator: string;
  readonly profile: RoleProfile;
  /** price of one replica per hour */
  readonly costPerReplica: number;
  /** device type counted against capacity, and devices one replica takes */
  readonly deviceType: string;
  readonly devicesPerReplica: number;
}

export interface RoleBounds {
  readonly options: readonly RoleOption[];
  readonly minReplicas: number;
  readonly maxReplicas?: number;
}

/** How spread the prompts are, and the share of requests allowed to miss a target. */
export interface PromptSpread {
  /** the prompt tokens' distribution (a point at the mean when nothing more is known) */
  readonly input: TokenDistribution;
  /** share of requests allowed to miss; also the share of time a decode pod's KV cache may be full */
  readonly missShare: number;
  /** the TTFT target as asked, without the policy's margin (ms); 0: none */
  readonly ttftMs: number;
}

export interface DisaggregatedInput {
  readonly load: {
    readonly rate: number;
    readonly inputTokens: number;
    readonly outputTokens: number;
    /** the prompts' spread; without it each role is sized on the mean prompt alone */
    readonly spread?: PromptSpread;
  };
  /** targets as sized for (margins applied), ms; 0 = none */
  readonly targets: { readonly ttftMs: number; readonly itlMs: number };
  readonly kv: {
    readonly bytesPerToken: number;
    /** one prefill pod's link, bytes per second */
    readonly bandwidthBytesPerSecond: number;
    readonly latencyMs: number;
    /** measured mean transfer time (ms): used when longer than the model's */
    readonly observedTransferMs?: number;
  };
  readonly prefill: RoleBounds;
  readonly decode: RoleBounds;
  readonly ratio?: { readonly min?: number; readonly max?: number };
  /** devices free per type; absent: unlimited */
  readonly freeDevices?: ReadonlyMap<string, number>;
}

export interface RolePlan {
  readonly accelerator: string;
  readonly replicas: number;
  readonly deviceType: string;
  readonly devices: number;
  readonly costPerHour: number;
  /** requests per second each replica carries */
  readonly ratePerReplica: number;
}

export interface TtftParts {
  readonly prefillWaitMs: number;
  readonly prefillMs: number;
  readonly transferMs: number;
  readonly decodeWaitMs: number;
  readonly firstStepMs: number;
  readonly totalMs: number;
}

export interface DisaggregatedPlan {
  readonly prefill: RolePlan;
  readonly decode: RolePlan;
  readonly costPerHour: number;
  readonly ttft: TtftParts;
  readonly itlMs: number;
  /** prefill link utilisation per prefill pod */
  readonly linkUtilisation: number;
}

export type DisaggregatedSizing =
  | { readonly feasible: true; readonly plan: DisaggregatedPlan; readonly notes: readonly string[] }
  | {
      readonly feasible: false;
      readonly reason: string;
      /** the cheapest plan meeting the targets when only capacity stood in the way */
      readonly needed?: DisaggregatedPlan;
      readonly notes: readonly string[];
    };

const stepBudget = (p: RoleProfile) => p.maxBatchedTokens ?? DEFAULT_STEP_TOKENS;

/** The prefill role's queue: one output token, chunked prompts (see the file comment). */
export function prefillModel(profile: RoleProfile, inputTokens: number) {
  const budget = stepBudget(profile);
  const chunks = Math.max(Math.ceil(inputTokens / budget), 1);
  const n = Math.max(Math.floor(budget / Math.max(inputTokens, 1)), 1);
  return buildReplicaModel(
    { alpha: 0, beta: 0, gamma: profile.gamma * chunks, delta: profile.delta },
    { avgInputTokens: Math.max(inputTokens, 1), avgOutputTokens: 1 },
    { maxBatchSize: n, maxQueueSize: QUEUE_TO_BATCH_RATIO * n, itlModel: 'decode' },
  );
}

/** The decode role's batch limit: what the KV cache holds at I + O / 2 tokens a request. */
export function decodeBatch(profile: RoleProfile, inputTokens: number, outputTokens: number): number {
  if (profile.kvCacheTokens === undefined) return MAX_NUM_SEQS;
  const perRequest = Math.max(inputTokens + outputTokens / 2, 1);
  return Math.min(Math.max(Math.floor(profile.kvCacheTokens / perRequest), 1), MAX_NUM_SEQS);
}

/**
 * The mean number of requests a decode pod may hold so that their KV stays within the cache but
 * for the overflow share: the largest n with n m + z sqrt(n s) <= cache, where m = E[K] and
 * s = E[K^2] of a request's KV K = I + O / 2 (O at its mean), z the normal quantile of
 * 1 - share. The count in flight is Poisson with mean n, so the sum of their KV has mean n m and
 * variance n s (a compound Poisson sum); the bound is a quadratic in sqrt(n).
 */
export function kvConcurrency(
  cacheTokens: number,
  inputTokens: number,
  outputTokens: number,
  spread: PromptSpread,
): number {
  const half = outputTokens / 2;
  const m = Math.max(inputTokens + half, 1);
  const meanSquare = Math.max(meanSquareOf(spread.input), inputTokens * inputTokens);
  const s = meanSquare + 2 * inputTokens * half + half * half;
  const share = Math.min(Math.max(spread.missShare, 1e-6), 0.5);
  const b = probit(1 - share) * Math.sqrt(s);
  const x = (-b + Math.sqrt(b * b + 4 * m * cacheTokens)) / (2 * m);
  return x * x;
}

/** E[X^2] of a distribution. */
export function meanSquareOf(d: TokenDistribution): number {
  const total = d.weights.reduce((a, w) => a + w, 0);
  return total > 0 ? d.values.reduce((a, v, i) => a + v * v * d.weights[i]!, 0) / total : 0;
}

/** Bisection steps for the KV cap (the rate to within 2^-40 of the model's range). */
const KV_CAP_STEPS = 40;

/**
 * The most requests per second one decode pod may take so that its mean concurrency stays
 * within kvConcurrency; Infinity without a cache size or a spread.
 */
export function kvRateCap(
  profile: RoleProfile,
  load: { inputTokens: number; outputTokens: number; spread?: PromptSpread },
): number {
  if (profile.kvCacheTokens === undefined || load.spread === undefined) return Infinity;
  const n = kvConcurrency(profile.kvCacheTokens, load.inputTokens, load.outputTokens, load.spread);
  const model = decodeModel(profile, load.inputTokens, load.outputTokens);
  let lo = 0;
  let hi = model.rateRange.max;
  if (evaluateAt(model, hi).numInService <= n) return hi;
  for (let i = 0; i < KV_CAP_STEPS; i++) {
    const mid = (lo + hi) / 2;
    if (evaluateAt(model, mid).numInService <= n) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** The decode role's queue: no prompt, O decode steps, no interleaved prefill. */
export function decodeModel(profile: RoleProfile, inputTokens: number, outputTokens: number) {
  const n = decodeBatch(profile, inputTokens, outputTokens);
  return buildReplicaModel(
    { alpha: profile.alpha, beta: profile.beta, gamma: 0, delta: 0 },
    { avgInputTokens: 0, avgOutputTokens: Math.max(outputTokens, 1) + 1 },
    { maxBatchSize: n, maxQueueSize: QUEUE_TO_BATCH_RATIO * n, itlModel: 'decode' },
  );
}

/**
 * Mean transfer time (ms) of one request's KV from a prefill pod carrying `ratePerPod` req/s;
 * Infinity when the link cannot carry it below MAX_LINK_UTILISATION.
 */
export function transferMs(
  input: DisaggregatedInput,
  ratePerPod: number,
): { ms: number; utilisation: number } {
  const { kv, load } = input;
  const aloneSeconds = (load.inputTokens * kv.bytesPerToken) / kv.bandwidthBytesPerSecond;
  const utilisation = ratePerPod * aloneSeconds;
  if (utilisation >= MAX_LINK_UTILISATION) return { ms: Infinity, utilisation };
  const modelled = (aloneSeconds / (1 - utilisation)) * 1000 + kv.latencyMs;
  return { ms: Math.max(modelled, kv.observedTransferMs ?? 0), utilisation };
}

interface DecodeSized {
  readonly replicas: number;
  readonly waitMs: number;
  readonly firstStepMs: number;
  readonly itlMs: number;
}

function sizeDecode(
  option: RoleOption,
  input: DisaggregatedInput,
  waitBudgetMs: number,
): DecodeSized | string {
  const { load, targets, decode } = input;
  const model = decodeModel(option.profile, load.inputTokens, load.outputTokens);
  // The chain's TTFT is its wait here (no prompt): the decode's share of the TTFT budget.
  const sizing = sizeReplica(model, {
    ttft: targets.ttftMs > 0 ? waitBudgetMs : 0,
    itl: targets.itlMs,
    tps: 0,
  });
  if (!sizing.feasible) return `decode on ${option.accelerator}: ${sizing.reason}`;
  const perReplica = Math.min(sizing.maxRate, kvRateCap(option.profile, load));
  const replicas = Math.max(Math.ceil(load.rate / perReplica - 1e-9), decode.minReplicas, 1);
  const at = evaluateAt(model, Math.min(load.rate / replicas, model.rateRange.max));
  return { replicas, waitMs: at.wait, firstStepMs: at.itl, itlMs: at.itl };
}

interface PrefillSized {
  readonly replicas: number;
  readonly waitMs: number;
  readonly prefillMs: number;
  readonly transferMs: number;
  readonly utilisation: number;
  /** why the share allowed to miss could not be the one asked for (the tail's hopeless prompts) */
  readonly note?: string;
}

/** ms one prompt of `tokens` takes alone on a prefill pod: its chunks' base times and its tokens. */
export function prefillAloneMs(profile: RoleProfile, tokens: number): number {
  return Math.max(Math.ceil(tokens / stepBudget(profile)), 1) * profile.gamma + profile.delta * tokens;
}

/**
 * Prompts per second one prefill pod completes when saturated, at a prompt mix: each prompt takes
 * its tokens' time and its chunks' base times, the base times shared by the prompts one step
 * holds (max(floor(B / I), 1), as in prefillModel). At a point distribution it is prefillModel's
 * rate with its batch full.
 */
export function prefillSaturatedRate(profile: RoleProfile, input: TokenDistribution): number {
  const budget = stepBudget(profile);
  const total = input.weights.reduce((a, w) => a + w, 0);
  if (!(total > 0)) return 0;
  const meanMs = input.values.reduce((a, tokens, i) => {
    const sharing = Math.max(Math.floor(budget / Math.max(tokens, 1)), 1);
    const ms = (Math.max(Math.ceil(tokens / budget), 1) * profile.gamma) / sharing + profile.delta * tokens;
    return a + (input.weights[i]! / total) * ms;
  }, 0);
  return meanMs > 0 ? 1000 / meanMs : Infinity;
}

function sizePrefill(
  option: RoleOption,
  input: DisaggregatedInput,
  budgetMs: number,
  decodeMs: number,
): PrefillSized | string {
  const { load, prefill } = input;
  const model = prefillModel(option.profile, load.inputTokens);
  const start = Math.max(Math.ceil(load.rate / model.rateRange.max), prefill.minReplicas, 1);
  const limit = Math.min(prefill.maxReplicas ?? Infinity, start + PREFILL_SEARCH_LIMIT);
  // More pods cannot bring one prompt's prefill alone and its transfer under the budget.
  const alone = evaluateAt(model, model.rateRange.min).ttft + transferMs(input, 0).ms;
  if (budgetMs > 0 && alone > budgetMs) {
    return `prefill on ${option.accelerator}: ${alone.toFixed(0)} ms for one prompt and its transfer alone, over the ${budgetMs.toFixed(0)} ms left`;
  }
  let meanMet: PrefillSized | undefined;
  let note: string | undefined;
  for (let replicas = start; replicas <= limit; replicas++) {
    const sized = prefillAt(option.profile, input, replicas);
    const ttft = sized.waitMs + sized.prefillMs + sized.transferMs;
    if (budgetMs > 0 && ttft > budgetMs) continue;
    meanMet ??= sized;
    const tail = tailMet(option.profile, input, replicas, sized.transferMs, decodeMs);
    note ??= tail.note;
    if (tail.met) return note === undefined ? sized : { ...sized, note };
  }
  // the tail needs more pods than the role may have: as many as it may
  if (meanMet) {
    const sized = prefillAt(option.profile, input, limit);
    return note === undefined ? sized : { ...sized, note };
  }
  return `prefill on ${option.accelerator}: more than ${limit} replicas needed`;
}

/** The prefill role's wait, prefill and transfer with `replicas` pods sharing the load. */
function prefillAt(profile: RoleProfile, input: DisaggregatedInput, replicas: number): PrefillSized {
  const perPod = input.load.rate / replicas;
  const at = evaluateAt(prefillModel(profile, input.load.inputTokens), perPod);
  const transfer = transferMs(input, perPod);
  return {
    replicas,
    waitMs: at.wait,
    prefillMs: at.ttft - at.wait,
    transferMs: transfer.ms,
    utilisation: transfer.utilisation,
  };
}

/**
 * Whether the requests missing the TTFT target as asked stay within the share allowed, with the
 * prompts' spread (lib/optimizer/prefillTail.ts); always met without a spread or a target. A
 * prompt's transfer is the mean's scaled by its size, on the link as loaded at the mean. With a
 * note when the prompts that miss even alone are the share allowed or more.
 */
function tailMet(
  profile: RoleProfile,
  input: DisaggregatedInput,
  replicas: number,
  meanTransferMs: number,
  decodeMs: number,
): { met: boolean; note?: string } {
  const spread = input.load.spread;
  if (spread === undefined || !(spread.ttftMs > 0)) return { met: true };
  const perToken = (meanTransferMs - input.kv.latencyMs) / Math.max(input.load.inputTokens, 1);
  const tail = prefillTail({
    rate: input.load.rate,
    replicas,
    input: spread.input,
    serviceMs: (tokens) => prefillAloneMs(profile, tokens),
    afterMs: (tokens) => input.kv.latencyMs + perToken * tokens + decodeMs,
    ttftMs: spread.ttftMs,
  });
  const met = tailWithin(tail, spread.missShare);
  if (missBudget(tail, spread.missShare).reachable) return { met };
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  return {
    met,
    note: `prefill: ${pct(tail.hopelessShare)} of the prompts miss the ${spread.ttftMs.toFixed(0)} ms TTFT target even alone, not within the ${pct(spread.missShare)} allowed to miss: sized for ${pct(spread.missShare)} of the others to miss`,
  };
}

function rolePlan(option: RoleOption, replicas: number, rate: number): RolePlan {
  return {
    accelerator: option.accelerator,
    replicas,
    deviceType: option.deviceType,
    devices: replicas * option.devicesPerReplica,
    costPerHour: replicas * option.costPerReplica,
    ratePerReplica: replicas > 0 ? rate / replicas : 0,
  };
}

function fits(plan: DisaggregatedPlan, free: ReadonlyMap<string, number> | undefined): boolean {
  if (free === undefined) return true;
  const need = new Map<string, number>();
  for (const r of [plan.prefill, plan.decode])
    need.set(r.deviceType, (need.get(r.deviceType) ?? 0) + r.devices);
  return [...need].every(([type, devices]) => devices <= (free.get(type) ?? 0));
}

/** The replicas the ratio bound asks for: the smaller side raised. */
export function withinRatio(
  prefill: number,
  decode: number,
  ratio: DisaggregatedInput['ratio'],
): { prefill: number; decode: number } {
  let p = prefill;
  let d = decode;
  if (ratio?.min !== undefined && p < ratio.min * d) p = Math.ceil(ratio.min * d - 1e-9);
  if (ratio?.max !== undefined && p > ratio.max * d) d = Math.ceil(p / ratio.max - 1e-9);
  return { prefill: p, decode: d };
}

/**
 * Targets brought within the ratio bound as apply judges them: the smaller side raised (as
 * withinRatio does) within its maxReplicas, and only where that cannot reach the bound the other
 * side lowered to it. Each role's target passes its own window and limits, so two targets that
 * were each right can together leave the bound (a prefill pod count the window holds beside a
 * decode count it released), and apply would reject the decision whole.
 */
export function withinRatioBound(
  targets: { prefill: number; decode: number },
  ratio: DisaggregatedInput['ratio'],
  maxReplicas: { prefill: number; decode: number },
): { prefill: number; decode: number } {
  const raised = withinRatio(targets.prefill, targets.decode, ratio);
  let p = Math.min(raised.prefill, Math.max(maxReplicas.prefill, targets.prefill));
  let d = Math.min(raised.decode, Math.max(maxReplicas.decode, targets.decode));
  if (ratio?.max !== undefined && d > 0 && p > ratio.max * d) p = Math.floor(ratio.max * d + 1e-9);
  if (ratio?.min !== undefined && d > 0 && p < ratio.min * d)
    d = Math.max(Math.floor(p / ratio.min + 1e-9), 1);
  return { prefill: p, decode: d };
}

/** The idle plan: each role at its minimum on its cheapest option. */
function idlePlan(input: DisaggregatedInput): DisaggregatedPlan | undefined {
  const cheapest = (b: RoleBounds) => [...b.options].sort((x, y) => x.costPerReplica - y.costPerReplica)[0];
  const p = cheapest(input.prefill);
  const d = cheapest(input.decode);
  if (!p || !d) return undefined;
  const { prefill, decode } = withinRatio(input.prefill.minReplicas, input.decode.minReplicas, input.ratio);
  const pp = rolePlan(p, prefill, 0);
  const dp = rolePlan(d, decode, 0);
  return {
    prefill: pp,
    decode: dp,
    costPerHour: pp.costPerHour + dp.costPerHour,
    ttft: { prefillWaitMs: 0, prefillMs: 0, transferMs: 0, decodeWaitMs: 0, firstStepMs: 0, totalMs: 0 },
    itlMs: 0,
    linkUtilisation: 0,
  };
}

/** Every plan meeting the targets, cheapest first (ties: fewer devices, then accelerator names). */
export function disaggregatedPlans(input: DisaggregatedInput): {
  plans: DisaggregatedPlan[];
  notes: string[];
} {
  const notes: string[] = [];
  const plans: DisaggregatedPlan[] = [];
  const { load, targets } = input;
  for (const d of input.decode.options) {
    for (const share of DECODE_WAIT_SHARES) {
      const decode = sizeDecode(d, input, share * targets.ttftMs);
      if (typeof decode === 'string') {
        if (share === DECODE_WAIT_SHARES[0]) notes.push(decode);
        continue;
      }
      const left = targets.ttftMs > 0 ? targets.ttftMs - decode.waitMs - decode.firstStepMs : 0;
      for (const p of input.prefill.options) {
        if (targets.ttftMs > 0 && left <= 0) continue;
        const prefill = sizePrefill(p, input, left, decode.waitMs + decode.firstStepMs);
        if (typeof prefill === 'string') {
          if (!notes.includes(prefill)) notes.push(prefill);
          continue;
        }
        if (prefill.note !== undefined && !notes.includes(prefill.note)) notes.push(prefill.note);
        const counts = withinRatio(prefill.replicas, decode.replicas, input.ratio);
        const over = (b: RoleBounds, n: number) => b.maxReplicas !== undefined && n > b.maxReplicas;
        if (over(input.prefill, counts.prefill) || over(input.decode, counts.decode)) {
          const note = `${p.accelerator}x${counts.prefill} prefill + ${d.accelerator}x${counts.decode} decode exceeds a role's maxReplicas`;
          if (!notes.includes(note)) notes.push(note);
          continue;
        }
        const pp = rolePlan(p, counts.prefill, load.rate);
        const dp = rolePlan(d, counts.decode, load.rate);
        const ttft: TtftParts = {
          prefillWaitMs: prefill.waitMs,
          prefillMs: prefill.prefillMs,
          transferMs: prefill.transferMs,
          decodeWaitMs: decode.waitMs,
          firstStepMs: decode.firstStepMs,
          totalMs:
            prefill.waitMs + prefill.prefillMs + prefill.transferMs + decode.waitMs + decode.firstStepMs,
        };
        plans.push({
          prefill: pp,
          decode: dp,
          costPerHour: pp.costPerHour + dp.costPerHour,
          ttft,
          itlMs: decode.itlMs,
          linkUtilisation: prefill.utilisation,
        });
      }
    }
  }
  plans.sort(
    (a, b) =>
      a.costPerHour - b.costPerHour ||
      a.prefill.devices + a.decode.devices - (b.prefill.devices + b.decode.devices) ||
      a.prefill.accelerator.localeCompare(b.prefill.accelerator) ||
      a.decode.accelerator.localeCompare(b.decode.accelerator),
  );
  return { plans, notes };
}

/** The cheapest plan meeting both targets within the free devices (see the file comment). */
export function sizeDisaggregated(input: DisaggregatedInput): DisaggregatedSizing {
  const { load } = input;
  if (!(load.rate > 0) || !(load.outputTokens > 0)) {
    const plan = idlePlan(input);
    if (plan && fits(plan, input.freeDevices))
      return { feasible: true, plan, notes: ['idle: each role at its minimum'] };
    return { feasible: false, reason: 'no accelerator for a role, or its minimum does not fit', notes: [] };
  }
  const { plans, notes } = disaggregatedPlans(input);
  if (plans.length === 0) {
    // No plan meets the targets: what keeps both roles' queues stable is the best effort.
    const needed = throughputPlan(input);
    return { feasible: false, reason: notes[0] ?? 'no accelerator for a role', needed, notes };
  }
  const plan = plans.find((p) => fits(p, input.freeDevices));
  if (plan === undefined) {
    return {
      feasible: false,
      reason: 'capacity: no plan meeting the targets fits the free devices',
      needed: plans[0],
      notes,
    };
  }
  return { feasible: true, plan, notes };
}

/** Largest utilisation a best-effort plan loads a replica to. */
const BEST_EFFORT_UTILISATION = 0.9;

/**
 * When no plan meets the targets: each role on its cheapest option with the replicas that keep
 * its queue (and the prefill pods' links) below BEST_EFFORT_UTILISATION, within the bounds.
 */
export function throughputPlan(input: DisaggregatedInput): DisaggregatedPlan | undefined {
  const { load } = input;
  const count = (b: RoleBounds, o: RoleOption, maxRate: number) =>
    Math.min(
      Math.max(Math.ceil(load.rate / (BEST_EFFORT_UTILISATION * maxRate)), b.minReplicas, 1),
      b.maxReplicas ?? Infinity,
    );
  const cheapest = (b: RoleBounds, rateOf: (o: RoleOption) => number) =>
    b.options
      .map((o) => ({ o, n: count(b, o, rateOf(o)) }))
      .sort((x, y) => x.n * x.o.costPerReplica - y.n * y.o.costPerReplica)[0];
  const aloneTransfer = (load.inputTokens * input.kv.bytesPerToken) / input.kv.bandwidthBytesPerSecond;
  const p = cheapest(input.prefill, (o) =>
    Math.min(
      prefillModel(o.profile, load.inputTokens).rateRange.max,
      aloneTransfer > 0 ? 1 / aloneTransfer : Infinity,
    ),
  );
  const d = cheapest(
    input.decode,
    (o) => decodeModel(o.profile, load.inputTokens, load.outputTokens).rateRange.max,
  );
  if (!p || !d) return undefined;
  const counts = withinRatio(p.n, d.n, input.ratio);
  const pp = rolePlan(p.o, counts.prefill, load.rate);
  const dp = rolePlan(d.o, counts.decode, load.rate);
  const nan = Number.NaN;
  return {
    prefill: pp,
    decode: dp,
    costPerHour: pp.costPerHour + dp.costPerHour,
    ttft: {
      prefillWaitMs: nan,
      prefillMs: nan,
      transferMs: nan,
      decodeWaitMs: nan,
      firstStepMs: nan,
      totalMs: nan,
    },
    itlMs: nan,
    linkUtilisation: transferMs(input, load.rate / counts.prefill).utilisation,
  };
}
