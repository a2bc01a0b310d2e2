/** Our configuration as the optimizer's SystemSpec. */
import { allocationCost } from '../optimizer/candidates.js';
import type { ModelProfile, ServerLoad, SystemSpec } from '../optimizer/system.js';
import { nodePricePerHour } from './nodePrice.js';
import { nodeGroupsOfType } from './resolved.js';
import type { Config } from './schema.js';
import { variantKey } from './variantKey.js';

export { variantKey };

export type VariantLoads = ReadonlyMap<string, ServerLoad>;

/**
 * Builds the system for the optimizer. Loads come from `overrides.loads` (keyed by variantKey,
 * in the optimizer's requests per minute) or, when absent there, from the variant's fixed
 * `load` (zero when it has none).
 */
/** Devices per accelerator type the optimizer may use, or undefined for unlimited. */
export function configCapacity(config: Config): Map<string, number> | undefined {
  if (config.capacity === 'unlimited') return undefined;
  if (config.capacity !== undefined) return new Map(Object.entries(config.capacity));
  if (config.nodeGroups.length === 0) return undefined;
  const capacity = new Map<string, number>();
  for (const g of config.nodeGroups) {
    capacity.set(g.acceleratorType, (capacity.get(g.acceleratorType) ?? 0) + g.maxNodes * g.gpusPerNode);
  }
  return capacity;
}

export interface SystemOverrides {
  /** loads per variant key, requests per minute */
  readonly loads?: VariantLoads;
  /** current allocation per variant key */
  readonly current?: ReadonlyMap<string, { accelerator: string; replicas: number }>;
  /** devices per type; undefined means the config's capacity */
  readonly capacity?: ReadonlyMap<string, number> | 'unlimited';
}

export function configToSystem(config: Config, overrides: SystemOverrides = {}): SystemSpec {
  const loads: VariantLoads = overrides.loads ?? new Map<string, ServerLoad>();
  const accelerators = config.accelerators.map((a) => {
    const type = a.type ?? a.name;
    // The node group of its type with the cheapest device, when devices come in nodes.
    const node = nodeGroupsOfType(config, type)
      .map((g) => ({ devices: g.gpusPerNode, cost: nodePricePerHour(config, g) }))
      .sort((x, y) => x.cost / x.devices - y.cost / y.devices)[0];
    return { name: a.name, type, multiplicity: a.multiplicity, cost: a.costPerHour, node };
  });
  const byName = new Map(accelerators.map((a) => [a.name, a]));
  const accelerator = (name: string) => byName.get(name);
  const models = new Map(
    config.models.map((m) => [
      m.name,
      {
        name: m.name,
        profiles: new Map<string, ModelProfile>(
          Object.entries(m.profiles).map(([acc, p]) => [
            acc,
            {
              alpha: p.alpha,
              beta: p.beta,
              gamma: p.gamma,
              delta: p.delta,
              maxBatchSize: p.maxBatchSize,
              atTokens: p.atTokens,
              ...(p.kvCacheTokens !== undefined ? { kvCacheTokens: p.kvCacheTokens } : {}),
              accCount: p.acceleratorCount,
            },
          ]),
        ),
      },
    ]),
  );
  const serviceClasses = new Map(
    config.serviceClasses.map((c) => [
      c.name,
      {
        name: c.name,
        priority: c.priority,
        targets: new Map(
          Object.entries(c.targets).map(([m, t]) => [m, { ttft: t.ttftMs, itl: t.itlMs, tps: t.tps }]),
        ),
      },
    ]),
  );
  const servers = config.variants.map((v) => {
    const key = variantKey(v);
    const fixed = v.load;
    const load = loads.get(key) ?? {
      arrivalRate: (fixed?.arrivalRate ?? 0) * 60,
      avgInTokens: fixed?.avgInputTokens ?? 0,
      avgOutTokens: fixed?.avgOutputTokens ?? 0,
    };
    const current = overrides.current?.get(key) ?? v.current;
    const currentAcc = current?.accelerator ?? '';
    const currentReplicas = current?.replicas ?? 0;
    const profile = models.get(v.model)?.profiles.get(currentAcc);
    return {
      name: key,
      model: v.model,
      serviceClass: v.serviceClass,
      load,
      current: {
        accelerator: currentAcc,
        numReplicas: currentReplicas,
        cost:
          accelerator(currentAcc) && profile
            ? allocationCost(accelerator(currentAcc)!, profile, currentReplicas)
            : 0,
      },
      minReplicas: v.minReplicas,
      maxReplicas: v.maxReplicas,
      maxBatchSize: v.maxBatchSize,
      keepAccelerator: v.keepAccelerator,
      allowedAccelerators: v.accelerator !== undefined ? [v.accelerator] : v.accelerators,
    };
  });
  const capacity = overrides.capacity ?? configCapacity(config);
  const unlimited = capacity === undefined || capacity === 'unlimited';
  return {
    accelerators,
    models,
    serviceClasses,
    servers,
    capacity: new Map(unlimited ? [] : capacity),
    optimizer: {
      ...config.optimizer,
      unlimited,
      flatTargetRule: 'strict',
      itlModel: config.optimizer.itlModel,
    },
  };
}
