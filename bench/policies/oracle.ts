/**
 * `oracle`: perfect foresight, the yardstick for cost. It reads the trace ahead (ctx.scenario)
 * and, for every interval, sizes the load that will actually arrive in it (arrivals per second
 * and mean tokens of those requests) with the optimizer in unlimited mode over the variant's
 * allowed accelerators: the cheapest allocation that meets the targets, sized with the same
 * margins as the autoscaler (config.policy.targetMargin).
 *
 * Capacity is asked for early enough to be ready: an interval's replicas (and the nodes for them)
 * are requested one lead time ahead, lead = (startupSeconds + the node group's provisioning) *
 * (1 + the simulation's delay jitter), and are not released while a later interval within that
 * lead (plus one control interval, as the oracle acts only at its steps) needs them. So at each
 * step the replicas per accelerator are the most any interval starting within the lead needs on
 * it, and the node groups are planned for exactly those replicas (grown before the replicas are
 * set, shrunk after). The fleet it starts with did not come from it: until what the current
 * interval needs is ready, the replicas serving stay (make before break). A lower bound on the
 * cost of meeting the targets as the optimizer's model predicts them, at this interval's grain.
 */
import type { Config, VariantConfig } from '../../lib/config/schema.js';
import { capacityIntent, type TypedReplicas } from '../../lib/policy/capacityPlan.js';
import {
  acceleratorType,
  allowedAccelerators,
  devicesPerReplica,
  provisioningSeconds,
} from '../../lib/config/resolved.js';
import type { Controller } from '../../lib/closedLoop/controller.js';
import type { Trace } from '../../lib/fleetSimulator/index.js';
import { loadOf, scaleDeployment, sizeWithOptimizer, type Load, type Sizing } from './common.js';

export interface IntervalNeed {
  readonly start: number;
  readonly load: Load;
  readonly sizing: Sizing;
}

export interface OracleOptions {
  /** length of the intervals sized one by one (and of the oracle's steps); default policy.intervalSeconds */
  readonly intervalSeconds?: number;
}

/** What every interval of [0, duration) needs, sized with the policy's margins. */
export function oracleNeeds(
  config: Config,
  v: VariantConfig,
  trace: Trace | undefined,
  intervalSeconds: number,
  durationSeconds: number,
): IntervalNeed[] {
  const needs: IntervalNeed[] = [];
  const cache = new Map<string, Sizing>();
  for (let start = 0; start < durationSeconds; start += intervalSeconds) {
    const load = trace
      ? loadOf(trace.requests, start, start + intervalSeconds)
      : { rate: 0, inputTokens: 0, outputTokens: 0 };
    const key = `${load.rate}|${load.inputTokens}|${load.outputTokens}`;
    let sizing = cache.get(key);
    if (!sizing) {
      sizing = sizeWithOptimizer(config, v, load, { margin: config.policy.targetMargin });
      cache.set(key, sizing);
    }
    needs.push({ start, load, sizing });
  }
  return needs;
}

/** Seconds from asking for a replica (and a node for it) to the replica serving, at the slowest jitter. */
export function oracleLeadSeconds(
  config: Config,
  v: VariantConfig,
  accelerator: string,
  jitter: number,
): number {
  return (v.startupSeconds + provisioningSeconds(config, accelerator)) * (1 + jitter);
}

/** Replicas per accelerator the oracle holds at time t: the most any interval within the lead needs. */
export function oracleReplicasAt(
  config: Config,
  v: VariantConfig,
  needs: readonly IntervalNeed[],
  t: number,
  intervalSeconds: number,
  jitter: number,
): Map<string, number> {
  const replicas = new Map<string, number>();
  const first = Math.max(Math.floor(t / intervalSeconds + 1e-9), 0);
  for (let k = first; k < needs.length; k++) {
    const need = needs[k]!;
    const { accelerator } = need.sizing;
    const horizon = t + intervalSeconds + oracleLeadSeconds(config, v, accelerator, jitter);
    if (need.start >= horizon) {
      // Leads differ by accelerator: stop only past the longest one.
      if (need.start >= t + intervalSeconds + maxLead(config, v, jitter)) break;
      continue;
    }
    replicas.set(accelerator, Math.max(replicas.get(accelerator) ?? 0, need.sizing.replicas));
  }
  if (replicas.size === 0 && needs.length > 0) {
    const last = needs.at(-1)!.sizing;
    replicas.set(last.accelerator, last.replicas);
  }
  return replicas;
}

function maxLead(config: Config, v: VariantConfig, jitter: number): number {
  return Math.max(...allowedAccelerators(config, v).map((a) => oracleLeadSeconds(config, v, a, jitter)));
}

export function describeOracle(config: Config, intervalSeconds = config.policy.intervalSeconds): string {
  const m = config.policy.targetMargin;
  return (
    `oracle: perfect foresight of each ${intervalSeconds} s interval's arrivals, sized by the optimizer ` +
    `(unlimited, allowed accelerators) with the autoscaler's margins (policy.targetMargin: ttft ${m.ttft}, ` +
    `itl ${m.itl}), requested startup + node provisioning (+ jitter) ahead`
  );
}

export function oracleController(config: Config, options: OracleOptions = {}): Controller {
  const plans = new Map<string, IntervalNeed[]>();
  const interval = options.intervalSeconds ?? config.policy.intervalSeconds;
  return {
    name: 'oracle',
    intervalSeconds: interval,
    async step(ctx) {
      const { scenario } = ctx;
      const jitter = scenario.fleet.delayJitter ?? 0;
      const estimatedRates: Record<string, number | null> = {};
      const wanted: { v: VariantConfig; replicas: Map<string, number>; current?: Sizing }[] = [];
      for (const v of config.variants) {
        let needs = plans.get(v.name);
        if (!needs) {
          needs = oracleNeeds(config, v, scenario.traces.get(v.name), interval, scenario.durationSeconds);
          plans.set(v.name, needs);
        }
        const now = needs[Math.floor(ctx.t / interval + 1e-9)];
        estimatedRates[v.name] = now ? now.load.rate : null;
        wanted.push({
          v,
          replicas: oracleReplicasAt(config, v, needs, ctx.t, interval, jitter),
          current: now?.sizing,
        });
      }
      // Nodes for every replica wanted: grown before the replicas are asked for, shrunk after.
      const demands: TypedReplicas[] = wanted.flatMap(({ v, replicas }) =>
        [...replicas].map(([acc, n]) => ({
          acceleratorType: acceleratorType(config, acc)!,
          devicesPerReplica: devicesPerReplica(config, v, acc),
          replicas: n,
        })),
      );
      // Through the same capacity port as the autoscaler: growth now, removal after the replicas.
      const intent = capacityIntent({
        pool: 'oracle',
        poolSequence: Math.round(ctx.t),
        now: ctx.t,
        variants: [],
        acceleratorTypes: [...new Set(config.nodeGroups.map((g) => g.acceleratorType))],
        replicas: demands,
      });
      await ctx.capacity.provide(intent, { now: ctx.t, allowRemoval: false });
      const state = ctx.sim.state();
      for (const { v, replicas, current } of wanted) {
        const counts = state.variants.find((s) => s.name === v.name)?.byAccelerator ?? {};
        const readyOn = (acc: string) => counts[acceleratorType(config, acc)!]?.ready ?? 0;
        // Make before break: until what the current interval needs is ready (only at the start, when
        // the fleet did not come from the oracle), the replicas serving now stay.
        const covered = !current || readyOn(current.accelerator) >= current.replicas;
        for (const acc of allowedAccelerators(config, v)) {
          const n = replicas.get(acc) ?? 0;
          const have = readyOn(acc);
          const target = covered || n >= have ? n : have;
          scaleDeployment(
            ctx,
            v,
            acc,
            target,
            'foresight',
            target === n
              ? `the most any interval within the lead needs on ${acc}`
              : `kept until ${current!.replicas} ${current!.accelerator} are ready`,
          );
        }
      }
      // Only empty nodes go: a node still draining a replica is asked for again next step.
      await ctx.capacity.provide(intent, { now: ctx.t, allowRemoval: true });
      return { estimatedRates };
    },
  };
}
