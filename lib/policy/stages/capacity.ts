/**
 * Stage 5: the capacity every replica asked for needs, across the pool, in the domain's terms:
 * replicas by size per accelerator type, one capacity intent per pool evaluation. How devices
 * become machines (node groups, NodePools, node shapes) is the capacity provider's business.
 */
import type { Config, VariantConfig } from '../../config/schema.js';
import type { CapacityIntent } from '../capacity.js';
import { capacityIntent, type TypedReplicas } from '../capacityPlan.js';
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
    replicas,
  });
}
