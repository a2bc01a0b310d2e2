/**
 * Holding a fleet in the simulator, whole nodes included: what the searched yardsticks (oracle,
 * oracle-lead, static-best) do at every step. Shared by the searches and by the controllers that
 * replay their results in the closed loop, so that a replay runs exactly the calls the search ran.
 *
 * A fleet is replicas per accelerator (by the config's accelerator names) of one simulated
 * variant: a variant, or one role of a disaggregated variant (whose prefill and decode pods of one
 * accelerator type share the type's nodes). Nodes are whole: a node group gets as many nodes as
 * the wanted replicas of every variant held on it plus the ones still draining need (a draining
 * replica keeps its GPUs until it is empty, and draining is billed), grown before the replicas
 * are asked for; surplus nodes go as soon as they are empty.
 */
import type { Config, VariantConfig } from '../../lib/config/schema.js';
import { nodePricePerHour } from '../../lib/config/nodePrice.js';
import { acceleratorType, allowedAccelerators, devicesPerReplica } from '../../lib/config/resolved.js';
import type { FleetSim } from '../../lib/fleetSimulator/index.js';

/** Replicas per accelerator name; accelerators not named hold none. */
export type Fleet = ReadonlyMap<string, number>;

/** A fleet per simulated variant held (by HeldVariant.name). */
export type Fleets = ReadonlyMap<string, Fleet>;

/** One simulated variant whose replicas a fleet holds: a variant, or one role of a disaggregated one. */
export interface HeldVariant {
  /** the simulated fleet's variant */
  readonly name: string;
  readonly accelerators: readonly string[];
  /** GPUs one replica takes on an accelerator */
  readonly devices: (accelerator: string) => number;
  readonly minReplicas: number;
  /** Infinity when unbounded */
  readonly maxReplicas: number;
}

/** A (single-Deployment) variant as a held variant. */
export function heldVariant(config: Config, v: VariantConfig): HeldVariant {
  return {
    name: v.name,
    accelerators: allowedAccelerators(config, v),
    devices: (acc) => devicesPerReplica(config, v, acc),
    minReplicas: v.minReplicas,
    maxReplicas: v.maxReplicas ?? Infinity,
  };
}

export interface NodeShape {
  readonly group: string;
  readonly type: string;
  readonly gpusPerNode: number;
  readonly replicasPerNode: number;
  readonly pricePerNode: number;
  readonly maxNodes: number;
}

/** The node group replicas of `gpus` GPUs on an accelerator go on (the first of its type they fit). */
export function nodeShapeOf(
  config: Config,
  accelerator: string,
  gpus: number,
  what = 'a replica',
): NodeShape {
  const type = acceleratorType(config, accelerator)!;
  const group = config.nodeGroups.find((g) => g.acceleratorType === type && g.gpusPerNode >= gpus);
  if (!group) throw new Error(`no node group of type ${type} holds ${what} (${gpus} GPUs)`);
  return {
    group: group.name,
    type,
    gpusPerNode: group.gpusPerNode,
    replicasPerNode: Math.floor(group.gpusPerNode / gpus),
    pricePerNode: nodePricePerHour(config, group),
    maxNodes: group.maxNodes,
  };
}

/** The node group an accelerator's replicas of the variant go on (the first of its type they fit). */
export function nodeShape(config: Config, v: VariantConfig, accelerator: string): NodeShape {
  return nodeShapeOf(
    config,
    accelerator,
    devicesPerReplica(config, v, accelerator),
    `a replica of ${v.name}`,
  );
}

function heldShape(config: Config, h: HeldVariant, accelerator: string): NodeShape {
  return nodeShapeOf(config, accelerator, h.devices(accelerator), `a replica of ${h.name}`);
}

/** Pods of one size to place: `count` of them, `gpus` GPUs each. */
export interface PodCount {
  readonly gpus: number;
  readonly count: number;
}

/**
 * Whole nodes of `gpusPerNode` GPUs the pods need, each pod's GPUs on one node: first fit, the
 * largest pods first (for pods of one size, exactly ceil(count / pods per node)).
 */
export function nodesFor(gpusPerNode: number, pods: readonly PodCount[]): number {
  const free: number[] = [];
  for (const { gpus, count } of [...pods].sort((a, b) => b.gpus - a.gpus)) {
    if (gpus > gpusPerNode) throw new Error(`a pod of ${gpus} GPUs does not fit a node of ${gpusPerNode}`);
    for (let i = 0; i < count; i++) {
      const at = free.findIndex((f) => f >= gpus);
      if (at >= 0) free[at]! -= gpus;
      else free.push(gpusPerNode - gpus);
    }
  }
  return free.length;
}

/** Pods per node group of `replicas(held, accelerator)` replicas of every held variant. */
function podsByGroup(
  config: Config,
  held: readonly HeldVariant[],
  replicas: (h: HeldVariant, accelerator: string, shape: NodeShape) => number,
): Map<string, { shape: NodeShape; pods: PodCount[] }> {
  const groups = new Map<string, { shape: NodeShape; pods: PodCount[] }>();
  for (const h of held) {
    for (const acc of h.accelerators) {
      const shape = heldShape(config, h, acc);
      const count = replicas(h, acc, shape);
      const entry = groups.get(shape.group) ?? { shape, pods: [] };
      entry.pods.push({ gpus: h.devices(acc), count });
      groups.set(shape.group, entry);
    }
  }
  return groups;
}

/** Whole nodes per node group the fleets need (every group the held variants may use, zeros included). */
export function fleetsNodes(
  config: Config,
  held: readonly HeldVariant[],
  fleets: Fleets,
): Map<string, number> {
  const groups = podsByGroup(config, held, (h, acc) => fleets.get(h.name)?.get(acc) ?? 0);
  return new Map([...groups].map(([name, g]) => [name, nodesFor(g.shape.gpusPerNode, g.pods)]));
}

/** $/h of the fleets of variants sharing node groups, as whole nodes are billed. */
export function fleetsCostPerHour(config: Config, held: readonly HeldVariant[], fleets: Fleets): number {
  const groups = podsByGroup(config, held, (h, acc) => fleets.get(h.name)?.get(acc) ?? 0);
  let cost = 0;
  for (const g of groups.values()) cost += nodesFor(g.shape.gpusPerNode, g.pods) * g.shape.pricePerNode;
  return cost;
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

/** Most replicas an accelerator can hold for a held variant (its bound and its node group's). */
export function maxHeldOn(config: Config, h: HeldVariant, accelerator: string): number {
  const shape = heldShape(config, h, accelerator);
  return Math.min(h.maxReplicas, shape.maxNodes * shape.replicasPerNode);
}

/** Most replicas an accelerator can hold for the variant (its bound and its node group's). */
export function maxReplicasOn(config: Config, v: VariantConfig, accelerator: string): number {
  return maxHeldOn(config, heldVariant(config, v), accelerator);
}

export interface FleetChange {
  /** the simulated variant changed */
  readonly variant: string;
  readonly accelerator: string;
  readonly from: number;
  readonly to: number;
}

/**
 * One step of holding `fleets`: node groups sized for them (grown first), then, with
 * `setReplicas`, the replicas set; returns the replica changes made. Without `setReplicas` only
 * the nodes are tended (surplus empty nodes go).
 */
export function holdFleets(
  sim: FleetSim,
  config: Config,
  held: readonly HeldVariant[],
  fleets: Fleets,
  setReplicas: boolean,
): FleetChange[] {
  const state = sim.state();
  const counts = (h: HeldVariant, type: string) =>
    state.variants.find((s) => s.name === h.name)?.byAccelerator[type];
  const groups = podsByGroup(config, held, (h, acc, shape) => {
    const c = counts(h, shape.type);
    const active = setReplicas
      ? (fleets.get(h.name)?.get(acc) ?? 0)
      : (c?.['pending-node'] ?? 0) + (c?.loading ?? 0) + (c?.ready ?? 0);
    return active + (c?.draining ?? 0);
  });
  for (const g of state.nodeGroups) {
    const entry = groups.get(g.name);
    const wanted = entry ? nodesFor(entry.shape.gpusPerNode, entry.pods) : 0;
    const live = g.ready + g.provisioning;
    if (wanted !== live) sim.setNodeGroupSize(g.name, wanted);
  }
  const changes: FleetChange[] = [];
  if (!setReplicas) return changes;
  for (const h of held) {
    for (const acc of h.accelerators) {
      const type = acceleratorType(config, acc)!;
      const c = counts(h, type);
      const from = (c?.['pending-node'] ?? 0) + (c?.loading ?? 0) + (c?.ready ?? 0);
      const to = fleets.get(h.name)?.get(acc) ?? 0;
      if (from === to) continue;
      sim.setReplicas(h.name, type, to);
      changes.push({ variant: h.name, accelerator: acc, from, to });
    }
  }
  return changes;
}

/** holdFleets for one variant. */
export function holdFleet(
  sim: FleetSim,
  config: Config,
  v: VariantConfig,
  fleet: Fleet,
  setReplicas: boolean,
): FleetChange[] {
  return holdFleets(sim, config, [heldVariant(config, v)], new Map([[v.name, fleet]]), setReplicas);
}
