/**
 * The burst sizing (policy.burstSizing, docs/SIZING.md "Bursts below the metrics window") for a
 * disaggregated variant's prefill role: every request goes through prefill, so the variant's
 * arrivals per step, as the prefill pods count them, are replayed through one fluid queue at the
 * prefill pods' saturated rate (lib/policy/burstSizing.ts), and the role gets the fewest pods from
 * the plan's up that keep the share of prompts waiting beyond the TTFT target less their own
 * prefill, KV transfer and first decode step within the share allowed. The decode role follows
 * only where the ratio bound asks. More pods come only from the devices the plan leaves free; a
 * plan sized without meeting the targets, or no per-step counts, changes nothing. Pure.
 */
import type { BurstHeadroom } from './burstHeadroom.js';
import { targetsOf } from '../config/resolved.js';
import type { Role } from '../config/roles.js';
import type { Config, DisaggregatedVariantConfig } from '../config/schema.js';
import type { ArrivalSteps } from '../metrics/observation.js';
import type { TokenDistribution } from '../analyzer/chunkedItl.js';
import {
  prefillSaturatedRate,
  withinRatio,
  type DisaggregatedInput,
  type DisaggregatedPlan,
  type RolePlan,
} from '../optimizer/disaggregated.js';
import { replicasForBursts } from './burstSizing.js';
import { describeBursts, stepSizing, type BurstSizing } from './stages/bursts.js';

export interface PrefillBursts {
  readonly plan: DisaggregatedPlan;
  /** what the replay found (absent when it did not run) */
  readonly bursts?: BurstSizing;
  /** for the decision's message when the replay raised the prefill pods or could not meet the share */
  readonly note?: string;
}

/** A role's plan at another replica count (the same accelerator and price per replica). */
export function withReplicas(plan: RolePlan, replicas: number, rate: number): RolePlan {
  if (replicas === plan.replicas || !(plan.replicas > 0)) return plan;
  const per = (x: number) => x / plan.replicas;
  return {
    ...plan,
    replicas,
    devices: per(plan.devices) * replicas,
    costPerHour: per(plan.costPerHour) * replicas,
    ratePerReplica: replicas > 0 ? rate / replicas : 0,
  };
}

/**
 * The plan with one role at `replicas` pods (the burst sizing's count) and the other raised only
 * where the ratio bound asks, within its own maxReplicas.
 */
export function withRoleRaised(
  plan: DisaggregatedPlan,
  input: DisaggregatedInput,
  role: Role,
  replicas: number,
): DisaggregatedPlan {
  const counts =
    role === 'prefill'
      ? withinRatio(replicas, plan.decode.replicas, input.ratio)
      : withinRatio(plan.prefill.replicas, replicas, input.ratio);
  const count = (r: Role) => (r === role ? replicas : Math.min(counts[r], input[r].maxReplicas ?? Infinity));
  const prefill = withReplicas(plan.prefill, count('prefill'), input.load.rate);
  const decode = withReplicas(plan.decode, count('decode'), input.load.rate);
  return { ...plan, prefill, decode, costPerHour: prefill.costPerHour + decode.costPerHour };
}

/** The most pods a role may take: its maxReplicas and the pods spare devices hold, never below the plan's. */
export function roleCeiling(
  plan: DisaggregatedPlan,
  input: DisaggregatedInput,
  role: Role,
  spare: number,
): number {
  const r = plan[role].replicas;
  return Math.max(Math.min(input[role].maxReplicas ?? Infinity, r + spare), r);
}

/** Pods of a role beyond the plan's on the devices the plan leaves free (Infinity: unlimited). */
export function spareRoleReplicas(
  plan: DisaggregatedPlan,
  role: Role,
  freeDevices: ReadonlyMap<string, number> | undefined,
): number {
  const r = plan[role];
  const free = freeDevices?.get(r.deviceType);
  if (free === undefined) return Infinity;
  const taken = [plan.prefill, plan.decode]
    .filter((x) => x.deviceType === r.deviceType)
    .reduce((a, x) => a + x.devices, 0);
  return Math.max(Math.floor((free - taken) / (r.devices / r.replicas)), 0);
}

/**
 * @param input what the plan was sized from (its prefill options, the role bounds, the ratio and
 *   the free devices)
 * @param prompts the prompt mix the prefill pods serve (the trusted histogram, or a point at the mean)
 */
export function sizePrefillForBursts(
  config: Config,
  v: DisaggregatedVariantConfig,
  at: {
    readonly plan: DisaggregatedPlan;
    readonly input: DisaggregatedInput;
    readonly steps: ArrivalSteps | undefined;
    readonly prompts: TokenDistribution;
    /** the learnt headroom the steps were raised by (policy.burstSizing.headroom), for the record */
    readonly headroom?: BurstHeadroom;
    /** the part of each step its arrivals come in (policy.burstSizing.concentration); 1 when absent */
    readonly concentration?: number;
  },
): PrefillBursts {
  const { plan, input, steps } = at;
  const unchanged = { plan };
  if (!config.policy.burstSizing.prefill || !steps || steps.counts.length === 0) return unchanged;
  const rate = input.load.rate;
  if (!(rate > 0) || !Number.isFinite(plan.ttft.totalMs) || !(plan.prefill.replicas > 0)) return unchanged;
  const option = input.prefill.options.find((o) => o.accelerator === plan.prefill.accelerator);
  if (!option) return unchanged;
  const perPod = prefillSaturatedRate(option.profile, at.prompts);
  const budgetMs =
    targetsOf(config, v).ttftMs - plan.ttft.prefillMs - plan.ttft.transferMs - plan.ttft.firstStepMs;
  // a budget the request's own prefill and handoff already spend cannot be met by more pods
  if (!(perPod > 0) || !(budgetMs > 0)) return unchanged;

  const spare = spareRoleReplicas(plan, 'prefill', input.freeDevices);
  const allowedShare = config.policy.itlDistribution.missShare;
  const fleet = replicasForBursts({
    counts: steps.counts,
    stepSeconds: steps.stepSeconds,
    perReplica: perPod,
    budgetSeconds: budgetMs / 1000,
    allowedShare,
    atLeast: plan.prefill.replicas,
    atMost: roleCeiling(plan, input, 'prefill', spare),
    ...(at.concentration !== undefined ? { concentration: at.concentration } : {}),
  });
  const bursts: BurstSizing = {
    ...stepSizing(steps, fleet, plan.prefill.replicas, allowedShare),
    perReplicaRate: perPod,
    budgetMs,
    ...(at.headroom ? { headroom: at.headroom } : {}),
    ...(at.concentration !== undefined ? { concentration: at.concentration } : {}),
  };
  if (fleet.replicas === plan.prefill.replicas && fleet.met) return { plan, bursts };
  return {
    plan: withRoleRaised(plan, input, 'prefill', fleet.replicas),
    bursts,
    note: `prefill ${describeBursts(bursts, spare, 'prefill, KV transfer and first decode step', 'prefill pod')}`,
  };
}
