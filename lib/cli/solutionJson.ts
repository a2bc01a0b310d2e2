/** The solution in Inferno's shape (`{"allocations": {...}}`), optionally with every candidate weighed. */
import type { Allocation, Solution, SystemSpec } from '../optimizer/index.js';

export interface InfernoAllocationJson {
  accelerator: string;
  numReplicas: number;
  maxBatch: number;
  cost: number;
  itlAverage: number;
  ttftAverage: number;
  load: { arrivalRate: number; avgInTokens: number; avgOutTokens: number };
}

export interface CandidateJson {
  accelerator: string;
  numReplicas: number;
  maxBatch: number;
  cost: number;
  value: number;
  itlAverage: number;
  ttftAverage: number;
  /** sustainable rate of one replica within the targets (req/s) */
  maxRatePerReplica: number;
}

export interface SolutionJson {
  allocations: Record<string, InfernoAllocationJson>;
  candidates?: Record<string, CandidateJson[]>;
}

function candidateJson(a: Allocation): CandidateJson {
  return {
    accelerator: a.accelerator,
    numReplicas: a.numReplicas,
    maxBatch: a.maxBatch,
    cost: a.cost,
    value: a.value,
    itlAverage: a.itlAverage,
    ttftAverage: a.ttftAverage,
    maxRatePerReplica: a.maxRatePerReplica,
  };
}

export function solutionToJson(
  system: SystemSpec,
  solution: Solution,
  withCandidates: boolean,
): SolutionJson {
  const loads = new Map(system.servers.map((s) => [s.name, s.load]));
  const allocations: Record<string, InfernoAllocationJson> = {};
  for (const [name, a] of [...solution.allocations].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    const load = loads.get(name)!;
    allocations[name] = {
      accelerator: a.accelerator,
      numReplicas: a.numReplicas,
      maxBatch: a.maxBatch,
      cost: a.cost,
      itlAverage: a.itlAverage,
      ttftAverage: a.ttftAverage,
      load: { arrivalRate: load.arrivalRate, avgInTokens: load.avgInTokens, avgOutTokens: load.avgOutTokens },
    };
  }
  if (!withCandidates) return { allocations };
  const candidates: Record<string, CandidateJson[]> = {};
  for (const [name, list] of solution.candidates) candidates[name] = list.map(candidateJson);
  return { allocations, candidates };
}
