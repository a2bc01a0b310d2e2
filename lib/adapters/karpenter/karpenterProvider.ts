/**
 * GPU capacity from Karpenter NodePools (karpenter.sh/v1). Karpenter has no desired size: it
 * provisions NodeClaims for pending pods within each NodePool's `limits`, and removes nodes by
 * consolidation. So here:
 *
 * - capacity that may still be added is the NodePool's limit on the device resource (e.g.
 *   `nvidia.com/gpu`) minus what its NodeClaims hold; ready devices are those of Ready
 *   NodeClaims, starting devices those of the others;
 * - asking for capacity is checking that the plan fits the limits (the pods the variants'
 *   decisions create are the real ask), raising a limit only up to the bound the config allows;
 * - a shortfall is typed: the plan does not fit the limits (at-limit), or the pool's pods have
 *   waited unbound for longer than the expected provisioning time (not-arrived);
 * - removal is Karpenter's consolidation, never done here. A serving fleet needs a NodePool with
 *   `disruption.consolidationPolicy: WhenEmpty` (or `karpenter.sh/do-not-disrupt: "true"` on the
 *   serving pods), so consolidation never moves a replica that serves (docs/CAPACITY.md).
 */
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import {
  nodesFor,
  type AcceleratorCapacity,
  type AcceleratorNeed,
  type CapacityChange,
  type CapacityIntent,
  type CapacityProvider,
  type CapacityReport,
  type InsufficientCapacity,
  type ProvideOptions,
} from '../../policy/capacity.js';
import { ClusterNodesError, statusOf, type Workload } from '../kubernetes/clusterNodes.js';

export const KARPENTER_GROUP = 'karpenter.sh';
export const KARPENTER_VERSION = 'v1';
/** Label Karpenter puts on its NodeClaims and Nodes: the NodePool that owns them. */
export const NODEPOOL_LABEL = 'karpenter.sh/nodepool';

export type CustomObjectsReadApi = Pick<
  CustomObjectsApi,
  'getClusterCustomObject' | 'listClusterCustomObject' | 'patchClusterCustomObject'
>;
export type PodsListApi = {
  listNamespacedPod(p: { namespace: string; labelSelector?: string }): Promise<{
    items: {
      metadata?: { creationTimestamp?: Date | string; deletionTimestamp?: Date | string };
      spec?: { nodeName?: string };
    }[];
  }>;
};

export interface KarpenterApis {
  readonly custom: CustomObjectsReadApi;
  readonly core: PodsListApi;
  readonly apps: {
    readNamespacedDeployment(p: { name: string; namespace: string }): Promise<{
      spec?: { selector?: { matchLabels?: Record<string, string> } };
    }>;
  };
}

export interface KarpenterNodePool {
  readonly name: string;
  readonly acceleratorType: string;
  /** devices of the instance types the NodePool offers (the shape capacity is added in) */
  readonly devicesPerNode: number;
  readonly provisioningSeconds: number;
  /** the autoscaler may raise the NodePool's device limit up to this many; absent: never raises */
  readonly maxDevicesLimit?: number;
  readonly costPerNodeHour?: number;
}

export interface KarpenterOptions {
  readonly nodePools: readonly KarpenterNodePool[];
  readonly workloads: readonly Workload[];
  /** the extended resource the accelerators are requested and limited as */
  readonly deviceResource?: string;
}

interface NodePoolNow {
  readonly cfg: KarpenterNodePool;
  /** devices the NodePool's limits allow (Infinity when unlimited) */
  readonly limit: number;
  readonly ready: number;
  readonly starting: number;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** A Kubernetes quantity of whole devices ("8", 8, "1k"). */
export function deviceQuantity(q: unknown): number {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return NaN;
  const m = /^(\d+)(k|M|G)?$/.exec(q.trim());
  if (!m) return NaN;
  return Number(m[1]) * ({ k: 1e3, M: 1e6, G: 1e9 }[m[2] as 'k'] ?? 1);
}

interface NodeClaimDoc {
  metadata?: { name?: string; deletionTimestamp?: string };
  spec?: { resources?: { requests?: Record<string, unknown> } };
  status?: {
    capacity?: Record<string, unknown>;
    conditions?: { type?: string; status?: string }[];
  };
}

export class KarpenterProvider implements CapacityProvider {
  private readonly resource: string;

  constructor(
    private readonly apis: () => Promise<KarpenterApis>,
    private readonly options: KarpenterOptions,
  ) {
    this.resource = options.deviceResource ?? 'nvidia.com/gpu';
  }

  private poolsOf(type: string): KarpenterNodePool[] {
    return this.options.nodePools
      .filter((p) => p.acceleratorType === type)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private async read(cfg: KarpenterNodePool): Promise<NodePoolNow> {
    const { custom } = await this.apis();
    const base = { group: KARPENTER_GROUP, version: KARPENTER_VERSION };
    let pool: { spec?: { limits?: Record<string, unknown> } };
    let claims: NodeClaimDoc[];
    try {
      pool = (await custom.getClusterCustomObject({
        ...base,
        plural: 'nodepools',
        name: cfg.name,
      })) as typeof pool;
      claims =
        (
          (await custom.listClusterCustomObject({
            ...base,
            plural: 'nodeclaims',
            labelSelector: `${NODEPOOL_LABEL}=${cfg.name}`,
          })) as { items?: NodeClaimDoc[] }
        ).items ?? [];
    } catch (err) {
      const status = statusOf(err);
      throw new ClusterNodesError(
        `NodePool ${cfg.name}: read${status ? ` (HTTP ${status})` : ''}: ${err instanceof Error ? err.message : String(err)}`,
        status,
        status !== 404 && status !== 403,
      );
    }
    const raw = pool.spec?.limits?.[this.resource];
    const limit = raw === undefined ? Infinity : deviceQuantity(raw);
    let ready = 0;
    let starting = 0;
    for (const c of claims) {
      if (c.metadata?.deletionTimestamp) continue;
      // Before launch a NodeClaim holds what it asked for; after, what its instance has.
      const held =
        deviceQuantity(c.status?.capacity?.[this.resource]) ||
        deviceQuantity(c.spec?.resources?.requests?.[this.resource]) ||
        cfg.devicesPerNode;
      const isReady = (c.status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True');
      if (isReady) ready += held;
      else starting += held;
    }
    return { cfg, limit: Number.isNaN(limit) ? 0 : limit, ready, starting };
  }

  /** The oldest pod of the type's workloads still waiting for a node, as epoch seconds. */
  private async oldestPending(type: string): Promise<number | undefined> {
    const { core, apps } = await this.apis();
    let oldest: number | undefined;
    for (const w of this.options.workloads.filter((x) => x.acceleratorType === type)) {
      let selector: Record<string, string> | undefined;
      try {
        const d = await apps.readNamespacedDeployment({ name: w.deployment, namespace: w.namespace });
        selector = d.spec?.selector?.matchLabels;
      } catch (err) {
        if (statusOf(err) === 404) continue;
        throw err;
      }
      if (!selector || Object.keys(selector).length === 0) continue;
      const labelSelector = Object.entries(selector)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const pods = await core.listNamespacedPod({ namespace: w.namespace, labelSelector });
      for (const p of pods.items) {
        if (p.spec?.nodeName || p.metadata?.deletionTimestamp) continue;
        const t = p.metadata?.creationTimestamp
          ? new Date(p.metadata.creationTimestamp).getTime() / 1000
          : undefined;
        if (t !== undefined && (oldest === undefined || t < oldest)) oldest = t;
      }
    }
    return oldest;
  }

  async observe(acceleratorTypes: readonly string[], now: number): Promise<AcceleratorCapacity[]> {
    const out: AcceleratorCapacity[] = [];
    for (const type of acceleratorTypes) {
      const cfgs = this.poolsOf(type);
      if (cfgs.length === 0) continue;
      const pools = await Promise.all(cfgs.map((c) => this.read(c)));
      const ready = pools.reduce((s, p) => s + p.ready, 0);
      const starting = pools.reduce((s, p) => s + p.starting, 0);
      const addable = pools.reduce((s, p) => s + Math.max(p.limit - p.ready - p.starting, 0), 0);
      const provisioning = Math.max(...cfgs.map((c) => c.provisioningSeconds));
      const pending = await this.oldestPending(type);
      const waited = pending === undefined ? 0 : now - pending;
      const insufficient: InsufficientCapacity | undefined =
        pending !== undefined && waited > provisioning
          ? {
              kind: 'insufficient-capacity',
              acceleratorType: type,
              reason: addable <= 0 ? 'at-limit' : 'not-arrived',
              askedDevices: ready + starting,
              availableDevices: ready,
              askedAt: pending,
              detail: `a pod of ${type} has waited ${Math.round(waited)} s for a node (expected within ${provisioning} s)${addable <= 0 ? '; the NodePools are at their limits' : ''}`,
            }
          : undefined;
      const first = cfgs[0]!;
      out.push({
        acceleratorType: type,
        devicesPerNode: first.devicesPerNode,
        readyDevices: ready,
        startingDevices: starting,
        addableDevices: addable,
        provisioningSeconds: provisioning,
        ...(first.costPerNodeHour !== undefined
          ? { pricePerDeviceHour: first.costPerNodeHour / first.devicesPerNode }
          : {}),
        ...(insufficient ? { insufficient } : {}),
      });
    }
    return out;
  }

  async provide(intent: CapacityIntent, _options: ProvideOptions): Promise<CapacityReport> {
    const changes: CapacityChange[] = [];
    for (const need of intent.accelerators) {
      const cfgs = this.poolsOf(need.acceleratorType);
      if (cfgs.length === 0) continue;
      changes.push(await this.provideType(need, await Promise.all(cfgs.map((c) => this.read(c)))));
    }
    return { changes };
  }

  private async provideType(need: AcceleratorNeed, pools: NodePoolNow[]): Promise<CapacityChange> {
    const type = need.acceleratorType;
    const held = pools.reduce((s, p) => s + p.ready + p.starting, 0);
    // Whole nodes of the NodePools' shape: what Karpenter will launch for the pods.
    const shape = pools[0]!.cfg.devicesPerNode;
    const wanted = nodesFor(need.replicas, shape) * shape;
    let limits = pools.reduce((s, p) => s + p.limit, 0);
    const notes: string[] = [];
    if (wanted > limits) {
      // Raise limits within what the config allows, first NodePool first.
      for (const p of pools) {
        if (limits >= wanted || p.cfg.maxDevicesLimit === undefined || p.limit >= p.cfg.maxDevicesLimit)
          continue;
        const raised = Math.min(p.cfg.maxDevicesLimit, p.limit + (wanted - limits));
        await this.raiseLimit(p.cfg.name, raised);
        notes.push(`NodePool ${p.cfg.name}: ${this.resource} limit ${p.limit} → ${raised}`);
        limits += raised - p.limit;
      }
    }
    if (wanted > limits) {
      const insufficient: InsufficientCapacity = {
        kind: 'insufficient-capacity',
        acceleratorType: type,
        reason: 'at-limit',
        askedDevices: wanted,
        availableDevices: limits,
        detail: `the plan needs ${wanted} ${this.resource} on ${type}; the NodePools allow ${limits}`,
      };
      return {
        acceleratorType: type,
        status: 'insufficient',
        devicesBefore: held,
        devicesAfter: Math.min(wanted, limits),
        detail: [...notes, insufficient.detail].join('; '),
        insufficient,
      };
    }
    const status = wanted > held ? 'grown' : 'unchanged';
    return {
      acceleratorType: type,
      status,
      devicesBefore: held,
      devicesAfter: Math.max(wanted, held),
      detail: [
        ...notes,
        wanted > held
          ? `fits the limits (${wanted} of ${limits}): Karpenter provisions for the pending pods`
          : wanted < held
            ? `${held - wanted} devices above the plan: left to Karpenter's consolidation`
            : `${held} devices as planned`,
      ].join('; '),
    };
  }

  private async raiseLimit(name: string, devices: number): Promise<void> {
    const { custom } = await this.apis();
    try {
      await custom.patchClusterCustomObject(
        {
          group: KARPENTER_GROUP,
          version: KARPENTER_VERSION,
          plural: 'nodepools',
          name,
          body: { spec: { limits: { [this.resource]: String(devices) } } },
        },
        mergePatch,
      );
    } catch (err) {
      const status = statusOf(err);
      throw new ClusterNodesError(
        `NodePool ${name}: raise ${this.resource} limit to ${devices}${status ? ` (HTTP ${status})` : ''}: ${err instanceof Error ? err.message : String(err)}`,
        status,
        status !== 403 && status !== 404 && status !== 422,
      );
    }
  }
}
