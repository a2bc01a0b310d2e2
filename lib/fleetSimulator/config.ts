/**
 * Configuration of a simulated fleet, validated once at creation so that the event loop can
 * trust its inputs.
 */
import { z } from 'zod';
import { gatewaySchema, type GatewayConfig, type ParsedGatewayConfig } from './gateway.js';
import { stepTokenBudget, type ReplicaProfile } from './replica.js';

export interface VariantConfig {
  readonly name: string;
  /** default "default" */
  readonly namespace?: string;
  /** the `model_name` label of the variant's metrics */
  readonly model: string;
  /** accelerator type of the initial replicas */
  readonly accelerator: string;
  readonly profileByAccelerator: Readonly<Record<string, ReplicaProfile>>;
  /** replicas ready at time 0, placed on the initial nodes (any that do not fit wait for a node); default 0 */
  readonly initialReplicas?: number;
  /** requests held while the variant has no ready replica; arrivals beyond are dropped; default 10,000 */
  readonly maxQueuedRequests?: number;
  /**
   * The prefill role of a disaggregated variant: its engines compute the prompt (a one-token
   * request), then the prompt's KV goes over the prefill pod's link to a replica of
   * `decodeVariant`, which decodes (its profiles should have role 'decode'). Arrivals come here;
   * the decode variant's outcomes count in this variant's results. Default null (aggregated).
   */
  readonly handoff?: HandoffConfig | null;
}

export interface HandoffConfig {
  readonly decodeVariant: string;
  readonly kvBytesPerToken: number;
  /** one prefill pod's link, shared by its transfers in flight */
  readonly bandwidthBytesPerSecond: number;
  /** fixed time per transfer after its bytes (s) */
  readonly latencySeconds: number;
  /** chance a transfer fails (the decode pod then recomputes the prompt); default 0 */
  readonly failureProbability?: number;
}

export interface NodeGroupConfig {
  readonly name: string;
  readonly acceleratorType: string;
  readonly gpusPerNode: number;
  /** default 0 */
  readonly minNodes?: number;
  readonly maxNodes: number;
  /** nodes ready at time 0; default minNodes */
  readonly initialNodes?: number;
  /** delay from a scale-up to a running instance (s) */
  readonly provisionSeconds: number;
  /** then node initialisation (driver, device plugin) until Ready (s); default 0 */
  readonly initSeconds?: number;
  /**
   * Karpenter's consolidateAfter (s): a Ready node is removed once it has stayed empty this long,
   * by the simulation itself whatever setNodeGroupSize asked, and launches are never cancelled.
   * Default null: removed as soon as it is asked, and only then (node groups).
   */
  readonly consolidateAfterSeconds?: number | null;
}

/** How results are kept (resultBook.ts): aggregates per variant and time bin. */
export interface ResultsConfig {
  /** bins are [origin + k w, origin + (k + 1) w); default 0 */
  readonly origin?: number;
  /** bin width w (s); default 60 */
  readonly intervalSeconds?: number;
  /** per variant name, the targets each request is checked against when it completes; default none */
  readonly targets?: Readonly<Record<string, { readonly ttftMs?: number; readonly itlMs?: number }>>;
  /** also keep every request's record (memory grows with requests: tests, short runs); default false */
  readonly keepRecords?: boolean;
}

export interface FleetSimConfig {
  readonly variants: readonly VariantConfig[];
  readonly nodeGroups: readonly NodeGroupConfig[];
  /** default 1 */
  readonly seed?: number;
  /**
   * Relative spread of node and replica start-up phases: each phase is drawn uniformly
   * from base * [1 - j, 1 + j] with the seeded generator. Default 0 keeps them exact.
   */
  readonly delayJitter?: number;
  /**
   * Which ready replicas a scale-down drains: 'newest' (default: the ReplicaSet's order without
   * deletion costs) or 'least-busy' (fewest outstanding requests first, ties to the newest: the
   * order pod-deletion-cost gives when apply sets it, docs/ADOPTION.md)
   */
  readonly removalOrder?: RemovalOrder;
  /**
   * Expose vLLM 0.13's per-request time per output token (vllm:request_time_per_output_token_seconds:
   * decode time over the tokens after the first, the ITL a request is judged by). Default true,
   * as the servers users run (false: earlier versions, without it).
   */
  readonly requestTimePerOutputToken?: boolean;
  /** an endpoint picker with flow control in front of every variant (gateway.ts); default none */
  readonly gateway?: GatewayConfig;
  readonly results?: ResultsConfig;
}

export type RemovalOrder = 'newest' | 'least-busy';

export type ParsedVariantConfig = Required<VariantConfig>;
export type ParsedNodeGroupConfig = Required<NodeGroupConfig>;
export interface ParsedFleetSimConfig {
  readonly variants: readonly ParsedVariantConfig[];
  readonly nodeGroups: readonly ParsedNodeGroupConfig[];
  readonly seed: number;
  readonly delayJitter: number;
  readonly removalOrder: RemovalOrder;
  readonly requestTimePerOutputToken: boolean;
  readonly gateway?: ParsedGatewayConfig;
  readonly results: {
    readonly origin: number;
    readonly intervalSeconds: number;
    readonly targets: Readonly<Record<string, { readonly ttftMs: number; readonly itlMs: number }>>;
    readonly keepRecords: boolean;
  };
}

const nonNegative = z.number().finite().nonnegative();
const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

const replicaProfileSchema = z.object({
  alpha: nonNegative,
  beta: nonNegative,
  gamma: nonNegative,
  delta: nonNegative,
  maxBatchSize: positiveInt,
  kvCacheTokens: positiveInt,
  gpusPerReplica: positiveInt,
  loadSeconds: nonNegative,
  imagePullSeconds: nonNegative.optional(),
  blockSize: positiveInt.optional(),
  maxModelLen: positiveInt.optional(),
  maxNumBatchedTokens: positiveInt.optional(),
  chunkedPrefill: z.boolean().optional(),
  kvAllocation: z.enum(['on-demand', 'reserve']).optional(),
  role: z.enum(['prefill', 'decode']).optional(),
});

const handoffSchema = z.object({
  decodeVariant: z.string().min(1),
  kvBytesPerToken: z.number().finite().positive(),
  bandwidthBytesPerSecond: z.number().finite().positive(),
  latencySeconds: nonNegative,
  failureProbability: z.number().min(0).max(1).default(0),
});

const variantSchema = z.object({
  name: z.string().min(1),
  namespace: z.string().min(1).default('default'),
  model: z.string().min(1),
  accelerator: z.string().min(1),
  profileByAccelerator: z.record(
    z.string(),
    replicaProfileSchema.superRefine((profile, ctx) => {
      // vLLM refuses both at start-up: decodes must always fit a step, and so must an unchunked prompt.
      const budget = stepTokenBudget(profile);
      if (budget < profile.maxBatchSize) {
        ctx.addIssue({
          code: 'custom',
          path: ['maxNumBatchedTokens'],
          message: `must be >= maxBatchSize (${profile.maxBatchSize})`,
        });
      }
      const maxModelLen = profile.maxModelLen ?? profile.kvCacheTokens;
      if (profile.chunkedPrefill === false && budget < maxModelLen) {
        ctx.addIssue({
          code: 'custom',
          path: ['maxNumBatchedTokens'],
          message: `must be >= maxModelLen (${maxModelLen}) without chunked prefill`,
        });
      }
    }),
  ),
  initialReplicas: nonNegativeInt.default(0),
  maxQueuedRequests: nonNegativeInt.default(10_000),
  handoff: handoffSchema.nullable().default(null),
});

const nodeGroupSchema = z
  .object({
    name: z.string().min(1),
    acceleratorType: z.string().min(1),
    gpusPerNode: positiveInt,
    minNodes: nonNegativeInt.default(0),
    maxNodes: nonNegativeInt,
    initialNodes: nonNegativeInt.optional(),
    provisionSeconds: nonNegative,
    initSeconds: nonNegative.default(0),
    consolidateAfterSeconds: nonNegative.nullable().default(null),
  })
  .transform((group) => ({ ...group, initialNodes: group.initialNodes ?? group.minNodes }));

const fleetSimConfigSchema = z
  .object({
    variants: z.array(variantSchema).min(1),
    nodeGroups: z.array(nodeGroupSchema),
    seed: z.number().int().default(1),
    delayJitter: z.number().min(0).max(1).default(0),
    removalOrder: z.enum(['newest', 'least-busy']).default('newest'),
    requestTimePerOutputToken: z.boolean().default(true),
    gateway: gatewaySchema.optional(),
    results: z
      .object({
        origin: z.number().finite().default(0),
        intervalSeconds: z.number().finite().positive().default(60),
        targets: z
          .record(z.string(), z.object({ ttftMs: nonNegative.default(0), itlMs: nonNegative.default(0) }))
          .default({}),
        keepRecords: z.boolean().default(false),
      })
      .default({ origin: 0, intervalSeconds: 60, targets: {}, keepRecords: false }),
  })
  .superRefine((config, ctx) => {
    const issue = (message: string, path: (string | number)[]) =>
      ctx.addIssue({ code: 'custom', message, path });
    const variantNames = new Set<string>();
    config.variants.forEach((variant, i) => {
      if (variantNames.has(variant.name)) issue(`duplicate variant name "${variant.name}"`, ['variants', i]);
      variantNames.add(variant.name);
      if (!(variant.accelerator in variant.profileByAccelerator)) {
        issue(`no profile for the initial accelerator "${variant.accelerator}"`, [
          'variants',
          i,
          'accelerator',
        ]);
      }
    });
    const decodeOf = new Map<string, string>();
    config.variants.forEach((variant, i) => {
      const to = variant.handoff?.decodeVariant;
      if (to === undefined) return;
      const target = config.variants.find((v) => v.name === to);
      const path = ['variants', i, 'handoff', 'decodeVariant'];
      if (target === undefined) issue(`unknown variant "${to}"`, path);
      else if (to === variant.name || target.handoff !== null)
        issue(`"${to}" cannot decode: it prefills`, path);
      else if (decodeOf.has(to)) issue(`"${to}" already decodes for "${decodeOf.get(to)}"`, path);
      decodeOf.set(to, variant.name);
    });
    for (const name of Object.keys(config.results.targets)) {
      if (!variantNames.has(name)) issue(`unknown variant "${name}"`, ['results', 'targets', name]);
    }
    const groupNames = new Set<string>();
    config.nodeGroups.forEach((group, i) => {
      if (groupNames.has(group.name)) issue(`duplicate node group name "${group.name}"`, ['nodeGroups', i]);
      groupNames.add(group.name);
      if (group.maxNodes < group.minNodes) issue('maxNodes is below minNodes', ['nodeGroups', i, 'maxNodes']);
      if (group.initialNodes < group.minNodes || group.initialNodes > group.maxNodes) {
        issue('initialNodes is outside [minNodes, maxNodes]', ['nodeGroups', i, 'initialNodes']);
      }
    });
  }) satisfies z.ZodType<ParsedFleetSimConfig, FleetSimConfig>;

export class SimError extends Error {
  override name = 'SimError';
}

export function parseFleetSimConfig(config: FleetSimConfig): ParsedFleetSimConfig {
  const result = fleetSimConfigSchema.safeParse(config);
  if (!result.success)
    throw new SimError(`invalid fleet simulation config:\n${z.prettifyError(result.error)}`);
  return result.data;
}
