/**
 * Importer for Inferno's SystemSpec JSON (`{"system": {...}}`, the files of llm-inferno/sample-data).
 * Go's encoding/json matches keys case-insensitively, and the samples rely on it
 * ("AvgInTokens"), so keys are first mapped onto their canonical spelling.
 */
import { z } from 'zod';
import { SATURATION_POLICIES, type ServerLoad, type SystemSpec } from '../optimizer/system.js';
import { InputError, zodToInputError } from './errors.js';
import { duplicateMessage, repeats } from './duplicates.js';

const nonNegative = z.number().nonnegative();
const count = z.number().int().nonnegative();

const acceleratorSchema = z.object({
  name: z.string().min(1),
  type: z.string().min(1),
  // Go decodes a missing multiplicity as 0, which would make the accelerator take no capacity.
  multiplicity: z.number().int().positive().default(1),
  cost: nonNegative,
});

const perfSchema = z.object({
  name: z.string().min(1),
  acc: z.string().min(1),
  // As the reference: a missing or non-positive count means one unit.
  accCount: z
    .number()
    .int()
    .default(1)
    .transform((n) => (n > 0 ? n : 1)),
  maxBatchSize: z.number().int().positive(),
  atTokens: z.number().int().positive(),
  decodeParms: z.object({ alpha: nonNegative, beta: nonNegative }),
  prefillParms: z.object({ gamma: nonNegative, delta: nonNegative }).default({ gamma: 0, delta: 0 }),
});

const classSchema = z.object({
  name: z.string().min(1),
  priority: z.number().int().nonnegative(),
  modelTargets: z
    .array(
      z.object({
        model: z.string().min(1),
        'slo-ttft': nonNegative.default(0),
        'slo-itl': nonNegative.default(0),
        'slo-tps': nonNegative.default(0),
      }),
    )
    .default([]),
});

const loadSchema = z.object({
  arrivalRate: nonNegative.default(0),
  avgInTokens: nonNegative.default(0),
  avgOutTokens: nonNegative.default(0),
});

const serverSchema = z.object({
  name: z.string().min(1),
  // The reference's default class name.
  class: z.string().default('Free'),
  model: z.string().min(1),
  keepAccelerator: z.boolean().default(false),
  minNumReplicas: count.default(0),
  maxBatchSize: count.default(0),
  currentAlloc: z
    .object({
      accelerator: z.string().default(''),
      numReplicas: count.default(0),
      cost: nonNegative.default(0),
      load: loadSchema.default({ arrivalRate: 0, avgInTokens: 0, avgOutTokens: 0 }),
    })
    .default({
      accelerator: '',
      numReplicas: 0,
      cost: 0,
      load: { arrivalRate: 0, avgInTokens: 0, avgOutTokens: 0 },
    }),
});

const optimizerSchema = z.object({
  unlimited: z.boolean().default(false),
  saturationPolicy: z.enum(SATURATION_POLICIES).default('None'),
  delayedBestEffort: z.boolean().default(false),
});

export const infernoSystemSchema = z.object({
  system: z.object({
    acceleratorData: z.object({ accelerators: z.array(acceleratorSchema) }),
    capacityData: z
      .object({ count: z.array(z.object({ type: z.string().min(1), count })).default([]) })
      .default({ count: [] }),
    modelData: z.object({ models: z.array(perfSchema) }),
    serviceClassData: z.object({ serviceClasses: z.array(classSchema) }),
    serverData: z.object({ servers: z.array(serverSchema) }),
    optimizerData: z
      .object({
        optimizer: optimizerSchema.default({
          unlimited: false,
          saturationPolicy: 'None',
          delayedBestEffort: false,
        }),
      })
      .default({ optimizer: { unlimited: false, saturationPolicy: 'None', delayedBestEffort: false } }),
  }),
});

export type InfernoSystem = z.infer<typeof infernoSystemSchema>;

const CANONICAL_KEYS = [
  'system',
  'acceleratorData',
  'accelerators',
  'name',
  'type',
  'multiplicity',
  'memSize',
  'memBW',
  'power',
  'cost',
  'capacityData',
  'count',
  'modelData',
  'models',
  'acc',
  'accCount',
  'maxBatchSize',
  'atTokens',
  'decodeParms',
  'alpha',
  'beta',
  'prefillParms',
  'gamma',
  'delta',
  'serviceClassData',
  'serviceClasses',
  'priority',
  'modelTargets',
  'model',
  'slo-ttft',
  'slo-itl',
  'slo-tps',
  'serverData',
  'servers',
  'class',
  'keepAccelerator',
  'minNumReplicas',
  'currentAlloc',
  'desiredAlloc',
  'accelerator',
  'numReplicas',
  'maxBatch',
  'itlAverage',
  'ttftAverage',
  'load',
  'arrivalRate',
  'avgInTokens',
  'avgOutTokens',
  'optimizerData',
  'optimizer',
  'unlimited',
  'heterogeneous',
  'milpSolver',
  'useCplex',
  'saturationPolicy',
  'delayedBestEffort',
];
const CANONICAL = new Map(CANONICAL_KEYS.map((k) => [k.toLowerCase(), k]));

/** Renames keys that match a known field case-insensitively; unknown keys are kept as they are. */
export function canonicalizeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalizeKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[CANONICAL.get(key.toLowerCase()) ?? key] = canonicalizeKeys(inner);
  }
  return out;
}

export function isInfernoDocument(doc: unknown): boolean {
  return (
    doc !== null && typeof doc === 'object' && Object.keys(doc).some((k) => k.toLowerCase() === 'system')
  );
}

/** The conformance fixtures wrap a SystemSpec file as `{"system": {"system": {...}}, "solution": ...}`. */
function unwrapFixture(doc: unknown): unknown {
  const inner = (doc as { system?: unknown }).system;
  const isWrapped =
    inner !== null && typeof inner === 'object' && 'system' in inner && !('acceleratorData' in inner);
  return isWrapped ? inner : doc;
}

export function parseInfernoSystem(doc: unknown, source: string): InfernoSystem {
  const parsed = infernoSystemSchema.safeParse(unwrapFixture(canonicalizeKeys(doc)));
  if (!parsed.success) throw zodToInputError(source, parsed.error);
  return parsed.data;
}

/** Converts a parsed Inferno system into the optimizer's shape. */
export function infernoToSystem(data: InfernoSystem, source: string): SystemSpec {
  const s = data.system;
  const [dupAcc] = repeats(s.acceleratorData.accelerators.map((a) => a.name));
  if (dupAcc)
    throw new InputError(
      `${source}: system.acceleratorData.accelerators[${dupAcc.index}].name: ${duplicateMessage('accelerator', dupAcc.value)}`,
    );
  const [dupServer] = repeats(s.serverData.servers.map((v) => v.name));
  if (dupServer)
    throw new InputError(
      `${source}: system.serverData.servers[${dupServer.index}].name: ${duplicateMessage('server', dupServer.value)}`,
    );
  const known = new Set(s.acceleratorData.accelerators.map((a) => a.name));
  s.modelData.models.forEach((m, i) => {
    if (!known.has(m.acc))
      throw new InputError(`${source}: system.modelData.models[${i}].acc: unknown accelerator ${m.acc}`);
  });
  const accelerators = s.acceleratorData.accelerators.map((a) => ({
    name: a.name,
    type: a.type,
    multiplicity: a.multiplicity,
    cost: a.cost,
  }));
  const models = new Map<string, { name: string; profiles: Map<string, SystemProfile> }>();
  for (const m of s.modelData.models) {
    let model = models.get(m.name);
    if (!model) models.set(m.name, (model = { name: m.name, profiles: new Map() }));
    model.profiles.set(m.acc, {
      alpha: m.decodeParms.alpha,
      beta: m.decodeParms.beta,
      gamma: m.prefillParms.gamma,
      delta: m.prefillParms.delta,
      maxBatchSize: m.maxBatchSize,
      atTokens: m.atTokens,
      accCount: m.accCount,
    });
  }
  const serviceClasses = new Map(
    s.serviceClassData.serviceClasses.map((c) => [
      c.name,
      {
        name: c.name,
        priority: c.priority,
        targets: new Map(
          c.modelTargets.map((t) => [t.model, { ttft: t['slo-ttft'], itl: t['slo-itl'], tps: t['slo-tps'] }]),
        ),
      },
    ]),
  );
  const servers = s.serverData.servers.map((v) => {
    const load: ServerLoad = v.currentAlloc.load;
    return {
      name: v.name,
      model: v.model,
      serviceClass: v.class === '' ? 'Free' : v.class,
      load,
      current: {
        accelerator: v.currentAlloc.accelerator,
        numReplicas: v.currentAlloc.numReplicas,
        cost: v.currentAlloc.cost,
      },
      minReplicas: v.minNumReplicas,
      maxBatchSize: v.maxBatchSize,
      keepAccelerator: v.keepAccelerator,
    };
  });
  const capacity = new Map(s.capacityData.count.map((c) => [c.type, c.count]));
  const system: SystemSpec = {
    accelerators,
    models,
    serviceClasses,
    servers,
    capacity,
    // Inferno inputs are judged as the reference judges them (see FlatTargetRule).
    optimizer: { ...s.optimizerData.optimizer, flatTargetRule: 'reference', itlModel: 'decode' },
  };
  return system;
}

type SystemProfile =
  SystemSpec['models'] extends ReadonlyMap<string, infer M>
    ? M extends { profiles: ReadonlyMap<string, infer P> }
      ? P
      : never
    : never;

export { InputError };
