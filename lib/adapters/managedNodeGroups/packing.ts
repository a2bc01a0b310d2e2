/**
 * Replicas onto node groups of one accelerator type: groups in name order, each filled up to
 * its maximum before the next, whole nodes per replica size (no mixing of sizes on a node).
 */
import type { ReplicaNeed } from '../../policy/capacity.js';

export interface GroupShape {
  readonly name: string;
  readonly devicesPerNode: number;
  readonly minNodes: number;
  readonly maxNodes: number;
}

/** Nodes per group (at least its minimum); replicas that fit no group are reported, not dropped. */
export function packOnGroups(
  needs: readonly ReplicaNeed[],
  groups: readonly GroupShape[],
): { nodes: Map<string, number>; unplaced: ReplicaNeed[] } {
  const ordered = [...groups].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const used = new Map(ordered.map((g) => [g.name, 0]));
  const unplaced: ReplicaNeed[] = [];
  for (const need of [...needs].sort((a, b) => b.devicesPerReplica - a.devicesPerReplica)) {
    let remaining = need.replicas;
    for (const g of ordered) {
      if (remaining === 0) break;
      const perNode = Math.floor(g.devicesPerNode / need.devicesPerReplica);
      if (perNode === 0) continue;
      const nodes = Math.min(g.maxNodes - used.get(g.name)!, Math.ceil(remaining / perNode));
      if (nodes <= 0) continue;
      used.set(g.name, used.get(g.name)! + nodes);
      remaining = Math.max(remaining - nodes * perNode, 0);
    }
    if (remaining > 0) unplaced.push({ ...need, replicas: remaining });
  }
  const nodes = new Map(ordered.map((g) => [g.name, Math.max(used.get(g.name)!, g.minNodes)]));
  return { nodes, unplaced };
}

/** Per replica size, the larger of two needs: what the plan asks and what the cluster runs. */
export function largerNeed(a: readonly ReplicaNeed[], b: readonly ReplicaNeed[]): ReplicaNeed[] {
  const bySize = new Map<number, number>();
  for (const list of [a, b]) {
    const mine = new Map<number, number>();
    for (const r of list) mine.set(r.devicesPerReplica, (mine.get(r.devicesPerReplica) ?? 0) + r.replicas);
    for (const [size, n] of mine) bySize.set(size, Math.max(bySize.get(size) ?? 0, n));
  }
  return [...bySize].map(([devicesPerReplica, replicas]) => ({ devicesPerReplica, replicas }));
}
