/**
 * The disaggregated benchmark's workloads and one run of a policy on one of them
 * (config/disaggregated.yaml with only the aggregated, or only the disaggregated, variant).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/schema.js';
import { buildScenario, type Scenario } from '../../lib/closedLoop/scenario.js';
import { runClosedLoop, type SimulationRun } from '../../lib/closedLoop/closedLoop.js';
import {
  svaController,
  type ControlContext,
  type ControlStep,
  type Controller,
} from '../../lib/closedLoop/controller.js';
import { createPolicyRun } from '../policies/policies.js';
import type { DequantiseOptions, FleetSim, FleetUsage } from '../../lib/fleetSimulator/index.js';
import { disaggregatedController, type DisaggregatedKnobs, type DisaggregatedPolicy } from './policies.js';

export interface Workload {
  readonly name: string;
  readonly config: string;
  /** the variants' trace and targets, when they differ from the config's */
  readonly trace?: string;
  readonly targets?: { ttftMs: number; itlMs: number };
  /** the trace's timestamps spread over their grid's ticks (--dequantise); absent: as given */
  readonly dequantise?: DequantiseOptions;
  /** policy.burstSizing.prefill switched on (--burst-sizing; sva's prefill role reads it); absent: the config's */
  readonly burstSizing?: boolean;
  /** policy.burstSizing.decode switched on (--decode-bursts; sva's decode role reads it); absent: the config's */
  readonly decodeBursts?: boolean;
  /** policy.burstSizing.headroom switched on (--burst-headroom: the roles sized for bursts raise them by it); absent: the config's */
  readonly burstHeadroom?: boolean;
  /**
   * policy.windowPerStartup for every run (--window-per-startup: the window of a role its burst
   * sizing does not cover; the aggregated variant's burst sizing covers it); absent: the config's
   */
  readonly windowPerStartup?: number;
  /** policy fields set for every run, merged into the config's (--policy-json); absent: the config's */
  readonly policyOverrides?: Record<string, unknown>;
}

export const WORKLOADS: readonly Workload[] = [
  // the suite's coding trace: 2k-token prompts (up to 7.4k), 28 output tokens, very bursty
  { name: 'azure-code', config: 'config/disaggregated.yaml' },
  // held back: long-context chat (Mooncake: 12k-token prompts on average, 343 output tokens)
  {
    name: 'mooncake-chat',
    config: 'config/disaggregated.yaml',
    trace: '../data/traces/mooncake-conversation.jsonl',
    targets: { ttftMs: 15000, itlMs: 50 },
  },
];

export type VariantKind = 'aggregated' | 'disaggregated';

/** The trace file the workload's disaggregated variant replays. */
export function workloadTrace(w: Workload): string {
  const config = configFor(w, 'disaggregated');
  const configured = Object.values(config.simulation?.variants ?? {})[0]?.trace;
  if (configured === undefined) throw new Error(`${w.name}: no trace in ${w.config}`);
  return resolve(dirname(resolve(w.config)), configured);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

/** The config with only the aggregated, or only the disaggregated, variant. */
export function configFor(w: Workload, kind: VariantKind): Config {
  const doc: Doc = parse(readFileSync(w.config, 'utf8'));
  doc.variants = doc.variants.filter((v: Doc) => (kind === 'disaggregated') === (v.roles !== undefined));
  const names = new Set(doc.variants.map((v: Doc) => v.name));
  for (const name of Object.keys(doc.simulation.variants)) {
    if (!names.has(name)) delete doc.simulation.variants[name];
    else if (w.trace) doc.simulation.variants[name].trace = w.trace;
  }
  if (w.targets)
    for (const c of doc.serviceClasses) for (const m of Object.keys(c.targets)) c.targets[m] = w.targets;
  // --policy-json: set before parsing, so the config's own validation judges it
  if (w.policyOverrides) {
    doc.policy ??= {};
    for (const [k, value] of Object.entries(w.policyOverrides)) {
      const base = doc.policy[k];
      doc.policy[k] =
        value !== null && typeof value === 'object' && base !== null && typeof base === 'object'
          ? { ...base, ...value }
          : value;
    }
  }
  const config = parseConfig(doc, w.config);
  const p = config.policy;
  return {
    ...config,
    policy: {
      ...p,
      burstSizing: {
        ...p.burstSizing,
        ...(w.burstSizing ? { prefill: true } : {}),
        ...(w.decodeBursts ? { decode: true } : {}),
        ...(w.burstHeadroom ? { headroom: { ...p.burstSizing.headroom, enabled: true } } : {}),
      },
      ...(w.windowPerStartup !== undefined ? { windowPerStartup: w.windowPerStartup } : {}),
    },
  };
}

export interface Row {
  workload: string;
  variant: VariantKind;
  policy: string;
  attainment: number;
  ttft: number;
  itl: number;
  /** node-hours of the node groups, as billed */
  cost: number;
  /** replica-hours at the accelerator's price: what the pods held, nodes perfectly packed */
  podCost: number;
  p95TtftMs: number | null;
  seconds: number;
}

/** A setting of a policy's knob (the defaults when empty). */
export interface Knobs extends DisaggregatedKnobs {
  /** sva's policy.targetMargin times this (each capped at 1); 1: the config's */
  readonly marginScale?: number;
  /** sva's policy.windowPerStartup (the stabilisation window in lead times); absent: the config's */
  readonly windowPerStartup?: number;
  /**
   * sva's policy.learntWindow switched on: one window per role, or one per replica level, from
   * the arrivals' levels (the default) or, with ':recommendation', the plan's; absent: the config's
   */
  readonly learntWindow?: LearntWindowTrial;
  /** with learntWindow: its minReleases; absent: the config's */
  readonly learntWindowMinReleases?: number;
}

export const LEARNT_WINDOW_TRIALS = [
  'role',
  'perLevel',
  'role:recommendation',
  'perLevel:recommendation',
] as const;
export type LearntWindowTrial = (typeof LEARNT_WINDOW_TRIALS)[number];

/** A command line's --learnt-window, checked. */
export function learntWindowTrial(value: string): LearntWindowTrial {
  if (value !== 'role' && value !== 'perLevel')
    throw new Error(`--learnt-window: role or perLevel, not ${value}`);
  return value;
}

/** The config with policy.learntWindow on, in one of its forms (the trial of bench/disaggregated/learntWindow.ts). */
export function withLearntWindow(
  config: Config,
  trial: LearntWindowTrial | undefined,
  minReleases = config.policy.learntWindow.minReleases,
): Config {
  if (trial === undefined) return config;
  return {
    ...config,
    policy: {
      ...config.policy,
      learntWindow: {
        ...config.policy.learntWindow,
        enabled: true,
        perLevel: trial.startsWith('perLevel'),
        levels: trial.endsWith(':recommendation') ? 'recommendation' : 'arrivals',
        minReleases,
      },
    },
  };
}

/** The config with sva's target margins scaled (each at most 1). */
export function withMarginScale(config: Config, scale: number): Config {
  if (scale === 1) return config;
  const m = config.policy.targetMargin;
  return {
    ...config,
    policy: {
      ...config.policy,
      targetMargin: { ttft: Math.min(m.ttft * scale, 1), itl: Math.min(m.itl * scale, 1) },
    },
  };
}

/** $ of the replica-seconds between two readings, each replica at its accelerator's price. */
function podCost(config: Config, before: FleetUsage | undefined, after: FleetUsage): number {
  const price = new Map(config.accelerators.map((a) => [a.type ?? a.name, a.costPerHour]));
  const seconds = (u: FleetUsage['replicaSeconds'][number]) =>
    u.seconds['pending-node'] + u.seconds.loading + u.seconds.ready + u.seconds.draining;
  let cost = 0;
  for (const u of after.replicaSeconds) cost += (seconds(u) / 3600) * (price.get(u.accelerator) ?? 0);
  for (const u of before?.replicaSeconds ?? []) cost -= (seconds(u) / 3600) * (price.get(u.accelerator) ?? 0);
  return cost;
}

export interface RunOptions {
  readonly duration?: number;
  readonly marginScale?: number;
  readonly windowPerStartup?: number;
  readonly learntWindow?: LearntWindowTrial;
  readonly learntWindowMinReleases?: number;
  /** called after every control step with what the controller did (bench/disaggregated/breakdown.ts) */
  readonly observe?: (ctx: ControlContext, step: ControlStep, measuredFrom: number) => void;
}

/** One closed-loop run of the controller `make` builds (it may also adapt the scenario). */
export async function runWith(
  w: Workload,
  kind: VariantKind,
  policy: string,
  make: (config: Config, scenario: Scenario) => { controller: Controller; scenario: Scenario },
  options: RunOptions = {},
): Promise<{ row: Row; run: SimulationRun }> {
  const scaled = withLearntWindow(
    withMarginScale(configFor(w, kind), options.marginScale ?? 1),
    options.learntWindow,
    options.learntWindowMinReleases,
  );
  const config =
    options.windowPerStartup === undefined
      ? scaled
      : { ...scaled, policy: { ...scaled.policy, windowPerStartup: options.windowPerStartup } };
  const built = await buildScenario(config, {
    configPath: w.config,
    durationSeconds: options.duration,
    dequantise: w.dequantise,
  });
  const { controller, scenario } = make(config, built);
  // The pods' usage from the measured span's start, read through the controller's context.
  let sim: FleetSim | undefined;
  let atStart: FleetUsage | undefined;
  const watched: Controller = {
    ...controller,
    async step(ctx) {
      sim = ctx.sim;
      if (!atStart && ctx.t >= scenario.measuredFrom) atStart = ctx.sim.usage();
      const step = await controller.step(ctx);
      options.observe?.(ctx, step, scenario.measuredFrom);
      return step;
    },
  };
  const run = await runClosedLoop(config, scenario, { controller: watched });
  const s = run.summary;
  return {
    row: {
      workload: w.name,
      variant: kind,
      policy,
      attainment: s.sloAttainment,
      ttft: s.ttftAttainment,
      itl: s.itlAttainment,
      cost: s.cost,
      podCost: sim ? podCost(config, atStart, sim.usage()) : Number.NaN,
      p95TtftMs: s.p95TtftMs,
      seconds: run.elapsedMs / 1000,
    },
    run,
  };
}

/** One run of a named policy: the disaggregated variant's policies, or sva / the planner on the aggregated one. */
export function runPolicy(
  w: Workload,
  kind: VariantKind,
  policy: string,
  knobs: Knobs = {},
  duration?: number,
  observe?: RunOptions['observe'],
): Promise<{ row: Row; run: SimulationRun }> {
  return runWith(
    w,
    kind,
    policy,
    (config, scenario) =>
      kind === 'disaggregated'
        ? { controller: disaggregatedController(policy as DisaggregatedPolicy, config, knobs), scenario }
        : policy === 'sva'
          ? { controller: svaController(config), scenario }
          : createPolicyRun(policy as 'dynamo-planner', config, scenario),
    {
      duration,
      marginScale: knobs.marginScale,
      windowPerStartup: knobs.windowPerStartup,
      learntWindow: knobs.learntWindow,
      learntWindowMinReleases: knobs.learntWindowMinReleases,
      observe,
    },
  );
}
