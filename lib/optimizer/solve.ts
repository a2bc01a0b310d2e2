/**
 * The optimizer's entry point: candidates for every server, then the unlimited choice or the
 * limited-capacity greedy. Pure: the system in, the solution out; ties broken by name.
 */
import { buildCandidates, compareNames, newSolveContext, type RankedCandidate } from './candidates.js';
import { allocateLimited } from './greedy.js';
import type { Allocation, Solution, SystemSpec } from './system.js';

export function solve(system: SystemSpec): Solution {
  const ctx = newSolveContext(system.optimizer);
  const servers = [...system.servers].sort((a, b) => compareNames(a.name, b.name));
  const ranked = new Map<string, RankedCandidate[]>();
  const notes = new Map<string, string[]>();
  const ratesPerReplica = new Map<string, ReadonlyMap<string, number>>();
  for (const server of servers) {
    const built = buildCandidates(system, server, ctx);
    ranked.set(server.name, built.candidates);
    ratesPerReplica.set(server.name, built.ratesPerReplica);
    if (built.notes.length > 0) notes.set(server.name, built.notes);
  }

  let allocations: Map<string, Allocation>;
  if (system.optimizer.unlimited) {
    allocations = new Map();
    for (const [name, candidates] of ranked) {
      if (candidates[0]) allocations.set(name, candidates[0].allocation);
    }
  } else {
    // An empty candidate (idle server, no minimum) takes no capacity and is left out, as in the reference.
    allocations = allocateLimited(
      servers.map((s) => ({
        name: s.name,
        priority: system.serviceClasses.get(s.serviceClass)?.priority ?? Number.MAX_SAFE_INTEGER,
        candidates: ranked.get(s.name)!.filter((c) => c.allocation.numReplicas > 0),
      })),
      system.capacity,
      system.optimizer,
    );
  }
  for (const server of servers) {
    if (!allocations.has(server.name)) {
      const list = notes.get(server.name) ?? [];
      const candidates = ranked.get(server.name) ?? [];
      if (candidates.length === 0) list.push('no feasible candidate');
      else if (candidates.every((c) => c.allocation.numReplicas === 0))
        list.push('idle with no minimum: needs nothing');
      else list.push('no candidate fits the remaining capacity');
      notes.set(server.name, list);
    }
  }
  const candidates = new Map([...ranked].map(([name, list]) => [name, list.map((c) => c.allocation)]));
  return {
    allocations,
    candidates,
    notes,
    ratesPerReplica,
    stats: { sizings: ctx.sizings.size, evaluations: ctx.evaluations },
  };
}
