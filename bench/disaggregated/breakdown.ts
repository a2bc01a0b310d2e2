/**
 * Where a policy's cost goes on the disaggregated variant: one run of the benchmark (./workloads.ts)
 * sampled after every control step over the measured span, then summed per role and per node group
 * and printed over time. What it answers: how many prefill and decode replicas each policy held
 * and on which accelerator, how many were starting or draining, how many GPUs sat free on ready
 * nodes (billed, holding nothing), and, for sva, how many replicas its stabilisation window held
 * above what its sizing asked for (the decision's plan against its target).
 *
 *   node bin/run-ts.js bench/disaggregated/breakdown.ts --workload mooncake-chat --policy sva
 *   node bin/run-ts.js bench/disaggregated/breakdown.ts --workload mooncake-chat --policy dynamo-planner --headroom 1.63
 *
 * Options: --margin-scale X, --window-per-startup X and --learnt-window role|perLevel[:recommendation] with --min-releases N (sva), --headroom X (the planner), --keda X (KEDA), --bucket S (the
 * rows' span, default 300 s), --duration S, --steps (every sample: sva's demand, plan and target),
 * --static P,D (no policy: P prefill and D decode replicas throughout, nodes by the
 * cluster-autoscaler; what a fixed allocation attains and costs), --burst-sizing (policy.burstSizing.prefill on),
 * --decode-bursts (policy.burstSizing.decode on), --burst-headroom (policy.burstSizing.headroom on),
 * --policy-json '{...}' (policy fields merged
 * into the config's before it is parsed, e.g. '{"fillNodes":{"enabled":true}}').
 */
import { parseArgs } from 'node:util';
import { nodePricePerHour } from '../../lib/config/nodePrice.js';
import { ROLES, simRoleVariant, type Role } from '../../lib/config/roles.js';
import type { ControlContext, ControlStep } from '../../lib/closedLoop/controller.js';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';
import { loadOf } from '../policies/common.js';
import { configFor, learntWindowTrial, runPolicy, runWith, WORKLOADS, type Knobs } from './workloads.js';
import { staticRoles, type DisaggregatedPolicy } from './policies.js';

/** One role at one step: replicas by lifecycle (all accelerators), and sva's plan and target. */
interface RoleSample {
  readonly accelerators: string;
  readonly ready: number;
  readonly starting: number;
  readonly draining: number;
  /** what the sizing asked for (sva only) */
  readonly planned?: number;
  /** what the decision set after the window and the bounds (sva only) */
  readonly target?: number;
}

interface Sample {
  readonly t: number;
  /** seconds this sample stands for (until the next step) */
  readonly dt: number;
  readonly roles: Record<Role, RoleSample>;
  /** nodes launched (provisioning or ready) per group */
  readonly nodes: Record<string, number>;
  /** free GPUs on ready nodes */
  readonly idleGpus: number;
  /** the demand sva sized for (req/s), the arrivals it measured, the prefill pods' waiting requests, the prompt tokens */
  readonly demand?: { rate: number; measured: number; waiting: number; inputTokens: number };
  /** the concentration the prefill replay took (sva with policy.burstSizing.concentration) */
  readonly concentration?: number;
}

/** sva's plan per role, as its decision message states it ("prefill N x ACC, decode M x ACC for"). */
export function plannedReplicas(record: DecisionRecord): Record<Role, number> | undefined {
  const m = /prefill (\d+) x \S+, decode (\d+) x \S+ for/.exec(record.message);
  return m ? { prefill: Number(m[1]), decode: Number(m[2]) } : undefined;
}

function sampleOf(ctx: ControlContext, step: ControlStep, dt: number): Sample {
  const v = ctx.config.disaggregated![0]!;
  const state = ctx.sim.state();
  const decision = step.decisions?.find((d) => d.variant === v.name);
  const planned = decision ? plannedReplicas(decision) : undefined;
  const role = (r: Role): RoleSample => {
    const s = state.variants.find((x) => x.name === simRoleVariant(v, r));
    let ready = 0;
    let starting = 0;
    let draining = 0;
    const accs: string[] = [];
    for (const [acc, c] of Object.entries(s?.byAccelerator ?? {})) {
      const n = c['pending-node'] + c.loading + c.ready + c.draining;
      if (n > 0) accs.push(`${acc}:${n}`);
      ready += c.ready;
      starting += c['pending-node'] + c.loading;
      draining += c.draining;
    }
    return {
      accelerators: accs.join(' '),
      ready,
      starting,
      draining,
      ...(planned ? { planned: planned[r] } : {}),
      ...(decision?.roles ? { target: decision.roles[r].targetReplicas } : {}),
    };
  };
  const nodes: Record<string, number> = {};
  let idleGpus = 0;
  for (const g of state.nodeGroups) {
    nodes[g.name] = g.ready + g.provisioning;
    idleGpus += g.freeGpus;
  }
  const rate = decision?.inputs.demandRate;
  const tokens = decision?.inputs.avgInputTokens;
  const measured = decision?.inputs.arrivalRate ?? Number.NaN;
  const waiting = decision?.inputs.waiting ?? Number.NaN;
  return {
    t: ctx.t,
    dt,
    roles: { prefill: role('prefill'), decode: role('decode') },
    nodes,
    idleGpus,
    ...(rate != null && tokens != null ? { demand: { rate, measured, waiting, inputTokens: tokens } } : {}),
    ...(decision?.inputs.bursts?.concentration != null
      ? { concentration: decision.inputs.bursts.concentration }
      : {}),
  };
}

const avg = (xs: readonly Sample[], f: (s: Sample) => number) => {
  const w = xs.reduce((a, s) => a + s.dt, 0);
  return w > 0 ? xs.reduce((a, s) => a + f(s) * s.dt, 0) / w : 0;
};
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workload: { type: 'string', default: 'mooncake-chat' },
      policy: { type: 'string', default: 'sva' },
      'margin-scale': { type: 'string' },
      'window-per-startup': { type: 'string' },
      'learnt-window': { type: 'string' },
      'min-releases': { type: 'string' },
      headroom: { type: 'string' },
      keda: { type: 'string' },
      bucket: { type: 'string', default: '300' },
      steps: { type: 'boolean', default: false },
      static: { type: 'string' },
      duration: { type: 'string' },
      'burst-sizing': { type: 'boolean', default: false },
      'decode-bursts': { type: 'boolean', default: false },
      'burst-headroom': { type: 'boolean', default: false },
      'policy-json': { type: 'string' },
    },
  });
  const found = WORKLOADS.find((x) => x.name === values.workload);
  const w = found && {
    ...found,
    ...(values['burst-sizing'] ? { burstSizing: true } : {}),
    ...(values['decode-bursts'] ? { decodeBursts: true } : {}),
    ...(values['burst-headroom'] ? { burstHeadroom: true } : {}),
    ...(values['policy-json']
      ? { policyOverrides: JSON.parse(values['policy-json']) as Record<string, unknown> }
      : {}),
  };
  if (!w) throw new Error(`--workload: one of ${WORKLOADS.map((x) => x.name).join(', ')}`);
  const knobs: Knobs = {
    ...(values['margin-scale'] ? { marginScale: Number(values['margin-scale']) } : {}),
    ...(values['window-per-startup'] ? { windowPerStartup: Number(values['window-per-startup']) } : {}),
    ...(values['learnt-window'] ? { learntWindow: learntWindowTrial(values['learnt-window']) } : {}),
    ...(values['min-releases'] ? { learntWindowMinReleases: Number(values['min-releases']) } : {}),
    ...(values.headroom ? { plannerHeadroom: Number(values.headroom) } : {}),
    ...(values.keda ? { kedaThreshold: Number(values.keda) } : {}),
  };
  const samples: Sample[] = [];
  let last: number | undefined;
  let end = Infinity;
  let seen: ControlContext | undefined;
  const observe = (ctx: ControlContext, step: ControlStep, from: number) => {
    seen = ctx;
    end = ctx.scenario.durationSeconds;
    if (ctx.t < from || ctx.t > end) return;
    samples.push(sampleOf(ctx, step, last === undefined ? 0 : ctx.t - last));
    last = ctx.t;
  };
  const duration = values.duration ? Number(values.duration) : undefined;
  const fixed = values.static?.split(',').map(Number);
  const { row } = fixed
    ? await runWith(
        w,
        'disaggregated',
        'static',
        (config, scenario) => ({
          controller: staticRoles(config, { prefill: fixed[0]!, decode: fixed[1]! }),
          scenario,
        }),
        { duration, observe },
      )
    : await runPolicy(w, 'disaggregated', values.policy as DisaggregatedPolicy, knobs, duration, observe);
  // each sample stands for the span until the next; the last until the end
  for (let i = 0; i + 1 < samples.length; i++) samples[i] = { ...samples[i]!, dt: samples[i + 1]!.dt };
  if (samples.length > 0) {
    const lastSample = samples[samples.length - 1]!;
    samples[samples.length - 1] = { ...lastSample, dt: Math.max(end - lastSample.t, 0) };
  }

  const config = configFor(w, 'disaggregated');
  const v = config.disaggregated![0]!;
  const hours = samples.reduce((a, s) => a + s.dt, 0) / 3600;
  const replicaPrice = Math.max(...config.accelerators.map((a) => a.costPerHour));
  const groups = config.nodeGroups.map((g) => g.name);
  const nodePrice = new Map(config.nodeGroups.map((g) => [g.name, nodePricePerHour(config, g)]));
  const gpuPrice = Math.max(...config.nodeGroups.map((g) => nodePricePerHour(config, g) / g.gpusPerNode));

  console.log(
    `${w.name}, ${fixed ? `static ${fixed.join('+')}` : values.policy} ${JSON.stringify(knobs)}: attainment ${(100 * row.attainment).toFixed(2)}% (TTFT ${(100 * row.ttft).toFixed(2)}%, ITL ${(100 * row.itl).toFixed(2)}%), cost $${f2(row.cost)}, pod cost $${f2(row.podCost)}, ${f2(hours)} h measured\n`,
  );
  console.log(
    '| role | ready (avg) | starting | draining | planned (sva) | target (sva) | held above plan | replica-hours | accelerators at the end |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of ROLES) {
    const sva = samples.some((s) => s.roles[r].planned !== undefined);
    const held = avg(samples, (s) => Math.max((s.roles[r].target ?? 0) - (s.roles[r].planned ?? 0), 0));
    const total = avg(samples, (s) => s.roles[r].ready + s.roles[r].starting + s.roles[r].draining);
    console.log(
      `| ${r} | ${f2(avg(samples, (s) => s.roles[r].ready))} | ${f2(avg(samples, (s) => s.roles[r].starting))} | ${f2(avg(samples, (s) => s.roles[r].draining))} | ${sva ? f2(avg(samples, (s) => s.roles[r].planned ?? 0)) : '-'} | ${sva ? f2(avg(samples, (s) => s.roles[r].target ?? 0)) : '-'} | ${sva ? f2(held) : '-'} | ${f2(total * hours)} | ${samples.at(-1)?.roles[r].accelerators ?? ''} |`,
    );
  }
  const nodeCost = groups.reduce(
    (a, g) => a + avg(samples, (s) => s.nodes[g] ?? 0) * hours * nodePrice.get(g)!,
    0,
  );
  console.log(
    `\nnodes (avg): ${groups.map((g) => `${g} ${f2(avg(samples, (s) => s.nodes[g] ?? 0))}`).join(', ')}; node cost from the samples $${f2(nodeCost)}; free GPUs on ready nodes ${f2(avg(samples, (s) => s.idleGpus))} on average (about $${f2(avg(samples, (s) => s.idleGpus) * hours * gpuPrice)} at the dearest GPU's price); one replica at most $${replicaPrice}/h\n`,
  );

  const bucket = Number(values.bucket);
  // policy.burstSizing.concentration: the learnt concentration's range per row
  const learnt = samples.some((s) => s.concentration !== undefined);
  const concentrationOf = (xs: readonly Sample[]) => {
    const cs = xs.flatMap((s) => (s.concentration !== undefined ? [s.concentration] : []));
    return cs.length > 0 ? `${Math.min(...cs).toFixed(2)}-${Math.max(...cs).toFixed(2)}` : '-';
  };
  const requests = seen?.scenario.traces.get(v.name)?.requests ?? [];
  console.log(
    `| minutes | req/s | prompt tokens | peak 10 s req/s | attainment | prefill ready/all | decode ready/all | planned p/d (sva) | nodes | free GPUs |${learnt ? ' concentration (sva) |' : ''}`,
  );
  console.log(
    `| --- | ---: | ---: | ---: | ---: | --- | --- | --- | ---: | ---: |${learnt ? ' ---: |' : ''}`,
  );
  const from = samples[0]?.t ?? 0;
  for (let t0 = from; t0 < end; t0 += bucket) {
    const xs = samples.filter((s) => s.t >= t0 && s.t < t0 + bucket);
    if (xs.length === 0) continue;
    const load = loadOf(requests, t0, t0 + bucket);
    let peak = 0;
    for (let t = t0; t + 10 <= t0 + bucket; t += 10) peak = Math.max(peak, loadOf(requests, t, t + 10).rate);
    const win = seen?.sim.window({ from: t0, to: t0 + bucket });
    const roleCol = (r: Role) =>
      `${f1(avg(xs, (s) => s.roles[r].ready))}/${f1(avg(xs, (s) => s.roles[r].ready + s.roles[r].starting + s.roles[r].draining))}`;
    console.log(
      `| ${((t0 - from) / 60).toFixed(0)}-${((t0 - from + bucket) / 60).toFixed(0)} | ${f2(load.rate)} | ${load.inputTokens.toFixed(0)} | ${f1(peak)} | ${win && win.arrived > 0 ? `${((100 * win.sloMet) / win.arrived).toFixed(1)}%` : '-'} | ${roleCol('prefill')} | ${roleCol('decode')} | ${xs.some((s) => s.roles.prefill.planned !== undefined) ? `${f1(avg(xs, (s) => s.roles.prefill.planned ?? 0))}/${f1(avg(xs, (s) => s.roles.decode.planned ?? 0))}` : '-'} | ${f1(avg(xs, (s) => Object.values(s.nodes).reduce((a, n) => a + n, 0)))} | ${f1(avg(xs, (s) => s.idleGpus))} |${learnt ? ` ${concentrationOf(xs)} |` : ''}`,
    );
  }
  if (values.steps) {
    console.log(
      '\n| minute | demand req/s | prompt tokens | prefill planned/target/ready | decode planned/target/ready |',
    );
    console.log('| ---: | ---: | ---: | --- | --- |');
    for (const x of samples) {
      const r = (role: Role) =>
        `${x.roles[role].planned ?? '-'}/${x.roles[role].target ?? '-'}/${x.roles[role].ready}`;
      console.log(
        `| ${((x.t - from) / 60).toFixed(1)} | ${x.demand ? f2(x.demand.rate) : '-'} | ${x.demand ? f2(x.demand.measured) : '-'} | ${x.demand ? f1(x.demand.waiting) : '-'} | ${x.demand?.inputTokens.toFixed(0) ?? '-'} | ${r('prefill')} | ${r('decode')} |`,
      );
    }
  }
}

await main();
