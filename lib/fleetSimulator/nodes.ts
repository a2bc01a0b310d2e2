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
  /** when its last replica left (unset while none ever did) */
  lastReplicaLeftAt?: number;
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
   * Removes up to `count` nodes that hold no replica, newest first. Without a consolidation delay
   * (a node group resized through its API) still-provisioning nodes go first: nothing is lost by
   * cancelling them. With one (Karpenter's consolidateAfter), only Ready nodes empty for at least
   * that long go: Karpenter does not cancel a launch, and it removes a node only after the node
   * has stayed empty for the delay. Returns how many were removed.
   */
  removeEmpty(count: number, now: number): number {
    const live = this.live;
    const delay = this.config.consolidateAfterSeconds;
    const empty = live.filter((n) => n.state === 'ready' && n.replicas.size === 0);
    const victims = (
      delay === null
        ? [...live.filter((n) => n.state === 'provisioning').reverse(), ...empty.reverse()]
        : empty.filter((n) => now - emptySince(n) >= delay).reverse()
    ).slice(0, count);
    for (const node of victims) {
      node.state = 'removed';
      node.removedAt = now;
    }
    return victims.length;
  }

  /**
   * When Karpenter would remove this node on its own (a pool with a consolidateAfter): the time it
   * became empty plus the delay, if it is Ready and empty now; else null. Karpenter removes such a
   * node whatever the autoscaler plans, since the autoscaler sets only the NodePool's limits.
   */
  consolidationDue(node: SimNode): number | null {
    const delay = this.config.consolidateAfterSeconds;
    if (delay === null || node.state !== 'ready' || node.replicas.size > 0) return null;
    return emptySince(node) + delay;
  }

  /**
   * Removes the node if it is still Ready and has been empty for the consolidation delay now (a
   * replica placed on it in between moved its empty spell on), keeping the group's minNodes.
   */
  consolidate(node: SimNode, now: number): boolean {
    const due = this.consolidationDue(node);
    if (due === null || due > now || this.live.length <= this.config.minNodes) return false;
    node.state = 'removed';
    node.removedAt = now;
    return true;
  }

  nodeSeconds(now: number): number {
    let total = 0;
    for (const node of this.nodes) total += (node.removedAt ?? now) - node.launchedAt;
    return total;
  }
}

/** When a Ready node without replicas became empty: it got Ready, or its last replica left. */
function emptySince(node: SimNode): number {
  return Math.max(node.readyAt ?? node.launchedAt, node.lastReplicaLeftAt ?? -Infinity);
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
