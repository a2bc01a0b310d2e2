/**
 * The most devices of an accelerator type a pool could ever use, from the config alone: what its
 * capacity provider could hold, and what its variants could ask for. Evaluate plans capacity
 * within these bounds, and apply rejects a capacity intent beyond them (lib/loop/admission.ts).
 */
import { capacityProviderOf } from './capacityProvider.js';
import { acceleratorType, allowedAccelerators, devicesPerReplica, nodeGroupsOfType } from './resolved.js';
import type { Config } from './schema.js';
import { ROLES, roleAccelerators } from './roles.js';

/** Devices of a type the provider could ever hold: undefined when the config sets no bound. */
export function providerDeviceBound(config: Config, type: string): number | undefined {
  const provider = capacityProviderOf(config);
  if (provider.kind === 'managed-node-groups') {
    return nodeGroupsOfType(config, type).reduce((s, g) => s + g.maxNodes * g.gpusPerNode, 0);
  }
  if (provider.kind === 'karpenter') {
    const pools = (provider.nodePools ?? []).filter((p) => p.acceleratorType === type);
    if (pools.length === 0) return 0;
    if (pools.some((p) => p.maxDevicesLimit === undefined)) return undefined;
    return pools.reduce((s, p) => s + (p.maxDevicesLimit ?? 0), 0);
  }
  const capacity = config.capacity;
  return capacity && capacity !== 'unlimited' ? capacity[type] : undefined;
}

/**
 * Devices of a type the pool's variants could ever ask for: the sum of their maxReplicas times
 * the devices a replica takes, over the variants allowed on an accelerator of that type.
 * Zero when no variant may run on it; undefined when one of them has no maxReplicas.
 */
export function variantDeviceBound(config: Config, type: string): number | undefined {
  let total = 0;
  for (const v of config.variants) {
    const per = allowedAccelerators(config, v)
      .filter((a) => acceleratorType(config, a) === type)
      .map((a) => devicesPerReplica(config, v, a));
    if (per.length === 0) continue;
    if (v.maxReplicas === undefined) return undefined;
    total += v.maxReplicas * Math.max(...per);
  }
  // each role of a disaggregated variant asks on its own
  for (const v of config.disaggregated ?? []) {
    for (const role of ROLES) {
      const r = v.roles[role];
      const per = roleAccelerators(config, v, role)
        .filter((a) => acceleratorType(config, a) === type)
        .map((a) => devicesPerReplica(config, v, a));
      if (per.length === 0) continue;
      if (r.maxReplicas === undefined) return undefined;
      total += r.maxReplicas * Math.max(...per);
    }
  }
  return total;
}

/** The lower of the two bounds; undefined when neither is set. */
export function deviceBound(config: Config, type: string): number | undefined {
  const bounds = [providerDeviceBound(config, type), variantDeviceBound(config, type)].filter(
    (b): b is number => b !== undefined,
  );
  return bounds.length > 0 ? Math.min(...bounds) : undefined;
}
