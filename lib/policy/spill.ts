/**
 * A deliberate spill (policy.spill): when the chosen accelerator cannot hold a variant's target
 * (its node groups' limit, what the other variants leave of it, maxReplicas), the shortfall runs
 * on another allowed accelerator, sized for the demand the chosen one cannot serve, not as a whole
 * move. Without it, the only second accelerator a variant ever ran was an abandoned move's, kept
 * by make-before-break because the chosen accelerator could never reach its target: sized for a
 * move, on whatever the move bought (bench/RESULTS.md, "Issue 14: a deliberate spill"). With it,
 * make-before-break, when the target is beyond what the chosen accelerator can hold, releases the
 * other accelerators once what replaces them is ready (readyBeforeRelease): what runs serves the
 * demand of the moment, and the spill is the headroom the window keeps. A move the spill does
 * better without is not made (stayRather); the default scenario's failures that led to both are
 * in bench/RESULTS.md, "Issue 14: the spill on the default scenario".
 *
 * Pure: the pool's guarded variants in, the same with their deployments and spills out.
 */
import type { Config } from '../config/schema.js';
import { acceleratorType, devicesPerReplica, nodeGroupsOfType } from '../config/resolved.js';
import { nodePricePerHour } from '../config/nodePrice.js';
import type { AcceleratorCapacity } from './capacity.js';
import { isMeasured } from './stages/demand.js';
import { guard, makeBeforeBreak, type Guarded } from './stages/guards.js';

export interface SpillContext {
  readonly config: Config;
  /** devices per type the pool may count on (sizingCapacity); undefined: unlimited */
  readonly devices: ReadonlyMap<string, number> | undefined;
  /** what the capacity provider reports: the devices one node brings */
  readonly capacity: readonly AcceleratorCapacity[];
  /** epoch seconds */
  readonly now: number;
}

/** A shortfall within this share of a replica is none: rates divide on noise. */
const SLACK = 1e-9;

/**
 * Each variant in turn. Its chosen accelerator holds what the other variants' targets leave of
 * it: the optimizer sized the pool's targets within its capacity, and a spill is placed after, so
 * a spill (or an abandoned move's replicas) of one variant never takes the room another variant's
 * target was sized on. The spill itself goes where every other variant's deployments leave room
 * (the spills placed before it, the rest's targets and what they keep).
 */
export function placeShortfalls(guarded: readonly Guarded[], ctx: SpillContext): Guarded[] {
  if (!ctx.config.policy.spill.enabled) return [...guarded];
  const out = [...guarded];
  for (let i = 0; i < out.length; i++) {
    const others = out.filter((_, j) => j !== i);
    out[i] = placeShortfall(out[i]!, ctx, {
      targets: targetDevices(ctx.config, others),
      deployments: askedDevices(ctx.config, others),
    });
  }
  return out;
}

/** Devices per type the given variants' targets take on their chosen accelerators. */
function targetDevices(config: Config, variants: readonly Guarded[]): Map<string, number> {
  const asked = new Map<string, number>();
  for (const g of variants) {
    if (g.accelerator)
      addDevices(asked, config, g.accelerator, g.target * devicesPerReplica(config, g.v, g.accelerator));
  }
  return asked;
}

/** Devices per type the given variants' deployments take. */
function askedDevices(config: Config, variants: readonly Guarded[]): Map<string, number> {
  const asked = new Map<string, number>();
  for (const g of variants) {
    for (const [acc, n] of g.deployments)
      addDevices(asked, config, acc, n * devicesPerReplica(config, g.v, acc));
  }
  return asked;
}

function addDevices(asked: Map<string, number>, config: Config, acc: string, devices: number) {
  const type = acceleratorType(config, acc) ?? acc;
  asked.set(type, (asked.get(type) ?? 0) + devices);
}

interface Placement {
  readonly accelerator: string;
  readonly replicas: number;
  /** replicas the shortfall needs there beyond those that fit */
  readonly short: number;
  /** cost per hour of the nodes it adds (free devices on nodes kept up anyway cost nothing) */
  readonly added: number;
  readonly cost: number;
}

/**
 * One variant: make-before-break, releasing what a target beyond the chosen accelerator's room
 * kept; then the shortfall there, held over the window, placed on another accelerator. A hold
 * (no measured demand) keeps what runs.
 */
export function placeShortfall(
  g: Guarded,
  ctx: SpillContext,
  /** devices per type the other variants take: by their targets alone, and by all they deploy */
  others: {
    readonly targets: ReadonlyMap<string, number>;
    readonly deployments: ReadonlyMap<string, number>;
  },
): Guarded {
  if (!isMeasured(g) || !g.accelerator) return g;
  const stay = stayRather(g, ctx, others.targets);
  if (stay) return placeShortfall(stay, ctx, others);
  const { v, current, accelerator: chosen, target } = g;
  const room = roomFor(ctx, others.targets, v, chosen);
  // Replicas of the chosen accelerator asked beyond what it can hold: by the target (which the
  // window already holds), or by the demand itself where the target is bounded (by capacity or
  // maxReplicas), held over the window as the target is: capacity released is back a lead time
  // later at best.
  const rates = g.ratesPerReplica ?? new Map<string, number>();
  const rate = rates.get(chosen) ?? 0;
  const byDemand = rate > 0 ? Math.max(g.demand.rate / rate - room, 0) : 0;
  const window = g.windowSeconds ?? 0;
  const remembered = (g.memory.shortfalls ?? []).filter((r) => r.t > ctx.now - window);
  const held = remembered.filter((r) => r.accelerator === chosen).map((r) => r.replicas);
  const shortfall = Math.max(target - room, byDemand, ...held);
  const asked = room + shortfall;
  const shortfalls =
    byDemand > SLACK ? [...remembered, { t: ctx.now, accelerator: chosen, replicas: byDemand }] : remembered;
  // Without the chosen accelerator's rate per replica (nothing sized it) the shortfall has no
  // measure on another: nothing is spilled.
  const placement = shortfall > SLACK && rate > 0 ? placeOn(ctx, others, g, room, shortfall) : undefined;
  // Make-before-break waits for the target on the chosen accelerator; one beyond what it can
  // hold is never ready, and kept the other accelerators' replicas (an abandoned move's) for
  // good: the spill now covers the shortfall, so they go once what replaces them is ready: on the
  // chosen accelerator what the recommendation needs of it, and of the recommendation's part
  // beyond what it can hold, the spill's share, ready on the spill's accelerator (a move to an
  // accelerator the others' targets fill keeps what serves until the spill does). On a partial
  // measurement nothing is released (refuseShrinkOnGaps).
  const spill = placement
    ? {
        ready: current.byAccelerator.get(placement.accelerator)?.ready ?? 0,
        rate: rates.get(placement.accelerator) ?? 0,
      }
    : undefined;
  const needed = readyBeforeRelease({
    target,
    room,
    recommended: g.recommended ?? target,
    partial: g.gaps.length > 0,
    rate,
    spill,
  });
  const deployments = makeBeforeBreak(current, chosen, target, needed);
  const base = {
    ...g,
    deployments,
    windowMemory: { ...g.windowMemory, shortfalls, spilledTo: placement?.accelerator },
  };
  if (shortfall <= SLACK || !(rate > 0)) return base;
  const why = `${chosen} holds ${room} of the ${Math.ceil(asked - SLACK)} replicas asked`;
  if (!placement) {
    return { ...base, message: `${g.message}; no spill: ${why}, and no other accelerator has room` };
  }
  const kept = deployments.get(placement.accelerator) ?? 0;
  deployments.set(placement.accelerator, Math.max(kept, placement.replicas));
  const short = placement.short > 0 ? `, ${placement.short} short: no more room there` : '';
  return {
    ...base,
    reason: 'spill',
    message: `${g.message}; spill ${placement.replicas} on ${placement.accelerator}: ${why}${short}`,
    spill: { accelerator: placement.accelerator, replicas: placement.replicas },
  };
}

/**
 * Whether a move is worth it with a spill at hand; the variant stays on its current accelerator
 * (sized there for the same demand at that accelerator's rate per replica, and guarded again,
 * the shortfall there spilled as usual) where
 *   - the accelerator moved to cannot hold what the recommendation needs there (the other
 *     variants' targets fill it, or maxReplicas): the variant would run across the few replicas
 *     it gets there and a spill sized for the rest, while its current fleet serves; or
 *   - the current accelerator cannot hold the demand (the move is for want of room) and what it
 *     holds, with the rest spilled on the cheapest other accelerator, costs less than the move:
 *     the optimizer, which knows no spill, moves a variant whose accelerator is full to the next
 *     that holds it all, however much dearer.
 */
function stayRather(
  g: Guarded,
  ctx: SpillContext,
  targets: ReadonlyMap<string, number>,
): Guarded | undefined {
  const { v, current, accelerator: chosen } = g;
  if (!g.migrating || !current.accelerator || !isMeasured(g)) return undefined;
  const from = current.accelerator;
  const rates = g.ratesPerReplica ?? new Map<string, number>();
  const rate = rates.get(from) ?? 0;
  if (!(rate > 0)) return undefined;
  const room = roomFor(ctx, targets, v, chosen);
  const recommended = g.recommended ?? g.target;
  const replicas = Math.max(Math.ceil(g.demand.rate / rate - SLACK), v.minReplicas);
  let why: string | undefined;
  if (room < recommended) {
    why = `it holds ${room} of the ${recommended} replicas asked`;
  } else {
    const roomFrom = roomFor(ctx, targets, v, from);
    const rest = replicas - roomFrom;
    if (rest <= SLACK) return undefined;
    const spilled = [...rates]
      .filter(([acc, r]) => acc !== from && acc !== '' && r > 0)
      .map(([acc, r]) => Math.ceil((rest * rate) / r - SLACK) * replicaPrice(ctx, v, acc));
    const stay = roomFrom * replicaPrice(ctx, v, from) + Math.min(...spilled);
    const move = recommended * replicaPrice(ctx, v, chosen);
    if (!(stay < move)) return undefined;
    why = `${roomFrom} on ${from} and the rest spilled cost $${stay.toFixed(2)}/h, the move $${move.toFixed(2)}/h`;
  }
  const stayed = guard(
    {
      ...g,
      recommendation: {
        accelerator: from,
        replicas,
        reason: g.demand.driver,
        message: `sized for ${g.demand.rate.toFixed(3)} req/s on ${from}; no move to ${chosen}: ${why}`,
      },
    },
    ctx.config,
    ctx.now,
  );
  return stayed.migrating ? undefined : stayed;
}

/** What one replica's devices cost per hour, at the price of its node group's nodes. */
function replicaPrice(ctx: SpillContext, v: Guarded['v'], accelerator: string): number {
  const type = acceleratorType(ctx.config, accelerator) ?? accelerator;
  const group = nodeGroupsOfType(ctx.config, type)[0];
  const perDevice = group ? nodePricePerHour(ctx.config, group) / group.gpusPerNode : 0;
  return devicesPerReplica(ctx.config, v, accelerator) * perDevice;
}

/**
 * Make-before-break with a spill: the replicas the chosen accelerator must have ready before the
 * other accelerators' go. By default its whole target. Where the target is beyond what it can
 * hold (`room`), what the recommendation needs of it (within the room), provided the part of the
 * recommendation beyond the room is served by the spill's ready replicas (counted at the two
 * accelerators' rates per replica): otherwise what runs elsewhere is what serves that part, and
 * stays (Infinity: never ready). A partial measurement releases nothing.
 */
export function readyBeforeRelease(p: {
  readonly target: number;
  readonly room: number;
  readonly recommended: number;
  readonly partial: boolean;
  /** req/s one replica on the chosen accelerator sustains */
  readonly rate: number;
  /** the spill's ready replicas and their rate per replica, if one is placed */
  readonly spill?: { readonly ready: number; readonly rate: number };
}): number {
  if (p.partial) return Infinity;
  if (p.target <= p.room) return p.target;
  const beyond = Math.max(p.recommended - p.room, 0);
  const covered =
    beyond <= SLACK || (p.spill !== undefined && p.spill.ready * p.spill.rate >= beyond * p.rate - SLACK);
  return covered ? Math.min(p.recommended, p.room) : Infinity;
}

/**
 * Where `shortfall` replicas of the chosen accelerator go: the other allowed accelerator that
 * takes it whole first, then the one whose added nodes cost least, then by nominal cost.
 */
function placeOn(
  ctx: SpillContext,
  others: { readonly deployments: ReadonlyMap<string, number> },
  g: Guarded,
  room: number,
  shortfall: number,
): Placement | undefined {
  const { config } = ctx;
  const { v, accelerator: chosen, target } = g;
  const rates = g.ratesPerReplica ?? new Map<string, number>();
  const rate = rates.get(chosen) ?? 0;
  const withChosen = new Map(others.deployments);
  addDevices(withChosen, config, chosen, Math.min(target, room) * devicesPerReplica(config, v, chosen));
  return [...rates]
    .filter(([acc, r]) => acc !== chosen && acc !== '' && r > 0)
    .map(([acc, r]) => place(ctx, withChosen, g, acc, Math.ceil((shortfall * rate) / r - SLACK)))
    .filter((p): p is Placement => p !== undefined)
    .sort(
      (a, b) =>
        Number(a.short > 0) - Number(b.short > 0) ||
        a.added - b.added ||
        a.cost - b.cost ||
        (a.accelerator < b.accelerator ? -1 : 1),
    )[0];
}

/** Replicas of the variant the accelerator can hold: what the others leave of its type, and maxReplicas. */
function roomFor(
  ctx: SpillContext,
  asked: ReadonlyMap<string, number>,
  v: Guarded['v'],
  accelerator: string,
): number {
  const type = acceleratorType(ctx.config, accelerator) ?? accelerator;
  const bound = ctx.devices ? (ctx.devices.get(type) ?? 0) : Infinity;
  const fits = Math.floor(
    Math.max(bound - (asked.get(type) ?? 0), 0) / devicesPerReplica(ctx.config, v, accelerator),
  );
  return Math.min(fits, v.maxReplicas ?? Infinity);
}

/** `wanted` replicas on another accelerator: what fits, and what the nodes it adds cost. */
function place(
  ctx: SpillContext,
  asked: ReadonlyMap<string, number>,
  g: Guarded,
  accelerator: string,
  wanted: number,
): Placement | undefined {
  const { config } = ctx;
  const replicas = Math.min(wanted, roomFor(ctx, asked, g.v, accelerator));
  if (replicas <= 0) return undefined;
  const per = devicesPerReplica(config, g.v, accelerator);
  const type = acceleratorType(config, accelerator) ?? accelerator;
  const group = nodeGroupsOfType(config, type)[0];
  const node =
    ctx.capacity.find((c) => c.acceleratorType === type)?.devicesPerNode ?? group?.gpusPerNode ?? 1;
  const perDevice = group ? nodePricePerHour(config, group) / group.gpusPerNode : 0;
  const before = asked.get(type) ?? 0;
  const nodesAdded = Math.ceil((before + replicas * per) / node) - Math.ceil(before / node);
  return {
    accelerator,
    replicas,
    short: wanted - replicas,
    added: nodesAdded * node * perDevice,
    cost: replicas * per * perDevice,
  };
}
