/**
 * Node-group plan: the GPU nodes each accelerator type needs for the replicas decided, spread
 * over that type's node groups in name order, each within its min and max.
 */
import type { NodeGroupView } from './ports.js';

/** Replicas of one size (devices per replica) on one accelerator type. */
export interface ReplicaDemand {
  readonly acceleratorType: string;
  readonly devicesPerReplica: number;
  readonly replicas: number;
}

/** Desired size per node group name. Replicas that fit no group are reported, not dropped. */
export function planNodeGroups(
  demands: readonly ReplicaDemand[],
  groups: readonly NodeGroupView[],
): { sizes: Map<string, number>; unplaced: ReplicaDemand[] } {
  const sizes = new Map(groups.map((g) => [g.name, g.minSize]));
  const unplaced: ReplicaDemand[] = [];
  const byType = new Map<string, NodeGroupView[]>();
  for (const g of [...groups].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    byType.set(g.acceleratorType, [...(byType.get(g.acceleratorType) ?? []), g]);
  }
  // Nodes in use so far per group, counted in whole nodes per replica size (no mixing on a node:
  // slightly more nodes than perfect packing, never fewer than the replicas need).
  const used = new Map(groups.map((g) => [g.name, 0]));
  const sorted = [...demands].sort((a, b) => b.devicesPerReplica - a.devicesPerReplica);
  for (const d of sorted) {
    let remaining = d.replicas;
    for (const g of byType.get(d.acceleratorType) ?? []) {
      if (remaining === 0) break;
      const perNode = Math.floor(g.gpusPerNode / d.devicesPerReplica);
      if (perNode === 0) continue;
      const free = g.maxSize - used.get(g.name)!;
      const nodes = Math.min(free, Math.ceil(remaining / perNode));
      if (nodes <= 0) continue;
      used.set(g.name, used.get(g.name)! + nodes);
      remaining = Math.max(remaining - nodes * perNode, 0);
    }
    if (remaining > 0) unplaced.push({ ...d, replicas: remaining });
  }
  for (const g of groups) sizes.set(g.name, Math.min(Math.max(used.get(g.name)!, g.minSize), g.maxSize));
  return { sizes, unplaced };
}
