/**
 * Our configuration file (YAML or JSON). Every field is validated here, and a bad file is
 * reported with the path of the first bad field (see errors.ts).
 */
import { z } from 'zod';
import { SATURATION_POLICIES } from '../optimizer/system.js';

const name = z.string().min(1, 'must not be empty');
const nonNegative = z.number().nonnegative();
const positiveInt = z.number().int().positive();
const count = z.number().int().nonnegative();

export const acceleratorSchema = z
  .object({
    name: name.describe('accelerator configuration name, e.g. "L4" or "4xH100"'),
    type: name.optional().describe('device type counted against capacity and node groups; default: name'),
    multiplicity: positiveInt.default(1).describe('devices of `type` in one unit of this configuration'),
    costPerHour: nonNegative.describe('price of one unit per hour (any currency unit, used consistently)'),
  })
  .strict();

export const profileSchema = z
  .object({
    alpha: nonNegative.describe('decode iteration base time (ms)'),
    beta: nonNegative.describe('decode iteration time per request in the batch (ms)'),
    gamma: nonNegative.default(0).describe('prefill base time (ms)'),
    delta: nonNegative.default(0).describe('prefill time per input token per request in the batch (ms)'),
    maxBatchSize: positiveInt.describe('batch limit measured at `atTokens` output tokens'),
    atTokens: positiveInt.describe('output tokens at which maxBatchSize was measured'),
    acceleratorCount: positiveInt.default(1).describe('accelerator units one replica needs (e.g. 4 for TP4)'),
  })
  .strict();

export const modelSchema = z
  .object({
    name,
    profiles: z.record(z.string(), profileSchema).describe('performance profile per accelerator name'),
  })
  .strict();

export const targetSchema = z
  .object({
    ttftMs: nonNegative.default(0).describe('time to first token target (ms); 0 = none'),
    itlMs: nonNegative.default(0).describe('inter-token latency target (ms); 0 = none'),
    tps: nonNegative.default(0).describe('token throughput target (tokens/s); 0 = none'),
  })
  .strict();

export const serviceClassSchema = z
  .object({
    name,
    priority: z.number().int().min(1).max(100).describe('1 (highest) to 100'),
    targets: z.record(z.string(), targetSchema).describe('targets per model name'),
  })
  .strict();

export const variantSchema = z
  .object({
    name,
    namespace: name.default('default'),
    model: name,
    serviceClass: name,
    accelerators: z
      .array(name)
      .min(1)
      .optional()
      .describe('accelerators it may run on; default: every profiled one'),
    accelerator: name.optional().describe('pin to this accelerator (excludes `accelerators`)'),
    minReplicas: count.default(1),
    maxReplicas: count.optional().describe('upper bound on replicas; default: no bound'),
    maxBatchSize: count.default(0).describe("overrides the profile's batch limit when > 0"),
    keepAccelerator: z.boolean().default(false).describe('never move off the current accelerator'),
    load: z
      .object({
        arrivalRate: nonNegative.describe('requests per second'),
        avgInputTokens: nonNegative,
        avgOutputTokens: nonNegative,
      })
      .strict()
      .optional()
      .describe('a fixed load, for `sva solve`; the autoscaler measures it instead'),
    current: z
      .object({ accelerator: z.string().default(''), replicas: count.default(0) })
      .strict()
      .optional()
      .describe('the allocation it has now, for `sva solve`'),
  })
  .strict();

export const optimizerSchema = z
  .object({
    saturationPolicy: z.enum(SATURATION_POLICIES).default('None'),
    delayedBestEffort: z.boolean().default(false),
  })
  .strict();

const configObject = z
  .object({
    accelerators: z.array(acceleratorSchema).min(1),
    models: z.array(modelSchema).min(1),
    serviceClasses: z.array(serviceClassSchema).min(1),
    variants: z.array(variantSchema),
    capacity: z
      .union([z.literal('unlimited'), z.record(z.string(), count)])
      .default('unlimited')
      .describe('"unlimited", or devices available per accelerator type'),
    optimizer: optimizerSchema.default({ saturationPolicy: 'None', delayedBestEffort: false }),
  })
  .strict();

export type Config = z.output<typeof configObject>;

export const configSchema = configObject.superRefine((config, ctx) => checkReferences(config, ctx));

type RefineContext = z.RefinementCtx<Config>;

function duplicates(ctx: RefineContext, items: readonly { name: string }[], field: string): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.name))
      ctx.addIssue({ code: 'custom', path: [field, i, 'name'], message: `duplicate name ${item.name}` });
    seen.add(item.name);
  });
}

/** Cross-references between sections: every name used must be defined, and usable. */
function checkReferences(c: Config, ctx: RefineContext): void {
  duplicates(ctx, c.accelerators, 'accelerators');
  duplicates(ctx, c.models, 'models');
  duplicates(ctx, c.serviceClasses, 'serviceClasses');
  const accelerators = new Map(c.accelerators.map((a) => [a.name, a]));
  const models = new Map(c.models.map((m) => [m.name, m]));
  const classes = new Map(c.serviceClasses.map((s) => [s.name, s]));
  c.models.forEach((m, i) => {
    for (const acc of Object.keys(m.profiles)) {
      if (!accelerators.has(acc)) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', i, 'profiles', acc],
          message: `unknown accelerator ${acc}`,
        });
      }
    }
  });
  c.serviceClasses.forEach((s, i) => {
    for (const model of Object.keys(s.targets)) {
      if (!models.has(model)) {
        ctx.addIssue({
          code: 'custom',
          path: ['serviceClasses', i, 'targets', model],
          message: `unknown model ${model}`,
        });
      }
    }
  });
  const seenVariants = new Set<string>();
  c.variants.forEach((v, i) => {
    const at = (field: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: ['variants', i, field], message });
    const key = `${v.namespace}/${v.name}`;
    if (seenVariants.has(key)) at('name', `duplicate variant ${key}`);
    seenVariants.add(key);
    const model = models.get(v.model);
    if (!model) at('model', `unknown model ${v.model}`);
    const serviceClass = classes.get(v.serviceClass);
    if (!serviceClass) at('serviceClass', `unknown service class ${v.serviceClass}`);
    else if (!serviceClass.targets[v.model])
      at('serviceClass', `service class ${v.serviceClass} has no targets for model ${v.model}`);
    if (v.accelerator !== undefined && v.accelerators !== undefined)
      at('accelerator', 'give either accelerator or accelerators, not both');
    for (const acc of v.accelerator !== undefined ? [v.accelerator] : (v.accelerators ?? [])) {
      if (!accelerators.has(acc))
        at(v.accelerator !== undefined ? 'accelerator' : 'accelerators', `unknown accelerator ${acc}`);
      else if (model && !model.profiles[acc]) {
        at(
          v.accelerator !== undefined ? 'accelerator' : 'accelerators',
          `model ${v.model} has no profile on ${acc}`,
        );
      }
    }
    if (v.maxReplicas !== undefined && v.maxReplicas < v.minReplicas) {
      at('maxReplicas', `must be >= minReplicas (${v.minReplicas})`);
    }
  });
  if (c.capacity !== 'unlimited') {
    const types = new Set(c.accelerators.map((a) => a.type ?? a.name));
    for (const type of Object.keys(c.capacity)) {
      if (!types.has(type))
        ctx.addIssue({
          code: 'custom',
          path: ['capacity', type],
          message: `unknown accelerator type ${type}`,
        });
    }
  }
}
