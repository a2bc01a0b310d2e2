/**
 * The pool's capacity, planned in devices per accelerator type: what the sizing may count on
 * (from what the capacity provider reports), and the one capacity intent per pool evaluation
 * that asks for what the variants' plans need. Pure.
 */
import {
  acceleratorNeed,
  CAPACITY_VERSION,
  type AcceleratorCapacity,
  type CapacityIntent,
  type ReplicaNeed,
} from './capacity.js';

/**
 * Devices per type the optimizer may place replicas on: the configured capacity where the
 * config gives one, bounded by what the provider can reach (ready + starting + addable). A type
 * whose last ask did not arrive (out of stock, at its limit) counts only its ready devices, so
 * the sizing moves the rest to another allowed accelerator instead of waiting on it.
 * undefined: unlimited (no configured capacity and no provider).
 */
export function sizingCapacity(
  configured: ReadonlyMap<string, number> | undefined,
  observed: readonly AcceleratorCapacity[],
): Map<string, number> | undefined {
  if (!configured && observed.length === 0) return undefined;
  const out = new Map(configured ?? []);
  for (const c of observed) {
    const reachable = c.insufficient ? c.readyDevices : c.readyDevices + c.startingDevices + c.addableDevices;
    const bound = out.get(c.acceleratorType);
    out.set(c.acceleratorType, bound === undefined ? reachable : Math.min(bound, reachable));
  }
  return out;
}

/** Replicas of one size asked for on one accelerator type by one variant's plan. */
export interface TypedReplicas extends ReplicaNeed {
  readonly acceleratorType: string;
}

export interface CapacityIntentInput {
  readonly pool: string;
  readonly poolSequence: number;
  /** the policy memory's generation */
  readonly generation?: number;
  /** epoch seconds */
  readonly now: number;
  /** every variant of the pool, `namespace/name` */
  readonly variants: readonly string[];
  /** every accelerator type the pool may use: a type with no replicas needs zero devices */
  readonly acceleratorTypes: readonly string[];
  readonly replicas: readonly TypedReplicas[];
}

/** The pool's one capacity intent for this evaluation. */
export function capacityIntent(input: CapacityIntentInput): CapacityIntent {
  const types = [
    ...new Set([...input.acceleratorTypes, ...input.replicas.map((r) => r.acceleratorType)]),
  ].sort();
  return {
    version: CAPACITY_VERSION,
    kind: 'capacity',
    id: `${input.pool}#${input.poolSequence}`,
    pool: input.pool,
    poolSequence: input.poolSequence,
    ...(input.generation !== undefined ? { generation: input.generation } : {}),
    issuedAt: new Date(input.now * 1000).toISOString(),
    variants: [...input.variants].sort(),
    accelerators: types.map((type) =>
      acceleratorNeed(
        type,
        input.replicas.filter((r) => r.acceleratorType === type),
      ),
    ),
  };
}

/** SQS FIFO message group of a pool's capacity intents: in order among themselves, apart from the variants'. */
export function capacityMessageGroupId(intent: Pick<CapacityIntent, 'pool'>): string {
  return `capacity/${intent.pool}`;
}

/** SQS FIFO deduplication id: one intent per pool evaluation. */
export function capacityDeduplicationId(intent: Pick<CapacityIntent, 'pool' | 'poolSequence'>): string {
  return `capacity.${intent.pool}.${intent.poolSequence}`.replace(
    /[^A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g,
    '_',
  );
}

/**
 * Whether removal may happen for this intent: every variant of the pool has finished or
 * dropped its decision of this evaluation (or a newer one). Otherwise the capacity decision
 * skips removal and leaves it to the next evaluation; it never waits.
 */
export function removalAllowed(
  intent: Pick<CapacityIntent, 'poolSequence' | 'variants'>,
  reached: ReadonlyMap<string, number>,
): boolean {
  return intent.variants.every((v) => (reached.get(v) ?? -1) >= intent.poolSequence);
}
