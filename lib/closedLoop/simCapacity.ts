/**
 * The simulated fleet's node groups behind the capacity port, so `npm start` and the benchmarks
 * run the same capacity decisions as a cluster: growth asks the group for more nodes at once;
 * removal takes only empty nodes (the simulator removes nothing else) and never goes below what
 * the replicas that exist or are being created need, as the managed-node-group provider does. A
 * node group that stands for a Karpenter NodePool removes an empty node only once it has stayed
 * empty for the NodePool's consolidateAfter, and the fleet removes it then on its own, as Karpenter
 * does whatever the plan (lib/fleetSimulator/nodes.ts; docs/CAPACITY.md).
 */
import { disaggregatedVariants, roleAccelerators, ROLES, simRoleVariant } from '../config/roles.js';
import { nodeStartupSeconds } from '../config/startup.js';
import { largerNeed, packOnGroups } from '../adapters/managedNodeGroups/packing.js';
import type {
  AcceleratorCapacity,
  CapacityChange,
  CapacityIntent,
  CapacityProvider,
  CapacityReport,
  ProvideOptions,
  ReplicaNeed,
} from '../policy/capacity.js';
import type { FleetSim, NodeGroupState } from '../fleetSimulator/index.js';
import { nodePricePerHour } from '../config/nodePrice.js';
import { acceleratorType, allowedAccelerators, devicesPerReplica } from '../config/resolved.js';
import type { Config } from '../config/schema.js';

export interface SimCapacityOptions {
  /** time a new node takes, per node group name (the config's provisioningSeconds) */
  readonly provisioningSeconds: ReadonlyMap<string, number>;
  /** price per node hour, per node group name */
  readonly pricePerNodeHour?: ReadonlyMap<string, number>;
  /** devices one replica of a simulated variant takes on an accelerator type */
  readonly devicesPerReplica: (simVariant: string, acceleratorType: string) => number;
}

export class SimCapacityProvider implements CapacityProvider {
  constructor(
    private readonly sim: FleetSim,
    private readonly options: SimCapacityOptions,
  ) {}

  private groupsOf(type: string): NodeGroupState[] {
    return this.sim
      .state()
      .nodeGroups.filter((g) => g.acceleratorType === type)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async observe(acceleratorTypes: readonly string[]): Promise<AcceleratorCapacity[]> {
    const out: AcceleratorCapacity[] = [];
    for (const type of acceleratorTypes) {
      const groups = this.groupsOf(type);
      if (groups.length === 0) continue;
      const first = groups[0]!;
      const price = this.options.pricePerNodeHour?.get(first.name);
      out.push({
        acceleratorType: type,
        devicesPerNode: first.gpusPerNode,
        readyDevices: groups.reduce((s, g) => s + g.ready * g.gpusPerNode, 0),
        startingDevices: groups.reduce((s, g) => s + g.provisioning * g.gpusPerNode, 0),
        addableDevices: groups.reduce(
          (s, g) => s + Math.max(g.maxNodes - g.ready - g.provisioning, 0) * g.gpusPerNode,
          0,
        ),
        provisioningSeconds: Math.max(
          ...groups.map((g) => this.options.provisioningSeconds.get(g.name) ?? 0),
        ),
        ...(price !== undefined ? { pricePerDeviceHour: price / first.gpusPerNode } : {}),
      });
    }
    return out;
  }

  /** Replicas that hold or wait for devices of the type, by size. */
  private liveNeed(type: string): ReplicaNeed[] {
    const out: ReplicaNeed[] = [];
    for (const v of this.sim.state().variants) {
      const c = v.byAccelerator[type];
      if (!c) continue;
      const replicas = c['pending-node'] + c.loading + c.ready + c.draining;
      if (replicas > 0)
        out.push({ devicesPerReplica: this.options.devicesPerReplica(v.name, type), replicas });
    }
    return out;
  }

  async provide(intent: CapacityIntent, options: ProvideOptions): Promise<CapacityReport> {
    const changes: CapacityChange[] = [];
    for (const need of intent.accelerators) {
      const groups = this.groupsOf(need.acceleratorType);
      if (groups.length === 0) continue;
      const live = (g: NodeGroupState) => g.ready + g.provisioning;
      const shapes = (min: (g: NodeGroupState) => number) =>
        groups.map((g) => ({
          name: g.name,
          devicesPerNode: g.gpusPerNode,
          minNodes: min(g),
          maxNodes: g.maxNodes,
        }));
      const plan = packOnGroups(
        need.replicas,
        shapes((g) => g.minNodes),
      );
      // Removal never below the replicas that exist or are being created.
      const floor = packOnGroups(
        largerNeed(need.replicas, this.liveNeed(need.acceleratorType)),
        shapes((g) => g.minNodes),
      );
      const before = groups.reduce((s, g) => s + live(g) * g.gpusPerNode, 0);
      let after = 0;
      let grew = false;
      let shrank = false;
      let skipped = false;
      for (const g of groups) {
        const target = plan.nodes.get(g.name)!;
        let size = live(g);
        if (target > size) {
          size = this.sim.setNodeGroupSize(g.name, target);
          grew = true;
        } else if (target < size) {
          if (!options.allowRemoval) skipped = true;
          else {
            const keep = Math.max(target, floor.nodes.get(g.name)!);
            if (keep < size) {
              const now = this.sim.setNodeGroupSize(g.name, keep);
              shrank ||= now < size;
              size = now;
            }
            if (size > target) skipped = true;
          }
        }
        after += size * g.gpusPerNode;
      }
      const status =
        plan.unplaced.length > 0
          ? 'insufficient'
          : grew
            ? 'grown'
            : shrank
              ? 'shrunk'
              : skipped
                ? 'removal-skipped'
                : 'unchanged';
      changes.push({
        acceleratorType: need.acceleratorType,
        status,
        devicesBefore: before,
        devicesAfter: after,
        detail: `${before} → ${after} devices`,
        ...(plan.unplaced.length > 0
          ? {
              insufficient: {
                kind: 'insufficient-capacity' as const,
                acceleratorType: need.acceleratorType,
                reason: 'at-limit' as const,
                askedDevices: need.devices,
                availableDevices: groups.reduce((s, g) => s + g.maxNodes * g.gpusPerNode, 0),
                detail: 'beyond the node groups’ maximum',
              },
            }
          : {}),
      });
    }
    return { changes };
  }
}

/** The simulated fleet's capacity for a config: its node groups' provisioning times and prices. */
export function simCapacity(sim: FleetSim, config: Config): SimCapacityProvider {
  return new SimCapacityProvider(sim, {
    provisioningSeconds: new Map(config.nodeGroups.map((g) => [g.name, nodeStartupSeconds(g)])),
    pricePerNodeHour: new Map(config.nodeGroups.map((g) => [g.name, nodePricePerHour(config, g)])),
    devicesPerReplica: (simVariant, type) => {
      const v = config.variants.find((x) => x.name === simVariant);
      const acc = v && allowedAccelerators(config, v).find((a) => acceleratorType(config, a) === type);
      if (v && acc) return devicesPerReplica(config, v, acc);
      for (const d of disaggregatedVariants(config)) {
        for (const role of ROLES) {
          if (simRoleVariant(d, role) !== simVariant) continue;
          const a = roleAccelerators(config, d, role).find((x) => acceleratorType(config, x) === type);
          if (a) return devicesPerReplica(config, d, a);
        }
      }
      return 1;
    },
  });
}
