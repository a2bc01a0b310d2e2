/**
 * What capacity providers need from the Kubernetes API: Nodes (ready, cordoned, which cloud
 * instance), the pods bound to them or pending, each Deployment's `spec.replicas`, and the
 * verbs of a drain: cordon, evict (honouring PodDisruptionBudgets), uncordon.
 *
 * Eviction is `policy/v1` on current clusters and `policy/v1beta1` before Kubernetes 1.22: the
 * first refusal of `policy/v1` for its version switches to `policy/v1beta1` for good.
 */
import {
  ApiException,
  PatchStrategy,
  setHeaderOptions,
  type AppsV1Api,
  type CoreV1Api,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import type { ReplicaNeed } from '../../policy/capacity.js';

export type NodesApi = Pick<
  CoreV1Api,
  'listNode' | 'patchNode' | 'listPodForAllNamespaces' | 'listNamespacedPod' | 'createNamespacedPodEviction'
>;
export type DeploymentsReadApi = Pick<AppsV1Api, 'readNamespacedDeployment'>;

export interface ClusterNodesApis {
  readonly core: NodesApi;
  readonly apps: DeploymentsReadApi;
}

/** The Deployments of the pool on one accelerator type: what the live-cluster floor counts. */
export interface Workload {
  readonly namespace: string;
  readonly deployment: string;
  readonly acceleratorType: string;
  readonly devicesPerReplica: number;
}

export interface NodeInfo {
  readonly name: string;
  /** spec.providerID, e.g. aws:///us-east-1a/i-0123 */
  readonly providerID: string;
  readonly ready: boolean;
  readonly unschedulable: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly createdAt: number;
}

export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName?: string;
  readonly labels: Readonly<Record<string, string>>;
  /** devices of the accelerator resource it requests */
  readonly devices: number;
  readonly daemonSet: boolean;
  /** being deleted, or finished: holds no capacity */
  readonly gone: boolean;
  readonly createdAt: number;
}

/** Annotation on a Node this autoscaler cordoned to remove, so it may uncordon it again. */
export const CORDONED_BY = 'autoscaler.sva.io/cordoned-at';

export const DEFAULT_DEVICE_RESOURCE = 'nvidia.com/gpu';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function statusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

function bodyMessage(err: unknown): string {
  if (!(err instanceof ApiException)) return err instanceof Error ? err.message : String(err);
  const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body ?? '');
  try {
    const message = (JSON.parse(body) as { message?: unknown }).message;
    return typeof message === 'string' ? message : `HTTP ${err.code}`;
  } catch {
    return body.slice(0, 300);
  }
}

export class ClusterNodesError extends Error {
  override readonly name = 'ClusterNodesError';
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

const toError = (err: unknown, what: string) => {
  const status = statusOf(err);
  return new ClusterNodesError(
    `${what}${status ? ` (HTTP ${status})` : ''}: ${bodyMessage(err)}`,
    status,
    status === undefined || status >= 500 || status === 429 || status === 409,
  );
};

const time = (t: Date | string | undefined) => (t ? new Date(t).getTime() / 1000 : 0);

function nodeInfo(n: V1Node): NodeInfo {
  return {
    name: n.metadata?.name ?? '',
    providerID: n.spec?.providerID ?? '',
    ready: (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    unschedulable: n.spec?.unschedulable === true,
    labels: n.metadata?.labels ?? {},
    annotations: n.metadata?.annotations ?? {},
    createdAt: time(n.metadata?.creationTimestamp),
  };
}

function quantity(q: unknown): number {
  const n = Number(q);
  return Number.isFinite(n) ? n : 0;
}

function podInfo(p: V1Pod, resource: string): PodInfo {
  const containers = p.spec?.containers ?? [];
  const devices = containers.reduce(
    (s, c) => s + quantity(c.resources?.limits?.[resource] ?? c.resources?.requests?.[resource]),
    0,
  );
  const phase = p.status?.phase;
  return {
    namespace: p.metadata?.namespace ?? '',
    name: p.metadata?.name ?? '',
    nodeName: p.spec?.nodeName || undefined,
    labels: p.metadata?.labels ?? {},
    devices,
    daemonSet: (p.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet'),
    gone: p.metadata?.deletionTimestamp !== undefined || phase === 'Succeeded' || phase === 'Failed',
    createdAt: time(p.metadata?.creationTimestamp),
  };
}

/** Whether a pod is serving (or about to serve) a model: it holds accelerator devices. */
export const isServing = (p: PodInfo) => !p.gone && !p.daemonSet && p.devices > 0;

export type EvictionResult = 'evicted' | 'gone' | 'blocked';

export class ClusterNodes {
  private evictionVersion: 'policy/v1' | 'policy/v1beta1' = 'policy/v1';

  constructor(
    private readonly apis: () => Promise<ClusterNodesApis>,
    /** the extended resource the accelerators are requested as */
    readonly deviceResource = DEFAULT_DEVICE_RESOURCE,
  ) {}

  async nodes(labelSelector?: string): Promise<NodeInfo[]> {
    const { core } = await this.apis();
    try {
      return (await core.listNode(labelSelector ? { labelSelector } : {})).items.map(nodeInfo);
    } catch (err) {
      throw toError(err, `list nodes${labelSelector ? ` (${labelSelector})` : ''}`);
    }
  }

  /** Every pod bound to the node, or every pod of the cluster without `nodeName`. */
  async podsOn(nodeName: string): Promise<PodInfo[]> {
    const { core } = await this.apis();
    try {
      const list = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` });
      return list.items.map((p) => podInfo(p, this.deviceResource));
    } catch (err) {
      throw toError(err, `list pods on node ${nodeName}`);
    }
  }

  /** Pods bound anywhere, by node name, in one list (for choosing empty nodes). */
  async podsByNode(): Promise<Map<string, PodInfo[]>> {
    const { core } = await this.apis();
    let items: V1Pod[];
    try {
      items = (await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName!=' })).items;
    } catch (err) {
      throw toError(err, 'list bound pods');
    }
    const out = new Map<string, PodInfo[]>();
    for (const p of items.map((i) => podInfo(i, this.deviceResource))) {
      if (p.nodeName) out.set(p.nodeName, [...(out.get(p.nodeName) ?? []), p]);
    }
    return out;
  }

  /**
   * What the live cluster runs or is about to run, per accelerator type in replicas by size:
   * per Deployment, the larger of `spec.replicas` (pods about to exist) and its pods that hold
   * or wait for a place (bound or pending, not being deleted).
   */
  async liveNeed(workloads: readonly Workload[]): Promise<Map<string, ReplicaNeed[]>> {
    const { core, apps } = await this.apis();
    const out = new Map<string, ReplicaNeed[]>();
    for (const w of workloads) {
      let replicas: number;
      let selector: Record<string, string> | undefined;
      try {
        const d = await apps.readNamespacedDeployment({ name: w.deployment, namespace: w.namespace });
        replicas = d.spec?.replicas ?? 1;
        selector = d.spec?.selector?.matchLabels;
      } catch (err) {
        if (statusOf(err) === 404) continue; // no Deployment: nothing about to run there
        throw toError(err, `read deployment ${w.namespace}/${w.deployment}`);
      }
      let pods = 0;
      if (selector && Object.keys(selector).length > 0) {
        const labelSelector = Object.entries(selector)
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        try {
          const list = await core.listNamespacedPod({ namespace: w.namespace, labelSelector });
          pods = list.items.map((p) => podInfo(p, this.deviceResource)).filter((p) => !p.gone).length;
        } catch (err) {
          throw toError(err, `list pods of ${w.namespace}/${w.deployment}`);
        }
      }
      const n = Math.max(replicas, pods);
      if (n > 0) {
        out.set(w.acceleratorType, [
          ...(out.get(w.acceleratorType) ?? []),
          { devicesPerReplica: w.devicesPerReplica, replicas: n },
        ]);
      }
    }
    return out;
  }

  async cordon(node: string, now: number): Promise<void> {
    await this.patchNode(
      node,
      { metadata: { annotations: { [CORDONED_BY]: String(now) } }, spec: { unschedulable: true } },
      'cordon',
    );
  }

  async uncordon(node: string): Promise<void> {
    await this.patchNode(
      node,
      { metadata: { annotations: { [CORDONED_BY]: null } }, spec: { unschedulable: false } },
      'uncordon',
    );
  }

  private async patchNode(name: string, body: object, what: string): Promise<void> {
    const { core } = await this.apis();
    try {
      await core.patchNode({ name, body }, mergePatch);
    } catch (err) {
      throw toError(err, `${what} node ${name}`);
    }
  }

  /**
   * Evicts one pod through the Eviction API, so PodDisruptionBudgets are honoured: 'blocked'
   * when a budget (429) refuses it now, 'gone' when the pod no longer exists.
   */
  async evict(pod: { namespace: string; name: string }): Promise<EvictionResult> {
    const { core } = await this.apis();
    for (;;) {
      const apiVersion = this.evictionVersion;
      try {
        await core.createNamespacedPodEviction({
          name: pod.name,
          namespace: pod.namespace,
          body: { apiVersion, kind: 'Eviction', metadata: { name: pod.name, namespace: pod.namespace } },
        });
        return 'evicted';
      } catch (err) {
        const status = statusOf(err);
        if (status === 429) return 'blocked';
        if (apiVersion === 'policy/v1' && status === 400 && /policy\/v1|Eviction/.test(bodyMessage(err))) {
          // A cluster before Kubernetes 1.22 knows Eviction only as policy/v1beta1.
          this.evictionVersion = 'policy/v1beta1';
          continue;
        }
        if (status === 404) return 'gone';
        throw toError(err, `evict pod ${pod.namespace}/${pod.name}`);
      }
    }
  }
}
