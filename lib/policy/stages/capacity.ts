/**
 * Stage 5: the capacity every replica asked for needs, across the pool, in the domain's terms:
 * replicas by size per accelerator type, one capacity intent per pool evaluation. How devices
 * become machines (node groups, NodePools, node shapes) is the capacity provider's business.
 */
import type { Config, VariantConfig } from '../../config/schema.js';
import type { CapacityIntent } from '../capacity.js';
import { capacityIntent, type TypedReplicas } from '../capacityPlan.js';
import { deviceBound } from '../../config/capacityBounds.js';
import { acceleratorType, allowedAccelerators, devicesPerReplica } from '../../config/resolved.js';

/** What capacity needs to know of a variant's decision. */
export interface ReplicasAsked {
  readonly key: string;
  readonly v: VariantConfig;
  /** replicas per accelerator */
  readonly deployments: ReadonlyMap<string, number>;
}

export interface CapacityContext {
  readonly pool: string;
  readonly poolSequence: number;
  /** epoch seconds */
  readonly now: number;
}

/** The pool's capacity intent: every accelerator type its variants may use, with the replicas asked for. */
export function planCapacity(
  config: Config,
  variants: readonly ReplicasAsked[],
  ctx: CapacityContext,
): CapacityIntent {
  const replicas: TypedReplicas[] = [];
  const types = new Set<string>();
  for (const { v, deployments } of variants) {
    for (const acc of allowedAccelerators(config, v)) {
      const type = acceleratorType(config, acc);
      if (type) types.add(type);
    }
    for (const [acc, n] of deployments) {
      const type = acceleratorType(config, acc);
      if (type && n > 0)
        replicas.push({
          acceleratorType: type,
          devicesPerReplica: devicesPerReplica(config, v, acc),
          replicas: n,
        });
    }
  }
  return capacityIntent({
    ...ctx,
    variants: variants.map((v) => v.key),
    acceleratorTypes: [...types],
    replicas: withinBounds(config, replicas),
  });
}

/**
 * The replicas asked for, within the most devices of each type the config lets the pool hold.
 * More can be asked for than fits (a move keeps the old replicas until the new ones serve, and
 * the optimizer may ask beyond a bound it does not know): no provider could bring the excess,
 * and apply rejects an intent beyond the bound, so it is left out here, in the variants' order.
 */
function withinBounds(config: Config, replicas: readonly TypedReplicas[]): TypedReplicas[] {
  const left = new Map<string, number>();
  const kept: TypedReplicas[] = [];
  for (const r of replicas) {
    const bound = left.get(r.acceleratorType) ?? deviceBound(config, r.acceleratorType) ?? Infinity;
    const n = Math.min(r.replicas, Math.floor(bound / r.devicesPerReplica));
    left.set(r.acceleratorType, bound - n * r.devicesPerReplica);
    if (n > 0) kept.push({ ...r, replicas: n });
  }
  return kept;
}
