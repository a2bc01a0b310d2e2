/**
 * The emulated vLLM fleet of the local stack: the fleet simulator replaying the config's traces
 * in wall-clock time, its replicas' /metrics served by the vLLM emulator for Prometheus to
 * scrape, and a stand-in for what a cluster's controllers would do: the Deployments' replicas
 * (kube-apiserver) and the node groups' desired capacity (their Auto Scaling groups in moto) are
 * carried into the simulator, the simulator's ready replicas are written back as the
 * Deployments' status, and its ready nodes as Ready Nodes with the instances' providerIDs (the
 * kubelet's and cloud node controller's part), which the capacity provider counts.
 */
import { GatewayTap } from '../lib/closedLoop/gatewayTap.js';
import type { GatewayEvent } from '../lib/gateway/events.js';
import { DescribeAutoScalingGroupsCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DescribeNodegroupCommand, type EKSClient } from '@aws-sdk/client-eks';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { capacityProviderOf, type KarpenterNodePoolConfig } from '../lib/config/capacityProvider.js';
import { devicesPerReplica } from '../lib/config/resolved.js';
import { nodesFor, type ReplicaNeed } from '../lib/policy/capacity.js';
import { simSource, VllmEmulatorServer } from '../lib/adapters/vllmEmulator/index.js';
import type { Config } from '../lib/config/schema.js';
import { createFleetSim, type FleetSim, type Trace } from '../lib/fleetSimulator/index.js';
import { buildScenario, type Scenario } from '../lib/closedLoop/scenario.js';
import { deploymentIndex } from '../lib/closedLoop/simAdapters.js';

export interface FleetDeployment {
  readonly namespace: string;
  readonly name: string;
  /** `namespace/name` of the variant */
  readonly variant: string;
  readonly accelerator: string;
  readonly simVariant: string;
  readonly simAccelerator: string;
}

export interface FleetOptions {
  readonly configPath: string;
  /** trace i drives variant i (default: the config's simulation traces) */
  readonly traceFiles?: readonly string[];
  readonly rateScale?: number;
}

export interface DeploymentStatus extends FleetDeployment {
  /** spec.replicas */
  readonly replicas: number;
  readonly ready: number;
}

export interface NodeGroupStatus {
  readonly name: string;
  /** the node group's Auto Scaling group's desired capacity */
  readonly desired: number;
  /** the simulated nodes: ready, and still provisioning */
  readonly ready: number;
  readonly provisioning: number;
}

export interface FleetStatus {
  readonly deployments: DeploymentStatus[];
  readonly nodeGroups: NodeGroupStatus[];
}

export class EmulatedFleet {
  readonly sim: FleetSim;
  readonly deployments: readonly FleetDeployment[];
  private readonly emulator: VllmEmulatorServer;
  private readonly wallStart: number;
  /** where the next replay of the traces starts (simulated seconds) */
  private nextReplay: number;
  private readonly applied = new Map<string, number>();
  /** what the fleet's gateway sends of its requests (docs/GATEWAY.md) */
  private readonly tap: GatewayTap;

  private constructor(
    readonly config: Config,
    readonly scenario: Scenario,
  ) {
    this.sim = createFleetSim(scenario.fleet);
    this.wallStart = Date.now() / 1000;
    this.tap = new GatewayTap(config);
    this.sim.observeRequests(this.tap);
    this.nextReplay = 0;
    this.replayTraces();
    this.emulator = new VllmEmulatorServer([simSource(this.sim, { startSeconds: this.wallStart })]);
    this.deployments = [...deploymentIndex(config)].map(([key, ref]) => {
      const [namespace, name] = key.split('/') as [string, string];
      return { namespace, name, ...ref };
    });
  }

  static async create(config: Config, options: FleetOptions): Promise<EmulatedFleet> {
    const scenario = await buildScenario(config, {
      configPath: options.configPath,
      traceFiles: options.traceFiles,
      rateScale: options.rateScale,
      warmupSeconds: 0,
    });
    return new EmulatedFleet(config, scenario);
  }

  private readonly autoScalingGroups = new Map<string, string>();

  /**
   * Karpenter's part for each NodePool (the simulated node group of the same name): nodes for
   * the pods the Deployments ask for, within the NodePool's limit; empty nodes beyond them
   * consolidated once empty for the NodePool's consolidateAfter (WhenEmpty: the simulator
   * removes only empty nodes); one NodeClaim per live
   * node, Ready once the node is. Returns the nodes asked per NodePool.
   */
  private async playKarpenter(
    admin: KubeConfig,
    nodePools: readonly KarpenterNodePoolConfig[],
    specs: ReadonlyMap<string, number>,
  ): Promise<Map<string, number>> {
    const custom = admin.makeApiClient(CustomObjectsApi);
    const base = { group: 'karpenter.sh', version: 'v1' };
    const asked = new Map<string, number>();
    for (const pool of nodePools) {
      const needs: ReplicaNeed[] = [];
      for (const d of this.deployments.filter((x) => x.simAccelerator === pool.acceleratorType)) {
        const v = this.config.variants.find((x) => x.name === d.simVariant);
        const replicas = specs.get(`${d.namespace}/${d.name}`) ?? 0;
        if (v && replicas > 0)
          needs.push({ devicesPerReplica: devicesPerReplica(this.config, v, d.accelerator), replicas });
      }
      const np = (await custom.getClusterCustomObject({ ...base, plural: 'nodepools', name: pool.name })) as {
        spec?: { limits?: Record<string, unknown> };
      };
      const limit = Number(np.spec?.limits?.['nvidia.com/gpu'] ?? Infinity);
      const nodes = Math.min(nodesFor(needs, pool.devicesPerNode), Math.floor(limit / pool.devicesPerNode));
      asked.set(pool.name, nodes);
      const before = this.sim.state().nodeGroups.find((g) => g.name === pool.name);
      // Asked again while nodes beyond the ask remain: they go once empty for consolidateAfter.
      const surplus = before !== undefined && before.ready + before.provisioning > nodes;
      if (this.applied.get(`node-pool/${pool.name}`) !== nodes || surplus) {
        this.sim.setNodeGroupSize(pool.name, nodes);
        this.applied.set(`node-pool/${pool.name}`, nodes);
      }
      const group = this.sim.state().nodeGroups.find((g) => g.name === pool.name);
      const live = group ? group.ready + group.provisioning : 0;
      const claims = (
        (await custom.listClusterCustomObject({
          ...base,
          plural: 'nodeclaims',
          labelSelector: `karpenter.sh/nodepool=${pool.name}`,
        })) as { items: { metadata: { name: string } }[] }
      ).items
        .map((c) => c.metadata.name)
        .sort();
      for (const name of claims.slice(live))
        await custom.deleteClusterCustomObject({ ...base, plural: 'nodeclaims', name });
      for (let i = 0; i < live; i++) {
        const name = claims[i] ?? `${pool.name}-${(this.claimSerial++).toString().padStart(6, '0')}`;
        if (!claims[i]) {
          await custom.createClusterCustomObject({
            ...base,
            plural: 'nodeclaims',
            body: {
              apiVersion: 'karpenter.sh/v1',
              kind: 'NodeClaim',
              metadata: { name, labels: { 'karpenter.sh/nodepool': pool.name } },
              spec: {
                nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'gpu' },
                resources: { requests: { 'nvidia.com/gpu': String(pool.devicesPerNode) } },
              },
            },
          });
        }
        const ready = i < (group?.ready ?? 0);
        await custom.patchClusterCustomObjectStatus(
          {
            ...base,
            plural: 'nodeclaims',
            name,
            body: {
              status: {
                capacity: { 'nvidia.com/gpu': String(pool.devicesPerNode) },
                conditions: [
                  {
                    type: 'Ready',
                    status: ready ? 'True' : 'False',
                    reason: ready ? 'Ready' : 'NotReady',
                    message: ready ? 'simulated node ready' : 'simulated node provisioning',
                    lastTransitionTime: new Date().toISOString(),
                  },
                ],
              },
            },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      }
    }
    return asked;
  }

  private claimSerial = 0;

  /** The Auto Scaling group EKS made for a node group (asked once). */
  private async autoScalingGroupOf(eks: EKSClient, clusterName: string, nodeGroup: string): Promise<string> {
    let name = this.autoScalingGroups.get(nodeGroup);
    if (!name) {
      const out = await eks.send(new DescribeNodegroupCommand({ clusterName, nodegroupName: nodeGroup }));
      name = out.nodegroup?.resources?.autoScalingGroups?.[0]?.name;
      if (!name) throw new Error(`node group ${nodeGroup} has no Auto Scaling group`);
      this.autoScalingGroups.set(nodeGroup, name);
    }
    return name;
  }

  /** Serves /metrics on loopback; returns the scrape target `127.0.0.1:port`. */
  start(): Promise<string> {
    return this.emulator.start();
  }

  stop(): Promise<void> {
    return this.emulator.stop();
  }

  get target(): string {
    return this.emulator.target;
  }

  /** Simulated seconds since the stack started. */
  get simSeconds(): number {
    return this.sim.now;
  }

  /** The replicas each Deployment starts with (the simulator's warm start), by `namespace/name`. */
  /**
   * The gateway's request events since the last call, up to the simulation's now, timed on the
   * wall clock as the emulated metrics are (the simulation starts at the stack's start).
   */
  gatewayEvents(): GatewayEvent[] {
    return this.tap.flush(this.sim.now).map((e) => ({ ...e, at: e.at + this.wallStart }));
  }

  initialReplicas(): Map<string, number> {
    const state = this.sim.state();
    return new Map(
      this.deployments.map((d) => {
        const counts = state.variants.find((v) => v.name === d.simVariant)?.byAccelerator[d.simAccelerator];
        return [
          `${d.namespace}/${d.name}`,
          counts ? counts['pending-node'] + counts.loading + counts.ready : 0,
        ];
      }),
    );
  }

  initialNodes(): { name: string; minSize: number; maxSize: number; desiredSize: number }[] {
    return this.scenario.fleet.nodeGroups.map((g) => ({
      name: g.name,
      minSize: g.minNodes ?? 0,
      maxSize: g.maxNodes,
      desiredSize: g.initialNodes ?? 0,
    }));
  }

  /** The traces again after their end, so that the stack runs on until stopped. */
  private replayTraces(): void {
    const traces = [...this.scenario.traces] as [string, Trace][];
    const length = Math.max(60, ...traces.map(([, t]) => t.requests.at(-1)?.arrival ?? 0));
    while (this.nextReplay <= this.sim.now + 300) {
      for (const [name, trace] of traces) this.sim.addArrivals(name, trace.requests, this.nextReplay);
      this.nextReplay += Math.ceil(length) + 1;
    }
  }

  /**
   * One round of the cluster's controllers: the simulator catches up with the wall clock, takes
   * on the Deployments' replicas and the node groups' desired sizes, and reports its ready
   * replicas in the Deployments' status. Returns every Deployment's replicas and ready ones, and
   * the node groups' sizes.
   */
  async sync(
    admin: KubeConfig,
    eks: EKSClient,
    autoScaling: AutoScalingClient,
    clusterName: string,
  ): Promise<FleetStatus> {
    const apps = admin.makeApiClient(AppsV1Api);
    this.sim.runUntil(Math.max(this.sim.now, Date.now() / 1000 - this.wallStart));
    this.replayTraces();
    const desiredNodes = new Map<string, number>();
    const provider = capacityProviderOf(this.config);
    for (const g of provider.kind === 'karpenter' ? [] : this.scenario.fleet.nodeGroups) {
      const asg = await this.autoScalingGroupOf(eks, clusterName, g.name);
      const group = (
        await autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asg] }))
      ).AutoScalingGroups?.[0];
      const desired = group?.DesiredCapacity ?? 0;
      desiredNodes.set(g.name, desired);
      if (this.applied.get(`node-group/${g.name}`) !== desired) {
        this.sim.setNodeGroupSize(g.name, desired);
        this.applied.set(`node-group/${g.name}`, desired);
      }
      const instances = (group?.Instances ?? [])
        .filter((i) => !String(i.LifecycleState ?? '').startsWith('Terminat'))
        .map((i) => ({ id: i.InstanceId!, zone: i.AvailabilityZone ?? 'us-east-1a' }));
      const ready = this.sim.state().nodeGroups.find((x) => x.name === g.name)?.ready ?? 0;
      await syncNodes(admin, g, instances, ready);
    }
    const specs = new Map<string, number>();
    for (const d of this.deployments) {
      const deployment = await apps.readNamespacedDeployment({ name: d.name, namespace: d.namespace });
      const replicas = deployment.spec?.replicas ?? 0;
      specs.set(`${d.namespace}/${d.name}`, replicas);
      if (this.applied.get(`deployment/${d.namespace}/${d.name}`) !== replicas) {
        this.sim.setReplicas(d.simVariant, d.simAccelerator, replicas);
        this.applied.set(`deployment/${d.namespace}/${d.name}`, replicas);
      }
    }
    if (provider.kind === 'karpenter') {
      for (const [name, nodes] of await this.playKarpenter(admin, provider.nodePools ?? [], specs))
        desiredNodes.set(name, nodes);
    }
    const state = this.sim.state();
    const out: DeploymentStatus[] = [];
    for (const d of this.deployments) {
      const counts = state.variants.find((v) => v.name === d.simVariant)?.byAccelerator[d.simAccelerator];
      const ready = counts?.ready ?? 0;
      const live = counts ? counts['pending-node'] + counts.loading + counts.ready : 0;
      await apps.patchNamespacedDeploymentStatus(
        {
          name: d.name,
          namespace: d.namespace,
          body: { status: { replicas: live, readyReplicas: ready, availableReplicas: ready } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      out.push({ ...d, replicas: specs.get(`${d.namespace}/${d.name}`) ?? 0, ready });
    }
    return {
      deployments: out,
      nodeGroups: state.nodeGroups.map((g) => ({
        name: g.name,
        desired: desiredNodes.get(g.name) ?? 0,
        ready: g.ready,
        provisioning: g.provisioning,
      })),
    };
  }
}

/** Label of the stack's Nodes: the accelerator type of their node group. */
export const NODE_TYPE_LABEL = 'sva.io/accelerator-type';

/**
 * The kubelet's and cloud node controller's part for one node group: a Ready Node (with the
 * instance's providerID and its GPUs) for as many of the group's instances as the simulator has
 * ready nodes; Nodes whose instance left the group are deleted.
 */
async function syncNodes(
  admin: KubeConfig,
  group: { name: string; acceleratorType: string; gpusPerNode: number },
  instances: readonly { id: string; zone: string }[],
  ready: number,
): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const selector = `sva.io/node-group=${group.name}`;
  const nodes = (await core.listNode({ labelSelector: selector })).items;
  const live = new Set(instances.map((i) => i.id));
  const registered = new Set<string>();
  for (const n of nodes) {
    const id = (n.spec?.providerID ?? '').split('/').pop() ?? '';
    if (live.has(id)) registered.add(id);
    else await core.deleteNode({ name: n.metadata!.name! });
  }
  for (const i of instances) {
    if (registered.size >= ready) break;
    if (registered.has(i.id)) continue;
    const name = `ip-${i.id}`;
    await core.createNode({
      body: {
        metadata: {
          name,
          labels: { [NODE_TYPE_LABEL]: group.acceleratorType, 'sva.io/node-group': group.name },
        },
        spec: { providerID: `aws:///${i.zone}/${i.id}` },
      },
    });
    const gpus = String(group.gpusPerNode);
    await core.patchNodeStatus(
      {
        name,
        body: {
          status: {
            capacity: { 'nvidia.com/gpu': gpus },
            allocatable: { 'nvidia.com/gpu': gpus },
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'KubeletReady',
                message: 'simulated node ready',
                lastHeartbeatTime: new Date(),
                lastTransitionTime: new Date(),
              },
            ],
          },
        },
      },
      mergePatch,
    );
    registered.add(i.id);
  }
}
