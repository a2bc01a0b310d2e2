/**
 * GPU capacity from EKS managed node groups, the way Cluster Autoscaler changes them:
 *
 * - grow: SetDesiredCapacity on the node group's Auto Scaling group (after uncordoning nodes this
 *   autoscaler had cordoned, which are capacity already paid for);
 * - shrink: choose a node with no serving pod, cordon it, evict what else runs there (the
 *   Eviction API honours PodDisruptionBudgets), and terminate exactly that instance with
 *   TerminateInstanceInAutoScalingGroup and ShouldDecrementDesiredCapacity — never lower the
 *   desired capacity blindly, which lets Auto Scaling pick a node that serves;
 * - removal re-checks the live cluster after cordoning: never below what the pods bound or
 *   pending and each Deployment's `spec.replicas` need, per accelerator type.
 *
 * Sizes stay within min(the group's MaxSize, the config's maxNodes) and the group's MinSize.
 */
import {
  type AcceleratorCapacity,
  type AcceleratorNeed,
  type CapacityChange,
  type CapacityIntent,
  type CapacityProvider,
  type CapacityReport,
  type InsufficientCapacity,
  type ProvideOptions,
} from '../../policy/capacity.js';
import {
  CORDONED_BY,
  isServing,
  type ClusterNodes,
  type NodeInfo,
  type PodInfo,
  type Workload,
} from '../kubernetes/clusterNodes.js';
import { instanceIdOf, type AutoScalingGroups, type AutoScalingGroupState } from './autoScalingGroups.js';
import { largerNeed, packOnGroups } from './packing.js';

export interface ManagedNodeGroup {
  readonly name: string;
  readonly acceleratorType: string;
  readonly gpusPerNode: number;
  readonly minNodes: number;
  readonly maxNodes: number;
  readonly provisioningSeconds: number;
  readonly costPerNodeHour?: number;
}

export interface ManagedNodeGroupsOptions {
  readonly nodeGroups: readonly ManagedNodeGroup[];
  /** the pool's Deployments: what the live cluster runs or is about to run */
  readonly workloads: readonly Workload[];
}

/** One node group as read now: its Auto Scaling group and its instances' Nodes. */
interface GroupNow {
  readonly cfg: ManagedNodeGroup;
  readonly asg: AutoScalingGroupState;
  /** Nodes of the group's live instances */
  readonly nodes: NodeInfo[];
  readonly ready: number;
  readonly cordoned: NodeInfo[];
  readonly ceiling: number;
  readonly floor: number;
}

export class ManagedNodeGroupsProvider implements CapacityProvider {
  constructor(
    private readonly groups: AutoScalingGroups,
    private readonly cluster: ClusterNodes,
    private readonly options: ManagedNodeGroupsOptions,
  ) {}

  private groupsOf(type: string): ManagedNodeGroup[] {
    return this.options.nodeGroups
      .filter((g) => g.acceleratorType === type)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private async readGroups(cfgs: readonly ManagedNodeGroup[]): Promise<GroupNow[]> {
    if (cfgs.length === 0) return [];
    const [asgs, nodes] = await Promise.all([
      Promise.all(cfgs.map((c) => this.groups.read(c.name))),
      this.cluster.nodes(),
    ]);
    const byInstance = new Map<string, NodeInfo>();
    for (const n of nodes) {
      const id = instanceIdOf(n.providerID);
      if (id) byInstance.set(id, n);
    }
    return cfgs.map((cfg, i) => {
      const asg = asgs[i]!;
      const live = asg.instances.filter((x) => !/^Terminat/.test(x.lifecycleState));
      const mine = live.flatMap((x) => byInstance.get(x.instanceId) ?? []);
      return {
        cfg,
        asg,
        nodes: mine,
        ready: mine.filter((n) => n.ready && !n.unschedulable).length,
        cordoned: mine.filter((n) => n.unschedulable && n.annotations[CORDONED_BY] !== undefined),
        ceiling: Math.min(asg.maxSize, cfg.maxNodes),
        floor: asg.minSize,
      };
    });
  }

  async observe(acceleratorTypes: readonly string[], now: number): Promise<AcceleratorCapacity[]> {
    const out: AcceleratorCapacity[] = [];
    for (const type of acceleratorTypes) {
      const groups = await this.readGroups(this.groupsOf(type));
      if (groups.length === 0) continue;
      let ready = 0;
      let starting = 0;
      let addable = 0;
      let shortfall: InsufficientCapacity | undefined;
      for (const g of groups) {
        const per = g.cfg.gpusPerNode;
        ready += g.ready * per;
        starting += Math.max(g.asg.desiredCapacity - g.ready - g.cordoned.length, 0) * per;
        addable += Math.max(g.ceiling - g.asg.desiredCapacity, 0) * per;
        const asked = g.asg.asked;
        // What is still wanted of the last ask: a shrink since then lowered the desired capacity.
        const wanted = asked ? Math.min(asked.nodes, g.asg.desiredCapacity) : 0;
        if (asked && g.ready < wanted && now - asked.at > g.cfg.provisioningSeconds) {
          shortfall ??= {
            kind: 'insufficient-capacity',
            acceleratorType: type,
            reason: 'not-arrived',
            askedDevices: wanted * per,
            availableDevices: g.ready * per,
            askedAt: asked.at,
            detail: `node group ${g.cfg.name}: ${wanted} nodes asked ${Math.round(now - asked.at)} s ago, ${g.ready} ready (expected within ${g.cfg.provisioningSeconds} s)`,
          };
        }
      }
      const first = groups[0]!.cfg;
      out.push({
        acceleratorType: type,
        devicesPerNode: first.gpusPerNode,
        readyDevices: ready,
        startingDevices: starting,
        addableDevices: addable,
        provisioningSeconds: Math.max(...groups.map((g) => g.cfg.provisioningSeconds)),
        ...(first.costPerNodeHour !== undefined
          ? { pricePerDeviceHour: first.costPerNodeHour / first.gpusPerNode }
          : {}),
        ...(shortfall ? { insufficient: shortfall } : {}),
      });
    }
    return out;
  }

  async provide(intent: CapacityIntent, options: ProvideOptions): Promise<CapacityReport> {
    const changes: CapacityChange[] = [];
    for (const need of intent.accelerators) {
      const cfgs = this.groupsOf(need.acceleratorType);
      if (cfgs.length === 0) continue;
      changes.push(await this.provideType(need, await this.readGroups(cfgs), options));
    }
    return { changes };
  }

  private async provideType(
    need: AcceleratorNeed,
    groups: GroupNow[],
    options: ProvideOptions,
  ): Promise<CapacityChange> {
    const type = need.acceleratorType;
    const devices = (nodes: (g: GroupNow) => number) =>
      groups.reduce((s, g) => s + nodes(g) * g.cfg.gpusPerNode, 0);
    const before = devices((g) => g.asg.desiredCapacity);
    const shapes = groups.map((g) => ({
      name: g.cfg.name,
      devicesPerNode: g.cfg.gpusPerNode,
      minNodes: g.floor,
      maxNodes: g.ceiling,
    }));
    const plan = packOnGroups(need.replicas, shapes);
    const notes: string[] = [];
    let grew = false;

    for (const g of groups) {
      const target = plan.nodes.get(g.cfg.name)!;
      const usable = g.asg.desiredCapacity - g.cordoned.length;
      if (target <= usable) continue;
      // Nodes this autoscaler cordoned are capacity already there: take them back first.
      const back = g.cordoned.slice(0, target - usable);
      for (const n of back) await this.cluster.uncordon(n.name);
      if (back.length > 0) notes.push(`${g.cfg.name}: uncordoned ${back.map((n) => n.name).join(', ')}`);
      if (target > g.asg.desiredCapacity) {
        await this.groups.grow(g.asg, target, options.now);
        notes.push(`${g.cfg.name}: desired ${g.asg.desiredCapacity} → ${target}`);
      }
      grew = true;
    }

    const insufficient: InsufficientCapacity | undefined =
      plan.unplaced.length > 0
        ? {
            kind: 'insufficient-capacity',
            acceleratorType: type,
            reason: 'at-limit',
            askedDevices: need.devices,
            availableDevices: devices((g) => g.ceiling),
            detail: `${plan.unplaced.map((u) => `${u.replicas} × ${u.devicesPerReplica}-device replicas`).join(', ')} fit no node group of ${type} within its maximum`,
          }
        : undefined;

    const excess = groups.filter((g) => g.asg.desiredCapacity > plan.nodes.get(g.cfg.name)!);
    let removed = 0;
    let skipped = '';
    if (excess.length > 0 && !grew) {
      if (!options.allowRemoval) {
        skipped = 'removal waits until every variant of the pool has applied this evaluation';
      } else {
        const result = await this.shrink(type, need, groups, plan.nodes, options.now);
        removed = result.removed;
        skipped = result.skipped;
        notes.push(...result.notes);
      }
    }
    const after =
      before +
      groups.reduce(
        (s, g) => s + Math.max(plan.nodes.get(g.cfg.name)! - g.asg.desiredCapacity, 0) * g.cfg.gpusPerNode,
        0,
      ) -
      removed;
    const detail = [...notes, skipped, insufficient?.detail ?? ''].filter(Boolean).join('; ');
    const status = insufficient
      ? 'insufficient'
      : grew
        ? 'grown'
        : removed > 0
          ? 'shrunk'
          : skipped
            ? 'removal-skipped'
            : 'unchanged';
    return {
      acceleratorType: type,
      status,
      devicesBefore: before,
      devicesAfter: after,
      detail: detail || `${before} devices as planned`,
      ...(insufficient ? { insufficient } : {}),
    };
  }

  /**
   * Removes nodes above the plan, each a chosen node with no serving pod, never below what the
   * live cluster runs or is about to run. Returns devices removed and why any removal was skipped.
   */
  private async shrink(
    type: string,
    need: AcceleratorNeed,
    groups: GroupNow[],
    planned: ReadonlyMap<string, number>,
    now: number,
  ): Promise<{ removed: number; skipped: string; notes: string[] }> {
    const notes: string[] = [];
    const workloads = this.options.workloads.filter((w) => w.acceleratorType === type);
    const keep = async () => {
      const live = (await this.cluster.liveNeed(workloads)).get(type) ?? [];
      const shapes = groups.map((g) => ({
        name: g.cfg.name,
        devicesPerNode: g.cfg.gpusPerNode,
        minNodes: Math.max(g.floor, planned.get(g.cfg.name)!),
        maxNodes: Math.max(g.asg.desiredCapacity, g.ceiling),
      }));
      const floor = packOnGroups(largerNeed(need.replicas, live), shapes);
      // The type as a whole must keep enough nodes for the live replicas, whichever group holds them.
      return { perGroup: floor.nodes, total: [...floor.nodes.values()].reduce((a, b) => a + b, 0) };
    };
    let floor = await keep();
    const podsByNode = await this.cluster.podsByNode();
    const empty = (n: NodeInfo) => !(podsByNode.get(n.name) ?? []).some(isServing);

    // Candidates per group: nodes with no serving pod, the ones already cordoned first.
    const chosen: { g: GroupNow; node: NodeInfo; instanceId: string }[] = [];
    let total = groups.reduce((s, g) => s + g.asg.desiredCapacity, 0);
    for (const g of groups) {
      let over = g.asg.desiredCapacity - floor.perGroup.get(g.cfg.name)!;
      const candidates = g.nodes
        .filter(empty)
        .sort((a, b) => Number(b.unschedulable) - Number(a.unschedulable) || b.createdAt - a.createdAt);
      for (const node of candidates) {
        if (over <= 0 || total <= floor.total) break;
        const instanceId = instanceIdOf(node.providerID);
        if (!instanceId) continue;
        chosen.push({ g, node, instanceId });
        over--;
        total--;
      }
    }
    if (chosen.length === 0) {
      return { removed: 0, skipped: 'no node without a serving pod above what the cluster needs', notes };
    }
    for (const c of chosen) {
      if (!c.node.unschedulable) await this.cluster.cordon(c.node.name, now);
    }
    // Cordoned: nothing new binds there. Look again at the live cluster before anything goes.
    floor = await keep();
    let remaining = groups.reduce((s, g) => s + g.asg.desiredCapacity, 0);
    let removed = 0;
    const skips: string[] = [];
    for (const c of chosen) {
      const pods = await this.cluster.podsOn(c.node.name);
      const enough = remaining - 1 >= floor.total;
      if (pods.some(isServing) || !enough) {
        await this.cluster.uncordon(c.node.name);
        skips.push(
          `${c.node.name} kept (${enough ? 'a serving pod is bound to it' : 'the live cluster needs it'})`,
        );
        continue;
      }
      const blocked = await this.drain(pods);
      if (blocked.length > 0) {
        await this.cluster.uncordon(c.node.name);
        skips.push(`${c.node.name} kept: disruption budget blocks evicting ${blocked.join(', ')}`);
        continue;
      }
      await this.groups.terminate(c.g.asg, c.instanceId);
      notes.push(`${c.g.cfg.name}: terminated ${c.instanceId} (node ${c.node.name})`);
      remaining--;
      removed += c.g.cfg.gpusPerNode;
    }
    return { removed, skipped: skips.join('; '), notes };
  }

  /** Evicts every pod a node drain moves; returns the pods a disruption budget kept. */
  private async drain(pods: readonly PodInfo[]): Promise<string[]> {
    const blocked: string[] = [];
    for (const p of pods) {
      if (p.gone || p.daemonSet) continue;
      if ((await this.cluster.evict(p)) === 'blocked') blocked.push(`${p.namespace}/${p.name}`);
    }
    return blocked;
  }
}
