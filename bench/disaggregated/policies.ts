/**
 * The policies the disaggregated benchmark compares on a variant's two roles. `sva` is the
 * autoscaler itself (evaluate → queue → apply, both roles in one decision); the others scale each
 * role's Deployment on the accelerator the role starts on, with the cluster-autoscaler for nodes:
 *
 * - `dynamo-planner` (per role): NVIDIA Dynamo's SLA planner as its documentation describes it:
 *   every 180 s, the last interval's requests (count, mean prompt and output) predict the next
 *   one's (constant predictor); prefill replicas = demand ÷ one prefill engine's throughput at
 *   the TTFT target, decode replicas = demand ÷ one decode engine's throughput at the ITL target,
 *   each rounded up. The engines' throughputs come from the model of docs/SIZING.md section 7
 *   (as Dynamo's come from its pre-deployment profiling), targets as they are, no margin.
 * - `keda-queue` (per role): KEDA's Prometheus trigger on the role's `vllm:num_requests_waiting`,
 *   5 per replica, every 15 s, scale-down after a 300 s cooldown (bench/policies/kedaQueue.ts).
 * - `clairvoyant` (per role): knows the trace. At each step it sizes both roles (the model, the
 *   policy's margins) for the busiest minute between now and the time new capacity takes plus
 *   one step, so capacity is ready before each burst; it scales down at once. Not a searched
 *   oracle (that is ./roleOracle.ts, run beside these by ./run.ts): what model-based foresight buys.
 */
import { withClusterAutoscaler } from '../policies/clusterAutoscaler.js';
import { KEDA_COOLDOWN_SECONDS, KEDA_POLLING_SECONDS, KEDA_QUEUE_THRESHOLD } from '../policies/kedaQueue.js';
import { loadOf, ScaleDownWindow } from '../policies/common.js';
import { DYNAMO_ADJUSTMENT_SECONDS } from '../policies/dynamoPlanner.js';
import { acceleratorType } from '../../lib/config/resolved.js';
import { roleDeployment, ROLES, simRoleVariant, type Role } from '../../lib/config/roles.js';
import type { Config, DisaggregatedVariantConfig } from '../../lib/config/schema.js';
import { disaggregatedInput, type DisaggregatedLoad } from '../../lib/config/toDisaggregated.js';
import { svaController, type ControlContext, type Controller } from '../../lib/closedLoop/controller.js';
import { sizeDisaggregated } from '../../lib/optimizer/disaggregated.js';
import { roleQueries } from '../../lib/policy/disaggregated.js';
import { roleColdStartSeconds, startingAcceleratorOf } from './roleOracle.js';

export const DISAGGREGATED_POLICIES = ['sva', 'dynamo-planner', 'keda-queue', 'clairvoyant'] as const;
export type DisaggregatedPolicy = (typeof DISAGGREGATED_POLICIES)[number];

/** The accelerator a role's fleet variant starts on (the scenario's warm start). */
function startingAccelerator(ctx: ControlContext, v: DisaggregatedVariantConfig, role: Role): string {
  return startingAcceleratorOf(ctx.config, ctx.scenario, v, role);
}

function desired(
  ctx: ControlContext,
  v: DisaggregatedVariantConfig,
  role: Role,
  accelerator: string,
): number {
  const state = ctx.sim.state().variants.find((s) => s.name === simRoleVariant(v, role));
  const c = state?.byAccelerator[acceleratorType(ctx.config, accelerator)!];
  return c ? c['pending-node'] + c.loading + c.ready : 0;
}

function clampRole(v: DisaggregatedVariantConfig, role: Role, n: number): number {
  const r = v.roles[role];
  return Math.min(Math.max(n, r.minReplicas), r.maxReplicas ?? Infinity);
}

/** Sets a role's Deployment (through the simulated cluster), counting a change as a scaling action. */
async function scaleRole(
  ctx: ControlContext,
  v: DisaggregatedVariantConfig,
  role: Role,
  replicas: number,
  reason: string,
): Promise<void> {
  const accelerator = startingAccelerator(ctx, v, role);
  const from = desired(ctx, v, role, accelerator);
  const to = clampRole(v, role, replicas);
  if (from === to) return;
  await ctx.cluster.scale(v.namespace, roleDeployment(ctx.config, v, role, accelerator), to);
  ctx.record({
    variant: v.name,
    action: to > from ? 'scale-up' : 'scale-down',
    accelerator,
    from,
    to,
    reason,
    message: `${role} ${from} -> ${to}`,
  });
}

/** Sizes both roles for a load on the accelerators they run on. */
function sizeBoth(
  ctx: ControlContext,
  v: DisaggregatedVariantConfig,
  load: DisaggregatedLoad,
  margin: { ttft: number; itl: number },
): Record<Role, number> | undefined {
  if (!(load.rate > 0)) return { prefill: v.roles.prefill.minReplicas, decode: v.roles.decode.minReplicas };
  const sizing = sizeDisaggregated(
    disaggregatedInput(ctx.config, v, load, {
      margin,
      accelerators: {
        prefill: [startingAccelerator(ctx, v, 'prefill')],
        decode: [startingAccelerator(ctx, v, 'decode')],
      },
    }),
  );
  const plan = sizing.feasible ? sizing.plan : sizing.needed;
  return plan ? { prefill: plan.prefill.replicas, decode: plan.decode.replicas } : undefined;
}

/**
 * The baselines' knobs, searched for the equal-attainment comparison (./equalAttainment.ts):
 * the planner sizes for `plannerHeadroom` times its predicted rate (1: Dynamo as documented),
 * KEDA scales one replica per `kedaThreshold` waiting requests (5: bench/policies/kedaQueue.ts).
 */
export interface DisaggregatedKnobs {
  readonly plannerHeadroom?: number;
  readonly kedaThreshold?: number;
}

function dynamoPerRole(config: Config, headroom = 1): Controller {
  return {
    name: 'dynamo-planner',
    intervalSeconds: DYNAMO_ADJUSTMENT_SECONDS,
    async step(ctx) {
      const estimatedRates: Record<string, number | null> = {};
      for (const v of config.disaggregated ?? []) {
        const requests = ctx.scenario.traces.get(v.name)?.requests ?? [];
        const observed = loadOf(requests, ctx.t - DYNAMO_ADJUSTMENT_SECONDS, ctx.t);
        estimatedRates[v.name] = observed.rate;
        const sized = sizeBoth(ctx, v, { ...observed, rate: observed.rate * headroom }, { ttft: 1, itl: 1 });
        if (!sized) continue;
        for (const role of ROLES) await scaleRole(ctx, v, role, sized[role], 'planner');
      }
      return { estimatedRates };
    },
  };
}

function kedaPerRole(config: Config, threshold = KEDA_QUEUE_THRESHOLD): Controller {
  const windows = new Map<string, ScaleDownWindow>();
  return {
    name: 'keda-queue',
    intervalSeconds: KEDA_POLLING_SECONDS,
    async step(ctx) {
      const vs = config.disaggregated ?? [];
      const queries = roleQueries(config);
      const observations = await ctx.metrics.collect(queries, ctx.t);
      for (const [i, v] of vs.entries()) {
        for (const [j, role] of ROLES.entries()) {
          const waiting = observations[i * 2 + j]?.waiting?.value;
          if (waiting === undefined) continue;
          const accelerator = startingAccelerator(ctx, v, role);
          const current = desired(ctx, v, role, accelerator);
          const key = `${v.name}/${role}`;
          let window = windows.get(key);
          if (!window) {
            window = new ScaleDownWindow(KEDA_COOLDOWN_SECONDS);
            window.seed(0, current);
            windows.set(key, window);
          }
          const recommended = clampRole(v, role, Math.ceil(waiting / threshold));
          await scaleRole(ctx, v, role, window.apply(ctx.t, current, recommended), 'queue');
        }
      }
      return { estimatedRates: Object.fromEntries(vs.map((v) => [v.name, null])) };
    },
  };
}

/** The busiest minute's load of [from, to). */
function peakLoad(requests: Parameters<typeof loadOf>[0], from: number, to: number): DisaggregatedLoad {
  let best = loadOf(requests, from, Math.min(from + 60, to));
  for (let t = from + 30; t + 60 <= to; t += 30) {
    const l = loadOf(requests, t, t + 60);
    if (l.rate > best.rate) best = l;
  }
  return best;
}

function clairvoyant(config: Config): Controller {
  const interval = config.policy.intervalSeconds;
  return {
    name: 'clairvoyant',
    intervalSeconds: interval,
    async step(ctx) {
      const estimatedRates: Record<string, number | null> = {};
      for (const v of config.disaggregated ?? []) {
        const requests = ctx.scenario.traces.get(v.name)?.requests ?? [];
        const lead = Math.max(
          ...ROLES.map((role) => roleColdStartSeconds(config, v, role, startingAccelerator(ctx, v, role))),
        );
        const load = peakLoad(requests, ctx.t, ctx.t + lead + interval);
        estimatedRates[v.name] = load.rate;
        const sized = sizeBoth(ctx, v, load, config.policy.targetMargin);
        if (!sized) continue;
        for (const role of ROLES) await scaleRole(ctx, v, role, sized[role], 'clairvoyant');
      }
      return { estimatedRates };
    },
  };
}

/**
 * Constant replicas per role on the accelerators the roles start on, nodes by the
 * cluster-autoscaler: what a fixed allocation attains and costs (bench/disaggregated/breakdown.ts
 * --static), the floor a policy's cost is judged against. Not one of the compared policies.
 */
export function staticRoles(config: Config, replicas: Record<Role, number>): Controller {
  return withClusterAutoscaler({
    name: 'static',
    intervalSeconds: config.policy.intervalSeconds,
    async step(ctx) {
      for (const v of config.disaggregated ?? [])
        for (const role of ROLES) await scaleRole(ctx, v, role, replicas[role], 'static');
      return { estimatedRates: {} };
    },
  });
}

export function disaggregatedController(
  name: DisaggregatedPolicy,
  config: Config,
  knobs: DisaggregatedKnobs = {},
): Controller {
  switch (name) {
    case 'sva':
      return svaController(config);
    case 'dynamo-planner':
      return withClusterAutoscaler(dynamoPerRole(config, knobs.plannerHeadroom));
    case 'keda-queue':
      return withClusterAutoscaler(kedaPerRole(config, knobs.kedaThreshold));
    case 'clairvoyant':
      return withClusterAutoscaler(clairvoyant(config));
  }
}
