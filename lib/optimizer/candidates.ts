/**
 * Candidate allocations of one server, one per accelerator configuration it may use
 * (docs/SIZING.md section 4), each valued against the server's current allocation.
 */
import {
  AnalyzerError,
  buildReplicaModel,
  evaluateAt,
  sizeReplica,
  type FlatTargetRule,
  type ItlModel,
  type ReplicaModel,
  type Sizing,
  type Targets,
} from '../analyzer/index.js';
import type {
  AcceleratorSpec,
  Allocation,
  CurrentAllocation,
  ModelProfile,
  OptimizerSettings,
  ServerSpec,
  SystemSpec,
} from './system.js';

/** Waiting places per batch place: Q = 10 N. */
export const QUEUE_TO_BATCH_RATIO = 10;
/** Share of both costs charged when a server moves to another accelerator. */
export const ACCELERATOR_CHANGE_PENALTY = 0.1;
/**
 * Demand within this relative distance above a whole number of replicas needs no extra
 * replica: r* comes from a root search with ~1e-10 tolerance, and the reference computes in
 * float32, so exact multiples must not round up on noise.
 */
const REPLICA_ROUNDING_SLACK = 1e-7;

export interface RankedCandidate {
  readonly allocation: Allocation;
  /** accelerator type counted against capacity */
  readonly type: string;
  /** devices of that type one replica takes */
  readonly unitsPerReplica: number;
}

/** Memory shared by the candidates of one solve: sizings depend only on profile, shape and targets. */
interface SizedReplica {
  readonly model: ReplicaModel;
  readonly sizing: Sizing;
}

interface ReplicaKey {
  readonly profile: ModelProfile;
  readonly n: number;
  readonly inTokens: number;
  readonly outTokens: number;
}

export interface SolveContext {
  readonly flatTargetRule: FlatTargetRule;
  readonly itlModel: ItlModel;
  /** sizings by key; only the scalars are kept, the service rates are rebuilt when needed */
  readonly sizings: Map<string, Sizing | AnalyzerError>;
  /** service-rate buffer shared by the models of one solve, which are used one at a time */
  scratch: Float64Array;
  evaluations: number;
}

export function newSolveContext(
  settings: Pick<OptimizerSettings, 'flatTargetRule' | 'itlModel'>,
): SolveContext {
  return {
    flatTargetRule: settings.flatTargetRule,
    itlModel: settings.itlModel,
    sizings: new Map(),
    scratch: new Float64Array(1024),
    evaluations: 0,
  };
}

/** Value of moving from `current` to a candidate with this accelerator, replica count and cost. */
export function transitionValue(
  current: CurrentAllocation,
  next: { accelerator: string; numReplicas: number; cost: number },
): number {
  if (current.accelerator === next.accelerator) {
    return current.numReplicas === next.numReplicas ? 0 : next.cost - current.cost;
  }
  return ACCELERATOR_CHANGE_PENALTY * (current.cost + next.cost) + (next.cost - current.cost);
}

/** What `replicas` replicas of a model on an accelerator cost per hour. */
export function allocationCost(
  acc: AcceleratorSpec,
  profile: Pick<ModelProfile, 'accCount'>,
  replicas: number,
): number {
  if (!acc.node) return acc.cost * profile.accCount * replicas;
  const devices = replicas * profile.accCount * acc.multiplicity;
  return Math.ceil(devices / acc.node.devices) * acc.node.cost;
}

/**
 * The effective batch limit N for a load with `avgOutTokens` output tokens: the reference's
 * maxBatchSize x atTokens / output, or, given the KV a request in flight holds and the profile's
 * cache, what the cache holds within maxBatchSize (lib/policy/kvBatch.ts).
 */
export function effectiveBatchSize(
  profile: Pick<ModelProfile, 'maxBatchSize' | 'atTokens' | 'kvCacheTokens'>,
  override: number | undefined,
  avgOutTokens: number,
  kvTokensPerRequest?: number,
): number {
  if (override !== undefined && override > 0) return override;
  if (profile.kvCacheTokens !== undefined && kvTokensPerRequest !== undefined && kvTokensPerRequest > 0) {
    return Math.max(
      Math.min(Math.floor(profile.kvCacheTokens / kvTokensPerRequest), profile.maxBatchSize),
      1,
    );
  }
  return Math.max(Math.floor((profile.maxBatchSize * profile.atTokens) / avgOutTokens), 1);
}

function sizingKey(
  profile: ModelProfile,
  n: number,
  inTokens: number,
  outTokens: number,
  t: Targets,
): string {
  return `${profile.alpha}|${profile.beta}|${profile.gamma}|${profile.delta}|${n}|${inTokens}|${outTokens}|${t.ttft}|${t.itl}|${t.tps}`;
}

function replicaModel(ctx: SolveContext, key: ReplicaKey): ReplicaModel {
  if (ctx.scratch.length < key.n) ctx.scratch = new Float64Array(Math.max(key.n, 2 * ctx.scratch.length));
  return buildReplicaModel(
    key.profile,
    { avgInputTokens: key.inTokens, avgOutputTokens: key.outTokens },
    { maxBatchSize: key.n, maxQueueSize: key.n * QUEUE_TO_BATCH_RATIO, itlModel: ctx.itlModel },
    ctx.scratch,
  );
}

/** The sizing for a key, and the replica model in the scratch buffer, valid until the next call. */
function cachedSizing(ctx: SolveContext, key: ReplicaKey, targets: Targets): SizedReplica | AnalyzerError {
  const cacheKey = sizingKey(key.profile, key.n, key.inTokens, key.outTokens, targets);
  const cached = ctx.sizings.get(cacheKey);
  if (cached instanceof AnalyzerError) return cached;
  try {
    const model = replicaModel(ctx, key);
    if (cached) return { model, sizing: cached };
    const sizing = sizeReplica(model, targets, ctx.flatTargetRule);
    ctx.evaluations += sizing.evaluations;
    ctx.sizings.set(cacheKey, sizing);
    return { model, sizing };
  } catch (err) {
    if (!(err instanceof AnalyzerError)) throw err;
    ctx.sizings.set(cacheKey, err);
    return err;
  }
}

function zeroLoadCandidate(
  server: ServerSpec,
  acc: AcceleratorSpec,
  profile: ModelProfile,
): Omit<Allocation, 'value'> {
  const n =
    server.maxBatchSize !== undefined && server.maxBatchSize > 0 ? server.maxBatchSize : profile.maxBatchSize;
  const prefill = profile.gamma + profile.delta;
  // As the reference: single-request latencies, and a nominal rate at a full batch.
  const fullBatchServiceTime = prefill + profile.alpha + profile.beta * n;
  return {
    accelerator: acc.name,
    numReplicas: server.minReplicas,
    maxBatch: n,
    cost: allocationCost(acc, profile, server.minReplicas),
    itlAverage: profile.alpha + profile.beta,
    ttftAverage: prefill,
    rho: 0,
    maxRatePerReplica: (n / fullBatchServiceTime) * 1000,
  };
}

const EMPTY_ALLOCATION: Omit<Allocation, 'value'> = {
  accelerator: '',
  numReplicas: 0,
  maxBatch: 0,
  cost: 0,
  itlAverage: 0,
  ttftAverage: 0,
  rho: 0,
  maxRatePerReplica: 0,
};

/** Accelerators a server may use, in name order. */
function eligibleAccelerators(system: SystemSpec, server: ServerSpec): AcceleratorSpec[] {
  let accs = [...system.accelerators].sort((a, b) => compareNames(a.name, b.name));
  if (server.keepAccelerator && server.current.accelerator !== '') {
    accs = accs.filter((a) => a.name === server.current.accelerator);
  }
  if (server.allowedAccelerators) {
    const allowed = new Set(server.allowedAccelerators);
    accs = accs.filter((a) => allowed.has(a.name));
  }
  return accs;
}

export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface ServerCandidates {
  /** sorted by value, then accelerator name */
  readonly candidates: RankedCandidate[];
  readonly notes: string[];
  /**
   * r* of every accelerator that meets the targets at some rate, maxReplicas aside (req/s); where
   * no rate meets the per-request ITL cap, the averages' r*
   */
  readonly ratesPerReplica: Map<string, number>;
}

export function buildCandidates(system: SystemSpec, server: ServerSpec, ctx: SolveContext): ServerCandidates {
  const notes: string[] = [];
  const rates = new Map<string, number>();
  const model = system.models.get(server.model);
  const serviceClass = system.serviceClasses.get(server.serviceClass);
  const targets = serviceClass?.targets.get(server.model);
  if (!model)
    return {
      candidates: [],
      notes: [`model ${server.model} has no performance profile`],
      ratesPerReplica: rates,
    };
  if (!serviceClass)
    return {
      candidates: [],
      notes: [`service class ${server.serviceClass} is not defined`],
      ratesPerReplica: rates,
    };
  if (!targets) {
    return {
      candidates: [],
      notes: [`service class ${server.serviceClass} has no targets for ${server.model}`],
      ratesPerReplica: rates,
    };
  }
  const { load } = server;
  const idle = load.arrivalRate === 0 || load.avgOutTokens === 0;
  const ranked: RankedCandidate[] = [];
  const add = (acc: AcceleratorSpec, profile: ModelProfile, allocation: Omit<Allocation, 'value'>) => {
    const value = transitionValue(server.current, allocation);
    ranked.push({
      allocation: { ...allocation, value },
      type: acc.type,
      unitsPerReplica: profile.accCount * acc.multiplicity,
    });
  };

  for (const acc of eligibleAccelerators(system, server)) {
    const profile = model.profiles.get(acc.name);
    if (!profile) continue;
    if (idle) {
      if (server.minReplicas === 0) {
        // One empty candidate, whatever the accelerator: an idle server with no minimum needs nothing.
        add(acc, profile, EMPTY_ALLOCATION);
        break;
      }
      add(acc, profile, zeroLoadCandidate(server, acc, profile));
      continue;
    }
    const n = effectiveBatchSize(profile, server.maxBatchSize, load.avgOutTokens, load.kvTokensPerRequest);
    const sized = cachedSizing(
      ctx,
      { profile, n, inTokens: load.avgInTokens, outTokens: load.avgOutTokens },
      targets,
    );
    if (sized instanceof AnalyzerError) {
      notes.push(`${acc.name}: ${sized.message}`);
      continue;
    }
    const { sizing } = sized;
    if (!sizing.feasible) {
      notes.push(`${acc.name}: ${sizing.reason}`);
      continue;
    }
    const demand = targets.tps > 0 ? targets.tps / load.avgOutTokens : load.arrivalRate / 60;
    const cap = server.rateCaps?.get(acc.name);
    if (cap !== undefined && !(cap > 0)) {
      notes.push(`${acc.name}: no rate meets the rate cap (${server.name}'s per-request ITL)`);
      // the averages' r* still measures what the demand asks of this accelerator
      rates.set(acc.name, sizing.maxRate);
      continue;
    }
    const maxRate = cap !== undefined ? Math.min(sizing.maxRate, cap) : sizing.maxRate;
    rates.set(acc.name, maxRate);
    const needed = Math.ceil((demand / maxRate) * (1 - REPLICA_ROUNDING_SLACK));
    const replicas = Math.max(needed, server.minReplicas);
    if (server.maxReplicas !== undefined && replicas > server.maxReplicas) {
      notes.push(`${acc.name}: needs ${replicas} replicas, above the maximum ${server.maxReplicas}`);
      continue;
    }
    ctx.evaluations++;
    const perReplica = evaluateAt(sized.model, demand / replicas);
    add(acc, profile, {
      accelerator: acc.name,
      numReplicas: replicas,
      maxBatch: n,
      cost: allocationCost(acc, profile, replicas),
      itlAverage: perReplica.itl,
      ttftAverage: perReplica.ttft,
      rho: perReplica.rho,
      maxRatePerReplica: maxRate,
    });
  }
  ranked.sort(
    (a, b) =>
      a.allocation.value - b.allocation.value ||
      compareNames(a.allocation.accelerator, b.allocation.accelerator),
  );
  for (const c of ranked)
    if (!rates.has(c.allocation.accelerator))
      rates.set(c.allocation.accelerator, c.allocation.maxRatePerReplica);
  return { candidates: ranked, notes, ratesPerReplica: rates };
}
