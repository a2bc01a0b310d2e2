/**
 * The parts of a cluster the test kube-apiserver runs without, played by the test: the
 * ReplicaSet controller (pods for a Deployment's replicas), the scheduler (binds pending pods
 * with free devices to Ready, schedulable Nodes), the kubelet and cloud node controller (a Node,
 * Ready, with `spec.providerID`, for each running instance; gone with its instance), the
 * kubelet's end of an eviction (force-deletes pods being deleted), and Karpenter's provisioning
 * (a NodeClaim and its Node per node the pending pods need, within the NodePool's limits).
 *
 * Every step is an ordinary API call against the real server, so what the providers read and
 * write is what a cluster would hold. This is part of the real-server test, not a double.
 */
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';

export const GPU = 'nvidia.com/gpu';
export const TYPE_LABEL = 'sva.io/accelerator-type';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface InstanceNode {
  readonly instanceId: string;
  readonly acceleratorType: string;
  readonly devices: number;
  readonly zone?: string;
  readonly labels?: Record<string, string>;
}

export class ClusterControllersHarness {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly custom: CustomObjectsApi;
  private names = 0;

  constructor(admin: KubeConfig) {
    this.core = admin.makeApiClient(CoreV1Api);
    this.apps = admin.makeApiClient(AppsV1Api);
    this.custom = admin.makeApiClient(CustomObjectsApi);
  }

  /** A serving Deployment: each replica requests `devices` of the accelerator type. */
  async createDeployment(namespace: string, name: string, replicas: number, type: string, devices: number) {
    const labels = { app: name };
    await this.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name, labels },
        spec: {
          replicas,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              nodeSelector: { [TYPE_LABEL]: type },
              containers: [
                {
                  name: 'vllm',
                  image: 'vllm/vllm-openai:v0.11.0',
                  resources: { limits: { [GPU]: String(devices) }, requests: { [GPU]: String(devices) } },
                },
              ],
            },
          },
        },
      },
    });
  }

  /** What a variant decision does to the Deployment (the scaler's write), without its pods yet. */
  async scaleDeployment(namespace: string, name: string, replicas: number): Promise<void> {
    await this.apps.patchNamespacedDeploymentScale(
      { name, namespace, body: { spec: { replicas } } },
      mergePatch,
    );
  }

  async podsOf(namespace: string, app: string): Promise<V1Pod[]> {
    return (await this.core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items.filter(
      (p) => !p.metadata?.deletionTimestamp,
    );
  }

  /** ReplicaSet controller: pods up to spec.replicas; fewer removes pending pods first. */
  async reconcileDeployment(namespace: string, name: string): Promise<void> {
    const d = await this.apps.readNamespacedDeployment({ name, namespace });
    const want = d.spec?.replicas ?? 1;
    const pods = await this.podsOf(namespace, name);
    const template = d.spec!.template!;
    for (let i = pods.length; i < want; i++) {
      await this.core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: `${name}-${++this.names}`, labels: template.metadata?.labels },
          spec: template.spec!,
        },
      });
    }
    const extra = [...pods].sort((a, b) => Number(!!a.spec?.nodeName) - Number(!!b.spec?.nodeName));
    for (const p of extra.slice(0, Math.max(pods.length - want, 0))) {
      await this.core.deleteNamespacedPod({ name: p.metadata!.name!, namespace, gracePeriodSeconds: 0 });
    }
  }

  /** Kubelet + cloud controller: a Ready Node with the instance's providerID. */
  async registerNode(n: InstanceNode): Promise<string> {
    const name = `ip-${n.instanceId}`;
    await this.core.createNode({
      body: {
        metadata: { name, labels: { [TYPE_LABEL]: n.acceleratorType, ...(n.labels ?? {}) } },
        spec: { providerID: `aws:///${n.zone ?? 'us-east-1a'}/${n.instanceId}` },
      },
    });
    await this.core.patchNodeStatus(
      {
        name,
        body: {
          status: {
            capacity: { [GPU]: String(n.devices), cpu: '8', memory: '64Gi', pods: '110' },
            allocatable: { [GPU]: String(n.devices), cpu: '8', memory: '64Gi', pods: '110' },
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'KubeletReady',
                message: 'kubelet is posting ready status',
                lastHeartbeatTime: new Date(),
                lastTransitionTime: new Date(),
              },
            ],
          },
        },
      },
      mergePatch,
    );
    return name;
  }

  /**
   * The running instances of one accelerator type: a Node for each that has none, and Nodes of
   * the type whose instance is gone deleted (the cloud node controller's part).
   */
  async syncNodes(
    instances: readonly { instanceId: string; devices: number }[],
    acceleratorType: string,
  ): Promise<void> {
    const nodes = (await this.core.listNode({ labelSelector: `${TYPE_LABEL}=${acceleratorType}` })).items;
    const ids = new Set(instances.map((i) => i.instanceId));
    const known = new Set<string>();
    for (const n of nodes) {
      const id = (n.spec?.providerID ?? '').split('/').pop() ?? '';
      known.add(id);
      if (!ids.has(id)) await this.core.deleteNode({ name: n.metadata!.name! });
    }
    for (const i of instances)
      if (!known.has(i.instanceId)) await this.registerNode({ ...i, acceleratorType });
  }

  /** Scheduler: binds each pending pod to a Ready, schedulable Node of its type with free devices. */
  async schedule(): Promise<number> {
    const nodes = (await this.core.listNode()).items.filter(
      (n) =>
        !n.spec?.unschedulable &&
        (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    const pods = (await this.core.listPodForAllNamespaces()).items.filter(
      (p) => !p.metadata?.deletionTimestamp,
    );
    const used = new Map<string, number>();
    for (const p of pods)
      if (p.spec?.nodeName) used.set(p.spec.nodeName, (used.get(p.spec.nodeName) ?? 0) + devicesOf(p));
    let bound = 0;
    for (const p of pods.filter((x) => !x.spec?.nodeName)) {
      const need = devicesOf(p);
      const selector = p.spec?.nodeSelector ?? {};
      const node = nodes
        .sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1))
        .find(
          (n) =>
            Object.entries(selector).every(([k, v]) => n.metadata?.labels?.[k] === v) &&
            Number(n.status?.allocatable?.[GPU] ?? 0) - (used.get(n.metadata!.name!) ?? 0) >= need,
        );
      if (!node) continue;
      await this.core.createNamespacedPodBinding({
        name: p.metadata!.name!,
        namespace: p.metadata!.namespace!,
        body: { metadata: { name: p.metadata!.name! }, target: { kind: 'Node', name: node.metadata!.name! } },
      });
      await this.markRunning(p.metadata!.namespace!, p.metadata!.name!);
      used.set(node.metadata!.name!, (used.get(node.metadata!.name!) ?? 0) + need);
      bound++;
    }
    return bound;
  }

  /** Kubelet's end of an eviction or a drain: pods being deleted go at once. */
  async forceDeleteEvicted(): Promise<string[]> {
    const gone: string[] = [];
    for (const p of (await this.core.listPodForAllNamespaces()).items) {
      if (!p.metadata?.deletionTimestamp) continue;
      await this.core.deleteNamespacedPod({
        name: p.metadata.name!,
        namespace: p.metadata.namespace!,
        gracePeriodSeconds: 0,
      });
      gone.push(`${p.metadata.namespace}/${p.metadata.name}`);
    }
    return gone;
  }

  /** Pods bound to a node, or pending when `node` is undefined. */
  async podsOn(node: string | undefined): Promise<V1Pod[]> {
    return (await this.core.listPodForAllNamespaces()).items.filter(
      (p) => !p.metadata?.deletionTimestamp && (p.spec?.nodeName || undefined) === node,
    );
  }

  /** A plain pod bound to a node (a non-serving workload a drain must evict). */
  async bindPlainPod(namespace: string, name: string, node: string, labels: Record<string, string> = {}) {
    await this.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, labels },
        spec: { nodeName: node, containers: [{ name: 'sidecar', image: 'busybox:1.36' }] },
      },
    });
    await this.markRunning(namespace, name);
  }

  /** Kubelet: the pod's containers run (a Pending pod is evicted without asking its budget). */
  async markRunning(namespace: string, name: string): Promise<void> {
    await this.core.patchNamespacedPodStatus(
      {
        name,
        namespace,
        body: {
          status: {
            phase: 'Running',
            conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date() }],
          },
        },
      },
      mergePatch,
    );
  }

  /** A NodeClaim as Karpenter writes it, with its status: launched, and Ready or not. */
  async createNodeClaim(nodePool: string, name: string, devices: number, ready: boolean): Promise<void> {
    const base = { group: 'karpenter.sh', version: 'v1', plural: 'nodeclaims' };
    await this.custom.createClusterCustomObject({
      ...base,
      body: {
        apiVersion: 'karpenter.sh/v1',
        kind: 'NodeClaim',
        metadata: { name, labels: { 'karpenter.sh/nodepool': nodePool } },
        spec: {
          nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'gpu' },
          requirements: [{ key: 'karpenter.sh/capacity-type', operator: 'In', values: ['on-demand'] }],
          resources: { requests: { [GPU]: String(devices) } },
        },
      },
    });
    await this.custom.patchClusterCustomObjectStatus(
      {
        ...base,
        name,
        body: {
          status: {
            capacity: { [GPU]: String(devices) },
            conditions: [
              {
                type: 'Launched',
                status: 'True',
                reason: 'Launched',
                message: 'instance launched',
                lastTransitionTime: new Date().toISOString(),
              },
              {
                type: 'Ready',
                status: ready ? 'True' : 'False',
                reason: ready ? 'Ready' : 'NotInitialized',
                message: ready ? 'node ready' : 'waiting for the node to register',
                lastTransitionTime: new Date().toISOString(),
              },
            ],
          },
        },
      },
      mergePatch,
    );
  }
}

function devicesOf(p: V1Pod): number {
  return (p.spec?.containers ?? []).reduce(
    (s, c) => s + Number(c.resources?.limits?.[GPU] ?? c.resources?.requests?.[GPU] ?? 0),
    0,
  );
}
