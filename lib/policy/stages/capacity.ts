/**
 * Stage 5: the capacity every replica asked for needs, across the pool. Today that is the node
 * groups' sizes; this stage is the only one that knows about node groups, so that a capacity
 * port per accelerator type can replace them here alone.
 */
import type { Config, VariantConfig } from '../../config/schema.js';
import { planNodeGroups, type ReplicaDemand } from '../nodePlan.js';
import type { NodeGroupView } from '../ports.js';
import { acceleratorType, devicesPerReplica } from '../../config/resolved.js';

/** What capacity needs to know of a variant's decision. */
export interface ReplicasAsked {
  readonly key: string;
  readonly v: VariantConfig;
  /** the accelerator decided on, which may have no replicas */
  readonly accelerator: string;
  /** replicas per accelerator */
  readonly deployments: ReadonlyMap<string, number>;
}

/** The size a node group is to have. */
export interface CapacityTarget {
  readonly name: string;
  readonly acceleratorType: string;
  readonly desiredSize: number;
}

/** Per variant key: the targets of the node groups of every accelerator type the variant uses. */
export function planCapacity(
  config: Config,
  variants: readonly ReplicasAsked[],
  nodeGroups: readonly NodeGroupView[],
): Map<string, CapacityTarget[]> {
  const demands: ReplicaDemand[] = [];
  for (const { v, deployments } of variants) {
    for (const [acc, replicas] of deployments) {
      const type = acceleratorType(config, acc);
      if (type && replicas > 0)
        demands.push({
          acceleratorType: type,
          devicesPerReplica: devicesPerReplica(config, v, acc),
          replicas,
        });
    }
  }
  const { sizes } = planNodeGroups(demands, nodeGroups);
  return new Map(
    variants.map(({ key, accelerator, deployments }) => {
      const types = new Set([...deployments.keys(), accelerator].map((a) => acceleratorType(config, a)));
      const targets = nodeGroups
        .filter((g) => types.has(g.acceleratorType))
        .map((g) => ({ name: g.name, acceleratorType: g.acceleratorType, desiredSize: sizes.get(g.name)! }));
      return [key, targets];
    }),
  );
}
