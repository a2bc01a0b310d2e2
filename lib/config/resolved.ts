/**
 * The validated config, resolved: its entries by name (variants by `namespace/name` as well),
 * and the questions the rest of the code asks of it, answered from those maps instead of a
 * search of the arrays each time.
 *
 * The maps are built on the first question about a config object and kept with it: every
 * caller already holds the Config it was given, and a parsed config is never changed.
 */
import { derivedDeploymentName } from './kubernetesNames.js';
import { newNodeSeconds, nodeStartupSeconds } from './startup.js';
import type { AdoptionMode, Config, NodeGroupConfig, VariantConfig } from './schema.js';
import { variantKey } from './variantKey.js';

export type AcceleratorConfig = Config['accelerators'][number];
export type ModelConfig = Config['models'][number];
export type ProfileConfig = ModelConfig['profiles'][string];
export type ServiceClassConfig = Config['serviceClasses'][number];
export type Targets = ServiceClassConfig['targets'][string];

export interface ResolvedConfig {
  /** by variant key, `namespace/name` */
  readonly variants: ReadonlyMap<string, VariantConfig>;
  readonly accelerators: ReadonlyMap<string, AcceleratorConfig>;
  readonly models: ReadonlyMap<string, ModelConfig>;
  readonly serviceClasses: ReadonlyMap<string, ServiceClassConfig>;
  /** by device type, in config order */
  readonly acceleratorsByType: ReadonlyMap<string, readonly AcceleratorConfig[]>;
  /** by accelerator type, in config order */
  readonly nodeGroupsByType: ReadonlyMap<string, readonly NodeGroupConfig[]>;
}

const resolvedConfigs = new WeakMap<Config, ResolvedConfig>();

export function resolveConfig(config: Config): ResolvedConfig {
  let resolved = resolvedConfigs.get(config);
  if (!resolved) {
    const nodeGroupsByType = byType(config.nodeGroups, (g) => g.acceleratorType);
    const acceleratorsByType = byType(config.accelerators, (a) => a.type ?? a.name);
    resolved = {
      variants: byName(config.variants, variantKey),
      accelerators: byName(config.accelerators, (a) => a.name),
      models: byName(config.models, (m) => m.name),
      serviceClasses: byName(config.serviceClasses, (c) => c.name),
      acceleratorsByType,
      nodeGroupsByType,
    };
    resolvedConfigs.set(config, resolved);
  }
  return resolved;
}

/** The first entry of each name, as a search of the array would find. */
function byName<T>(entries: readonly T[], nameOf: (entry: T) => string): Map<string, T> {
  const map = new Map<string, T>();
  for (const e of entries) if (!map.has(nameOf(e))) map.set(nameOf(e), e);
  return map;
}

function byType<T>(entries: readonly T[], typeOf: (entry: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const e of entries) map.set(typeOf(e), [...(map.get(typeOf(e)) ?? []), e]);
  return map;
}

/** The variant of a key `namespace/name`. */
export function variantByKey(config: Config, key: string): VariantConfig | undefined {
  return resolveConfig(config).variants.get(key);
}

export function acceleratorNamed(config: Config, name: string): AcceleratorConfig | undefined {
  return resolveConfig(config).accelerators.get(name);
}

export function modelOf(config: Config, v: VariantConfig): ModelConfig | undefined {
  return resolveConfig(config).models.get(v.model);
}

/** The variant's model's profile on an accelerator. */
export function profileOf(config: Config, v: VariantConfig, accelerator: string): ProfileConfig | undefined {
  return modelOf(config, v)?.profiles[accelerator];
}

export function serviceClassOf(config: Config, v: VariantConfig): ServiceClassConfig | undefined {
  return resolveConfig(config).serviceClasses.get(v.serviceClass);
}

/** The variant's latency targets: its service class's for its model (zero when none is set). */
export function targetsOf(config: Config, v: VariantConfig): Targets {
  return serviceClassOf(config, v)?.targets[v.model] ?? { ttftMs: 0, itlMs: 0, tps: 0 };
}

/** Accelerators a variant may run on: pinned, listed, or every one its model is profiled on. */
export function allowedAccelerators(config: Config, v: VariantConfig): string[] {
  if (v.accelerator !== undefined) return [v.accelerator];
  if (v.accelerators !== undefined) return [...v.accelerators];
  return Object.keys(modelOf(config, v)?.profiles ?? {}).sort();
}

/** The device type an accelerator is made of (its own name when it has no type). */
export function acceleratorType(config: Config, accelerator: string): string | undefined {
  const acc = acceleratorNamed(config, accelerator);
  return acc ? (acc.type ?? acc.name) : undefined;
}

/** Devices of its type one replica of the variant takes on this accelerator. */
export function devicesPerReplica(config: Config, v: VariantConfig, accelerator: string): number {
  const acc = acceleratorNamed(config, accelerator);
  return (acc?.multiplicity ?? 1) * (profileOf(config, v, accelerator)?.acceleratorCount ?? 1);
}

/** The Deployment of a variant on an accelerator: configured, or named after both. */
export function deploymentName(config: Config, v: VariantConfig, accelerator: string): string {
  const explicit = v.deployments?.[accelerator];
  if (explicit) return explicit;
  return allowedAccelerators(config, v).length === 1 ? v.name : derivedDeploymentName(v.name, accelerator);
}

/** The accelerators made of a device type, in config order. */
export function acceleratorsOfType(config: Config, type: string): readonly AcceleratorConfig[] {
  return resolveConfig(config).acceleratorsByType.get(type) ?? [];
}

/** The node groups of an accelerator type, in config order. */
export function nodeGroupsOfType(config: Config, type: string | undefined): readonly NodeGroupConfig[] {
  return (type !== undefined && resolveConfig(config).nodeGroupsByType.get(type)) || [];
}

/** Slowest new node for an accelerator's type (node groups, Karpenter NodePools; lib/config/startup.ts). */
export function provisioningSeconds(config: Config, accelerator: string): number {
  return newNodeSeconds(config, accelerator);
}

/** The config's node groups, each with the whole time a new node takes (its startup phases summed). */
export function nodeGroupsWithStartup(config: Config): (NodeGroupConfig & { provisioningSeconds: number })[] {
  return config.nodeGroups.map((g) => ({ ...g, provisioningSeconds: nodeStartupSeconds(g) }));
}

/** The variant's adoption mode: its own, else the pool's. */
export function modeOf(config: Config, v: VariantConfig): AdoptionMode {
  return v.mode ?? config.mode;
}

/**
 * What a metrics source is asked for besides the rates: the arrivals per step over a look-back
 * when policy.burstSizing is on, for TTFT or ITL (nothing otherwise, so that a collection costs what it did).
 */
export function arrivalStepsAsked(config: Config): {
  arrivalSteps?: { stepSeconds: number; lookbackSeconds: number };
} {
  const b = config.policy.burstSizing;
  return b.enabled || b.itl
    ? { arrivalSteps: { stepSeconds: b.stepSeconds, lookbackSeconds: b.lookbackSeconds } }
    : {};
}
