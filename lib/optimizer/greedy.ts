/**
 * Limited capacity (docs/SIZING.md section 5): a greedy pass that gives each server, in order of
 * priority and regret, its best candidate that still fits; then best effort for the servers
 * left out, by the saturation policy.
 */
import { compareNames, type RankedCandidate } from './candidates.js';
import type { Allocation, OptimizerSettings } from './system.js';

export interface GreedyServer {
  readonly name: string;
  readonly priority: number;
  /** sorted by value, then accelerator name; none of them empty */
  readonly candidates: readonly RankedCandidate[];
}

interface Entry {
  readonly server: GreedyServer;
  index: number;
  /** regret: how much worse the next candidate is than the current one */
  delta: number;
}

/** Free devices per accelerator type, consumed as allocations are made. */
type Available = Map<string, number>;

function regret(candidates: readonly RankedCandidate[], index: number): number {
  const next = candidates[index + 1];
  return next ? next.allocation.value - candidates[index]!.allocation.value : Infinity;
}

/** Priority first (1 is highest), then larger regret, then larger value, then name. */
function compareEntries(a: Entry, b: Entry): number {
  if (a.server.priority !== b.server.priority) return a.server.priority - b.server.priority;
  if (a.delta !== b.delta) return b.delta > a.delta ? 1 : -1;
  const va = a.server.candidates[a.index]!.allocation.value;
  const vb = b.server.candidates[b.index]!.allocation.value;
  if (va !== vb) return vb - va;
  return compareNames(a.server.name, b.server.name);
}

function insertSorted(entries: Entry[], entry: Entry): void {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareEntries(entries[mid]!, entry) < 0) lo = mid + 1;
    else hi = mid;
  }
  entries.splice(lo, 0, entry);
}

function scaled(allocation: Allocation, numReplicas: number): Allocation {
  // As the reference, best effort scales cost and value but keeps the predictions made for the
  // full replica count: they describe the allocation the server would need, not what it gets.
  const factor = numReplicas / allocation.numReplicas;
  return { ...allocation, numReplicas, cost: allocation.cost * factor, value: allocation.value * factor };
}

/** Gives each entry, in order, its best candidate that fits; returns the entries that got none. */
function allocateInOrder(sorted: Entry[], available: Available, chosen: Map<string, Allocation>): Entry[] {
  const entries = [...sorted];
  const unallocated: Entry[] = [];
  while (entries.length > 0) {
    const top = entries.shift()!;
    const candidate = top.server.candidates[top.index]!;
    const count = candidate.allocation.numReplicas * candidate.unitsPerReplica;
    const free = available.get(candidate.type) ?? 0;
    if (free >= count) {
      available.set(candidate.type, free - count);
      chosen.set(top.server.name, candidate.allocation);
      continue;
    }
    top.index++;
    if (top.index === top.server.candidates.length) {
      unallocated.push(top);
      continue;
    }
    top.delta = regret(top.server.candidates, top.index);
    insertSorted(entries, top);
  }
  return unallocated;
}

/** PriorityExhaustive: each server in turn takes as many replicas as fit of its best candidate that fits at all. */
function allocateMaximally(entries: Entry[], available: Available, chosen: Map<string, Allocation>): void {
  for (const entry of entries) {
    for (const candidate of entry.server.candidates) {
      const free = available.get(candidate.type) ?? 0;
      const replicas = Math.min(
        Math.floor(free / candidate.unitsPerReplica),
        candidate.allocation.numReplicas,
      );
      if (replicas > 0) {
        available.set(candidate.type, free - replicas * candidate.unitsPerReplica);
        chosen.set(entry.server.name, scaled(candidate.allocation, replicas));
        break;
      }
    }
  }
}

/** Round robin: one replica at a time to each server in turn, until nothing more fits or each has what it needs. */
function allocateEqually(entries: Entry[], available: Available, chosen: Map<string, Allocation>): void {
  const granted = new Map<string, { candidate: RankedCandidate; replicas: number }>();
  const active = new Set(entries.map((e) => e.server.name));
  while (active.size > 0) {
    for (const entry of entries) {
      const name = entry.server.name;
      if (!active.has(name)) continue;
      let grant = granted.get(name);
      if (!grant) {
        const candidate = entry.server.candidates.find(
          (c) => (available.get(c.type) ?? 0) >= c.unitsPerReplica,
        );
        if (!candidate) {
          active.delete(name);
          continue;
        }
        grant = { candidate, replicas: 0 };
      }
      const { candidate } = grant;
      const free = available.get(candidate.type) ?? 0;
      if (free >= candidate.unitsPerReplica && grant.replicas < candidate.allocation.numReplicas) {
        grant.replicas++;
        available.set(candidate.type, free - candidate.unitsPerReplica);
        granted.set(name, grant);
      } else {
        active.delete(name);
      }
    }
  }
  for (const [name, grant] of granted) chosen.set(name, scaled(grant.candidate.allocation, grant.replicas));
}

function priorityGroups(entries: Entry[]): Entry[][] {
  const groups: Entry[][] = [];
  for (const entry of entries) {
    const last = groups[groups.length - 1];
    if (last && last[0]!.server.priority === entry.server.priority) last.push(entry);
    else groups.push([entry]);
  }
  return groups;
}

function bestEffort(
  unallocated: Entry[],
  available: Available,
  chosen: Map<string, Allocation>,
  policy: OptimizerSettings['saturationPolicy'],
): void {
  switch (policy) {
    case 'PriorityExhaustive':
      allocateMaximally(unallocated, available, chosen);
      break;
    case 'PriorityRoundRobin':
      for (const group of priorityGroups(unallocated)) allocateEqually(group, available, chosen);
      break;
    case 'RoundRobin':
      allocateEqually(unallocated, available, chosen);
      break;
    case 'None':
      break;
  }
}

export function allocateLimited(
  servers: readonly GreedyServer[],
  capacity: ReadonlyMap<string, number>,
  settings: OptimizerSettings,
): Map<string, Allocation> {
  const available: Available = new Map(capacity);
  const chosen = new Map<string, Allocation>();
  const entries: Entry[] = servers
    .filter((s) => s.candidates.length > 0)
    .map((server) => ({ server, index: 0, delta: regret(server.candidates, 0) }));
  entries.sort(compareEntries);
  if (settings.delayedBestEffort) {
    bestEffort(allocateInOrder(entries, available, chosen), available, chosen, settings.saturationPolicy);
  } else {
    for (const group of priorityGroups(entries)) {
      bestEffort(allocateInOrder(group, available, chosen), available, chosen, settings.saturationPolicy);
    }
  }
  return chosen;
}
