/**
 * A simulation scenario from our config: the fleet the simulator runs (the config's profiles
 * are taken as the fleet's true behaviour) and the request trace of each variant.
 */
import { dirname, resolve } from 'node:path';
import type { Config, VariantConfig } from '../config/schema.js';
import { InputError } from '../config/errors.js';
import { capacityProviderOf, consolidateAfterSecondsOf } from '../config/capacityProvider.js';
import { configToSystem, variantKey } from '../config/toSystem.js';
import { nodeStartup, replicaStartup, type ReplicaStartup } from '../config/startup.js';
import {
  disaggregatedVariants,
  everyVariant,
  kvBytesPerToken,
  roleAccelerators,
  ROLES,
  roleStartup,
  simRoleVariant,
} from '../config/roles.js';
import { sizeDisaggregatedVariants } from '../config/toDisaggregated.js';
import { servingWarmupSeconds } from './warmup.js';
import { solve } from '../optimizer/index.js';
import { acceleratorType, allowedAccelerators, devicesPerReplica, modelOf } from '../config/resolved.js';
import {
  amplify,
  dequantise,
  readTrace,
  TraceError,
  type DequantiseOptions,
  type FleetSimConfig,
  type ReplicaProfile,
  type Trace,
} from '../fleetSimulator/index.js';

/** vLLM's default max_num_seqs: the KV cache, not this, limits concurrency in practice. */
const ENGINE_MAX_NUM_SEQS = 256;
const DEFAULT_KV_CACHE_TOKENS = 100_000;

export interface Scenario {
  readonly fleet: FleetSimConfig;
  /** trace per variant name (variants without one get no traffic) */
  readonly traces: ReadonlyMap<string, Trace>;
  /** simulated seconds, warm-up included */
  readonly durationSeconds: number;
  /** outcomes count from here: before it, the loop warms up on the trace's last minutes */
  readonly measuredFrom: number;
}

export interface ScenarioOptions {
  /** the config file's path: trace paths in it are relative to its folder */
  readonly configPath: string;
  /** traces from the command line: trace i drives variant i, and the config's traces are not used */
  readonly traceFiles?: readonly string[];
  readonly rateScale?: number;
  readonly durationSeconds?: number;
  /** seconds of warm-up before the measured span (default: the config's, else servingWarmupSeconds) */
  readonly warmupSeconds?: number;
  /**
   * spread the requests of traces recorded on a timestamp grid over each tick (see dequantise in
   * lib/fleetSimulator/traces.ts; seed default: the simulation's), before any rate scaling;
   * absent: the traces' timestamps as given
   */
  readonly dequantise?: DequantiseOptions;
}

/** The opening of a trace whose busiest minute sizes the starting fleet. */
const WARM_START_SECONDS = 600;

/**
 * The fleet a continuously running autoscaler would hold at the trace's start: the optimizer's
 * choice, with the policy's margins, for the busiest minute of the opening (its stabilisation
 * window keeps capacity for recent peaks). Without it every run would open with a cold start
 * that says more about the initial guess than about the policy.
 */
function warmStart(
  config: Config,
  traces: ReadonlyMap<string, Trace>,
): Map<string, { accelerator: string; replicas: number }> {
  const loads = new Map<string, { arrivalRate: number; avgInTokens: number; avgOutTokens: number }>();
  for (const v of config.variants) {
    const early = (traces.get(v.name)?.requests ?? []).filter((r) => r.arrival < WARM_START_SECONDS);
    const n = Math.max(early.length, 1);
    const perMinute = new Map<number, number>();
    for (const r of early)
      perMinute.set(Math.floor(r.arrival / 60), (perMinute.get(Math.floor(r.arrival / 60)) ?? 0) + 1);
    loads.set(variantKey(v), {
      arrivalRate: Math.max(0, ...perMinute.values()),
      avgInTokens: early.reduce((a, r) => a + r.inputTokens, 0) / n,
      avgOutTokens: Math.max(early.reduce((a, r) => a + r.outputTokens, 0) / n, 1),
    });
  }
  const system = configToSystem(config, { loads });
  const margin = config.policy.targetMargin;
  const serviceClasses = new Map(
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
  const solution = solve({ ...system, serviceClasses });
  const start = new Map<string, { accelerator: string; replicas: number }>();
  for (const v of config.variants) {
    const a = solution.allocations.get(variantKey(v));
    const replicas = Math.min(
      Math.max(a?.numReplicas ?? v.minReplicas, v.minReplicas, 1),
      v.maxReplicas ?? Infinity,
    );
    start.set(v.name, { accelerator: a?.accelerator || allowedAccelerators(config, v)[0]!, replicas });
  }
  return start;
}

export function simProfiles(
  config: Config,
  v: VariantConfig,
  accelerators: readonly string[] = allowedAccelerators(config, v),
  startup: ReplicaStartup = replicaStartup(config, v),
): Record<string, ReplicaProfile> {
  const model = modelOf(config, v)!;
  const profiles: Record<string, ReplicaProfile> = {};
  for (const accelerator of accelerators) {
    const p = model.profiles[accelerator]!;
    const type = acceleratorType(config, accelerator)!;
    if (profiles[type]) {
      throw new InputError(
        `variant ${v.name}: the simulation tells accelerators apart by type, and two of its accelerators are ${type}`,
      );
    }
    profiles[type] = {
      alpha: p.alpha,
      beta: p.beta,
      gamma: p.gamma,
      delta: p.delta,
      maxBatchSize: ENGINE_MAX_NUM_SEQS,
      kvCacheTokens: p.kvCacheTokens ?? DEFAULT_KV_CACHE_TOKENS,
      gpusPerReplica: devicesPerReplica(config, v, accelerator),
      imagePullSeconds: startup.imagePullSeconds,
      loadSeconds: startup.frameworkStartSeconds + startup.weightsLoadSeconds + startup.engineInitSeconds,
      // unset: the engine's vLLM defaults (2048-token steps, chunked prefill, KV on demand)
      maxNumBatchedTokens: p.maxBatchedTokens,
      chunkedPrefill: p.chunkedPrefill,
      kvAllocation: p.kvAllocation,
    };
  }
  return profiles;
}

async function loadTrace(path: string): Promise<Trace> {
  try {
    return await readTrace(path);
  } catch (err) {
    if (err instanceof TraceError) throw new InputError(err.message);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${path}: no such trace file`);
    throw err;
  }
}

function dequantised(trace: Trace, options: DequantiseOptions | undefined, seed = 1): Trace {
  if (!options) return trace;
  try {
    return dequantise(trace, { seed, ...options });
  } catch (err) {
    if (err instanceof TraceError) throw new InputError(err.message);
    throw err;
  }
}

export async function buildScenario(config: Config, options: ScenarioOptions): Promise<Scenario> {
  const sim = config.simulation;
  const baseDir = dirname(resolve(options.configPath));
  const traces = new Map<string, Trace>();
  for (const [i, v] of everyVariant(config).entries()) {
    const fromCli = options.traceFiles?.[i];
    // Traces given on the command line replace the configured ones: the run is about them alone.
    const configured = options.traceFiles?.length ? undefined : sim?.variants[v.name];
    const path =
      fromCli !== undefined
        ? resolve(fromCli)
        : configured?.trace
          ? resolve(baseDir, configured.trace)
          : undefined;
    if (!path) continue;
    const scale = (options.rateScale ?? 1) * (fromCli !== undefined ? 1 : (configured?.rateScale ?? 1));
    const trace = dequantised(await loadTrace(path), options.dequantise, config.simulation?.seed);
    traces.set(v.name, scale === 1 ? trace : amplify(trace, scale, config.simulation?.seed ?? 1));
  }
  const longest = Math.max(0, ...[...traces.values()].map((t) => t.requests.at(-1)?.arrival ?? 0));
  const measured = options.durationSeconds ?? sim?.durationSeconds ?? longest;
  if (!(measured > 0))
    throw new InputError('nothing to simulate: no variant has a trace (give --trace FILE)');
  // A running autoscaler has seen the minutes before the span measured: the loop first replays
  // the span's last minutes, so every policy starts as it would in service, not from cold.
  const warmup = Math.min(
    options.warmupSeconds ?? sim?.warmupSeconds ?? servingWarmupSeconds(config),
    measured / 2,
  );
  if (warmup > 0) for (const [name, trace] of traces) traces.set(name, withWarmup(trace, warmup, measured));
  const durationSeconds = warmup + measured;

  const start = warmStart(config, traces);
  const split = disaggregatedFleet(config, traces);
  const variants = config.variants.map((v) => ({
    name: v.name,
    namespace: v.namespace,
    model: v.metrics.modelName ?? v.model,
    accelerator: acceleratorType(config, start.get(v.name)!.accelerator)!,
    profileByAccelerator: simProfiles(config, v),
    initialReplicas: Math.max(
      sim?.variants[v.name]?.initialReplicas ?? start.get(v.name)!.replicas,
      v.minReplicas,
    ),
  }));
  // Enough initial nodes for the initial replicas, unless the config says otherwise.
  const initialGpus = new Map<string, number>();
  for (const [i, v] of config.variants.entries()) {
    const acc = start.get(v.name)!.accelerator;
    const type = acceleratorType(config, acc)!;
    initialGpus.set(
      type,
      (initialGpus.get(type) ?? 0) + variants[i]!.initialReplicas * devicesPerReplica(config, v, acc),
    );
  }
  for (const { type, devices } of split.devices)
    initialGpus.set(type, (initialGpus.get(type) ?? 0) + devices);
  const nodeGroups = config.nodeGroups.map((g) => {
    const wanted = Math.ceil((initialGpus.get(g.acceleratorType) ?? 0) / g.gpusPerNode);
    initialGpus.set(
      g.acceleratorType,
      Math.max((initialGpus.get(g.acceleratorType) ?? 0) - wanted * g.gpusPerNode, 0),
    );
    const initialNodes =
      sim?.nodeGroups[g.name]?.initialNodes ?? Math.min(Math.max(wanted, g.minNodes), g.maxNodes);
    return {
      name: g.name,
      acceleratorType: g.acceleratorType,
      gpusPerNode: g.gpusPerNode,
      minNodes: g.minNodes,
      maxNodes: g.maxNodes,
      initialNodes,
      provisionSeconds: nodeStartup(g).provisioningSeconds,
      initSeconds: nodeStartup(g).nodeInitSeconds,
      consolidateAfterSeconds: simConsolidateAfter(consolidateAfterSecondsOf(capacityProviderOf(config), g)),
    };
  });
  return {
    fleet: {
      variants: [...variants, ...split.variants],
      nodeGroups,
      seed: sim?.seed ?? 1,
      delayJitter: sim?.delayJitter ?? 0.1,
      removalOrder: sim?.removalOrder ?? 'newest',
      // vLLM 0.13's servers unless the config says older ones (false must reach the fleet)
      requestTimePerOutputToken: sim?.requestTimePerOutputToken ?? true,
    },
    traces,
    durationSeconds,
    measuredFrom: warmup,
  };
}

/** "Never" as the simulator takes it: longer than any run (its config takes finite seconds only). */
function simConsolidateAfter(seconds: number | null): number | null {
  return seconds === Infinity ? Number.MAX_SAFE_INTEGER : seconds;
}

/** The busiest minute of a trace's opening, with its mean tokens (what a warm start is sized for). */
function openingLoad(trace: Trace | undefined): { rate: number; inputTokens: number; outputTokens: number } {
  const early = (trace?.requests ?? []).filter((r) => r.arrival < WARM_START_SECONDS);
  const n = Math.max(early.length, 1);
  const perMinute = new Map<number, number>();
  for (const r of early)
    perMinute.set(Math.floor(r.arrival / 60), (perMinute.get(Math.floor(r.arrival / 60)) ?? 0) + 1);
  return {
    rate: Math.max(0, ...perMinute.values()) / 60,
    inputTokens: early.reduce((a, r) => a + r.inputTokens, 0) / n,
    outputTokens: Math.max(early.reduce((a, r) => a + r.outputTokens, 0) / n, 1),
  };
}

/**
 * The fleet variants of the disaggregated variants: per variant a prefill variant (its name; the
 * arrivals) handing its KV to a decode variant (simRoleVariant), each starting warm with what
 * the sizing gives the opening's busiest minute, and the devices they take.
 */
function disaggregatedFleet(
  config: Config,
  traces: ReadonlyMap<string, Trace>,
): { variants: FleetSimConfig['variants'][number][]; devices: { type: string; devices: number }[] } {
  const sized = sizeDisaggregatedVariants(config, (v) => openingLoad(traces.get(v.name)), {
    margin: config.policy.targetMargin,
  });
  const variants: FleetSimConfig['variants'][number][] = [];
  const devices: { type: string; devices: number }[] = [];
  const transfer = config.kvTransfer!;
  for (const v of disaggregatedVariants(config)) {
    const s = sized.get(v);
    const plan = s?.feasible ? s.plan : s?.needed;
    for (const role of ROLES) {
      const accelerator = plan?.[role].accelerator ?? roleAccelerators(config, v, role)[0]!;
      const bounds = v.roles[role];
      const replicas = Math.min(
        Math.max(plan?.[role].replicas ?? 1, bounds.minReplicas, 1),
        bounds.maxReplicas ?? Infinity,
      );
      const startup = roleStartup(config, v, role);
      const profiles = simProfiles(config, v, roleAccelerators(config, v, role), startup);
      variants.push({
        name: simRoleVariant(v, role),
        namespace: v.namespace,
        model: v.metrics.modelName ?? v.model,
        accelerator: acceleratorType(config, accelerator)!,
        profileByAccelerator: Object.fromEntries(
          Object.entries(profiles).map(([type, p]) => [type, { ...p, role }]),
        ),
        initialReplicas: replicas,
        handoff:
          role === 'prefill'
            ? {
                decodeVariant: simRoleVariant(v, 'decode'),
                kvBytesPerToken: kvBytesPerToken(config, v),
                bandwidthBytesPerSecond: transfer.bandwidthGBps * 1e9,
                latencySeconds: transfer.latencyMs / 1000,
              }
            : null,
      });
      devices.push({
        type: acceleratorType(config, accelerator)!,
        devices: replicas * devicesPerReplica(config, v, accelerator),
      });
    }
  }
  return { variants, devices };
}

/** The requests of [end - warmup, end) moved to the front, then the span [0, end] after them. */
function withWarmup(trace: Trace, warmup: number, end: number): Trace {
  const prefix = trace.requests
    .filter((r) => r.arrival >= end - warmup && r.arrival < end)
    .map((r) => ({ ...r, arrival: r.arrival - (end - warmup) }));
  const body = trace.requests
    .filter((r) => r.arrival <= end)
    .map((r) => ({ ...r, arrival: r.arrival + warmup }));
  return { name: trace.name, requests: [...prefix, ...body], duration: warmup + end };
}
