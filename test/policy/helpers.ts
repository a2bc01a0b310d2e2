/**
 * Builders for decision-policy tests: a small pool config from an object literal, observations,
 * Deployment and capacity views written by hand, and a session that chains the policy memory
 * from one evaluation to the next as the evaluate use case does.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { nodeStartupSeconds } from '../../lib/config/startup.js';
import { parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/schema.js';
import { configToSystem } from '../../lib/config/toSystem.js';
import type { Estimate, TokenBuckets, VariantObservation } from '../../lib/metrics/observation.js';
import { solve } from '../../lib/optimizer/index.js';
import type { SeasonState } from '../../lib/policy/seasonal.js';
import { decidePool, type PoolInput, type PoolOutput } from '../../lib/policy/decide.js';
import { parseDecision, type DecisionRecord } from '../../lib/policy/decisionRecord.js';
import { emptyMemory, type PolicyMemory } from '../../lib/policy/memory.js';
import type { AcceleratorCapacity } from '../../lib/policy/capacity.js';
import type { DeploymentView } from '../../lib/policy/ports.js';
import type { RoleState } from '../../lib/policy/disaggregated.js';

export const KEY = 'llm/chat';
export const T0 = 1_000_000;
export const TOKENS = { input: 512, output: 128 };

/** Profiles in ms, as in config/default.yaml. */
export const PROFILES = {
  L4: { alpha: 28, beta: 0.4, gamma: 20, delta: 0.2, maxBatchSize: 32, atTokens: 512 },
  H100: { alpha: 6.5, beta: 0.05, gamma: 8, delta: 0.04, maxBatchSize: 256, atTokens: 512 },
  '4xH100': { alpha: 28.3, beta: 0.35, gamma: 25, delta: 0.06, maxBatchSize: 192, atTokens: 512 },
};

export const CHAT = {
  name: 'chat',
  namespace: 'llm',
  model: 'm8b',
  serviceClass: 'interactive',
  accelerator: 'L4',
  minReplicas: 1,
  maxReplicas: 10,
  startupSeconds: 60,
};

export const BIG = {
  name: 'big',
  namespace: 'llm',
  model: 'm70b',
  serviceClass: 'interactive',
  accelerator: '4xH100',
  minReplicas: 1,
  maxReplicas: 8,
  startupSeconds: 150,
};

export const NODE_GROUPS = [
  { name: 'gpu-l4', acceleratorType: 'L4', gpusPerNode: 1, maxNodes: 20, provisioningSeconds: 60 },
  { name: 'gpu-h100', acceleratorType: 'H100', gpusPerNode: 8, maxNodes: 4, provisioningSeconds: 120 },
];

export interface ConfigOptions {
  /** merged into the chat variant */
  readonly chat?: Record<string, unknown>;
  /** the variants, replacing [chat] */
  readonly variants?: readonly Record<string, unknown>[];
  /** merged into the policy section */
  readonly policy?: Record<string, unknown>;
  readonly nodeGroups?: readonly Record<string, unknown>[];
}

/**
 * A one-variant pool by default (chat on L4, 1..10 replicas), with the policy's margins at 1,
 * forecast and model correction off and the stabilisation window as configured, so that sizes
 * follow from the queue model alone.
 */
export function poolConfig(options: ConfigOptions = {}): Config {
  return parseConfig(
    {
      accelerators: [
        { name: 'L4', costPerHour: 1 },
        { name: 'H100', costPerHour: 5 },
        { name: '4xH100', type: 'H100', multiplicity: 4, costPerHour: 20 },
      ],
      models: [
        { name: 'm8b', profiles: { L4: PROFILES.L4, H100: PROFILES.H100 } },
        { name: 'm70b', profiles: { '4xH100': PROFILES['4xH100'] } },
      ],
      serviceClasses: [
        {
          name: 'interactive',
          priority: 1,
          targets: { m8b: { ttftMs: 3000, itlMs: 60 }, m70b: { ttftMs: 4000, itlMs: 80 } },
        },
      ],
      variants: options.variants ?? [{ ...CHAT, ...options.chat }],
      nodeGroups: options.nodeGroups ?? NODE_GROUPS,
      policy: {
        // the window is the configured one (not stretched to twice the lead time) unless a test says so
        windowPerStartup: 0,
        // and starts at it (not at a cautious initial window), unless a test says so
        adaptiveWindow: { initialSeconds: 0 },
        targetMargin: { ttft: 1, itl: 1 },
        forecast: { enabled: false },
        modelCorrection: { enabled: false },
        // and the window is not replaced by the caution learnt from rises unless a test says so
        caution: { enabled: false },
        // nor sized for the look-back's bursts (with its window of one lead time), nor yielded to a
        // neighbour, nor a forecast bought and held by the rises learnt, unless a test says so
        burstSizing: { enabled: false, itl: false },
        windowYields: { enabled: false },
        forecastCapacity: { buyAsExpected: false, holdAsExpected: false },
        ...options.policy,
      },
    },
    'test config',
  );
}

/** r*: the rate one replica sustains within the targets (the optimizer's maxRatePerReplica). */
export function ratePerReplica(config: Config, key = KEY, accelerator = 'L4', tokens = TOKENS): number {
  const system = configToSystem(config, {
    loads: new Map([[key, { arrivalRate: 60, avgInTokens: tokens.input, avgOutTokens: tokens.output }]]),
    capacity: 'unlimited',
  });
  const candidate = solve(system)
    .candidates.get(key)
    ?.find((c) => c.accelerator === accelerator);
  if (!candidate) throw new Error(`no candidate for ${key} on ${accelerator}`);
  return candidate.maxRatePerReplica;
}

const est = (value: number, source: string, timestamp: number): Estimate => ({ value, source, timestamp });

export interface ObservationOptions {
  readonly variant?: string;
  readonly model?: string;
  readonly waiting?: number;
  readonly running?: number;
  readonly ready?: number;
  readonly completionRate?: number;
  readonly ttftMs?: number;
  readonly itlMs?: number;
  /** false: no token estimates (nothing completed in the window) */
  readonly tokens?: { input: number; output: number } | false;
  /** vllm:request_time_per_output_token_seconds by bucket (servers of vLLM >= 0.13) */
  readonly requestTpotBuckets?: TokenBuckets;
}

/** A fresh observation of `rate` arrivals per second at `now`. */
export function observation(rate: number, now: number, o: ObservationOptions = {}): VariantObservation {
  const tokens = o.tokens === undefined ? TOKENS : o.tokens;
  return {
    variant: o.variant ?? KEY,
    model: o.model ?? 'm8b',
    at: now,
    windowSeconds: 60,
    arrivalRate: est(rate, 'vllm:request_success_total + d(in flight)/dt', now - 5),
    completionRate: est(o.completionRate ?? rate, 'vllm:request_success_total', now - 5),
    avgInputTokens: tokens ? est(tokens.input, 'vllm:request_prompt_tokens', now - 5) : undefined,
    avgOutputTokens: tokens ? est(tokens.output, 'vllm:request_generation_tokens', now - 5) : undefined,
    ttftMs: o.ttftMs !== undefined ? est(o.ttftMs, 'vllm:time_to_first_token_seconds', now - 5) : undefined,
    itlMs: o.itlMs !== undefined ? est(o.itlMs, 'vllm:inter_token_latency_seconds', now - 5) : undefined,
    waiting: est(o.waiting ?? 0, 'vllm:num_requests_waiting', now - 5),
    running: est(o.running ?? 0, 'vllm:num_requests_running', now - 5),
    readyReplicas: o.ready !== undefined ? est(o.ready, 'vllm:num_requests_running', now - 5) : undefined,
    ...(o.requestTpotBuckets ? { requestTpotBuckets: o.requestTpotBuckets } : {}),
    stale: [],
    missing: [],
  };
}

/** Token histograms over the log-spaced buckets of 32 to 8,192 tokens (and beyond): counts per bucket. */
export function withTokenCounts(
  obs: VariantObservation,
  input: readonly number[],
  output: readonly number[],
): VariantObservation {
  const bounds = [32, 128, 512, 2048, 8192, Infinity];
  return {
    ...obs,
    inputTokenBuckets: { bounds, counts: [...input] },
    outputTokenBuckets: { bounds, counts: [...output] },
  };
}

/** The observation with arrivals per 15-s step over the look-back (policy.burstSizing). */
export function withArrivalSteps(obs: VariantObservation, counts: readonly number[]): VariantObservation {
  return {
    ...obs,
    arrivalSteps: { stepSeconds: 15, counts, source: 'vllm:request_success_total', timestamp: obs.at },
  };
}

/** One decision of a fresh session on two L4 replicas. */
export function decideOnTwo(config: Config, obs: VariantObservation): DecisionRecord {
  return parseDecision(new Session(config, [deployment('L4', 2)]).decide(T0, [obs]));
}

/** An observation without an arrival estimate: the named series were stale or missing. */
export function blindObservation(
  now: number,
  gaps: { stale?: string[]; missing?: string[] },
  variant = KEY,
): VariantObservation {
  return {
    variant,
    model: 'm8b',
    at: now,
    windowSeconds: 60,
    stale: gaps.stale ?? [],
    missing: gaps.missing ?? [],
  };
}

export function deployment(
  accelerator: string,
  desired: number,
  ready = desired,
  variant = KEY,
  name?: string,
): DeploymentView {
  const [namespace, v] = variant.split('/') as [string, string];
  return { variant, namespace, deployment: name ?? v, accelerator, desired, ready };
}

/** The config's node groups as the cluster would describe them, at the given sizes (default min). */
/** What a capacity provider over the config's node groups reports: `nodes` ready per group (default its min). */
export function capacityViews(config: Config, nodes: Record<string, number> = {}): AcceleratorCapacity[] {
  const byType = new Map<string, AcceleratorCapacity>();
  for (const g of config.nodeGroups) {
    const ready = (nodes[g.name] ?? g.minNodes) * g.gpusPerNode;
    const prev = byType.get(g.acceleratorType);
    byType.set(g.acceleratorType, {
      acceleratorType: g.acceleratorType,
      devicesPerNode: prev?.devicesPerNode ?? g.gpusPerNode,
      readyDevices: (prev?.readyDevices ?? 0) + ready,
      startingDevices: 0,
      addableDevices: (prev?.addableDevices ?? 0) + g.maxNodes * g.gpusPerNode - ready,
      provisioningSeconds: Math.max(prev?.provisioningSeconds ?? 0, nodeStartupSeconds(g)),
    });
  }
  return [...byType.values()];
}

export interface Step {
  readonly now: number;
  readonly out: PoolOutput;
  readonly decision: DecisionRecord;
}

/**
 * Successive evaluations of one pool: the memory of each is the input of the next, and the
 * cluster can be made to follow the decisions (new replicas ready at once, or not yet).
 */
export class Session {
  memory: PolicyMemory = emptyMemory();
  /** the variants' seasons as a SeasonStore would keep them between evaluations */
  readonly seasons = new Map<string, SeasonState>();
  readonly steps: Step[] = [];

  constructor(
    readonly config: Config,
    public deployments: DeploymentView[],
    public capacity: AcceleratorCapacity[] = capacityViews(config),
  ) {}

  /** One evaluation; returns the decision of `variant` (default the first). */
  decide(now: number, observations: readonly VariantObservation[], variant = KEY): DecisionRecord {
    const out = decidePool({
      pool: 'test',
      config: this.config,
      observations: new Map(observations.map((o) => [o.variant, o])),
      deployments: this.deployments,
      capacity: this.capacity,
      memory: this.memory,
      seasons: this.seasons,
      now,
    });
    this.memory = out.memory;
    for (const [k, s] of out.seasons) this.seasons.set(k, s);
    const decision = out.decisions.find((d) => `${d.namespace}/${d.variant}` === variant);
    if (!decision) throw new Error(`no decision for ${variant}`);
    this.steps.push({ now, out, decision });
    return decision;
  }

  /**
   * Sets spec.replicas of every Deployment to the last evaluation's targets. New replicas are
   * ready at once unless `readyAtOnce` is false; removed ones go at once.
   */
  apply(readyAtOnce = true): void {
    const last = this.steps.at(-1);
    if (!last) return;
    for (const d of last.out.decisions) {
      const variant = `${d.namespace}/${d.variant}`;
      for (const t of d.deployments) {
        const i = this.deployments.findIndex((x) => x.variant === variant && x.accelerator === t.accelerator);
        const prev = i >= 0 ? this.deployments[i]! : undefined;
        const ready = readyAtOnce ? t.replicas : Math.min(prev?.ready ?? 0, t.replicas);
        const next = { ...deployment(t.accelerator, t.replicas, ready, variant, t.deployment) };
        if (i >= 0) this.deployments[i] = next;
        else this.deployments.push(next);
      }
    }
  }

  /** Marks `ready` replicas of a variant's Deployment on an accelerator as ready. */
  setReady(accelerator: string, ready: number, variant = KEY): void {
    const i = this.deployments.findIndex((x) => x.variant === variant && x.accelerator === accelerator);
    if (i < 0) throw new Error(`no deployment of ${variant} on ${accelerator}`);
    this.deployments[i] = { ...this.deployments[i]!, ready };
  }

  /** Evaluates at `now` with a fresh observation of `rate` and applies the decision. */
  run(now: number, rate: number, o: ObservationOptions = {}, readyAtOnce = true): DecisionRecord {
    const d = this.decide(now, [observation(rate, now, o)]);
    this.apply(readyAtOnce);
    return d;
  }
}

/** Replicas on one accelerator in a decision. */
export const replicasOn = (d: DecisionRecord, accelerator: string): number | undefined =>
  d.deployments.find((x) => x.accelerator === accelerator)?.replicas;

/** Devices per accelerator type the pool's capacity intent asks for. */
export const devicesAsked = (out: Pick<PoolOutput, 'capacity'>): Record<string, number> =>
  Object.fromEntries(out.capacity.accelerators.map((a) => [a.acceleratorType, a.devices]));

/** Devices per type asked for by a session's last evaluation. */
export const lastDevicesAsked = (s: Session): Record<string, number> => devicesAsked(s.steps.at(-1)!.out);

export interface PoolInputOptions {
  readonly observations?: readonly VariantObservation[];
  readonly deployments?: readonly DeploymentView[];
  readonly capacity?: readonly AcceleratorCapacity[];
  readonly memory?: PolicyMemory;
  readonly now?: number;
}

/** The input of one pool evaluation, for testing the stages of a decision one by one. */
export function poolInput(config: Config, o: PoolInputOptions = {}): PoolInput {
  return {
    pool: 'test',
    config,
    observations: new Map((o.observations ?? []).map((x) => [x.variant, x])),
    deployments: o.deployments ?? [],
    capacity: o.capacity ?? capacityViews(config),
    memory: o.memory ?? emptyMemory(),
    now: o.now ?? T0,
  };
}

/** One role of config/disaggregated.yaml's code-70b at 8 req/s of 2k-token prompts and 28-token answers. */
export function roleObservation(now: number, over: Partial<VariantObservation> = {}): VariantObservation {
  const e = (value: number) => ({ value, source: 's', timestamp: now });
  return {
    variant: 'llm/code-70b-pd@prefill',
    model: 'llama-3-70b',
    at: now,
    windowSeconds: 60,
    arrivalRate: e(8),
    avgInputTokens: e(2048),
    avgOutputTokens: e(28),
    waiting: e(0),
    running: e(2),
    stale: [],
    missing: [],
    ...over,
  };
}

/** config/disaggregated.yaml as parsed: the 70B variant with prefill and decode roles. */
export function disaggregatedConfig(): Config {
  return parseConfig(parse(readFileSync('config/disaggregated.yaml', 'utf8')), 'config/disaggregated.yaml');
}

/** A role running `n` ready pods on one accelerator. */
export const runningRole = (accelerator: string, n: number): RoleState => ({
  byAccelerator: new Map([[accelerator, { desired: n, ready: n }]]),
});

/**
 * config/disaggregated.yaml for tests of the prefill role's burst replay: the room left on the
 * nodes (policy.fillNodes) off, as it adds pods of its own; the prefill replay on; the decode
 * role's burst sizing and the learnt concentration (both on by default) as asked.
 */
export function prefillReplayConfig(flags: {
  readonly decode: boolean;
  readonly concentration: boolean;
}): Config {
  const parsed = disaggregatedConfig();
  const b = parsed.policy.burstSizing;
  return {
    ...parsed,
    policy: {
      ...parsed.policy,
      fillNodes: { enabled: false },
      burstSizing: {
        ...b,
        prefill: true,
        decode: flags.decode,
        concentration: { ...b.concentration, enabled: flags.concentration },
      },
    },
  };
}
