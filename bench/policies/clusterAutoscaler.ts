/**
 * A Kubernetes cluster-autoscaler for the baselines that scale only Deployments (keda-queue,
 * hpa-kv, wva, static-peak), as users run them today:
 *
 * - scale-up: at once, by the nodes the pending replicas need beyond the free GPUs of ready
 *   nodes and of the nodes still provisioning (a replica needs all its GPUs on one node);
 * - scale-down: a ready node that has held no replica for `unneededSeconds` (the
 *   cluster-autoscaler's --scale-down-unneeded-time, 10 minutes by default) is removed.
 *
 * Simplifications: only empty nodes are removed (the simulator cannot move a replica off a
 * node); no --scale-down-delay-after-add; a group's shrink waits while it has nodes
 * provisioning (the simulator would cancel those first). `withClusterAutoscaler` runs it after
 * the policy on every step, every 15 s.
 */
import type { Controller, ControlContext, ControlStep } from '../../lib/closedLoop/controller.js';

/** Kubernetes cluster-autoscaler's default --scale-down-unneeded-time. */
export const SCALE_DOWN_UNNEEDED_SECONDS = 600;
/** How often the node manager runs (the simulation scrapes every 15 s; the real one scans every 10 s). */
export const NODE_MANAGER_INTERVAL_SECONDS = 15;

export interface NodeChange {
  readonly group: string;
  readonly from: number;
  readonly to: number;
}

export class ClusterAutoscaler {
  /** when each empty ready node was first seen empty, by node id */
  private readonly emptySince = new Map<string, number>();

  constructor(readonly unneededSeconds = SCALE_DOWN_UNNEEDED_SECONDS) {}

  /** One scan: grow for pending replicas, then remove nodes empty for long enough. */
  step(ctx: Pick<ControlContext, 't' | 'sim' | 'scenario'>): NodeChange[] {
    const changes: NodeChange[] = [];
    const gpusPerReplica = new Map<string, Map<string, number>>();
    for (const v of ctx.scenario.fleet.variants) {
      gpusPerReplica.set(
        v.name,
        new Map(Object.entries(v.profileByAccelerator).map(([type, p]) => [type, p.gpusPerReplica])),
      );
    }
    let state = ctx.sim.state();
    // GPUs each pending replica needs, per accelerator type, in creation order.
    const pending = new Map<string, number[]>();
    for (const v of state.variants) {
      for (const r of v.replicas) {
        if (r.lifecycle !== 'pending-node') continue;
        const gpus = gpusPerReplica.get(v.name)?.get(r.accelerator) ?? 1;
        pending.set(r.accelerator, [...(pending.get(r.accelerator) ?? []), gpus]);
      }
    }

    // Scale-up: place the pending replicas on free GPUs (ready nodes, then nodes on their way), then
    // on new nodes, in the groups of their type in name order.
    for (const [type, needs] of pending) {
      const groups = state.nodeGroups
        .filter((g) => g.acceleratorType === type)
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      const free: number[] = groups.flatMap((g) =>
        g.nodes.map((n) => (n.state === 'provisioning' ? g.gpusPerNode : n.freeGpus)),
      );
      const added = new Map(groups.map((g) => [g.name, 0]));
      for (const gpus of needs) {
        const slot = free.findIndex((f) => f >= gpus);
        if (slot >= 0) {
          free[slot]! -= gpus;
          continue;
        }
        const group = groups.find(
          (g) => g.gpusPerNode >= gpus && g.ready + g.provisioning + added.get(g.name)! < g.maxNodes,
        );
        if (!group) continue;
        added.set(group.name, added.get(group.name)! + 1);
        free.push(group.gpusPerNode - gpus);
      }
      for (const g of groups) {
        const n = added.get(g.name)!;
        if (n === 0) continue;
        const from = g.ready + g.provisioning;
        changes.push({ group: g.name, from, to: ctx.sim.setNodeGroupSize(g.name, from + n) });
      }
    }

    // Scale-down: empty ready nodes, timed from when they were first seen empty.
    state = ctx.sim.state();
    const seen = new Set<string>();
    for (const g of state.nodeGroups) {
      const empty = g.nodes.filter((n) => n.state === 'ready' && n.replicas.length === 0);
      for (const n of empty) {
        seen.add(n.id);
        if (!this.emptySince.has(n.id)) this.emptySince.set(n.id, ctx.t);
      }
      if (g.provisioning > 0 || (pending.get(g.acceleratorType)?.length ?? 0) > 0) continue;
      const since = empty.map((n) => this.emptySince.get(n.id)!).sort((a, b) => a - b);
      const due = since.filter((s) => ctx.t - s >= this.unneededSeconds).length;
      if (due === 0) continue;
      const from = g.ready + g.provisioning;
      const to = ctx.sim.setNodeGroupSize(g.name, from - due);
      if (to === from) continue;
      changes.push({ group: g.name, from, to });
      // The simulator removes the newest empty nodes, the cluster-autoscaler the longest empty:
      // the nodes are alike, so the empty nodes left take the timers of those not yet due.
      const left = ctx.sim
        .state()
        .nodeGroups.find((x) => x.name === g.name)!
        .nodes.filter((n) => n.state === 'ready' && n.replicas.length === 0)
        .map((n) => n.id);
      const timers = since.slice(from - to);
      for (const n of empty) this.emptySince.delete(n.id);
      left.forEach((id, i) => this.emptySince.set(id, timers[i] ?? ctx.t));
      for (const id of left) seen.add(id);
    }
    for (const id of [...this.emptySince.keys()]) if (!seen.has(id)) this.emptySince.delete(id);
    return changes;
  }
}

/**
 * A Deployment-only policy with the cluster-autoscaler managing its nodes: the node manager runs
 * every 15 s, after the policy when the policy is due (at its own interval).
 */
export function withClusterAutoscaler(
  policy: Controller,
  nodes: ClusterAutoscaler = new ClusterAutoscaler(),
): Controller {
  const interval = Math.min(policy.intervalSeconds, NODE_MANAGER_INTERVAL_SECONDS);
  let nextPolicyStep = policy.intervalSeconds;
  let last: ControlStep = { estimatedRates: {} };
  return {
    name: policy.name,
    intervalSeconds: interval,
    async step(ctx) {
      if (ctx.t + 1e-9 >= nextPolicyStep) {
        nextPolicyStep += policy.intervalSeconds;
        last = await policy.step(ctx);
      }
      nodes.step(ctx);
      return last;
    },
  };
}
