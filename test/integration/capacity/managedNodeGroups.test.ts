/**
 * The managed-node-group capacity provider against real servers: moto for EKS and Auto Scaling
 * (the node group's Auto Scaling group and its instances), the real kube-apiserver for Nodes with
 * `spec.providerID`, pods bound with `spec.nodeName`, Deployments, Eviction and
 * PodDisruptionBudgets, with the provider on the scaler's token and the shipped RBAC. The
 * controllers the apiserver runs without are played by ClusterControllersHarness.
 */
import { resolve } from 'node:path';
import { jest } from '@jest/globals';
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateNodegroupCommand, DescribeNodegroupCommand } from '@aws-sdk/client-eks';
import { ClusterNodes, kubeApis, type Workload } from '../../../lib/adapters/kubernetes/index.js';
import {
  AutoScalingGroups,
  ManagedNodeGroupsProvider,
  type ManagedNodeGroup,
} from '../../../lib/adapters/managedNodeGroups/index.js';
import {
  acceleratorNeed,
  CAPACITY_VERSION,
  type CapacityIntent,
  type ReplicaNeed,
} from '../../../lib/policy/capacity.js';
import { createCluster, CREDENTIALS, REGION, startMoto, type Moto } from '../aws/moto.js';
import {
  applyManifest,
  createNamespace,
  startKubeApiServer,
  type KubeServer,
} from '../kubernetes/kubeApiServer.js';
import { ClusterControllersHarness } from './clusterControllersHarness.js';

jest.setTimeout(180_000);

const CLUSTER = 'gpu-cluster';
const NS = 'llm';
let moto: Moto | undefined;
let kube: KubeServer | undefined;
let autoScaling: AutoScalingClient;
let harness: ClusterControllersHarness;
let runs = 0;
/** apiVersion of every Eviction the providers posted */
const evictions: string[] = [];

beforeAll(async () => {
  [moto, kube] = await Promise.all([startMoto(), startKubeApiServer()]);
  autoScaling = new AutoScalingClient({
    region: REGION,
    endpoint: moto.endpoints.AUTO_SCALING,
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
  await createCluster(moto.eks, CLUSTER, []);
  await createNamespace(kube.admin, NS);
  await applyManifest(kube.admin, resolve('deploy/rbac.yaml'));
  await applyManifest(kube.admin, resolve('deploy/rbac-capacity.yaml'));
  harness = new ClusterControllersHarness(kube.admin);
});

afterAll(async () => {
  await Promise.all([moto?.stop(), kube?.stop()]);
});

/** A node group of its own accelerator type (so runs never see each other's nodes). */
interface Run {
  readonly type: string;
  readonly group: ManagedNodeGroup;
  readonly asg: string;
  readonly provider: ManagedNodeGroupsProvider;
  readonly workloads: Workload[];
  /** Nodes for running instances, pods for replicas, bindings, evicted pods gone */
  settle(): Promise<void>;
  instances(): Promise<{ id: string; state: string }[]>;
  desired(): Promise<number>;
  /** instance id → node name */
  nodeOf(instanceId: string): string;
  intent(poolSequence: number, replicas: ReplicaNeed[]): CapacityIntent;
}

async function newRun(opts: {
  devicesPerNode: number;
  nodes: number;
  maxNodes: number;
  deployments: { name: string; replicas: number; devices: number }[];
  provisioningSeconds?: number;
}): Promise<Run> {
  const n = ++runs;
  const type = `L40S-run${n}`;
  const name = `gpu-${n}`;
  await moto!.eks.send(
    new CreateNodegroupCommand({
      clusterName: CLUSTER,
      nodegroupName: name,
      nodeRole: 'arn:aws:iam::123456789012:role/eks-nodes',
      subnets: ['subnet-0001'],
      scalingConfig: { minSize: 0, maxSize: opts.maxNodes, desiredSize: opts.nodes },
    }),
  );
  // moto does not back a node group with an Auto Scaling group: create the one EKS names.
  const asg = (
    await moto!.eks.send(new DescribeNodegroupCommand({ clusterName: CLUSTER, nodegroupName: name }))
  ).nodegroup!.resources!.autoScalingGroups![0]!.name!;
  await autoScaling.send(
    new CreateLaunchConfigurationCommand({
      LaunchConfigurationName: name,
      ImageId: 'ami-12c6146b',
      InstanceType: 'g6e.12xlarge',
    }),
  );
  await autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: asg,
      LaunchConfigurationName: name,
      MinSize: 0,
      MaxSize: opts.maxNodes,
      DesiredCapacity: opts.nodes,
      AvailabilityZones: ['us-east-1a'],
    }),
  );
  const group: ManagedNodeGroup = {
    name,
    acceleratorType: type,
    gpusPerNode: opts.devicesPerNode,
    minNodes: 0,
    maxNodes: opts.maxNodes,
    provisioningSeconds: opts.provisioningSeconds ?? 300,
  };
  const workloads = opts.deployments.map((d) => ({
    namespace: NS,
    deployment: `${d.name}-${n}`,
    acceleratorType: type,
    devicesPerReplica: d.devices,
  }));
  for (const d of opts.deployments) {
    await harness.createDeployment(NS, `${d.name}-${n}`, d.replicas, type, d.devices);
  }
  const scaler = kubeApis(kube!.scaler);
  const evict = scaler.core.createNamespacedPodEviction.bind(scaler.core);
  scaler.core.createNamespacedPodEviction = ((param: Parameters<typeof evict>[0]) => {
    evictions.push(`${param.body.apiVersion}`);
    return evict(param);
  }) as typeof evict;
  const provider = new ManagedNodeGroupsProvider(
    new AutoScalingGroups(moto!.eks, autoScaling, CLUSTER),
    new ClusterNodes(async () => scaler),
    { nodeGroups: [group], workloads },
  );
  const instances = async () =>
    (
      await autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asg] }))
    ).AutoScalingGroups![0]!.Instances!.map((i) => ({ id: i.InstanceId!, state: String(i.LifecycleState) }));
  const run: Run = {
    type,
    group,
    asg,
    provider,
    workloads,
    instances,
    desired: async () =>
      (await autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asg] })))
        .AutoScalingGroups![0]!.DesiredCapacity!,
    nodeOf: (id) => `ip-${id}`,
    async settle() {
      await harness.forceDeleteEvicted();
      const live = (await instances()).filter((i) => !/^Terminat/.test(i.state));
      await harness.syncNodes(
        live.map((i) => ({ instanceId: i.id, devices: opts.devicesPerNode })),
        type,
      );
      for (const w of workloads) await harness.reconcileDeployment(NS, w.deployment);
      await harness.schedule();
    },
    intent: (poolSequence, replicas) => ({
      version: CAPACITY_VERSION,
      kind: 'capacity',
      id: `pool#${poolSequence}`,
      pool: 'default',
      poolSequence,
      issuedAt: new Date().toISOString(),
      variants: [],
      accelerators: [acceleratorNeed(type, replicas)],
    }),
  };
  await run.settle();
  return run;
}

const now = () => Date.now() / 1000;

/** Pods that run (bound, not being deleted) on a node whose instance left the group. */
async function podsOnRemovedCapacity(run: Run): Promise<string[]> {
  const live = new Set((await run.instances()).filter((i) => !/^Terminat/.test(i.state)).map((i) => i.id));
  const pods = (await harness.core.listPodForAllNamespaces()).items.filter(
    (p) =>
      p.spec?.nodeName &&
      !p.metadata?.deletionTimestamp &&
      run.workloads.some((w) => p.metadata?.labels?.app === w.deployment),
  );
  return pods
    .filter((p) => !live.has(p.spec!.nodeName!.replace(/^ip-/, '')))
    .map((p) => `${p.metadata!.name} on ${p.spec!.nodeName}`);
}

/** Nodes the Deployments' spec.replicas and existing pods need, one replica size per test. */
async function nodesNeeded(run: Run): Promise<number> {
  let nodes = 0;
  for (const w of run.workloads) {
    const spec = (await harness.apps.readNamespacedDeployment({ name: w.deployment, namespace: NS })).spec!
      .replicas!;
    const pods = (await harness.podsOf(NS, w.deployment)).length;
    nodes += Math.ceil(Math.max(spec, pods) / Math.floor(run.group.gpusPerNode / w.devicesPerReplica));
  }
  return nodes;
}

describe('managed node groups through Auto Scaling', () => {
  it('observes ready, starting and addable devices from the Auto Scaling group and the Nodes', async () => {
    const run = await newRun({ devicesPerNode: 4, nodes: 2, maxNodes: 5, deployments: [] });
    const [cap] = await run.provider.observe([run.type], now());
    expect(cap).toMatchObject({
      acceleratorType: run.type,
      devicesPerNode: 4,
      readyDevices: 8,
      startingDevices: 0,
      addableDevices: 12,
      provisioningSeconds: 300,
    });
    expect(cap!.insufficient).toBeUndefined();
  });

  it('grows with the desired capacity; capacity that does not arrive in time is reported as insufficient', async () => {
    const run = await newRun({
      devicesPerNode: 4,
      nodes: 1,
      maxNodes: 4,
      deployments: [{ name: 'chat', replicas: 1, devices: 4 }],
      provisioningSeconds: 120,
    });
    const t = now();
    const report = await run.provider.provide(run.intent(1, [{ devicesPerReplica: 4, replicas: 3 }]), {
      now: t,
      allowRemoval: true,
    });
    expect(report.changes[0]).toMatchObject({ status: 'grown', devicesBefore: 4, devicesAfter: 12 });
    expect(await run.desired()).toBe(3);
    // The instances launched, but no kubelet registered them yet: starting, not ready.
    const starting = (await run.provider.observe([run.type], t + 60))[0]!;
    expect(starting).toMatchObject({ readyDevices: 4, startingDevices: 8, addableDevices: 4 });
    expect(starting.insufficient).toBeUndefined();
    const late = (await run.provider.observe([run.type], t + 121))[0]!;
    expect(late.insufficient).toMatchObject({
      kind: 'insufficient-capacity',
      reason: 'not-arrived',
      askedDevices: 12,
      availableDevices: 4,
    });
    // Once the Nodes are Ready the shortfall is gone.
    await run.settle();
    const arrived = (await run.provider.observe([run.type], t + 121))[0]!;
    expect(arrived).toMatchObject({ readyDevices: 12, startingDevices: 0 });
    expect(arrived.insufficient).toBeUndefined();
    // A later shrink is no shortfall of the earlier ask.
    const shrink = await run.provider.provide(run.intent(2, [{ devicesPerReplica: 4, replicas: 1 }]), {
      now: t + 200,
      allowRemoval: true,
    });
    expect(shrink.changes[0]).toMatchObject({ status: 'shrunk', devicesAfter: 4 });
    await run.settle();
    const after = (await run.provider.observe([run.type], t + 1000))[0]!;
    expect(after).toMatchObject({ readyDevices: 4, startingDevices: 0 });
    expect(after.insufficient).toBeUndefined();
  });

  it('reports a plan beyond the node groups’ maximum as insufficient (at its limit)', async () => {
    const run = await newRun({ devicesPerNode: 4, nodes: 1, maxNodes: 2, deployments: [] });
    const report = await run.provider.provide(run.intent(1, [{ devicesPerReplica: 4, replicas: 3 }]), {
      now: now(),
      allowRemoval: true,
    });
    expect(report.changes[0]).toMatchObject({
      status: 'insufficient',
      insufficient: { reason: 'at-limit', askedDevices: 12, availableDevices: 8 },
    });
    expect(await run.desired()).toBe(2);
  });

  it('shrinks by terminating the empty node’s instance, drained through Eviction, and keeps the serving ones', async () => {
    const run = await newRun({
      devicesPerNode: 4,
      nodes: 3,
      maxNodes: 3,
      deployments: [{ name: 'chat', replicas: 3, devices: 4 }],
    });
    const before = (await run.instances()).map((i) => i.id).sort();
    expect(before).toHaveLength(3);
    evictions.length = 0;
    // One replica per node. The ReplicaSet controller removes the replica on the middle instance.
    const middle = before[1]!;
    const middleNode = run.nodeOf(middle);
    const [onMiddle] = await harness.podsOn(middleNode);
    expect(onMiddle).toBeDefined();
    await harness.scaleDeployment(NS, run.workloads[0]!.deployment, 2);
    await harness.core.deleteNamespacedPod({
      name: onMiddle!.metadata!.name!,
      namespace: NS,
      gracePeriodSeconds: 0,
    });
    // A pod that serves nothing still runs there: the drain must evict it.
    await harness.bindPlainPod(NS, `log-shipper-${run.group.name}`, middleNode);

    const report = await run.provider.provide(run.intent(2, [{ devicesPerReplica: 4, replicas: 2 }]), {
      now: now(),
      allowRemoval: true,
    });
    expect(report.changes[0]).toMatchObject({ status: 'shrunk', devicesBefore: 12, devicesAfter: 8 });
    expect(report.changes[0]!.detail).toContain(`terminated ${middle}`);
    const after = await run.instances();
    expect(after.map((i) => i.id).sort()).toEqual([before[0], before[2]]);
    expect(await run.desired()).toBe(2);
    const node = await harness.core.readNode({ name: middleNode });
    expect(node.spec?.unschedulable).toBe(true);
    // Evicted: Kubernetes 1.20 refuses policy/v1, and policy/v1beta1 takes it. Being deleted now.
    expect(evictions).toEqual(['policy/v1', 'policy/v1beta1']);
    const shipper = await harness.core.readNamespacedPod({
      name: `log-shipper-${run.group.name}`,
      namespace: NS,
    });
    expect(shipper.metadata?.deletionTimestamp).toBeDefined();
    expect(await podsOnRemovedCapacity(run)).toEqual([]);
  });

  it('keeps a node whose pods a PodDisruptionBudget protects, and uncordons it', async () => {
    const run = await newRun({
      devicesPerNode: 4,
      nodes: 2,
      maxNodes: 2,
      deployments: [{ name: 'chat', replicas: 1, devices: 4 }],
    });
    const ids = (await run.instances()).map((i) => i.id).sort();
    const empty = run.nodeOf(ids[1]!);
    expect(await harness.podsOn(empty)).toEqual([]);
    await harness.bindPlainPod(NS, `guarded-${run.group.name}`, empty, { guarded: run.group.name });
    await harness.custom.createNamespacedCustomObject({
      group: 'policy',
      version: 'v1beta1',
      plural: 'poddisruptionbudgets',
      namespace: NS,
      body: {
        apiVersion: 'policy/v1beta1',
        kind: 'PodDisruptionBudget',
        metadata: { name: `guard-${run.group.name}` },
        spec: { minAvailable: 1, selector: { matchLabels: { guarded: run.group.name } } },
      },
    });
    const report = await run.provider.provide(run.intent(2, [{ devicesPerReplica: 4, replicas: 1 }]), {
      now: now(),
      allowRemoval: true,
    });
    expect(report.changes[0]).toMatchObject({ status: 'removal-skipped', devicesAfter: 8 });
    expect(report.changes[0]!.detail).toMatch(/disruption budget/);
    expect(await run.desired()).toBe(2);
    expect((await harness.core.readNode({ name: empty })).spec?.unschedulable).toBeFalsy();
  });

  it('skips removal when not allowed (variants behind the pool sequence), and grows at once all the same', async () => {
    const run = await newRun({ devicesPerNode: 4, nodes: 2, maxNodes: 4, deployments: [] });
    const shrink = await run.provider.provide(run.intent(1, [{ devicesPerReplica: 4, replicas: 0 }]), {
      now: now(),
      allowRemoval: false,
    });
    expect(shrink.changes[0]).toMatchObject({ status: 'removal-skipped', devicesBefore: 8, devicesAfter: 8 });
    expect(await run.desired()).toBe(2);
    const grow = await run.provider.provide(run.intent(2, [{ devicesPerReplica: 4, replicas: 3 }]), {
      now: now(),
      allowRemoval: false,
    });
    expect(grow.changes[0]).toMatchObject({ status: 'grown' });
    expect(await run.desired()).toBe(3);
  });

  /**
   * The issue's case: A and B share the nodes (one replica per node), A runs 2 and B 4 on 6
   * nodes. Evaluation 1 shrinks B to 2 (capacity 1: 4 nodes); evaluation 2 grows A to 3
   * (capacity 2: 5 nodes). Capacity intents keep their order (their own FIFO group), the
   * variants' decisions do not keep theirs with them. In every interleaving — with the
   * controllers creating and removing pods right after each write, or only the others'
   * (A's new pod lags: it is about to run) — no capacity goes from under a pod that runs, nor
   * below what the Deployments' replicas are about to need; and the next evaluation converges.
   */
  const interleavings = (a: string[], b: string[]): string[][] =>
    a.length === 0
      ? [b]
      : b.length === 0
        ? [a]
        : [
            ...interleavings(a.slice(1), b).map((r) => [a[0]!, ...r]),
            ...interleavings(a, b.slice(1)).map((r) => [b[0]!, ...r]),
          ];
  // A2 and B1 travel on different groups: both orders between them are in the interleavings.
  const orders = [
    ...interleavings(['capacity1', 'capacity2'], ['A2', 'B1']),
    ...interleavings(['capacity1', 'capacity2'], ['B1', 'A2']),
  ];
  for (const aLags of [false, true]) {
    for (const order of orders) {
      it(`no capacity is removed under a pod that runs or is about to run: ${order.join(' → ')}${aLags ? " (A's new pod lags)" : ''}`, async () => {
        const run = await newRun({
          devicesPerNode: 4,
          nodes: 6,
          maxNodes: 8,
          deployments: [
            { name: 'a', replicas: 2, devices: 4 },
            { name: 'b', replicas: 4, devices: 4 },
          ],
        });
        const [a, b] = run.workloads.map((w) => w.deployment) as [string, string];
        const ours = (p: { metadata?: { labels?: Record<string, string> } }) =>
          [a, b].includes(p.metadata?.labels?.app ?? '');
        expect((await harness.podsOn(undefined)).filter(ours)).toEqual([]);
        const plans = {
          capacity1: [{ devicesPerReplica: 4, replicas: 4 }],
          capacity2: [{ devicesPerReplica: 4, replicas: 5 }],
        };
        const steps: Record<string, () => Promise<void>> = {
          A2: async () => {
            await harness.scaleDeployment(NS, a, 3);
            if (!aLags) await harness.reconcileDeployment(NS, a);
          },
          B1: async () => {
            await harness.scaleDeployment(NS, b, 2);
            await harness.reconcileDeployment(NS, b);
          },
          capacity1: async () => {
            await run.provider.provide(run.intent(1, plans.capacity1), { now: now(), allowRemoval: true });
          },
          capacity2: async () => {
            await run.provider.provide(run.intent(2, plans.capacity2), { now: now(), allowRemoval: true });
          },
        };
        for (const step of order) {
          const before = await run.desired();
          await steps[step]!();
          // The scheduler and kubelets keep up; A's ReplicaSet may not have.
          await harness.forceDeleteEvicted();
          await harness.schedule();
          expect(await podsOnRemovedCapacity(run)).toEqual([]);
          // Removal never goes below what runs or is about to run (growth is the plan's to ask).
          expect(await run.desired()).toBeGreaterThanOrEqual(Math.min(before, await nodesNeeded(run)));
        }
        await run.settle();
        await run.settle();
        expect(await podsOnRemovedCapacity(run)).toEqual([]);
        // Every replica has a node: nothing is left pending.
        expect((await harness.podsOn(undefined)).filter(ours)).toEqual([]);
        // The next evaluation removes what the plan no longer needs.
        await run.provider.provide(run.intent(3, plans.capacity2), { now: now(), allowRemoval: true });
        await run.settle();
        expect(await run.desired()).toBe(5);
        expect(await podsOnRemovedCapacity(run)).toEqual([]);
        expect((await harness.podsOf(NS, a)).filter((p) => p.spec?.nodeName)).toHaveLength(3);
        expect((await harness.podsOf(NS, b)).filter((p) => p.spec?.nodeName)).toHaveLength(2);
      });
    }
  }
});
