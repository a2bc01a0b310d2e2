/**
 * Holding a variant at a given fleet in the simulator, whole nodes included: what the searched
 * yardsticks (oracle, oracle-lead, static-best) do at every step. Shared by the searches and by
 * the controllers that replay their results in the closed loop, so that a replay runs exactly the
 * calls the search ran.
 *
 * A fleet is replicas per accelerator (by the config's accelerator names). Nodes are whole: a
 * node group gets as many nodes as the wanted replicas plus the ones still draining on its type
 * need (a draining replica keeps its GPUs until it is empty, and draining is billed), grown
 * before the replicas are asked for; surplus nodes go as soon as they are empty.
 */
import type { Config, VariantConfig } from '../../lib/config/schema.js';
import { nodePricePerHour } from '../../lib/config/nodePrice.js';
import { acceleratorType, allowedAccelerators, devicesPerReplica } from '../../lib/config/resolved.js';
import type { FleetSim } from '../../lib/fleetSimulator/index.js';

/** Replicas per accelerator name; accelerators not named hold none. */
export type Fleet = ReadonlyMap<string, number>;

export interface NodeShape {
  readonly group: string;
  readonly type: string;
  readonly replicasPerNode: number;
  readonly pricePerNode: number;
  readonly maxNodes: number;
}

/** The node group an accelerator's replicas of the variant go on (the first of its type they fit). */
export function nodeShape(config: Config, v: VariantConfig, accelerator: string): NodeShape {
  const type = acceleratorType(config, accelerator)!;
  const gpus = devicesPerReplica(config, v, accelerator);
  const group = config.nodeGroups.find((g) => g.acceleratorType === type && g.gpusPerNode >= gpus);
  if (!group) throw new Error(`no node group of type ${type} holds a replica of ${v.name} (${gpus} GPUs)`);
  return {
    group: group.name,
    type,
    replicasPerNode: Math.floor(group.gpusPerNode / gpus),
    pricePerNode: nodePricePerHour(config, group),
    maxNodes: group.maxNodes,
  };
}

/** $/h of n replicas on an accelerator, as whole nodes are billed. */
export function fleetCostPerHour(
  config: Config,
  v: VariantConfig,
  accelerator: string,
  replicas: number,
): number {
  const shape = nodeShape(config, v, accelerator);
  return Math.ceil(replicas / shape.replicasPerNode) * shape.pricePerNode;
}

/** Most replicas an accelerator can hold for the variant (its bound and its node group's). */
export function maxReplicasOn(config: Config, v: VariantConfig, accelerator: string): number {
  const shape = nodeShape(config, v, accelerator);
  return Math.min(v.maxReplicas ?? Infinity, shape.maxNodes * shape.replicasPerNode);
}

export interface FleetChange {
  readonly accelerator: string;
  readonly from: number;
  readonly to: number;
}

/**
 * One step of holding `fleet`: node groups sized for it (grown first), then, with `setReplicas`,
 * the replicas set; returns the replica changes made. Without `setReplicas` only the nodes are
 * tended (surplus empty nodes go).
 */
export function holdFleet(
  sim: FleetSim,
  config: Config,
  v: VariantConfig,
  fleet: Fleet,
  setReplicas: boolean,
): FleetChange[] {
  const state = sim.state();
  const variant = state.variants.find((s) => s.name === v.name);
  const accelerators = allowedAccelerators(config, v);
  const nodesWanted = new Map<string, number>();
  for (const acc of accelerators) {
    const shape = nodeShape(config, v, acc);
    const counts = variant?.byAccelerator[shape.type];
    const draining = counts?.draining ?? 0;
    const active = setReplicas
      ? (fleet.get(acc) ?? 0)
      : (counts?.['pending-node'] ?? 0) + (counts?.loading ?? 0) + (counts?.ready ?? 0);
    const nodes = Math.ceil((active + draining) / shape.replicasPerNode);
    nodesWanted.set(shape.group, (nodesWanted.get(shape.group) ?? 0) + nodes);
  }
  for (const g of state.nodeGroups) {
    const wanted = nodesWanted.get(g.name) ?? 0;
    const live = g.ready + g.provisioning;
    if (wanted !== live) sim.setNodeGroupSize(g.name, wanted);
  }
  const changes: FleetChange[] = [];
  if (!setReplicas) return changes;
  for (const acc of accelerators) {
    const type = acceleratorType(config, acc)!;
    const counts = variant?.byAccelerator[type];
    const from = (counts?.['pending-node'] ?? 0) + (counts?.loading ?? 0) + (counts?.ready ?? 0);
    const to = fleet.get(acc) ?? 0;
    if (from === to) continue;
    sim.setReplicas(v.name, type, to);
    changes.push({ accelerator: acc, from, to });
  }
  return changes;
}
