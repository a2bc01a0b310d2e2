/**
 * Which capacity provider a pool's GPU capacity comes from, and its settings. Every provider is
 * one adapter folder behind the capacity port (lib/policy/capacity.ts), chosen here by `kind`
 * and built by the registry in functions/capacityProviders.ts.
 */
import { z } from 'zod';

const name = z.string().min(1, 'must not be empty');
export const DEFAULT_DEVICE_RESOURCE = 'nvidia.com/gpu';

const deviceResource = z
  .string()
  .min(1)
  .default(DEFAULT_DEVICE_RESOURCE)
  .describe('extended resource the accelerators are requested and limited as');

/** Karpenter's duration format (its CRD's pattern for consolidateAfter): a sum of s/m/h, or Never. */
const KARPENTER_DURATION = /^(([0-9]+(s|m|h))+|Never)$/;
/** Karpenter v1's default for a NodePool's spec.disruption.consolidateAfter. */
export const KARPENTER_CONSOLIDATE_AFTER = '0s';

export const karpenterNodePoolSchema = z
  .object({
    name: name.describe('NodePool name (karpenter.sh/v1)'),
    acceleratorType: name.describe('device type its nodes carry'),
    devicesPerNode: z.number().int().positive().describe('devices of the instance types it offers'),
    provisioningSeconds: z
      .number()
      .nonnegative()
      .default(120)
      .describe('time from a pending pod to a Ready node; longer is reported as insufficient capacity'),
    maxDevicesLimit: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe("the autoscaler may raise the NodePool's device limit up to this; absent: never raises it"),
    costPerNodeHour: z.number().nonnegative().optional().describe('price of one node per hour'),
    consolidateAfter: z
      .string()
      .regex(KARPENTER_DURATION, 'must be a duration like 30s, 5m, 1h30m, or Never')
      .default(KARPENTER_CONSOLIDATE_AFTER)
      .describe(
        "the NodePool's spec.disruption.consolidateAfter, as set in the cluster (the autoscaler does not write it): how long a node stays empty before Karpenter removes it; the simulation keeps empty nodes that long",
      ),
  })
  .strict();

/** Seconds of a Karpenter duration ("90s", "5m", "1h30m"); Infinity for "Never". */
export function karpenterDurationSeconds(duration: string): number {
  if (duration === 'Never') return Infinity;
  if (!KARPENTER_DURATION.test(duration)) throw new Error(`not a Karpenter duration: "${duration}"`);
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600 };
  let seconds = 0;
  for (const [, n, u] of duration.matchAll(/([0-9]+)([smh])/g)) seconds += Number(n) * unit[u!]!;
  return seconds;
}

export const CAPACITY_PROVIDERS = ['none', 'managed-node-groups', 'karpenter'] as const;

export const capacityProviderSchema = z
  .object({
    kind: z
      .enum(CAPACITY_PROVIDERS)
      .describe(
        "none: capacity is not managed; managed-node-groups: the config's nodeGroups (EKS), changed through Auto Scaling; karpenter: NodePools, provisioned and consolidated by Karpenter",
      ),
    deviceResource,
    nodePools: z
      .array(karpenterNodePoolSchema)
      .optional()
      .describe('karpenter: the NodePools of the pool (required for karpenter, not allowed otherwise)'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.kind === 'karpenter' && (p.nodePools ?? []).length === 0)
      ctx.addIssue({ code: 'custom', path: ['nodePools'], message: 'karpenter needs at least one NodePool' });
    if (p.kind !== 'karpenter' && p.nodePools !== undefined)
      ctx.addIssue({ code: 'custom', path: ['nodePools'], message: `not used by ${p.kind}` });
  });

export type CapacityProviderConfig = z.output<typeof capacityProviderSchema>;
export type KarpenterNodePoolConfig = z.output<typeof karpenterNodePoolSchema>;

/** The pool's provider: as configured; by default managed node groups when there are node groups. */
export function capacityProviderOf(config: {
  readonly capacityProvider?: CapacityProviderConfig;
  readonly nodeGroups: readonly unknown[];
}): CapacityProviderConfig {
  if (config.capacityProvider) return config.capacityProvider;
  return config.nodeGroups.length > 0
    ? { kind: 'managed-node-groups', deviceResource: DEFAULT_DEVICE_RESOURCE }
    : { kind: 'none', deviceResource: DEFAULT_DEVICE_RESOURCE };
}

/**
 * Seconds an empty node of a node group stays before it is removed, when the pool's capacity is
 * Karpenter's: the consolidateAfter of the NodePool named like the group, else of the first
 * NodePool of its accelerator type. null when nodes go as soon as the autoscaler removes them
 * (managed node groups, no provider) or no NodePool matches.
 */
export function consolidateAfterSecondsOf(
  provider: CapacityProviderConfig,
  group: { readonly name: string; readonly acceleratorType: string },
): number | null {
  if (provider.kind !== 'karpenter') return null;
  const pools = provider.nodePools ?? [];
  const pool =
    pools.find((p) => p.name === group.name) ??
    pools.find((p) => p.acceleratorType === group.acceleratorType);
  return pool ? karpenterDurationSeconds(pool.consolidateAfter) : null;
}
