/**
 * The capacity providers, registered in one place: the config's `capacityProvider.kind` picks
 * one (lib/config/capacityProvider.ts). Each lives in its own adapter folder behind the port
 * (lib/policy/capacity.ts); another provider is a folder and one registerCapacityProvider call.
 */
import { nodeGroupsWithStartup } from '../lib/config/resolved.js';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { awsClientSettings } from '../lib/adapters/aws/clientConfig.js';
import { KarpenterProvider } from '../lib/adapters/karpenter/index.js';
import { ClusterNodes, type KubeApis, type Workload } from '../lib/adapters/kubernetes/index.js';
import { AutoScalingGroups, ManagedNodeGroupsProvider } from '../lib/adapters/managedNodeGroups/index.js';
import { capacityProviderOf, type CapacityProviderConfig } from '../lib/config/capacityProvider.js';
import {
  acceleratorType,
  allowedAccelerators,
  deploymentName,
  devicesPerReplica,
} from '../lib/config/resolved.js';
import type { Config } from '../lib/config/schema.js';
import { NO_CAPACITY_PROVIDER, type CapacityProvider } from '../lib/policy/capacity.js';
import type { EksApi } from '../lib/adapters/eks/index.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface CapacityContext {
  readonly env: Env;
  readonly config: Config;
  readonly provider: CapacityProviderConfig;
  /** the pool's Deployments per accelerator type: what the live cluster runs or is about to */
  readonly workloads: readonly Workload[];
  /** the Kubernetes API (built on first use) */
  readonly kube: () => Promise<KubeApis>;
  readonly eks: () => EksApi;
  /** the EKS cluster, when the environment names one */
  readonly clusterName?: string;
}

type CapacityFactory = (ctx: CapacityContext) => CapacityProvider;

const providers = new Map<string, CapacityFactory>([
  ['none', () => NO_CAPACITY_PROVIDER],
  [
    'managed-node-groups',
    (ctx) => {
      if (!ctx.clusterName)
        throw new Error("SVA_CLUSTER_NAME is not set (the EKS cluster of the config's nodeGroups)");
      return new ManagedNodeGroupsProvider(
        new AutoScalingGroups(
          ctx.eks(),
          new AutoScalingClient(awsClientSettings(ctx.env, 'AUTO_SCALING')),
          ctx.clusterName,
        ),
        new ClusterNodes(ctx.kube, ctx.provider.deviceResource),
        { nodeGroups: nodeGroupsWithStartup(ctx.config), workloads: ctx.workloads },
      );
    },
  ],
  [
    'karpenter',
    (ctx) =>
      new KarpenterProvider(ctx.kube, {
        nodePools: ctx.provider.nodePools ?? [],
        workloads: ctx.workloads,
        deviceResource: ctx.provider.deviceResource,
      }),
  ],
]);

/** Another provider joins with one call. */
export function registerCapacityProvider(kind: string, factory: CapacityFactory): void {
  providers.set(kind, factory);
}

export function capacityProviderKinds(): string[] {
  return [...providers.keys()];
}

/** The config's Deployments, one per variant and allowed accelerator, with their device type. */
export function workloadsOf(config: Config): Workload[] {
  return config.variants.flatMap((v) =>
    allowedAccelerators(config, v).flatMap((acc) => {
      const type = acceleratorType(config, acc);
      return type
        ? [
            {
              namespace: v.namespace,
              deployment: deploymentName(config, v, acc),
              acceleratorType: type,
              devicesPerReplica: devicesPerReplica(config, v, acc),
            },
          ]
        : [];
    }),
  );
}

export function capacityProvider(ctx: Omit<CapacityContext, 'provider' | 'workloads'>): CapacityProvider {
  const provider = capacityProviderOf(ctx.config);
  const factory = providers.get(provider.kind);
  if (!factory)
    throw new Error(
      `capacity provider "${provider.kind}" is not available in this build (known: ${capacityProviderKinds().join(', ')})`,
    );
  return factory({ ...ctx, provider, workloads: workloadsOf(ctx.config) });
}
