/**
 * The decision policy for one capacity pool: observations and cluster state in, one decision
 * per variant and the updated memory out. Pure: no clock, no network (ARCHITECTURE.md).
 *
 * Order of reasoning per variant: hold on stale or missing metrics; demand (arrivals, backlog,
 * forecast over the startup delay); the optimizer across the whole pool within the node groups'
 * capacity; accelerator moves only after the optimizer has preferred the new one for a while,
 * make-before-break; idle and min/max; stabilisation; then the node groups for all of it.
 */
import type { Config, VariantConfig } from '../config/schema.js';
import { configCapacity, configToSystem, variantKey } from '../config/toSystem.js';
import type { VariantObservation } from '../metrics/observation.js';
import {
  solve,
  type Allocation,
  type ModelSpec,
  type ServiceClassSpec,
  type SystemSpec,
} from '../optimizer/index.js';
import { corrected, NO_CORRECTION, updateCorrection, type Correction } from './correction.js';
import { estimateDemand, type Demand } from './demand.js';
import { DECISION_VERSION, type DecisionRecord, type ScalingReason } from './decisionRecord.js';
import { variantMemory, type PolicyMemory, type VariantMemory } from './memory.js';
import { planNodeGroups, type ReplicaDemand } from './nodePlan.js';
import type { DeploymentView, NodeGroupView } from './ports.js';
import { predictAt } from './predict.js';
import { stabilize } from './stabilize.js';
import {
  acceleratorType,
  allowedAccelerators,
  deploymentName,
  devicesPerReplica,
  provisioningSeconds,
  targetsOf,
} from './variantPlan.js';

export interface PoolInput {
  readonly pool: string;
  readonly config: Config;
  /** by variant key (`namespace/name`) */
  readonly observations: ReadonlyMap<string, VariantObservation>;
  readonly deployments: readonly DeploymentView[];
  readonly nodeGroups: readonly NodeGroupView[];
  readonly memory: PolicyMemory;
  /** epoch seconds */
  readonly now: number;
}

export interface PoolOutput {
  readonly decisions: DecisionRecord[];
  readonly memory: PolicyMemory;
}

interface CurrentState {
  /** the accelerator serving now ('' when none has replicas) */
  readonly accelerator: string;
  readonly desired: number;
  readonly ready: number;
  readonly byAccelerator: ReadonlyMap<string, DeploymentView>;
}

interface Plan {
  readonly v: VariantConfig;
  readonly key: string;
  readonly current: CurrentState;
  readonly observation?: VariantObservation;
  readonly demand?: Demand;
  readonly correction: Correction;
  accelerator: string;
  target: number;
  reason: ScalingReason;
  message: string;
  migrating: boolean;
  /** replicas per accelerator to ask for (includes an old accelerator kept during a move) */
  readonly deployments: Map<string, number>;
}

function currentState(
  config: Config,
  v: VariantConfig,
  deployments: readonly DeploymentView[],
): CurrentState {
  const key = variantKey(v);
  const mine = deployments.filter((d) => d.variant === key);
  const byAccelerator = new Map(mine.map((d) => [d.accelerator, d]));
  // The accelerator serving now is the one with the most ready replicas: during a move the new
  // Deployment may already ask for more, but the old one serves until the new one is ready.
  const serving = [...mine].sort(
    (a, b) => b.ready - a.ready || b.desired - a.desired || (a.accelerator < b.accelerator ? -1 : 1),
  )[0];
  const accelerator =
    serving && serving.desired > 0
      ? serving.accelerator
      : (v.current?.accelerator ?? allowedAccelerators(config, v)[0] ?? '');
  const d = byAccelerator.get(accelerator);
  return { accelerator, desired: d?.desired ?? 0, ready: d?.ready ?? 0, byAccelerator };
}

const holdMessage = (obs: VariantObservation | undefined) => {
  if (!obs) return 'hold: no observation for this variant';
  const parts = [];
  if (obs.missing.length > 0) parts.push(`missing ${obs.missing.join(', ')}`);
  if (obs.stale.length > 0) parts.push(`stale ${obs.stale.join(', ')}`);
  return `hold: cannot measure arrivals (${parts.join('; ') || 'no arrival estimate'})`;
};

/** The system the optimizer sees: sizing targets with the policy's margins, capacity less what held variants keep. */
function sizingSystem(input: PoolInput, plans: readonly Plan[]): SystemSpec {
  const { config } = input;
  const loads = new Map<string, { arrivalRate: number; avgInTokens: number; avgOutTokens: number }>();
  const current = new Map<string, { accelerator: string; replicas: number }>();
  for (const p of plans) {
    if (p.demand) {
      loads.set(p.key, {
        arrivalRate: p.demand.rate * 60,
        avgInTokens: p.demand.inputTokens,
        avgOutTokens: p.demand.outputTokens,
      });
    }
    current.set(p.key, { accelerator: p.current.accelerator, replicas: p.current.desired });
  }
  let capacity: Map<string, number> | 'unlimited' = configCapacity(config) ?? 'unlimited';
  if (capacity !== 'unlimited') {
    capacity = new Map(capacity);
    for (const p of plans.filter((q) => !q.demand)) {
      for (const [acc, d] of p.current.byAccelerator) {
        const type = acceleratorType(config, acc)!;
        const used = d.desired * devicesPerReplica(config, p.v, acc);
        capacity.set(type, Math.max((capacity.get(type) ?? 0) - used, 0));
      }
    }
  }
  const system = configToSystem(config, { loads, current, capacity });
  // Each variant is sized with its own copy of its model, whose profile carries what the policy
  // has learned about the model's error for that variant (prefill times scaled by the TTFT
  // correction, decode times by the ITL one), against its class's targets times the margins.
  const margin = config.policy.targetMargin;
  const models = new Map<string, ModelSpec>();
  const serviceClasses = new Map<string, ServiceClassSpec>();
  const servers = [];
  for (const p of plans.filter((q) => q.demand)) {
    const server = system.servers.find((s) => s.name === p.key)!;
    const base = system.serviceClasses.get(server.serviceClass)!;
    const t = base.targets.get(server.model)!;
    const model = `${server.model}@${p.key}`;
    models.set(model, {
      name: model,
      profiles: new Map(
        [...system.models.get(server.model)!.profiles].map(([acc, profile]) => [
          acc,
          corrected(profile, p.correction),
        ]),
      ),
    });
    const serviceClass = `${base.name}@${p.key}`;
    serviceClasses.set(serviceClass, {
      name: serviceClass,
      priority: base.priority,
      targets: new Map([[model, { ttft: t.ttft * margin.ttft, itl: t.itl * margin.itl, tps: t.tps }]]),
    });
    servers.push({ ...server, model, serviceClass });
  }
  return { ...system, models, serviceClasses, servers };
}

/** Devices per type left after the optimizer's allocations and the held variants; undefined = unlimited. */
function freeDevices(
  input: PoolInput,
  plans: readonly Plan[],
  allocations: ReadonlyMap<string, Allocation>,
): Map<string, number> | undefined {
  const { config } = input;
  const capacity = configCapacity(config);
  if (!capacity) return undefined;
  const free = new Map(capacity);
  const take = (acc: string, replicas: number, v: VariantConfig) => {
    const type = acceleratorType(config, acc);
    if (type) free.set(type, (free.get(type) ?? 0) - replicas * devicesPerReplica(config, v, acc));
  };
  for (const p of plans) {
    if (!p.demand) for (const [acc, d] of p.current.byAccelerator) take(acc, d.desired, p.v);
    const a = allocations.get(p.key);
    if (a && a.accelerator) take(a.accelerator, a.numReplicas, p.v);
  }
  return free;
}

/** The optimizer's recommendation for a variant, kept on its current accelerator until a move is due. */
function recommend(
  plan: Plan,
  memory: VariantMemory,
  allocation: Allocation | undefined,
  candidates: readonly Allocation[],
  input: PoolInput,
  free: Map<string, number> | undefined,
): { accelerator: string; replicas: number; reason: ScalingReason; message: string } {
  const { v, current } = plan;
  const switchAfter = input.config.policy.acceleratorSwitchSeconds;
  const onCurrent = candidates.find((c) => c.accelerator === current.accelerator);
  const driver = plan.demand!.driver;
  const sized = (a: Allocation, message: string) => ({
    accelerator: a.accelerator || current.accelerator,
    replicas: a.numReplicas,
    reason: driver as ScalingReason,
    message,
  });
  if (!allocation && plan.demand!.rate === 0) {
    // Idle: limited mode leaves out an idle variant with no minimum; it needs nothing.
    return {
      accelerator: current.accelerator,
      replicas: v.minReplicas,
      reason: 'load',
      message: 'no demand',
    };
  }
  if (!allocation) {
    // No candidate meets the targets within maxReplicas and capacity: run as many replicas as
    // allowed and free on the current accelerator, the best chance to serve meanwhile.
    const accelerator = (onCurrent ?? candidates[0])?.accelerator || current.accelerator;
    const type = acceleratorType(input.config, accelerator);
    const per = devicesPerReplica(input.config, v, accelerator);
    const fits = free && type ? Math.max(Math.floor((free.get(type) ?? 0) / per), 0) : Infinity;
    const limit = Math.min(v.maxReplicas ?? Infinity, fits);
    const replicas = Number.isFinite(limit) ? limit : Math.max(current.desired, v.minReplicas);
    if (free && type) free.set(type, (free.get(type) ?? 0) - replicas * per);
    const bound = fits < (v.maxReplicas ?? Infinity) ? 'free capacity' : `maxReplicas ${v.maxReplicas}`;
    return {
      accelerator,
      replicas,
      reason: fits < (v.maxReplicas ?? Infinity) ? 'capacity' : 'max-replicas',
      message: `targets cannot be met within ${bound}: running ${replicas} on ${accelerator}`,
    };
  }
  const preferred = allocation.accelerator || current.accelerator;
  if (current.accelerator === '' || preferred === current.accelerator || current.desired === 0) {
    return sized(allocation, `sized for ${plan.demand!.rate.toFixed(3)} req/s on ${preferred}`);
  }
  const since =
    memory.otherAccelerator?.accelerator === preferred ? memory.otherAccelerator.since : input.now;
  if (input.now - since >= switchAfter || !onCurrent) {
    return {
      ...sized(
        allocation,
        `moving from ${current.accelerator} to ${preferred}: cheaper for ${plan.demand!.rate.toFixed(3)} req/s`,
      ),
      reason: 'migration',
    };
  }
  return sized(
    onCurrent,
    `sized on ${current.accelerator}; ${preferred} preferred for ${Math.round(input.now - since)} s of ${switchAfter} s`,
  );
}

function estimates(obs: VariantObservation | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!obs) return out;
  for (const e of [
    obs.arrivalRate,
    obs.completionRate,
    obs.avgInputTokens,
    obs.avgOutputTokens,
    obs.waiting,
    obs.running,
    obs.readyReplicas,
  ]) {
    if (e) out[e.source] = e.timestamp;
  }
  return out;
}

/** Time from a decision to grow to a serving replica: node provisioning, then the replica's startup. */
function leadSeconds(config: Config, v: VariantConfig, accelerator: string): number {
  return v.startupSeconds + provisioningSeconds(config, accelerator);
}

/**
 * Capacity released now must be recoverable in time for the next burst, so the window is never
 * shorter than a few times the time new capacity takes to serve.
 */
function stabilizationWindow(config: Config, v: VariantConfig, accelerator: string): number {
  return Math.max(
    config.policy.stabilizationWindowSeconds,
    config.policy.windowPerStartup * leadSeconds(config, v, accelerator),
  );
}

/** The longest the window of a variant can grow to, for keeping its recommendations. */
function longestWindow(config: Config, v: VariantConfig, accelerator: string): number {
  const base = stabilizationWindow(config, v, accelerator);
  return config.policy.adaptiveWindow.enabled
    ? Math.max(base, config.policy.adaptiveWindow.maxSeconds)
    : base;
}

/**
 * Bursty demand punishes a fixed window: capacity released between bursts is missing when the
 * next one comes, for a whole startup delay. So a scale-up that re-buys replicas released
 * within the window (plus the startup delay) doubles the variant's window, up to a maximum;
 * two windows without such a regret halve it back towards the configured one.
 */
function adaptWindow(
  config: Config,
  v: VariantConfig,
  accelerator: string,
  mem: VariantMemory,
  step: { now: number; window: number; current: number; target: number },
): { memory: Partial<VariantMemory>; note?: string } {
  const settings = config.policy.adaptiveWindow;
  const base = stabilizationWindow(config, v, accelerator);
  const { now, window, current, target } = step;
  if (!settings.enabled) return { memory: {} };
  if (target < current) return { memory: { lastScaleDown: { t: now, from: current } } };
  const lastDown = mem.lastScaleDown;
  const regret =
    target > current &&
    lastDown !== undefined &&
    now - lastDown.t <= window + leadSeconds(config, v, accelerator);
  if (regret) {
    const grown = Math.min(window * 2, Math.max(settings.maxSeconds, base));
    return {
      memory: { window: grown, calmSince: now, lastScaleDown: undefined },
      note:
        grown > window
          ? `replicas released ${Math.round(now - lastDown.t)} s ago are needed again: window ${window} s -> ${grown} s`
          : undefined,
    };
  }
  const calmSince = mem.calmSince ?? mem.observedSince ?? now;
  if (window > base && now - calmSince >= 2 * window) {
    return { memory: { window: Math.max(base, window / 2), calmSince: now } };
  }
  return { memory: {} };
}

export function decidePool(input: PoolInput): PoolOutput {
  const { config, now } = input;
  const policy = config.policy;
  const memory: PolicyMemory = {
    poolSequence: input.memory.poolSequence + 1,
    variants: { ...input.memory.variants },
  };

  const plans: Plan[] = config.variants.map((v) => {
    const key = variantKey(v);
    const current = currentState(config, v, input.deployments);
    const observation = input.observations.get(key);
    const mem = variantMemory(input.memory, key);
    const base = {
      v,
      key,
      current,
      observation,
      accelerator: current.accelerator,
      migrating: false,
      deployments: new Map<string, number>(),
    };
    if (!observation?.arrivalRate) {
      // Hold what runs, within min and max: a new variant with no pods yet has no metrics either.
      const held = Math.min(Math.max(current.desired, v.minReplicas), v.maxReplicas ?? Infinity);
      return {
        ...base,
        correction: mem.correction ?? NO_CORRECTION,
        target: held,
        reason: 'stale-metrics',
        message:
          holdMessage(observation) + (held !== current.desired ? `; kept within min/max at ${held}` : ''),
      } satisfies Plan;
    }
    const lead = leadSeconds(config, v, current.accelerator);
    const demand = estimateDemand(observation, mem, {
      now,
      ttftTargetMs: targetsOf(config, v).ttftMs,
      intervalSeconds: policy.intervalSeconds,
      leadSeconds: lead,
      startingReplicas: [...current.byAccelerator.values()].reduce(
        (a, d) => a + Math.max(d.desired - d.ready, 0),
        0,
      ),
      forecast: policy.forecast,
    });
    const predicted = predictAt(
      config,
      v,
      current.accelerator,
      { ...demand, rate: demand.measured },
      current.ready,
    );
    // Learn only where the model is meant to hold: a replica set that is not overloaded.
    const inRegime =
      predicted !== null && predicted.utilization < 0.9 && (observation.waiting?.value ?? 0) <= current.ready;
    const correction = updateCorrection(
      mem.correction,
      observation,
      inRegime ? predicted : null,
      policy.modelCorrection,
    );
    return {
      ...base,
      demand,
      correction,
      target: current.desired,
      reason: 'steady',
      message: '',
    } satisfies Plan;
  });

  const solution = solve(sizingSystem(input, plans));
  const free = freeDevices(input, plans, solution.allocations);

  for (const plan of plans) {
    const { v, key, current } = plan;
    const mem = variantMemory(input.memory, key);
    const next: VariantMemory = {
      ...mem,
      correction: plan.demand ? { ...plan.correction } : mem.correction,
      sequence: mem.sequence + 1,
      recommendations: mem.recommendations.filter((r) => r.t > now - longestWindow(config, v, r.accelerator)),
      demand: mem.demand.filter((p) => p.t > now - policy.forecast.horizonSeconds),
    };
    memory.variants[key] = next;
    if (!plan.demand) {
      for (const [acc, d] of current.byAccelerator) plan.deployments.set(acc, d.desired);
      if (current.accelerator) plan.deployments.set(current.accelerator, plan.target);
      // A hold is a recommendation to keep what runs, so the window cannot forget it.
      if (current.accelerator) {
        next.recommendations.push({ t: now, accelerator: current.accelerator, replicas: plan.target });
        next.observedSince ??= now;
      }
      continue;
    }
    const demand = plan.demand;
    next.demand.push({ t: now, rate: demand.measured });
    if (demand.measured > 0) next.lastArrivalAt = now;
    if (plan.observation?.avgInputTokens && plan.observation.avgOutputTokens) {
      next.lastTokens = { input: demand.inputTokens, output: demand.outputTokens };
    }

    const rec = recommend(
      plan,
      mem,
      solution.allocations.get(key),
      solution.candidates.get(key) ?? [],
      input,
      free,
    );
    const preferred = solution.allocations.get(key)?.accelerator;
    next.otherAccelerator =
      preferred && preferred !== current.accelerator
        ? {
            accelerator: preferred,
            since: mem.otherAccelerator?.accelerator === preferred ? mem.otherAccelerator.since : now,
          }
        : undefined;
    let recommended = rec.replicas;
    let reason = rec.reason;
    let message = rec.message;

    // Idle: scale to zero only when allowed and nothing arrived for the whole idle window.
    if (demand.measured === 0 && v.minReplicas === 0) {
      const idleSince = mem.lastArrivalAt ?? -Infinity;
      if (now - idleSince >= policy.idleWindowSeconds) {
        recommended = 0;
        reason = 'idle';
        message = `no arrivals for ${Number.isFinite(idleSince) ? `${Math.round(now - idleSince)} s` : 'the whole history'}`;
      } else {
        recommended = Math.max(recommended, Math.min(current.desired, 1));
      }
    }
    if (recommended < v.minReplicas) {
      recommended = v.minReplicas;
      reason = 'min-replicas';
      message = `held at minReplicas ${v.minReplicas}`;
    }
    if (v.maxReplicas !== undefined && recommended > v.maxReplicas) {
      recommended = v.maxReplicas;
      reason = 'max-replicas';
      message = `capped at maxReplicas ${v.maxReplicas}`;
    }
    next.recommendations.push({ t: now, accelerator: rec.accelerator, replicas: recommended });
    next.observedSince ??= now;

    const sameAccelerator = rec.accelerator === current.accelerator;
    const currentOnTarget = current.byAccelerator.get(rec.accelerator)?.desired ?? 0;
    const window = Math.max(
      stabilizationWindow(config, v, rec.accelerator),
      mem.window ?? (policy.adaptiveWindow.enabled ? policy.adaptiveWindow.initialSeconds : 0),
    );
    const stabilized = stabilize({
      now,
      current: currentOnTarget,
      recommended,
      history: mem.recommendations.filter((r) => r.accelerator === rec.accelerator),
      windowSeconds: window,
      observedSince: mem.observedSince ?? now,
      up: policy.scaleUpMaxStep,
      down: policy.scaleDownMaxStep,
    });
    let target = stabilized.replicas;
    // Forecast and backlog explain growth; a smaller target is the measured load's doing.
    if (target < currentOnTarget && (reason === 'forecast' || reason === 'backlog')) reason = 'load';
    if (stabilized.limitedBy && reason !== 'idle') {
      reason = 'stabilization';
      message = `${message}; ${stabilized.limitedBy === 'window' ? `held by the ${window} s window` : 'limited by the step size'} (recommended ${recommended})`;
    }
    const adapted = adaptWindow(config, v, rec.accelerator, mem, {
      now,
      window,
      current: currentOnTarget,
      target,
    });
    Object.assign(next, adapted.memory);
    if (adapted.note) message = `${message}; ${adapted.note}`;
    if (v.maxReplicas !== undefined) target = Math.min(target, v.maxReplicas);
    target = Math.max(target, v.minReplicas);
    plan.accelerator = rec.accelerator;
    plan.target = target;
    plan.reason = reason;
    plan.message = message;
    plan.deployments.set(rec.accelerator, target);
    plan.migrating = !sameAccelerator && current.desired > 0;
    // Make before break: other accelerators keep their replicas until the chosen one has enough ready.
    const readyOnTarget = current.byAccelerator.get(rec.accelerator)?.ready ?? 0;
    for (const [acc, d] of current.byAccelerator) {
      if (acc !== rec.accelerator) plan.deployments.set(acc, readyOnTarget >= target ? 0 : d.desired);
    }
  }

  // Node groups for every replica asked for, across the pool.
  const demands: ReplicaDemand[] = [];
  for (const plan of plans) {
    for (const [acc, replicas] of plan.deployments) {
      const type = acceleratorType(config, acc);
      if (type && replicas > 0)
        demands.push({
          acceleratorType: type,
          devicesPerReplica: devicesPerReplica(config, plan.v, acc),
          replicas,
        });
    }
  }
  const nodePlan = planNodeGroups(demands, input.nodeGroups);

  const decisions = plans.map((plan): DecisionRecord => {
    const { v, current, observation: obs, demand } = plan;
    const seq = memory.variants[plan.key]!.sequence;
    const types = new Set(
      [...plan.deployments.keys(), plan.accelerator].map((a) => acceleratorType(config, a)),
    );
    const currentOnTarget = current.byAccelerator.get(plan.accelerator)?.desired ?? 0;
    const action = !demand
      ? 'hold'
      : plan.migrating
        ? 'migrate'
        : plan.target > currentOnTarget
          ? 'scale-up'
          : plan.target < currentOnTarget
            ? 'scale-down'
            : 'none';
    return {
      version: DECISION_VERSION,
      id: `${plan.key}#${seq}`,
      pool: input.pool,
      poolSequence: memory.poolSequence,
      variant: v.name,
      namespace: v.namespace,
      model: v.model,
      sequence: seq,
      issuedAt: new Date(now * 1000).toISOString(),
      accelerator: plan.accelerator,
      targetReplicas: plan.target,
      currentReplicas: current.desired,
      action,
      reason: plan.reason,
      message: plan.message,
      deployments: [...plan.deployments]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([accelerator, replicas]) => ({
          accelerator,
          deployment: deploymentName(config, v, accelerator),
          replicas,
        })),
      nodeGroups: input.nodeGroups
        .filter((g) => types.has(g.acceleratorType))
        .map((g) => ({
          name: g.name,
          acceleratorType: g.acceleratorType,
          desiredSize: nodePlan.sizes.get(g.name)!,
          poolSequence: memory.poolSequence,
        })),
      prediction: demand
        ? predictAt(config, v, plan.accelerator, demand, plan.target, plan.correction)
        : null,
      inputs: {
        arrivalRate: obs?.arrivalRate?.value ?? null,
        completionRate: obs?.completionRate?.value ?? null,
        demandRate: demand?.rate ?? null,
        avgInputTokens: demand?.inputTokens ?? obs?.avgInputTokens?.value ?? null,
        avgOutputTokens: demand?.outputTokens ?? obs?.avgOutputTokens?.value ?? null,
        waiting: obs?.waiting?.value ?? null,
        running: obs?.running?.value ?? null,
        readyReplicas: obs?.readyReplicas?.value ?? null,
        modelCorrection: demand ? { ...plan.correction } : null,
        metricTimestamps: estimates(obs),
        stale: [...(obs?.stale ?? [])],
        missing: obs ? [...obs.missing] : ['(no observation)'],
      },
    };
  });
  return { decisions, memory };
}
