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
  })
  .strict();

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
