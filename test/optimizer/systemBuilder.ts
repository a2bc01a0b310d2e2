/**
 * Tiny hand-built systems for optimizer tests, whose answers follow from reasoning.
 *
 * The default profile makes a replica's service time constant: alpha 10 ms, beta = gamma =
 * delta = 0, and the default shape (100 input, 11 output tokens) gives S = 10 * 10 ms = 100 ms
 * at any batch size, with N = floor(10 * 11 / 11) = 10. So one replica sustains UNIT_RATE req/s
 * (about 99: 0.999 * mu(N) less what the full queue turns away), and a load is given in
 * "replicas' worth" of that rate. A profile with alpha 5 sustains exactly twice as much, one
 * with alpha 20 exactly half (the chain only sees lambda / mu, and halving is exact in floating
 * point). ITL is alpha at every load, so an ITL target below alpha makes an accelerator infeasible.
 */
import { buildReplicaModel, sizeReplica, type Targets } from '../../lib/analyzer/index.js';
import {
  QUEUE_TO_BATCH_RATIO,
  type AcceleratorSpec,
  type ModelProfile,
  type ModelSpec,
  type SaturationPolicy,
  type ServerSpec,
  type ServiceClassSpec,
  type Solution,
  type SystemSpec,
} from '../../lib/optimizer/index.js';

export const UNIT_PROFILE: ModelProfile = {
  alpha: 10,
  beta: 0,
  gamma: 0,
  delta: 0,
  maxBatchSize: 10,
  atTokens: 11,
  accCount: 1,
};
export const DEFAULT_SHAPE = { avgInTokens: 100, avgOutTokens: 11 } as const;
/** ITL target of the default class: met by alpha <= 50 ms. */
export const DEFAULT_TARGETS: Targets = { ttft: 0, itl: 50, tps: 0 };
export const DEFAULT_MODEL = 'm';
export const DEFAULT_CLASS = 'gold';

/** Sustainable rate r* (req/s) of one replica with UNIT_PROFILE and the default shape. */
export const UNIT_RATE = (() => {
  const n = UNIT_PROFILE.maxBatchSize;
  const model = buildReplicaModel(
    UNIT_PROFILE,
    { avgInputTokens: DEFAULT_SHAPE.avgInTokens, avgOutputTokens: DEFAULT_SHAPE.avgOutTokens },
    { maxBatchSize: n, maxQueueSize: n * QUEUE_TO_BATCH_RATIO },
  );
  const sizing = sizeReplica(model, DEFAULT_TARGETS, 'strict');
  if (!sizing.feasible) throw new Error('the unit profile must be feasible');
  return sizing.maxRate;
})();

/** Arrival rate (req/min, as the optimizer takes it) worth `replicas` unit replicas. */
export function rpm(replicas: number): number {
  return replicas * UNIT_RATE * 60;
}

export interface AcceleratorInput {
  name: string;
  cost: number;
  type?: string;
  multiplicity?: number;
}

export interface ServerInput {
  name: string;
  model?: string;
  serviceClass?: string;
  /** load in unit replicas' worth (default 1); ignored when arrivalRate is given */
  load?: number;
  /** req/min */
  arrivalRate?: number;
  avgInTokens?: number;
  avgOutTokens?: number;
  /** current allocation; cost defaults to accelerator cost * accCount * replicas */
  current?: { accelerator: string; numReplicas: number; cost?: number };
  minReplicas?: number;
  maxReplicas?: number;
  maxBatchSize?: number;
  keepAccelerator?: boolean;
  allowedAccelerators?: string[];
}

export interface ClassInput {
  name: string;
  priority: number;
  /** targets for every model (default DEFAULT_TARGETS) */
  targets?: Partial<Targets>;
}

export interface SystemInput {
  accelerators: AcceleratorInput[];
  /**
   * Profile overrides per model, per accelerator; an accelerator absent from a model's record has
   * no profile for it. Default: model "m" with UNIT_PROFILE on every accelerator.
   */
  models?: Record<string, Record<string, Partial<ModelProfile>>>;
  classes?: ClassInput[];
  servers: ServerInput[];
  /** devices per type; absent means unlimited mode */
  capacity?: Record<string, number>;
  saturationPolicy?: SaturationPolicy;
  delayedBestEffort?: boolean;
}

export function buildSystem(input: SystemInput): SystemSpec {
  const accelerators: AcceleratorSpec[] = input.accelerators.map((a) => ({
    name: a.name,
    type: a.type ?? a.name,
    multiplicity: a.multiplicity ?? 1,
    cost: a.cost,
  }));
  const modelInput = input.models ?? {
    [DEFAULT_MODEL]: Object.fromEntries(input.accelerators.map((a) => [a.name, {}])),
  };
  const models = new Map<string, ModelSpec>(
    Object.entries(modelInput).map(([name, profiles]) => [
      name,
      {
        name,
        profiles: new Map(Object.entries(profiles).map(([acc, p]) => [acc, { ...UNIT_PROFILE, ...p }])),
      },
    ]),
  );
  const classInput = input.classes ?? [{ name: DEFAULT_CLASS, priority: 1 }];
  const serviceClasses = new Map<string, ServiceClassSpec>(
    classInput.map((c) => [
      c.name,
      {
        name: c.name,
        priority: c.priority,
        targets: new Map([...models.keys()].map((m) => [m, { ...DEFAULT_TARGETS, ...c.targets }])),
      },
    ]),
  );
  const costOf = new Map(accelerators.map((a) => [a.name, a.cost]));
  const servers: ServerSpec[] = input.servers.map((s) => {
    const model = s.model ?? DEFAULT_MODEL;
    const current = s.current ?? { accelerator: '', numReplicas: 0 };
    const accCount = models.get(model)?.profiles.get(current.accelerator)?.accCount ?? 1;
    return {
      name: s.name,
      model,
      serviceClass: s.serviceClass ?? classInput[0]!.name,
      load: {
        arrivalRate: s.arrivalRate ?? rpm(s.load ?? 1),
        avgInTokens: s.avgInTokens ?? DEFAULT_SHAPE.avgInTokens,
        avgOutTokens: s.avgOutTokens ?? DEFAULT_SHAPE.avgOutTokens,
      },
      current: {
        accelerator: current.accelerator,
        numReplicas: current.numReplicas,
        cost: current.cost ?? (costOf.get(current.accelerator) ?? 0) * accCount * current.numReplicas,
      },
      minReplicas: s.minReplicas ?? 0,
      maxReplicas: s.maxReplicas,
      maxBatchSize: s.maxBatchSize,
      keepAccelerator: s.keepAccelerator ?? false,
      allowedAccelerators: s.allowedAccelerators,
    };
  });
  return {
    accelerators,
    models,
    serviceClasses,
    servers,
    capacity: new Map(Object.entries(input.capacity ?? {})),
    optimizer: {
      unlimited: input.capacity === undefined,
      saturationPolicy: input.saturationPolicy ?? 'None',
      delayedBestEffort: input.delayedBestEffort ?? false,
      flatTargetRule: 'strict',
      // As the reference: ITL is the decode time (with delta = 0 the other model gives the same).
      itlModel: 'decode',
    },
  };
}

/** server -> "accelerator*replicas", for compact assertions; absent servers are left out. */
export function placements(solution: Solution): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, a] of [...solution.allocations].sort(([x], [y]) => (x < y ? -1 : 1))) {
    out[name] = `${a.accelerator}*${a.numReplicas}`;
  }
  return out;
}
