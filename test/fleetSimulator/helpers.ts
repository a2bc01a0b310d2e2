import type {
  FleetSim,
  FleetSimConfig,
  MetricSample,
  ReplicaProfile,
  RequestRecord,
  TraceRequest,
} from '../../lib/fleetSimulator/index.js';

/** The per-request records of a simulation made with results.keepRecords (as the configs here are). */
export function recordsOf(sim: FleetSim): readonly RequestRecord[] {
  const { records } = sim.results();
  if (records === undefined) throw new Error('this simulation keeps no records: set results.keepRecords');
  return records;
}

/** Round numbers so that latencies can be computed by hand: TTFT alone = 20 + 0.1 I ms, ITL = 10 + n ms. */
export const SIMPLE_PROFILE: ReplicaProfile = {
  alpha: 10,
  beta: 1,
  gamma: 20,
  delta: 0.1,
  maxBatchSize: 8,
  kvCacheTokens: 10_000,
  gpusPerReplica: 1,
  loadSeconds: 30,
};

export function oneVariantConfig(options: {
  profile?: Partial<ReplicaProfile>;
  initialReplicas?: number;
  gpusPerNode?: number;
  initialNodes?: number;
  maxNodes?: number;
  provisionSeconds?: number;
  consolidateAfterSeconds?: number;
  maxQueuedRequests?: number;
  seed?: number;
  delayJitter?: number;
}): FleetSimConfig {
  return {
    variants: [
      {
        name: 'chat',
        namespace: 'llm',
        model: 'llama-8b',
        accelerator: 'H100',
        profileByAccelerator: { H100: { ...SIMPLE_PROFILE, ...options.profile } },
        initialReplicas: options.initialReplicas ?? 1,
        maxQueuedRequests: options.maxQueuedRequests,
      },
    ],
    nodeGroups: [
      {
        name: 'h100',
        acceleratorType: 'H100',
        gpusPerNode: options.gpusPerNode ?? 8,
        maxNodes: options.maxNodes ?? 4,
        initialNodes: options.initialNodes ?? 1,
        provisionSeconds: options.provisionSeconds ?? 60,
        consolidateAfterSeconds: options.consolidateAfterSeconds,
      },
    ],
    seed: options.seed,
    delayJitter: options.delayJitter,
    results: { keepRecords: true },
  };
}

export function requests(
  ...specs: [arrival: number, inputTokens: number, outputTokens: number][]
): TraceRequest[] {
  return specs.map(([arrival, inputTokens, outputTokens]) => ({ arrival, inputTokens, outputTokens }));
}

/** Sum of the samples named `name` whose labels include `match`. */
export function sampleSum(
  samples: readonly MetricSample[],
  name: string,
  match: Record<string, string> = {},
): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

export const ms = (value: number) => value / 1000;

const H100_8B: ReplicaProfile = {
  alpha: 8,
  beta: 0.3,
  gamma: 20,
  delta: 0.02,
  maxBatchSize: 64,
  kvCacheTokens: 200_000,
  gpusPerReplica: 1,
  loadSeconds: 40,
  maxModelLen: 131_072,
};

/** Three variants on two GPU types, like the default demo. */
export function demoConfig(seed: number, delayJitter = 0.2): FleetSimConfig {
  return {
    seed,
    delayJitter,
    results: { keepRecords: true },
    variants: [
      {
        name: 'chat',
        model: 'llama-8b',
        accelerator: 'H100',
        profileByAccelerator: { H100: H100_8B },
        initialReplicas: 4,
      },
      {
        name: 'code',
        model: 'codellama-13b',
        accelerator: 'L40S',
        profileByAccelerator: {
          L40S: {
            ...H100_8B,
            alpha: 25,
            beta: 0.8,
            gamma: 40,
            delta: 0.08,
            kvCacheTokens: 60_000,
            maxModelLen: 16_384,
          },
          H100: H100_8B,
        },
        initialReplicas: 2,
      },
      {
        name: 'batch',
        model: 'llama-8b',
        accelerator: 'H100',
        profileByAccelerator: { H100: H100_8B },
        initialReplicas: 1,
      },
    ],
    nodeGroups: [
      { name: 'p5', acceleratorType: 'H100', gpusPerNode: 8, minNodes: 1, maxNodes: 3, provisionSeconds: 90 },
      {
        name: 'g6e',
        acceleratorType: 'L40S',
        gpusPerNode: 1,
        minNodes: 2,
        maxNodes: 16,
        provisionSeconds: 60,
      },
    ],
  };
}

/**
 * A toy controller (the real one lives elsewhere): every `period` seconds it reads the scrape and
 * the variant queues and asks for one replica per `perReplica` outstanding requests, then sizes
 * the node groups to fit.
 */
export function runToyController(
  sim: FleetSim,
  until: number,
  period = 15,
  perReplica = 24,
  from = 0,
): number {
  let steps = 0;
  for (let t = from + period; t <= until; t += period) {
    const samples = sim.scrape(t);
    const state = sim.state();
    const gpusWanted: Record<string, number> = {};
    for (const variant of state.variants) {
      const pods = new Set(variant.replicas.map((r) => r.id));
      const outstanding =
        variant.queued +
        samples
          .filter(
            (s) =>
              (s.name === 'vllm:num_requests_running' || s.name === 'vllm:num_requests_waiting') &&
              pods.has(s.labels.pod!),
          )
          .reduce((sum, s) => sum + s.value, 0);
      const accelerator = Object.keys(variant.byAccelerator)[0]!;
      const desired = Math.min(Math.max(Math.ceil(outstanding / perReplica), 1), 12);
      sim.setReplicas(variant.name, accelerator, desired);
      gpusWanted[accelerator] = (gpusWanted[accelerator] ?? 0) + desired;
    }
    for (const group of state.nodeGroups) {
      sim.setNodeGroupSize(
        group.name,
        Math.ceil((gpusWanted[group.acceleratorType] ?? 0) / group.gpusPerNode),
      );
    }
    steps++;
  }
  return steps;
}
