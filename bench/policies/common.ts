/**
 * What the benchmark's baseline controllers share: the variant's Deployments in the simulator,
 * scaling one of them (and counting the action), sizing with the optimizer, and the HPA's
 * scale-down stabilisation window.
 */
import type { Config, VariantConfig } from '../../lib/config/schema.js';
import { configToSystem, variantKey } from '../../lib/config/toSystem.js';
import { solve, type ServiceClassSpec } from '../../lib/optimizer/index.js';
import { acceleratorType, allowedAccelerators } from '../../lib/config/resolved.js';
import type { ControlContext } from '../../lib/closedLoop/controller.js';
import type { Scenario } from '../../lib/closedLoop/scenario.js';
import type { LifecycleCounts, TraceRequest } from '../../lib/fleetSimulator/index.js';

/** The load a sizing is for: requests per second and mean tokens per request. */
export interface Load {
  readonly rate: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface Sizing {
  readonly accelerator: string;
  readonly replicas: number;
  /** false when no allowed accelerator meets the targets within maxReplicas (replicas is then the max) */
  readonly feasible: boolean;
}

export interface SizingOptions {
  /** accelerator names the optimizer may choose from; default: the variant's allowed ones */
  readonly accelerators?: readonly string[];
  /** fractions of the targets to size for (the policy's targetMargin); default: the targets as they are */
  readonly margin?: { readonly ttft: number; readonly itl: number };
}

/**
 * The optimizer in unlimited mode for one variant and one load, with no current allocation (so
 * no penalty for a change of accelerator): the cheapest allocation that meets the targets, or,
 * when none does within maxReplicas, the cheapest without that bound, capped at maxReplicas.
 */
export function sizeWithOptimizer(
  config: Config,
  v: VariantConfig,
  load: Load,
  options: SizingOptions = {},
): Sizing {
  const key = variantKey(v);
  const accelerators = options.accelerators ?? allowedAccelerators(config, v);
  const idle = !(load.rate > 0) || !(load.outputTokens > 0);
  const system = configToSystem(config, {
    loads: new Map([
      [
        key,
        idle
          ? { arrivalRate: 0, avgInTokens: 0, avgOutTokens: 0 }
          : {
              arrivalRate: load.rate * 60,
              avgInTokens: Math.max(load.inputTokens, 0),
              avgOutTokens: Math.max(load.outputTokens, 1),
            },
      ],
    ]),
    capacity: 'unlimited',
  });
  const margin = options.margin ?? { ttft: 1, itl: 1 };
  const serviceClasses = new Map<string, ServiceClassSpec>(
    [...system.serviceClasses].map(([name, c]) => [
      name,
      {
        ...c,
        targets: new Map(
          [...c.targets].map(([m, t]) => [m, { ...t, ttft: t.ttft * margin.ttft, itl: t.itl * margin.itl }]),
        ),
      },
    ]),
  );
  const server = system.servers.find((s) => s.name === key)!;
  const bounded = { ...server, allowedAccelerators: [...accelerators] };
  const attempt = (maxReplicas: number | undefined) =>
    solve({ ...system, serviceClasses, servers: [{ ...bounded, maxReplicas }] }).allocations.get(key);
  const max = v.maxReplicas ?? Infinity;
  const within = attempt(v.maxReplicas);
  if (within) {
    // An idle variant without a minimum gets the empty allocation ('' accelerator, 0 replicas).
    return {
      accelerator: within.accelerator || accelerators[0]!,
      replicas: clamp(within.numReplicas, v),
      feasible: true,
    };
  }
  const beyond = attempt(undefined);
  const accelerator = beyond?.accelerator || accelerators[0]!;
  const replicas = beyond?.accelerator ? beyond.numReplicas : max;
  return {
    accelerator,
    replicas: clamp(Number.isFinite(replicas) ? replicas : v.minReplicas, v),
    feasible: false,
  };
}

export function clamp(replicas: number, v: VariantConfig): number {
  return Math.min(Math.max(replicas, v.minReplicas), v.maxReplicas ?? Infinity);
}

/** Mean rate and tokens of the requests arriving in [start, end). */
export function loadOf(requests: readonly TraceRequest[], start: number, end: number): Load {
  let n = 0;
  let input = 0;
  let output = 0;
  for (let i = firstAtOrAfter(requests, start); i < requests.length && requests[i]!.arrival < end; i++) {
    n++;
    input += requests[i]!.inputTokens;
    output += Math.max(requests[i]!.outputTokens, 1);
  }
  return n === 0
    ? { rate: 0, inputTokens: 0, outputTokens: 0 }
    : { rate: n / (end - start), inputTokens: input / n, outputTokens: output / n };
}

/** Index of the first request arriving at or after t (requests sorted by arrival). */
export function firstAtOrAfter(requests: readonly TraceRequest[], t: number): number {
  let lo = 0;
  let hi = requests.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (requests[mid]!.arrival < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The accelerator name of a variant's initial replicas in the scenario (the simulator knows types). */
export function startingAccelerator(config: Config, scenario: Scenario, v: VariantConfig): string {
  const type = scenario.fleet.variants.find((f) => f.name === v.name)?.accelerator;
  const allowed = allowedAccelerators(config, v);
  return allowed.find((a) => acceleratorType(config, a) === type) ?? allowed[0]!;
}

/** A variant's replicas on an accelerator, by lifecycle state, right now. */
export function replicaCounts(ctx: ControlContext, v: VariantConfig, accelerator: string): LifecycleCounts {
  const type = acceleratorType(ctx.config, accelerator)!;
  const c = ctx.sim.state().variants.find((s) => s.name === v.name)?.byAccelerator[type];
  return c ?? { 'pending-node': 0, loading: 0, ready: 0, draining: 0 };
}

/** Replicas of a variant on an accelerator that a Deployment's spec.replicas counts (all but draining). */
export function desiredReplicas(ctx: ControlContext, v: VariantConfig, accelerator: string): number {
  const c = replicaCounts(ctx, v, accelerator);
  return c['pending-node'] + c.loading + c.ready;
}

/**
 * What a baseline remembers of each variant: the accelerator it stays on (the one the run starts
 * on: these baselines scale one Deployment) and, for the HPA-style ones, the scale-down window,
 * seeded with the starting size as if the fleet had run before the trace.
 */
export class BaselineMemory {
  private readonly accelerators = new Map<string, string>();
  private readonly windows = new Map<string, ScaleDownWindow>();

  accelerator(ctx: ControlContext, v: VariantConfig): string {
    const key = variantKey(v);
    let accelerator = this.accelerators.get(key);
    if (accelerator === undefined) {
      accelerator = startingAccelerator(ctx.config, ctx.scenario, v);
      this.accelerators.set(key, accelerator);
    }
    return accelerator;
  }

  window(v: VariantConfig, windowSeconds: number, current: number): ScaleDownWindow {
    const key = variantKey(v);
    let window = this.windows.get(key);
    if (!window) {
      window = new ScaleDownWindow(windowSeconds);
      window.seed(0, current);
      this.windows.set(key, window);
    }
    return window;
  }
}

/** Scales the variant's Deployment on an accelerator, counting it as a scaling action when it changes. */
export function scaleDeployment(
  ctx: ControlContext,
  v: VariantConfig,
  accelerator: string,
  replicas: number,
  reason: string,
  message: string,
): boolean {
  const from = desiredReplicas(ctx, v, accelerator);
  if (from === replicas) return false;
  ctx.sim.setReplicas(v.name, acceleratorType(ctx.config, accelerator)!, replicas);
  ctx.record({
    variant: v.name,
    action: replicas > from ? 'scale-up' : 'scale-down',
    accelerator,
    from,
    to: replicas,
    reason,
    message,
  });
  return true;
}

/**
 * The HPA's stabilisation as KEDA and HPA users leave it: a recommendation above the current
 * size applies at once (scale-up window 0); below it, the Deployment goes down only to the
 * highest recommendation of the last `windowSeconds` (scale-down stabilisation). The HPA's
 * default rate limits (scale up by at most 4 pods or 100% per 15 s) are not modelled.
 */
export class ScaleDownWindow {
  private readonly history: { t: number; replicas: number }[] = [];

  constructor(readonly windowSeconds: number) {}

  /** Records the recommendation made at t and returns the size to apply. */
  apply(t: number, current: number, recommended: number): number {
    this.history.push({ t, replicas: recommended });
    while (this.history.length > 0 && this.history[0]!.t <= t - this.windowSeconds) this.history.shift();
    if (recommended >= current) return recommended;
    const highest = this.history.reduce((m, r) => Math.max(m, r.replicas), recommended);
    return Math.min(current, highest);
  }

  /** Seeds the window as if `replicas` had been recommended at t (the fleet ran before the trace). */
  seed(t: number, replicas: number): void {
    this.history.push({ t, replicas });
  }
}
