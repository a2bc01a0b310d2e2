/**
 * The decision for a disaggregated variant (docs/SIZING.md section 7): both roles in one
 * decision, so that they travel on the variant's message group and apply sees them together.
 * Pure, like the rest of the policy.
 *
 * - Observed per role: the prefill pods give the arrivals, the prompt sizes and the prefill
 *   backlog; the decode pods the output sizes, the decode backlog and the KV transfers (the NIXL
 *   connector's time per transfer and its failures).
 * - Held (no change) when either role's metrics are stale or missing, or when KV transfers fail:
 *   sizing on a broken handoff would read the failures' recomputation as load.
 * - Demand as for any variant (lib/policy/demand.ts): the measured rate, the prefill backlog to
 *   drain (what waits beyond the queue the prefill pods hold anyway), the significant rise over
 *   the lead time of new capacity.
 * - Sized by lib/optimizer/disaggregated.ts with the policy's margins, the prompts' spread (the
 *   remembered prompt histogram), the measured transfer time when longer than the model's, and
 *   the devices the single-Deployment variants left. A role that runs nothing takes the cheapest
 *   accelerator; one that runs moves when another carries the highest demand of its window for
 *   less (chooseRoleAccelerators), keeping its pods on the old one until the new are ready.
 * - With policy.burstSizing.prefill, the prefill pods raised for the bursts the metrics window averages
 *   away (lib/policy/prefillBursts.ts): the prefill role's arrivals per step replayed at a pod's
 *   saturated rate.
 * - With policy.burstSizing.decode, the decode pods raised for the same steps
 *   (lib/policy/decodeBursts.ts): the arrivals replayed through the decode pods' slots, each
 *   request holding one for its decode.
 * - Stabilised per role (lib/policy/stabilize.ts), each with its own recommendations; with
 *   policy.forecastCapacity.roles or policy.windowNoise, each earlier recommendation held as far
 *   as the rise learnt or the rate less its noise needs (lib/policy/roleHolds.ts).
 * - With policy.forecast.roles off, sized for the measured rate and the backlog alone.
 * - With policy.fillNodes, the devices the roles' nodes leave idle given to them (lib/policy/wholeNodes.ts).
 */
import { learntHeadroom, nextBurstHistory, withHeadroom } from './burstHeadroom.js';
import { targetsOf } from '../config/resolved.js';
import { newNodeSeconds } from '../config/startup.js';
import { disaggregatedInput, type DisaggregatedLoad } from '../config/toDisaggregated.js';
import {
  disaggregatedVariants,
  ROLES,
  roleAccelerators,
  roleDeployment,
  roleLabel,
  roleStartup,
  type Role,
} from '../config/roles.js';
import type { Config, DisaggregatedVariantConfig } from '../config/schema.js';
import { variantKey } from '../config/variantKey.js';
import type { VariantObservation } from '../metrics/observation.js';
import {
  prefillAloneMs,
  sizeDisaggregated,
  withinRatioBound,
  type DisaggregatedInput,
  type DisaggregatedPlan,
  type PromptSpread,
} from '../optimizer/disaggregated.js';
import { expectedWaiting } from '../optimizer/prefillTail.js';
import { sizePrefillForBursts } from './prefillBursts.js';
import { sizeDecodeForBursts, type DecodeStepSizing } from './decodeBursts.js';
import type { BurstSizing } from './stages/bursts.js';
import { trustedDistributions, updateTokenHistogram } from './distribution.js';
import type { DecisionRecord, ScalingReason } from './decisionRecord.js';
import { recordHeader } from './stages/record.js';
import { estimateDemand, type Demand } from './demand.js';
import { variantMemory, type PolicyMemory, type Recommendation, type VariantMemory } from './memory.js';
import { metricsQuery, type DeploymentView, type MetricsQuery } from './ports.js';
import { stabilize } from './stabilize.js';
import { fillNodeRoom, type RoleRoom } from './wholeNodes.js';
import {
  roleDemandHistorySeconds,
  roleEntry,
  roleForecast,
  roleHeldBy,
  roleHoldRates,
  rateLessNoise,
  type RoleForecast,
} from './roleHolds.js';
import { describeRoleWindow, learnRoleWindow } from './roleWindow.js';
import { windowLeadTimes } from './window.js';
import type { ReleaseHistory } from './learntWindow.js';
import {
  learntConcentration,
  validConcentration,
  withSizing,
  type ConcentrationMemory,
} from './burstConcentration.js';
import { EVEN_CONCENTRATION } from './burstSizing.js';

/** The key a role's observation is filed under in the pool's observations. */
export const roleObservationKey = (key: string, role: Role) => `${key}@${role}`;

export interface RoleState {
  /** desired replicas per accelerator (Deployments of the role that exist) */
  readonly byAccelerator: ReadonlyMap<string, { desired: number; ready: number }>;
}

export interface DisaggregatedContext {
  readonly config: Config;
  readonly now: number;
  readonly pool: string;
  readonly poolSequence: number;
  readonly generation?: number;
  /** devices per type the single-Deployment variants left; undefined: unlimited */
  readonly freeDevices?: ReadonlyMap<string, number>;
}

export interface RoleTarget {
  readonly accelerator: string;
  readonly target: number;
  readonly current: number;
  /** the accelerators the role is leaving and what it keeps on each until the new one is ready */
  readonly retiring?: readonly { readonly accelerator: string; readonly replicas: number }[];
}

export interface DisaggregatedDecision {
  readonly v: DisaggregatedVariantConfig;
  readonly key: string;
  readonly record: DecisionRecord;
  readonly memory: VariantMemory;
  readonly roles: Record<Role, RoleTarget>;
}

/** One metrics query per role of each disaggregated variant: its pods told apart by the role label. */
export function roleQueries(config: Config): MetricsQuery[] {
  return disaggregatedVariants(config).flatMap((v) =>
    ROLES.map((role) => ({
      ...metricsQuery(v),
      variant: roleObservationKey(variantKey(v), role),
      labels: { [roleLabel(v)]: role },
      gateway: false,
    })),
  );
}

/** A role's state from the Deployment views (the role's Deployments tell it apart). */
export function roleState(
  config: Config,
  v: DisaggregatedVariantConfig,
  role: Role,
  views: readonly DeploymentView[],
): RoleState {
  const byAccelerator = new Map<string, { desired: number; ready: number }>();
  for (const acc of roleAccelerators(config, v, role)) {
    const name = roleDeployment(config, v, role, acc);
    const view = views.find((d) => d.namespace === v.namespace && d.deployment === name);
    if (view) byAccelerator.set(acc, { desired: view.desired, ready: view.ready });
  }
  return { byAccelerator };
}

/** The accelerator a role runs on now (the most replicas), if any. */
function runningOn(state: RoleState): string | undefined {
  let best: string | undefined;
  let most = 0;
  for (const [acc, s] of state.byAccelerator) {
    if (s.desired > most) {
      best = acc;
      most = s.desired;
    }
  }
  return best;
}

const desiredOf = (state: RoleState, acc: string) => state.byAccelerator.get(acc)?.desired ?? 0;

/** Why to hold: a role's metrics stale or missing, or KV transfers failing. */
function holdReason(
  obs: Record<Role, VariantObservation | undefined>,
): { reason: ScalingReason; message: string } | undefined {
  for (const role of ROLES) {
    const o = obs[role];
    if (!o) return { reason: 'stale-metrics', message: `hold: no observation of the ${role} role` };
    if (o.stale.length > 0 || o.missing.length > 0) {
      const series = [...o.stale, ...o.missing].join(', ');
      return { reason: 'stale-metrics', message: `hold: the ${role} role's ${series} stale or missing` };
    }
  }
  if (obs.prefill!.arrivalRate === undefined)
    return { reason: 'stale-metrics', message: 'hold: no arrival rate from the prefill role' };
  const failed = obs.decode!.kvTransferFailures?.value ?? 0;
  if (failed > 0) {
    return {
      reason: 'kv-transfer-failing',
      message: `hold: ${Math.round(failed)} KV transfer(s) from prefill to decode failed in the last ${obs.decode!.windowSeconds} s (vllm:nixl_num_failed_transfers): the decode pods recompute those prompts, so their load is not the variant's demand`,
    };
  }
  return undefined;
}

/** Seconds new capacity of the variant takes: the slower role's startup plus a new node. */
export function disaggregatedLeadSeconds(config: Config, v: DisaggregatedVariantConfig): number {
  let lead = 0;
  for (const role of ROLES) {
    const s = roleStartup(config, v, role);
    const node = Math.max(0, ...roleAccelerators(config, v, role).map((a) => newNodeSeconds(config, a)));
    lead = Math.max(
      lead,
      node + s.imagePullSeconds + s.frameworkStartSeconds + s.weightsLoadSeconds + s.engineInitSeconds,
    );
  }
  return lead;
}

/** Whether a role's sizing holds capacity for the look-back's bursts (policy.burstSizing.prefill, .decode). */
export const roleCoversBursts = (config: Config, role: Role): boolean => config.policy.burstSizing[role];

/**
 * The role's stabilisation window: as a single-Deployment variant's (lib/policy/window.ts), never
 * shorter than policy.windowPerStartup times the time new capacity of the variant takes; a role's
 * whose sizing holds capacity for the look-back's bursts (policy.burstSizing.prefill, .decode),
 * burstSizing's windowPerStartup. Without a role: the longer of the two (what the history must keep).
 */
export function roleWindow(config: Config, v: DisaggregatedVariantConfig, role?: Role): number {
  const leadTimes =
    role === undefined
      ? Math.max(...ROLES.map((r) => windowLeadTimes(config, roleCoversBursts(config, r))))
      : windowLeadTimes(config, roleCoversBursts(config, role));
  return Math.max(config.policy.stabilizationWindowSeconds, leadTimes * disaggregatedLeadSeconds(config, v));
}

function stabilizedRole(
  config: Config,
  window: { seconds: number; heldBy?: (r: Recommendation) => number },
  now: number,
  current: number,
  recommended: number,
  history: readonly Recommendation[],
  observedSince: number,
): { replicas: number; limited: boolean } {
  const p = config.policy;
  const s = stabilize({
    now,
    current,
    recommended,
    history,
    windowSeconds: window.seconds,
    observedSince,
    up: p.scaleUpMaxStep,
    down: p.scaleDownMaxStep,
    ...(window.heldBy ? { heldBy: window.heldBy } : {}),
  });
  return { replicas: s.replicas, limited: s.limitedBy !== undefined };
}

/**
 * The prompts' spread a disaggregated variant is sized with (lib/optimizer/disaggregated.ts): the
 * prefill pods for the share of requests allowed to miss the TTFT target as asked, the decode
 * pods' KV cache full for no more than that share of the time (policy.itlDistribution.missShare).
 * The distribution is the remembered prompt histogram once it is large enough to trust; before,
 * a point at the mean prompt (then only the arrivals and the number in flight vary). None when
 * the distribution sizing is off.
 */
export function promptSpread(
  config: Config,
  v: DisaggregatedVariantConfig,
  histogram: VariantMemory['tokenHistogram'],
  demand: Pick<Demand, 'inputTokens' | 'outputTokens'>,
): PromptSpread | undefined {
  const settings = config.policy.itlDistribution;
  if (!settings.enabled) return undefined;
  const distributions = trustedDistributions(
    histogram,
    { input: demand.inputTokens, output: demand.outputTokens },
    settings.missShare,
  );
  return {
    input: distributions?.input ?? { values: [demand.inputTokens], weights: [1] },
    missShare: settings.missShare,
    ttftMs: targetsOf(config, v).ttftMs,
  };
}

/**
 * The requests the prefill pods on `accelerator` hold waiting on average at the measured rate
 * when nothing is amiss (lib/optimizer/prefillTail.ts, expectedWaiting), with the prompts'
 * distribution when it is trusted (a point at the mean before); 0 when no pod is ready, the pods
 * cannot keep up or the prompt size is unknown: then all that waits is a backlog.
 */
export function expectedPrefillWaiting(
  config: Config,
  v: DisaggregatedVariantConfig,
  accelerator: string,
  at: {
    rate: number;
    ready: number;
    inputTokens: number | undefined;
    histogram: VariantMemory['tokenHistogram'];
  },
): number {
  const profile = config.models.find((m) => m.name === v.model)?.profiles[accelerator];
  if (!profile || !(at.ready > 0) || at.inputTokens === undefined) return 0;
  const distributions = trustedDistributions(
    at.histogram,
    { input: at.inputTokens },
    config.policy.itlDistribution.missShare,
  );
  const queue = expectedWaiting({
    rate: at.rate,
    replicas: at.ready,
    input: distributions?.input ?? { values: [at.inputTokens], weights: [1] },
    serviceMs: (tokens) => prefillAloneMs(profile, tokens),
  });
  return Number.isFinite(queue) ? queue : 0;
}

/**
 * The accelerator each role runs on. A role that runs nothing takes what the sizing finds
 * cheapest. A role that runs moves when another accelerator it may use carries the highest demand
 * of its stabilisation window (what the window will hold) for less: the cost that matters is that
 * of the replicas held, and a role chosen at a quiet moment (a small decode batch on the cheaper
 * device) can cost several times more through a burst than the faster one. A move pays for the
 * new pods while they start (a lead time) beside the old ones, so it is made only when the
 * saving over one window repays that: new cost x (1 + lead / window) <= current cost. Near ties
 * never move, so a role does not swing between accelerators.
 */
export function chooseRoleAccelerators(
  config: Config,
  v: DisaggregatedVariantConfig,
  running: Record<Role, string | undefined>,
  load: DisaggregatedLoad,
  at: {
    peakRate: number;
    observedTransferMs?: number;
    leadSeconds: number;
    windowSeconds: number;
    /**
     * the plan raised for the look-back's bursts as the decision will raise it
     * (policy.burstSizing.prefill, .decode); undefined where the role's bounds leave more than the
     * share allowed of its bursts' requests late
     */
    forBursts?: (
      plan: DisaggregatedPlan,
      input: DisaggregatedInput,
      role: Role,
    ) => DisaggregatedPlan | undefined;
  },
): Record<Role, string | undefined> {
  const payback = 1 + at.leadSeconds / Math.max(at.windowSeconds, 1);
  const chosen = { ...running };
  const other = (role: Role): Role => (role === 'prefill' ? 'decode' : 'prefill');
  for (const role of ROLES) {
    const current = running[role];
    const options = roleAccelerators(config, v, role);
    if (!current || options.length < 2) continue;
    const roleCost = (accelerator: string) => {
      const o = other(role);
      const input = disaggregatedInput(
        config,
        v,
        { ...load, rate: at.peakRate },
        {
          margin: config.policy.targetMargin,
          observedTransferMs: at.observedTransferMs,
          accelerators: { [role]: [accelerator], [o]: running[o] ? [running[o]] : undefined },
        },
      );
      const sizing = sizeDisaggregated(input);
      // only a plan meeting the targets (and the bursts, where sized for them) says what the role costs there
      const plan = sizing.feasible
        ? at.forBursts
          ? at.forBursts(sizing.plan, input, role)
          : sizing.plan
        : undefined;
      return plan ? plan[role].costPerHour : Infinity;
    };
    const stay = roleCost(current);
    let best = current;
    let bestCost = Infinity;
    for (const accelerator of options) {
      if (accelerator === current) continue;
      const cost = roleCost(accelerator);
      if (cost < bestCost && cost * payback <= stay) {
        best = accelerator;
        bestCost = cost;
      }
    }
    chosen[role] = best;
  }
  return chosen;
}

/** One disaggregated variant's decision and memory. */
export function decideDisaggregated(
  v: DisaggregatedVariantConfig,
  obs: Record<Role, VariantObservation | undefined>,
  state: Record<Role, RoleState>,
  memory: PolicyMemory,
  ctx: DisaggregatedContext,
): DisaggregatedDecision {
  const { config, now } = ctx;
  const key = variantKey(v);
  const previous = variantMemory(memory, key);
  const observedSince = previous.observedSince ?? now;
  const roleHistory = previous.roles ?? { prefill: [], decode: [] };
  // the accelerator a role last moved to, while its Deployment exists: a move keeps the old pods
  // (more of them, at first) until the new are ready, and judging from those would move it back
  const lastChosen = (role: Role) => {
    const acc = roleHistory[role].at(-1)?.accelerator;
    return acc !== undefined && (state[role].byAccelerator.get(acc)?.desired ?? 0) > 0 ? acc : undefined;
  };
  const running = {
    prefill: lastChosen('prefill') ?? runningOn(state.prefill),
    decode: lastChosen('decode') ?? runningOn(state.decode),
  };
  const currentOf = (role: Role) =>
    [...state[role].byAccelerator.values()].reduce((s, x) => s + x.desired, 0);

  const hold = holdReason(obs);
  let demand: Demand | undefined;
  let forecast: RoleForecast | undefined;
  let plan: DisaggregatedPlan | undefined;
  let bursts: BurstSizing | undefined;
  let decodeSteps: DecodeStepSizing | undefined;
  let burstNote: string | undefined;
  let tokenHistogram = previous.tokenHistogram;
  // policy.burstSizing.concentration: as stored (validated), advanced below by the prefill pods' window
  let concentration: ConcentrationMemory | undefined = config.policy.burstSizing.concentration.enabled
    ? validConcentration(previous.concentration)
    : undefined;
  let reason: ScalingReason = hold?.reason ?? 'load';
  let message = hold?.message ?? '';
  const targets: Record<Role, RoleTarget> = {
    prefill: {
      accelerator: running.prefill ?? '',
      target: currentOf('prefill'),
      current: currentOf('prefill'),
    },
    decode: { accelerator: running.decode ?? '', target: currentOf('decode'), current: currentOf('decode') },
  };
  const recommendations: Record<Role, Recommendation[]> = {
    prefill: [...roleHistory.prefill],
    decode: [...roleHistory.decode],
  };
  const releases: { prefill?: ReleaseHistory; decode?: ReleaseHistory } = { ...previous.roleReleases };
  if (!hold) {
    const p = obs.prefill!;
    const d = obs.decode!;
    // the backlog the demand drains is the prefill pods' queue: only prefill pods starting answer it
    const starting = [...state.prefill.byAccelerator.values()].reduce((s, x) => s + x.desired - x.ready, 0);
    tokenHistogram = updateTokenHistogram(
      previous.tokenHistogram,
      { ...p, outputTokenBuckets: d.outputTokenBuckets ?? p.outputTokenBuckets },
      now,
      config.policy.itlDistribution.halfLifeSeconds,
    );
    // Prompts prefilled one at a time queue even when the pods keep up: only what waits beyond
    // that queue is a backlog to drain (the rest the sizing already counts).
    const queued = running.prefill
      ? expectedPrefillWaiting(config, v, running.prefill, {
          rate: p.arrivalRate!.value,
          ready: [...state.prefill.byAccelerator.values()].reduce((n, x) => n + x.ready, 0),
          inputTokens: p.avgInputTokens?.value ?? previous.lastTokens?.input,
          histogram: tokenHistogram,
        })
      : 0;
    const merged: VariantObservation = {
      ...p,
      avgOutputTokens: d.avgOutputTokens ?? p.avgOutputTokens,
      ...(p.waiting ? { waiting: { ...p.waiting, value: Math.max(p.waiting.value - queued, 0) } } : {}),
    };
    const trended = estimateDemand(merged, previous, {
      now,
      ttftTargetMs: targetsOf(config, v).ttftMs,
      intervalSeconds: config.policy.intervalSeconds,
      leadSeconds: disaggregatedLeadSeconds(config, v),
      startingReplicas: starting,
      // policy.forecast.roles: the roles sized with the trend's forecast, or for what is measured
      forecast: config.policy.forecast.roles
        ? config.policy.forecast
        : { ...config.policy.forecast, enabled: false },
    });
    // policy.forecastCapacity.roles: the forecast bought and held as far as the rises learnt expect
    forecast = roleForecast(config, previous, trended, { now, windowSeconds: p.windowSeconds });
    demand = forecast.demand;
    const spread = promptSpread(config, v, tokenHistogram, demand);
    const load: DisaggregatedLoad = {
      rate: demand.rate,
      inputTokens: demand.inputTokens,
      outputTokens: demand.outputTokens,
      ...(spread ? { spread } : {}),
    };
    // policy.burstSizing.prefill, .decode: the plan raised for the look-back's bursts, each role
    // from what the other left (decode after prefill)
    // with policy.burstSizing.headroom, the look-back's busiest step raised as the variant learnt
    const headroom =
      config.policy.burstSizing.headroom.enabled && p.arrivalSteps && p.arrivalSteps.counts.length > 0
        ? learntHeadroom(previous.bursts, config, p.arrivalSteps)
        : undefined;
    const steps =
      headroom && p.arrivalSteps
        ? { ...p.arrivalSteps, counts: withHeadroom(p.arrivalSteps.counts, headroom.factor) }
        : p.arrivalSteps;
    // policy.burstSizing.concentration: how concentrated the arrivals are within a step, from the
    // TTFT misses the prefill pods measured where the replay said the pods ready sufficed
    concentration = learntConcentration(config, previous.concentration, {
      now,
      prefill: p,
      ready: [...state.prefill.byAccelerator.values()].reduce((n, x) => n + x.ready, 0),
    });
    const forBursts = (planned: DisaggregatedPlan, sizedFrom: DisaggregatedInput) => {
      const prefillSized = sizePrefillForBursts(config, v, {
        plan: planned,
        input: sizedFrom,
        steps,
        prompts: spread?.input ?? { values: [load.inputTokens], weights: [1] },
        ...(headroom ? { headroom } : {}),
        // with the flag on it is recorded from the start (1 until learnt)
        ...(config.policy.burstSizing.concentration.enabled
          ? { concentration: concentration?.c ?? EVEN_CONCENTRATION }
          : {}),
      });
      const decodeSized = sizeDecodeForBursts(config, {
        plan: prefillSized.plan,
        input: sizedFrom,
        steps,
        ...(concentration ? { concentration: concentration.c } : {}),
      });
      const within = (b: { share: number; allowedShare: number } | undefined) =>
        b === undefined || b.share <= b.allowedShare;
      return {
        plan: decodeSized.plan,
        met: { prefill: within(prefillSized.bursts), decode: within(decodeSized.decodeSteps) },
        bursts: prefillSized.bursts,
        decodeSteps: decodeSized.decodeSteps,
        note: [prefillSized.note, decodeSized.note].filter(Boolean).join('; ') || undefined,
      };
    };
    const chosen = chooseRoleAccelerators(config, v, running, load, {
      peakRate: Math.max(
        load.rate,
        ...ROLES.flatMap((role) =>
          roleHistory[role].filter((r) => r.t > now - roleWindow(config, v)).map((r) => r.rate ?? 0),
        ),
      ),
      observedTransferMs: d.kvTransferMs?.value,
      leadSeconds: disaggregatedLeadSeconds(config, v),
      windowSeconds: roleWindow(config, v),
      forBursts: (planned, sizedFrom, role) => {
        const sized = forBursts(planned, sizedFrom);
        return sized.met[role] ? sized.plan : undefined;
      },
    });
    const only = (role: Role) => (chosen[role] ? [chosen[role]] : undefined);
    // the optimizer's input at a rate, on the accelerators chosen (another rate: what the window holds)
    const inputAt = (rate: number) =>
      disaggregatedInput(
        config,
        v,
        { ...load, rate },
        {
          margin: config.policy.targetMargin,
          freeDevices: ctx.freeDevices,
          observedTransferMs: d.kvTransferMs?.value,
          accelerators: { prefill: only('prefill'), decode: only('decode') },
        },
      );
    const input = inputAt(load.rate);
    const sizing = sizeDisaggregated(input);
    plan = sizing.feasible ? sizing.plan : sizing.needed;
    // what measured demand, and the demand expected within a lead time, ask of each role
    // (policy.forecastCapacity.roles with holdAsExpected): the optimizer at those rates
    const holdRates = sizing.feasible ? roleHoldRates(config, forecast) : undefined;
    const sizedAt = (rate: number | undefined) => {
      if (rate === undefined) return undefined;
      const s = sizeDisaggregated(inputAt(rate));
      return s.feasible ? s.plan : undefined;
    };
    const normal = sizing.feasible ? sizing.plan : undefined;
    const atMeasured = holdRates && sizedAt(holdRates.measured);
    const atExpected = holdRates && sizedAt(holdRates.expected);
    // policy.windowNoise: each role's entry also sized at the measured rate less its noise
    const noiseWindow = { rateWindowSeconds: p.windowSeconds, holdSeconds: roleWindow(config, v) };
    const lessNoise = rateLessNoise(
      config,
      demand.measured,
      roleHistory.prefill
        .filter((r) => r.t > now - noiseWindow.holdSeconds && r.arrivals !== undefined)
        .map((r) => r.arrivals!),
      noiseWindow,
    );
    const atLessNoise =
      normal && lessNoise !== undefined ? sizedAt(demand.rate - demand.measured + lessNoise) : undefined;
    if (sizing.feasible) {
      const sized = forBursts(sizing.plan, input);
      plan = sized.plan;
      bursts = sized.bursts;
      decodeSteps = sized.decodeSteps;
      burstNote = sized.note;
    }
    if (!sizing.feasible) {
      const targetsOutOfReach = plan !== undefined && Number.isNaN(plan.ttft.totalMs);
      reason = targetsOutOfReach ? 'load' : 'capacity';
      message = targetsOutOfReach
        ? `targets out of reach (${sizing.reason}): each role sized to keep its queue stable`
        : `${sizing.reason}${plan ? '; asking for what the targets need' : ': holding'}`;
    } else {
      reason = demand.driver;
    }
    if (plan) {
      const limited: string[] = [];
      const windowNotes: string[] = [];
      const lw = config.policy.learntWindow;
      const sized = demand;
      const learnRole = (
        role: Role,
        accelerator: string,
        planned: number,
        current: number,
        history: readonly Recommendation[],
      ) =>
        lw.enabled
          ? learnRoleWindow(
              previous.roleReleases?.[role],
              {
                now,
                accelerator,
                planned,
                arrivalsShare: sized.rate > 0 ? sized.measured / sized.rate : 1,
                configuredSeconds: roleWindow(config, v, role),
                leadSeconds: disaggregatedLeadSeconds(config, v),
                highest: Math.max(planned, current, ...history.map((r) => r.replicas)),
              },
              lw,
            )
          : undefined;
      for (const role of ROLES) {
        const chosen = plan[role];
        const current = desiredOf(state[role], chosen.accelerator);
        const history = recommendations[role].filter((r) => r.accelerator === chosen.accelerator);
        // policy.learntWindow: the role's window learnt from its own releases (lib/policy/roleWindow.ts)
        const learnt = learnRole(role, chosen.accelerator, chosen.replicas, current, history);
        if (learnt) releases[role] = learnt.releases;
        const entry = roleEntry(
          { t: now, accelerator: chosen.accelerator, replicas: chosen.replicas, rate: demand.rate },
          normal?.[role].replicas ?? chosen.replicas,
          {
            measured: atMeasured?.[role].replicas,
            expected: atExpected?.[role].replicas,
            lessNoise: atLessNoise?.[role].replicas,
          },
          config.policy.windowNoise.enabled ? demand.measured : undefined,
        );
        const heldBy = roleHeldBy(
          history,
          now,
          disaggregatedLeadSeconds(config, v),
          { forecast: holdRates !== undefined, noise: config.policy.windowNoise.enabled },
          entry.expected,
        );
        const s = stabilizedRole(
          config,
          heldBy
            ? { seconds: learnt?.seconds ?? roleWindow(config, v, role), heldBy }
            : (learnt ?? { seconds: roleWindow(config, v, role) }),
          now,
          current,
          chosen.replicas,
          history,
          observedSince,
        );
        const bounds = v.roles[role];
        const target = Math.min(Math.max(s.replicas, bounds.minReplicas), bounds.maxReplicas ?? Infinity);
        if (s.limited) limited.push(role);
        if (s.limited && learnt) windowNotes.push(`${role}: ${describeRoleWindow(learnt)}`);
        // A role moving to another accelerator keeps, of what runs on the one it leaves, the share
        // the new one's ready replicas do not cover yet (make before break: apply may only keep
        // or lower those), so each new replica ready lets its share of the old go.
        const readyNew = state[role].byAccelerator.get(chosen.accelerator)?.ready ?? 0;
        const shortfall = target > 0 ? Math.max(target - readyNew, 0) / target : 0;
        const retiring = [...state[role].byAccelerator]
          .filter(([acc, x]) => acc !== chosen.accelerator && x.desired > 0)
          .map(([acc, x]) => ({
            accelerator: acc,
            replicas: Math.max(Math.ceil(x.desired * shortfall - 1e-9), 0),
          }));
        targets[role] = {
          accelerator: chosen.accelerator,
          target,
          current: currentOf(role),
          ...(retiring.length > 0 ? { retiring } : {}),
        };
        recommendations[role].push(entry);
      }
      const bounded = withinRatioBound(
        { prefill: targets.prefill.target, decode: targets.decode.target },
        v.roles.ratio,
        {
          prefill: v.roles.prefill.maxReplicas ?? Infinity,
          decode: v.roles.decode.maxReplicas ?? Infinity,
        },
      );
      const ratioNotes: string[] = [];
      for (const role of ROLES) {
        if (bounded[role] === targets[role].target) continue;
        ratioNotes.push(`${role} ${targets[role].target} -> ${bounded[role]}`);
        targets[role] = { ...targets[role], target: bounded[role] };
      }
      // policy.fillNodes: devices the roles' nodes leave idle are paid for anyway (lib/policy/wholeNodes.ts)
      const filled = fillNodeRoom(
        config,
        Object.fromEntries(
          ROLES.map((role) => [
            role,
            {
              deviceType: plan![role].deviceType,
              devicesPerReplica: plan![role].devices / Math.max(plan![role].replicas, 1),
              target: targets[role].target,
              maxReplicas: v.roles[role].maxReplicas ?? Infinity,
              moving: (targets[role].retiring?.length ?? 0) > 0,
            },
          ]),
        ) as Record<Role, RoleRoom>,
        v.roles.ratio,
      );
      const roomNotes: string[] = [];
      for (const role of ROLES) {
        if (filled[role] <= targets[role].target) continue;
        roomNotes.push(`${role} +${filled[role] - targets[role].target}`);
        targets[role] = { ...targets[role], target: filled[role] };
      }
      if (limited.length > 0 && reason !== 'capacity') reason = 'stabilization';
      message =
        `${message ? `${message}; ` : ''}prefill ${plan.prefill.replicas} x ${plan.prefill.accelerator}, decode ${plan.decode.replicas} x ${plan.decode.accelerator} for ${demand.rate.toFixed(2)} req/s ` +
        (!Number.isFinite(plan.ttft.totalMs)
          ? ''
          : `(TTFT ${plan.ttft.totalMs.toFixed(0)} ms: prefill wait ${plan.ttft.prefillWaitMs.toFixed(0)} + prefill ${plan.ttft.prefillMs.toFixed(0)} + KV ${plan.ttft.transferMs.toFixed(0)} + decode ${(plan.ttft.decodeWaitMs + plan.ttft.firstStepMs).toFixed(0)}; ITL ${plan.itlMs.toFixed(1)} ms)`) +
        (limited.length > 0 ? `; ${limited.join(' and ')} held by the window or step limit` : '') +
        (windowNotes.length > 0 ? ` (${windowNotes.join('; ')})` : '') +
        (ratioNotes.length > 0 ? `; within the ratio bound: ${ratioNotes.join(', ')}` : '') +
        (roomNotes.length > 0 ? `; the room left on the nodes: ${roomNotes.join(', ')}` : '') +
        (burstNote ? `; ${burstNote}` : '');
    }
  }
  const window = roleWindow(config, v);
  const keep = (list: Recommendation[]) =>
    list.filter((r) => r.t > now - window - config.policy.intervalSeconds);
  const sequence = previous.sequence + 1;
  const { bursts: _bursts, concentration: storedConcentration, ...kept } = previous;
  // the prefill pods' budget this sizing counted (TTFT target less KV transfer and first decode
  // step), and its replay: the next window's TTFT histogram is read against them
  const nextConcentration = config.policy.burstSizing.concentration.enabled
    ? withSizing(
        concentration,
        bursts && plan
          ? {
              budgetMs: targetsOf(config, v).ttftMs - plan.ttft.transferMs - plan.ttft.firstStepMs,
              perPodRate: bursts.perReplicaRate,
              waitMs: bursts.budgetMs,
            }
          : undefined,
        now,
      )
    : storedConcentration;
  // what the lead time after each look-back brought (policy.burstSizing.headroom)
  const burstHistory = nextBurstHistory(
    previous.bursts,
    obs.prefill?.arrivalSteps,
    config,
    disaggregatedLeadSeconds(config, v),
  );
  const nextMemory: VariantMemory = {
    ...kept,
    ...(burstHistory ? { bursts: burstHistory } : {}),
    ...(nextConcentration ? { concentration: nextConcentration } : {}),
    sequence,
    observedSince,
    demand: demand
      ? [
          ...previous.demand.filter(
            (x) => x.t >= now - roleDemandHistorySeconds(config, disaggregatedLeadSeconds(config, v)),
          ),
          { t: now, rate: demand.measured },
        ]
      : previous.demand,
    ...(forecast?.rise ? { rise: { ...forecast.rise } } : {}),
    lastTokens: demand ? { input: demand.inputTokens, output: demand.outputTokens } : previous.lastTokens,
    ...(tokenHistogram ? { tokenHistogram } : {}),
    roles: { prefill: keep(recommendations.prefill), decode: keep(recommendations.decode) },
    ...(releases.prefill || releases.decode ? { roleReleases: releases } : {}),
  };
  const record = disaggregatedRecord(
    v,
    targets,
    { reason, message, demand, plan, obs, sequence, bursts, decodeSteps },
    ctx,
  );
  return { v, key, record, memory: nextMemory, roles: targets };
}

function disaggregatedRecord(
  v: DisaggregatedVariantConfig,
  roles: Record<Role, RoleTarget>,
  d: {
    reason: ScalingReason;
    message: string;
    demand: Demand | undefined;
    plan: DisaggregatedPlan | undefined;
    obs: Record<Role, VariantObservation | undefined>;
    sequence: number;
    bursts?: BurstSizing;
    decodeSteps?: DecodeStepSizing;
  },
  ctx: DisaggregatedContext,
): DecisionRecord {
  const { config } = ctx;
  const key = variantKey(v);
  const target = roles.prefill.target + roles.decode.target;
  const current = roles.prefill.current + roles.decode.current;
  const action = !d.demand
    ? 'hold'
    : target > current
      ? 'scale-up'
      : target < current
        ? 'scale-down'
        : 'none';
  const deployments = ROLES.flatMap((role) => {
    const r = roles[role];
    if (r.accelerator === '') return [];
    const on = (accelerator: string, replicas: number) => ({
      accelerator,
      deployment: roleDeployment(config, v, role, accelerator),
      replicas,
      role,
    });
    return [on(r.accelerator, r.target), ...(r.retiring ?? []).map((x) => on(x.accelerator, x.replicas))];
  });
  const p = d.obs.prefill;
  const stale = ROLES.flatMap((r) => (d.obs[r]?.stale ?? []).map((s) => `${r}:${s}`));
  const missing = ROLES.flatMap((r) =>
    d.obs[r] ? d.obs[r].missing.map((s) => `${r}:${s}`) : [`${r}:(no observation)`],
  );
  return {
    ...recordHeader(ctx, v, key, d.sequence),
    accelerator: '',
    targetReplicas: target,
    currentReplicas: current,
    action,
    reason: d.reason,
    message: d.message || `${action}: prefill ${roles.prefill.target}, decode ${roles.decode.target}`,
    deployments,
    roles: {
      prefill: {
        accelerator: roles.prefill.accelerator,
        targetReplicas: roles.prefill.target,
        currentReplicas: roles.prefill.current,
      },
      decode: {
        accelerator: roles.decode.accelerator,
        targetReplicas: roles.decode.target,
        currentReplicas: roles.decode.current,
      },
    },
    prediction:
      d.plan && Number.isFinite(d.plan.ttft.totalMs)
        ? {
            ttftMs: d.plan.ttft.totalMs,
            itlMs: d.plan.itlMs,
            utilization: d.plan.linkUtilisation,
            ratePerReplica: d.plan.prefill.ratePerReplica,
          }
        : null,
    inputs: {
      arrivalRate: p?.arrivalRate?.value ?? null,
      completionRate: p?.completionRate?.value ?? null,
      demandRate: d.demand?.rate ?? null,
      avgInputTokens: d.demand?.inputTokens ?? p?.avgInputTokens?.value ?? null,
      avgOutputTokens: d.demand?.outputTokens ?? d.obs.decode?.avgOutputTokens?.value ?? null,
      waiting: p?.waiting?.value ?? null,
      running: p?.running?.value ?? null,
      readyReplicas: p?.readyReplicas?.value ?? null,
      modelCorrection: null,
      metricTimestamps: {},
      stale,
      missing,
      ...(d.bursts ? { bursts: { ...d.bursts } } : {}),
      ...(d.decodeSteps ? { decodeSteps: { ...d.decodeSteps } } : {}),
    },
  };
}
