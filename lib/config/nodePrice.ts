/** Prices of GPU nodes, from the node group's own price or the accelerators' per-device price. */
import { acceleratorsOfType } from './resolved.js';
import type { Config, NodeGroupConfig } from './schema.js';

export function nodePricePerHour(config: Config, group: NodeGroupConfig): number {
  if (group.costPerNodeHour !== undefined) return group.costPerNodeHour;
  const perDevice = acceleratorsOfType(config, group.acceleratorType).map(
    (a) => a.costPerHour / a.multiplicity,
  );
  return perDevice.length > 0 ? Math.min(...perDevice) * group.gpusPerNode : 0;
}
