/**
 * The capacity port: GPU capacity in the domain's terms, per accelerator type. The core plans
 * devices (replicas of a size on a type); how they become machines — node groups, NodePools,
 * node shapes, which instance goes — belongs to the provider behind this port.
 *
 * Capacity intents are versioned records, decided once per pool and evaluation and applied on
 * their own message group, never copied into the variants' decisions.
 */
import { z } from 'zod';

/** What the pool can count on for one accelerator type. */
export interface AcceleratorCapacity {
  readonly acceleratorType: string;
  /** devices one new node brings (the shape capacity is added in) */
  readonly devicesPerNode: number;
  /** devices on nodes that are ready and schedulable */
  readonly readyDevices: number;
  /** devices asked for that have not arrived yet */
  readonly startingDevices: number;
  /** devices that may still be added beyond ready and starting (node group max, NodePool limits) */
  readonly addableDevices: number;
  /** the time new capacity takes to become ready */
  readonly provisioningSeconds: number;
  /** price of one device per hour, when the provider knows it */
  readonly pricePerDeviceHour?: number;
  /** the last ask for this type that did not arrive in time: size on another accelerator */
  readonly insufficient?: InsufficientCapacity;
}

/**
 * Asked-for capacity that will not come: the type is out of stock (asked devices did not
 * arrive within the expected time) or the provider is at its limit (node group max, NodePool
 * limits). The next evaluation sizes on another allowed accelerator instead of waiting.
 */
export interface InsufficientCapacity {
  readonly kind: 'insufficient-capacity';
  readonly acceleratorType: string;
  readonly reason: 'not-arrived' | 'at-limit';
  /** devices the plan needs on this type */
  readonly askedDevices: number;
  /** devices there are (ready) */
  readonly availableDevices: number;
  /** epoch seconds of the ask that did not arrive (not-arrived) */
  readonly askedAt?: number;
  readonly detail: string;
}

/** Replicas of one size on one accelerator type. */
export interface ReplicaNeed {
  readonly devicesPerReplica: number;
  readonly replicas: number;
}

export const CAPACITY_VERSION = 1;

const count = z.number().int().nonnegative();

export const replicaNeedSchema = z
  .object({ devicesPerReplica: z.number().int().positive(), replicas: count })
  .strict();

export const acceleratorNeedSchema = z
  .object({
    acceleratorType: z.string().min(1),
    /** replicas by size: providers pack them onto their node shapes */
    replicas: z.array(replicaNeedSchema),
    /** the devices they take, for the record and providers that count devices only */
    devices: count,
  })
  .strict();

export const capacityIntentSchema = z
  .object({
    version: z.literal(CAPACITY_VERSION),
    kind: z.literal('capacity'),
    id: z.string().min(1),
    pool: z.string().min(1),
    /** the pool evaluation that decided it: removal waits until every variant reached it */
    poolSequence: count,
    /** the policy memory's generation, as in the decisions (absent: 0) */
    generation: count.optional(),
    issuedAt: z.string().datetime(),
    /** the pool's variants (`namespace/name`) whose decisions of this evaluation removal waits for */
    variants: z.array(z.string().min(1)),
    /** every accelerator type the pool may use; a type absent from the plan needs zero */
    accelerators: z.array(acceleratorNeedSchema),
  })
  .strict();

export type CapacityIntent = z.output<typeof capacityIntentSchema>;
export type AcceleratorNeed = z.output<typeof acceleratorNeedSchema>;

export class InvalidCapacityIntentError extends Error {
  override readonly name = 'InvalidCapacityIntentError';
}

/** Parses a capacity message body; the error names the first bad field. */
export function parseCapacityIntent(body: unknown): CapacityIntent {
  let doc = body;
  if (typeof body === 'string') {
    try {
      doc = JSON.parse(body);
    } catch {
      throw new InvalidCapacityIntentError('capacity intent is not JSON');
    }
  }
  const parsed = capacityIntentSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    throw new InvalidCapacityIntentError(`capacity${path}: ${issue.message}`);
  }
  return parsed.data;
}

/** Builds the need of one type from replicas by size (sizes merged, zero replicas dropped). */
export function acceleratorNeed(acceleratorType: string, replicas: readonly ReplicaNeed[]): AcceleratorNeed {
  const bySize = new Map<number, number>();
  for (const r of replicas) {
    if (r.replicas > 0) bySize.set(r.devicesPerReplica, (bySize.get(r.devicesPerReplica) ?? 0) + r.replicas);
  }
  const merged = [...bySize]
    .sort(([a], [b]) => b - a)
    .map(([devicesPerReplica, n]) => ({ devicesPerReplica, replicas: n }));
  return {
    acceleratorType,
    replicas: merged,
    devices: merged.reduce((s, r) => s + r.devicesPerReplica * r.replicas, 0),
  };
}

/**
 * Whole nodes of `devicesPerNode` the replicas need, counted per replica size (no mixing of
 * sizes on a node: a little more than perfect packing, never fewer than the replicas need).
 * A replica larger than a node cannot be placed: Infinity.
 */
export function nodesFor(replicas: readonly ReplicaNeed[], devicesPerNode: number): number {
  let nodes = 0;
  for (const r of replicas) {
    if (r.replicas === 0) continue;
    const perNode = Math.floor(devicesPerNode / r.devicesPerReplica);
    if (perNode === 0) return Infinity;
    nodes += Math.ceil(r.replicas / perNode);
  }
  return nodes;
}

export type CapacityChangeStatus =
  /** more capacity asked for (or already on its way) */
  | 'grown'
  /** capacity removed */
  | 'shrunk'
  | 'unchanged'
  /** fewer would do, but removal was not allowed now (variants behind, live pods, disruption budget) */
  | 'removal-skipped'
  | 'insufficient';

export interface CapacityChange {
  readonly acceleratorType: string;
  readonly status: CapacityChangeStatus;
  /** devices asked for or present before and after (ready + starting) */
  readonly devicesBefore: number;
  readonly devicesAfter: number;
  readonly detail: string;
  readonly insufficient?: InsufficientCapacity;
}

export interface CapacityReport {
  readonly changes: readonly CapacityChange[];
}

export interface ProvideOptions {
  /** epoch seconds */
  readonly now: number;
  /**
   * Whether removal may happen now: only when every variant of the pool has reached the
   * intent's pool sequence. Growth never waits for it.
   */
  readonly allowRemoval: boolean;
}

/** One provider of GPU capacity for a pool (managed node groups, Karpenter NodePools, the simulation). */
export interface CapacityProvider {
  /** Capacity per accelerator type, one entry for each type it provides among those asked. */
  observe(acceleratorTypes: readonly string[], now: number): Promise<AcceleratorCapacity[]>;
  /**
   * Asks for the capacity the intent needs and reports what it did. Grows at once; removes only
   * when allowed, and never below what the live cluster runs or is about to run.
   */
  provide(intent: CapacityIntent, options: ProvideOptions): Promise<CapacityReport>;
}

/** No capacity management: the pool runs on whatever the cluster has (capacity from the config). */
export const NO_CAPACITY_PROVIDER: CapacityProvider = {
  observe: async () => [],
  provide: async (intent) => ({
    changes: intent.accelerators.map((a) => ({
      acceleratorType: a.acceleratorType,
      status: 'unchanged' as const,
      devicesBefore: a.devices,
      devicesAfter: a.devices,
      detail: 'no capacity provider: capacity is not managed',
    })),
  }),
};
