/**
 * The decision policy for one capacity pool: observations and cluster state in, one decision
 * per variant and the updated memory out. Pure: no clock, no network (ARCHITECTURE.md).
 *
 * Order of reasoning per variant: hold on stale or missing metrics; demand (arrivals, backlog,
 * forecast over the startup delay); the optimizer across the whole pool within the node groups'
 * capacity; accelerator moves only after the optimizer has preferred the new one for a while,
 * make-before-break; idle and min/max; stabilisation; then the node groups for all of it.
 */
import { variantKey } from '../config/toSystem.js';
import type { VariantObservation } from '../metrics/observation.js';
import { solve } from '../optimizer/index.js';
import { NO_CORRECTION, updateCorrection } from './correction.js';
import { estimateDemand } from './demand.js';
import { DECISION_VERSION, type DecisionRecord } from './decisionRecord.js';
import { variantMemory, type PolicyMemory, type VariantMemory } from './memory.js';
import { planNodeGroups, type ReplicaDemand } from './nodePlan.js';
import { currentState, type Plan, type PoolInput, type PoolOutput } from './plan.js';
import { predictAt } from './predict.js';
import { recommend } from './recommend.js';
import { freeDevices, sizingSystem } from './sizingSystem.js';
import { stabilize } from './stabilize.js';
import { deploymentName, devicesPerReplica, acceleratorType, targetsOf } from './variantPlan.js';
import { adaptWindow, leadSeconds, longestWindow, stabilizationWindow } from './window.js';

export type { PoolInput, PoolOutput } from './plan.js';

const holdMessage = (obs: VariantObservation | undefined) => {
  if (!obs) return 'hold: no observation for this variant';
  const parts = [];
  if (obs.missing.length > 0) parts.push(`missing ${obs.missing.join(', ')}`);
  if (obs.stale.length > 0) parts.push(`stale ${obs.stale.join(', ')}`);
  return `hold: cannot measure arrivals (${parts.join('; ') || 'no arrival estimate'})`;
};

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
