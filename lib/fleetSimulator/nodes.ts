/**
 * GPU nodes of the simulated cluster and the placement of replicas on them. A replica needs all
 * of its GPUs on one node; nodes are billed from launch (provisioning included) to removal.
 */
import type { ParsedNodeGroupConfig } from './config.js';

export type NodeState = 'provisioning' | 'ready' | 'removed';

export interface SimNode {
  readonly id: string;
  readonly group: NodeGroup;
  state: NodeState;
  readonly launchedAt: number;
  readyAt?: number;
  removedAt?: number;
  freeGpus: number;
  /** ids of the replicas holding GPUs here */
  readonly replicas: Set<string>;
  /** models whose image this node has pulled (a replica of one skips the pull) */
  readonly images: Set<string>;
}

export class NodeGroup {
  /** every node ever launched, in launch order (removed ones are kept for accounting) */
  readonly nodes: SimNode[] = [];
  private nextIndex = 0;

  constructor(readonly config: ParsedNodeGroupConfig) {}

  get live(): SimNode[] {
    return this.nodes.filter((node) => node.state !== 'removed');
  }

  launch(now: number, ready: boolean): SimNode {
    const node: SimNode = {
      id: `${this.config.name}-${this.nextIndex++}`,
      group: this,
      state: ready ? 'ready' : 'provisioning',
      launchedAt: now,
      readyAt: ready ? now : undefined,
      freeGpus: this.config.gpusPerNode,
      replicas: new Set(),
      images: new Set(),
    };
    this.nodes.push(node);
    return node;
  }

  /**
   * Removes up to `count` nodes that hold no replica: still-provisioning ones first (nothing is
   * lost by cancelling them), newest first within each kind. Returns how many were removed.
   */
  removeEmpty(count: number, now: number): number {
    const live = this.live;
    const victims = [
      ...live.filter((n) => n.state === 'provisioning').reverse(),
      ...live.filter((n) => n.state === 'ready' && n.replicas.size === 0).reverse(),
    ].slice(0, count);
    for (const node of victims) {
      node.state = 'removed';
      node.removedAt = now;
    }
    return victims.length;
  }

  nodeSeconds(now: number): number {
    let total = 0;
    for (const node of this.nodes) total += (node.removedAt ?? now) - node.launchedAt;
    return total;
  }
}

/**
 * Best fit: the ready node with the fewest free GPUs that still fit the replica, so that large
 * holes stay available for replicas that need many GPUs; ties go to the earlier group and node.
 */
export function findNodeFor(
  groups: readonly NodeGroup[],
  acceleratorType: string,
  gpus: number,
): SimNode | null {
  let best: SimNode | null = null;
  for (const group of groups) {
    if (group.config.acceleratorType !== acceleratorType) continue;
    for (const node of group.nodes) {
      if (node.state !== 'ready' || node.freeGpus < gpus) continue;
      if (best === null || node.freeGpus < best.freeGpus) best = node;
    }
  }
  return best;
}
