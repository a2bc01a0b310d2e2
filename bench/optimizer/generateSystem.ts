/**
 * A synthetic fleet in the style of the reference's large sample (test/fixtures/inferno/large.json):
 * its 21 accelerator configurations, its 9 models' profiles and its latency service classes, with
 * many generated servers. Deterministic for a given seed.
 *
 * Loads: arrival rates log-uniform over [minRate, maxRate] req/min. Token shapes: most servers
 * reuse one of a few dozen common shapes (round sizes, as real fleets share a handful of
 * workloads), the others draw their own, so a fleet of 1,000 has a few hundred distinct shapes.
 * Capacity: a fraction of what the fleet would take in unlimited mode, per device type, so that
 * some servers, not all, are left short.
 */
import { readFileSync } from 'node:fs';
import { infernoToSystem, parseInfernoSystem } from '../../lib/config/index.js';
import { solve, type SaturationPolicy } from '../../lib/optimizer/index.js';
import { mulberry32 } from '../../lib/fleetSimulator/random.js';

/** The reference sample the accelerators, models and classes are taken from. */
export const LARGE_SAMPLE = new URL('../../test/fixtures/inferno/large.json', import.meta.url);

/** Service classes used, with the share of servers in each. */
const CLASS_MIX: readonly (readonly [string, number])[] = [
  ['Premium', 0.2],
  ['Bronze', 0.35],
  ['Free', 0.45],
];

const ROUND_INPUTS = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];
const ROUND_OUTPUTS = [8, 16, 32, 64, 128, 256, 512, 1024, 2048];

export interface GenerateOptions {
  /** servers (variants) to generate */
  readonly servers?: number;
  readonly seed?: number;
  /** arrival rates, requests per minute, drawn log-uniformly between these */
  readonly minRate?: number;
  readonly maxRate?: number;
  /** average input and output tokens of the shapes servers draw for themselves (log-uniform) */
  readonly inputRange?: readonly [number, number];
  readonly outputRange?: readonly [number, number];
  /** how many common (input, output) shapes servers share */
  readonly commonShapes?: number;
  /** share of servers that use a common shape; the others draw their own */
  readonly commonShapeShare?: number;
  /** share of servers that already have an allocation (their unlimited choice, replicas perturbed) */
  readonly currentShare?: number;
  /** share of servers with minNumReplicas 1 (the others 0) */
  readonly minOneShare?: number;
  /**
   * Devices per type: this share of what the fleet takes in unlimited mode, plus the sample's
   * capacity times `capacityScale` (so that every type has some).
   */
  readonly capacityFraction?: number;
  readonly capacityScale?: number;
  readonly saturationPolicy?: SaturationPolicy;
  readonly delayedBestEffort?: boolean;
  /** the sample to take accelerators, models and classes from: a path, or the parsed document */
  readonly source?: string | URL | unknown;
}

/** The Inferno SystemSpec JSON shapes this generator writes (a subset of the reference's fields). */
export interface InfernoServerJson {
  name: string;
  class: string;
  model: string;
  keepAccelerator: boolean;
  minNumReplicas: number;
  maxBatchSize: number;
  currentAlloc: {
    accelerator: string;
    numReplicas: number;
    cost: number;
    load: { arrivalRate: number; avgInTokens: number; avgOutTokens: number };
  };
}

interface InfernoAcceleratorJson {
  name: string;
  type: string;
  multiplicity?: number;
  cost: number;
  [key: string]: unknown;
}

interface InfernoModelJson {
  name: string;
  acc: string;
  accCount?: number;
  [key: string]: unknown;
}

interface InfernoClassJson {
  name: string;
  priority: number;
  modelTargets: { model: string; [key: string]: unknown }[];
}

export interface InfernoSystemDocument {
  system: {
    acceleratorData: { accelerators: InfernoAcceleratorJson[] };
    capacityData: { count: { type: string; count: number }[] };
    modelData: { models: InfernoModelJson[] };
    serviceClassData: { serviceClasses: InfernoClassJson[] };
    serverData: { servers: InfernoServerJson[] };
    optimizerData: {
      optimizer: { unlimited: boolean; saturationPolicy: SaturationPolicy; delayedBestEffort: boolean };
    };
  };
}

export interface GeneratedSystem {
  readonly document: InfernoSystemDocument;
  readonly summary: {
    readonly servers: number;
    readonly acceleratorConfigurations: number;
    readonly acceleratorTypes: number;
    readonly models: number;
    readonly serviceClasses: number;
    readonly distinctShapes: number;
    readonly withCurrentAllocation: number;
    /** devices per type the fleet takes in unlimited mode */
    readonly unlimitedDemand: Record<string, number>;
    readonly capacity: Record<string, number>;
  };
}

/** Seeded uniform numbers in [0, 1): the simulator's generator. */
export const seededRandom = (seed: number): (() => number) => mulberry32(seed);

function logUniform(random: () => number, lo: number, hi: number): number {
  return Math.exp(Math.log(lo) + random() * (Math.log(hi) - Math.log(lo)));
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function pickWeighted<T>(random: () => number, items: readonly (readonly [T, number])[]): T {
  let u = random() * items.reduce((sum, [, w]) => sum + w, 0);
  for (const [item, weight] of items) {
    u -= weight;
    if (u < 0) return item;
  }
  return items[items.length - 1]![0];
}

/** The sample's SystemSpec, without the conformance fixture's wrapper. */
function readSample(source: GenerateOptions['source']): InfernoSystemDocument['system'] {
  const doc =
    source === undefined || typeof source === 'string' || source instanceof URL
      ? (JSON.parse(readFileSync(source ?? LARGE_SAMPLE, 'utf8')) as unknown)
      : source;
  let system = (doc as { system?: unknown }).system;
  const inner = (system as { system?: unknown } | undefined)?.system;
  if (inner !== undefined) system = inner;
  if (system === null || typeof system !== 'object') throw new Error('sample has no system');
  return system as InfernoSystemDocument['system'];
}

function roundTo(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function generateSystem(options: GenerateOptions = {}): GeneratedSystem {
  const {
    servers: serverCount = 1000,
    seed = 1,
    minRate = 1,
    maxRate = 2000,
    inputRange = [16, 8192],
    outputRange = [8, 2048],
    commonShapes = 40,
    commonShapeShare = 0.6,
    currentShare = 0.5,
    minOneShare = 0.25,
    capacityFraction = 0.9,
    capacityScale = 1,
    saturationPolicy = 'PriorityRoundRobin',
    delayedBestEffort = false,
  } = options;
  const sample = readSample(options.source);
  const accelerators = sample.acceleratorData.accelerators;
  const models = sample.modelData.models;
  const modelNames = [...new Set(models.map((m) => m.name))].sort();
  const classes = CLASS_MIX.map(([name]) => {
    const found = sample.serviceClassData.serviceClasses.find((c) => c.name === name);
    if (!found) throw new Error(`sample has no service class ${name}`);
    return found;
  });

  // Independent streams, so changing one quantity does not move the others.
  const shapeRandom = seededRandom(seed * 7919 + 1);
  const loadRandom = seededRandom(seed * 7919 + 2);
  const mixRandom = seededRandom(seed * 7919 + 3);
  const currentRandom = seededRandom(seed * 7919 + 4);

  const common: [number, number][] = [];
  const commonKeys = new Set<string>();
  const roundInputs = ROUND_INPUTS.filter((n) => n >= inputRange[0] && n <= inputRange[1]);
  const roundOutputs = ROUND_OUTPUTS.filter((n) => n >= outputRange[0] && n <= outputRange[1]);
  while (common.length < Math.min(commonShapes, roundInputs.length * roundOutputs.length)) {
    const shape: [number, number] = [pick(shapeRandom, roundInputs), pick(shapeRandom, roundOutputs)];
    const key = shape.join('/');
    if (commonKeys.has(key)) continue;
    commonKeys.add(key);
    common.push(shape);
  }

  const servers: InfernoServerJson[] = [];
  const width = String(serverCount).length;
  for (let i = 0; i < serverCount; i++) {
    const serviceClass = pickWeighted(mixRandom, CLASS_MIX);
    const model = pick(mixRandom, modelNames);
    const [avgInTokens, avgOutTokens] =
      shapeRandom() < commonShapeShare
        ? pick(shapeRandom, common)
        : [
            Math.round(logUniform(shapeRandom, inputRange[0], inputRange[1])),
            Math.round(logUniform(shapeRandom, outputRange[0], outputRange[1])),
          ];
    servers.push({
      name: `${serviceClass}-${model}-${String(i).padStart(width, '0')}`,
      class: serviceClass,
      model,
      keepAccelerator: false,
      minNumReplicas: mixRandom() < minOneShare ? 1 : 0,
      maxBatchSize: 0,
      currentAlloc: {
        accelerator: '',
        numReplicas: 0,
        cost: 0,
        load: {
          arrivalRate: roundTo(logUniform(loadRandom, minRate, maxRate), 2),
          avgInTokens,
          avgOutTokens,
        },
      },
    });
  }

  const document: InfernoSystemDocument = {
    system: {
      acceleratorData: { accelerators },
      capacityData: { count: [] },
      modelData: { models },
      serviceClassData: { serviceClasses: classes },
      serverData: { servers },
      optimizerData: { optimizer: { unlimited: true, saturationPolicy, delayedBestEffort } },
    },
  };

  // What the fleet would take with unlimited capacity sets the scale of the limited capacity,
  // and gives the servers that already run their (perturbed) current allocation.
  const unlimited = solve(infernoToSystem(parseInfernoSystem(document, 'generated'), 'generated'));
  const accByName = new Map(accelerators.map((a) => [a.name, a]));
  const accCount = new Map(
    models.map((m) => [`${m.name}|${m.acc}`, m.accCount && m.accCount > 0 ? m.accCount : 1]),
  );
  const types = [...new Set(accelerators.map((a) => a.type))].sort();
  const demand: Record<string, number> = Object.fromEntries(types.map((t) => [t, 0]));
  let withCurrent = 0;
  for (const server of servers) {
    const chosen = unlimited.allocations.get(server.name);
    if (!chosen || chosen.accelerator === '') continue;
    const acc = accByName.get(chosen.accelerator)!;
    const units = accCount.get(`${server.model}|${acc.name}`)!;
    demand[acc.type]! += chosen.numReplicas * units * (acc.multiplicity ?? 1);
    if (currentRandom() < currentShare) {
      // Somewhere between half and one and a half of what it needs now: load has moved since.
      const replicas = Math.max(1, Math.round(chosen.numReplicas * (0.5 + currentRandom())));
      server.currentAlloc.accelerator = acc.name;
      server.currentAlloc.numReplicas = replicas;
      server.currentAlloc.cost = roundTo(acc.cost * units * replicas, 4);
      withCurrent++;
    }
  }
  const sampleCapacity = new Map(sample.capacityData.count.map((c) => [c.type, c.count]));
  const capacity: Record<string, number> = Object.fromEntries(
    types.map((t) => [
      t,
      Math.round(capacityFraction * demand[t]! + capacityScale * (sampleCapacity.get(t) ?? 0)),
    ]),
  );
  document.system.capacityData.count = types.map((type) => ({ type, count: capacity[type]! }));
  document.system.optimizerData.optimizer.unlimited = false;

  const shapes = new Set(
    servers.map((s) => `${s.currentAlloc.load.avgInTokens}/${s.currentAlloc.load.avgOutTokens}`),
  );
  return {
    document,
    summary: {
      servers: servers.length,
      acceleratorConfigurations: accelerators.length,
      acceleratorTypes: types.length,
      models: modelNames.length,
      serviceClasses: classes.length,
      distinctShapes: shapes.size,
      withCurrentAllocation: withCurrent,
      unlimitedDemand: demand,
      capacity,
    },
  };
}
