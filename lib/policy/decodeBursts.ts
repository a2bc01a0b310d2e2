/**
 * The burst sizing (policy.burstSizing.decode, docs/SIZING.md "Bursts at the decode role") for a
 * disaggregated variant's decode role. Every request reaches the decode pods once prefilled, so
 * the variant's arrivals per step, as the prefill pods count them, are replayed through the decode
 * pods' slots (lib/policy/slotReplay.ts): each request holds a slot for its whole decode, a pod
 * has as many slots as it may hold requests without missing the ITL target (a decode step grows
 * with the batch) or filling its KV cache at the mean request (decodeSlots), and the role gets the fewest pods from the plan's up that
 * keep the share of requests finding every slot taken within the share allowed. A request that
 * finds them taken either waits for a slot (the KV cache full) or, admitted beyond the ITL's
 * batch, slows every step: both miss. The prefill role follows only where the ratio bound asks.
 * More pods come only from the devices the plan leaves free; a plan sized without meeting the
 * targets, or no per-step counts, changes nothing. Pure.
 */
import type { Config } from '../config/schema.js';
import type { ArrivalSteps } from '../metrics/observation.js';
import {
  decodeBatch,
  MAX_NUM_SEQS,
  type DisaggregatedInput,
  type DisaggregatedPlan,
  type RoleProfile,
} from '../optimizer/disaggregated.js';
import { burstSeconds, EVEN_CONCENTRATION, fewestReplicasWithin, peakRate } from './burstSizing.js';
import { slotReplay } from './slotReplay.js';
import { roleCeiling, spareRoleReplicas, withRoleRaised } from './prefillBursts.js';
import { pct, shareAsked, stepSizing, type StepSizing } from './stages/bursts.js';

/** What the decode role's replay found: the share is of requests finding every slot taken. */
export interface DecodeStepSizing extends StepSizing {
  /** requests one decode pod holds at once, and what bounds it */
  readonly slotsPerReplica: number;
  readonly slotsBound: 'ITL' | 'KV cache' | 'batch';
  /** how long a request holds its slot: its output tokens at the step time with the slots full, ms */
  readonly holdMs: number;
}

export interface DecodeBursts {
  readonly plan: DisaggregatedPlan;
  /** what the replay found (absent when it did not run) */
  readonly decodeSteps?: DecodeStepSizing;
  /** for the decision's message when the replay raised the decode pods or could not meet the share */
  readonly note?: string;
}

/**
 * The requests one decode pod holds at once: the least of the batch whose step still meets the
 * ITL target (alpha + beta n, no prefill interleaves), the batch the KV cache holds at the mean
 * request (I + O / 2 tokens), and vLLM's max_num_seqs. The replay is fluid, of the mean number in
 * flight, so it is held against what the cache holds at the mean: the fluctuation around the mean
 * (long prompts coinciding) is the normal sizing's (kvRateCap), which the replay starts from. How
 * long each request holds its slot: its output tokens, one step each, at the step time with the
 * slots full.
 */
export function decodeSlots(
  profile: RoleProfile,
  load: DisaggregatedInput['load'],
  itlTargetMs: number,
): { slots: number; bound: DecodeStepSizing['slotsBound']; holdMs: number } {
  const byItl =
    itlTargetMs > 0 && profile.beta > 0 ? Math.floor((itlTargetMs - profile.alpha) / profile.beta) : Infinity;
  const byKv = decodeBatch(profile, load.inputTokens, load.outputTokens);
  const slots = Math.min(byItl, byKv, MAX_NUM_SEQS);
  const bound = slots === byItl ? 'ITL' : slots === byKv ? 'KV cache' : 'batch';
  const holdMs = Math.max(load.outputTokens, 1) * (profile.alpha + profile.beta * Math.max(slots, 0));
  return { slots: Math.max(slots, 0), bound, holdMs };
}

export function sizeDecodeForBursts(
  config: Config,
  at: {
    readonly plan: DisaggregatedPlan;
    readonly input: DisaggregatedInput;
    readonly steps: ArrivalSteps | undefined;
    /**
     * the part of each step its arrivals come in (policy.burstSizing.concentration, learnt at the
     * prefill role); 1 when absent. The decode pods see a cluster as soon as the prefill pods get
     * through it, which the prefill role is sized to do within the TTFT budget: taken as clustered
     * as it arrived, the cautious side of that
     */
    readonly concentration?: number;
  },
): DecodeBursts {
  const { plan, input, steps } = at;
  const unchanged = { plan };
  if (!config.policy.burstSizing.decode || !steps || steps.counts.length === 0) return unchanged;
  if (!(input.load.rate > 0) || !Number.isFinite(plan.ttft.totalMs) || !(plan.decode.replicas > 0))
    return unchanged;
  const option = input.decode.options.find((o) => o.accelerator === plan.decode.accelerator);
  if (!option) return unchanged;
  const slot = decodeSlots(option.profile, input.load, input.targets.itlMs);
  // a pod that cannot hold one request within the ITL target is not helped by more pods
  if (!(slot.slots >= 1)) return unchanged;
  const holdSeconds = slot.holdMs / 1000;
  const concentration = at.concentration ?? EVEN_CONCENTRATION;
  const shareAt = (replicas: number) =>
    slotReplay(steps.counts, steps.stepSeconds, replicas * slot.slots, holdSeconds, 0, concentration).share;
  const spare = spareRoleReplicas(plan, 'decode', input.freeDevices);
  const atLeast = plan.decode.replicas;
  const atMost = roleCeiling(plan, input, 'decode', spare);
  // a fleet completing the busiest step's arrivals with its slots full never fills them
  const clearsPeak = Math.ceil(
    (peakRate(steps.counts, burstSeconds(steps.stepSeconds, concentration)) * holdSeconds) / slot.slots,
  );
  const allowedShare = config.policy.itlDistribution.missShare;
  const fleet = fewestReplicasWithin(shareAt, {
    atLeast,
    top: Math.max(atLeast, Math.min(atMost, clearsPeak)),
    allowedShare,
    shareAtLeast: shareAt(atLeast),
  });
  const decodeSteps: DecodeStepSizing = {
    ...stepSizing(steps, fleet, atLeast, allowedShare),
    slotsPerReplica: slot.slots,
    slotsBound: slot.bound,
    holdMs: slot.holdMs,
  };
  if (fleet.replicas === atLeast && fleet.met) return { plan, decodeSteps };
  return {
    plan: withRoleRaised(plan, input, 'decode', fleet.replicas),
    decodeSteps,
    note: describeDecodeSteps(decodeSteps, spare),
  };
}

/**
 * "decode bursts: 15-s peaks of 24.0 req/s over the last 900 s; sized for 3 decode pods so that
 * 0.8% (at most 1.0%) would find a pod's 48 slots (ITL) taken, each held 1.3 s, where 2 let 3.1%"
 */
export function describeDecodeSteps(b: DecodeStepSizing, spare = Infinity): string {
  return (
    `decode bursts: ${b.stepSeconds}-s peaks of ${b.peakRate.toFixed(1)} req/s over the last ${Math.round(b.steps * b.stepSeconds)} s; ` +
    `sized for ${b.replicas} decode pods so that ${shareAsked(b, spare)} would find every slot taken ` +
    `(${b.slotsPerReplica.toFixed(1)} a pod, bound by ${b.slotsBound}, each held ${(b.holdMs / 1000).toFixed(1)} s), ` +
    `where ${b.sizedReplicas} let ${pct(b.sizedShare)}`
  );
}
