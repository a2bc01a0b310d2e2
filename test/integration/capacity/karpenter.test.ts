/**
 * The Karpenter capacity provider against the real kube-apiserver with Karpenter v1's NodePool
 * and NodeClaim CustomResourceDefinitions (stack/karpenter-crds.yaml), on the scaler's
 * token with the shipped RBAC. The harness writes NodeClaims and their status as Karpenter
 * would, and the pods a Deployment's ReplicaSet would.
 */
import { resolve } from 'node:path';
import { jest } from '@jest/globals';
import { ClusterNodesError, kubeApis, type Workload } from '../../../lib/adapters/kubernetes/index.js';
import { KarpenterProvider, type KarpenterNodePool } from '../../../lib/adapters/karpenter/index.js';
import {
  acceleratorNeed,
  CAPACITY_VERSION,
  type CapacityIntent,
  type ReplicaNeed,
} from '../../../lib/policy/capacity.js';
import {
  applyManifest,
  createNamespace,
  startKubeApiServer,
  type KubeServer,
} from '../kubernetes/kubeApiServer.js';
import { ClusterControllersHarness, GPU } from './clusterControllersHarness.js';

jest.setTimeout(120_000);

const NS = 'llm';
let kube: KubeServer | undefined;
let harness: ClusterControllersHarness;
let runs = 0;

beforeAll(async () => {
  kube = await startKubeApiServer();
  await createNamespace(kube.admin, NS);
  await applyManifest(kube.admin, resolve('stack/karpenter-crds.yaml'));
  await applyManifest(kube.admin, resolve('deploy/rbac.yaml'));
  await applyManifest(kube.admin, resolve('deploy/rbac-capacity.yaml'));
  harness = new ClusterControllersHarness(kube.admin);
  // The CRDs serve once established.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await harness.custom.listClusterCustomObject({
        group: 'karpenter.sh',
        version: 'v1',
        plural: 'nodeclaims',
      });
      await harness.custom.listClusterCustomObject({
        group: 'karpenter.sh',
        version: 'v1',
        plural: 'nodepools',
      });
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
});

afterAll(async () => {
  await kube?.stop();
});

interface Run {
  readonly type: string;
  readonly pool: KarpenterNodePool;
  readonly provider: KarpenterProvider;
  readonly workloads: Workload[];
  limit(): Promise<unknown>;
  intent(poolSequence: number, replicas: ReplicaNeed[]): CapacityIntent;
}

async function newRun(opts: {
  limit?: number;
  maxDevicesLimit?: number;
  claims: { devices: number; ready: boolean }[];
  deployment?: { replicas: number; devices: number };
  provisioningSeconds?: number;
}): Promise<Run> {
  const n = ++runs;
  const type = `H100-run${n}`;
  const name = `gpu-${n}`;
  await harness.custom.createClusterCustomObject({
    group: 'karpenter.sh',
    version: 'v1',
    plural: 'nodepools',
    body: {
      apiVersion: 'karpenter.sh/v1',
      kind: 'NodePool',
      metadata: { name },
      spec: {
        template: {
          metadata: { labels: { 'sva.io/accelerator-type': type } },
          spec: {
            nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'gpu' },
            requirements: [
              { key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['p5.48xlarge'] },
            ],
          },
        },
        disruption: { consolidationPolicy: 'WhenEmpty', consolidateAfter: '5m' },
        ...(opts.limit !== undefined ? { limits: { [GPU]: opts.limit } } : {}),
      },
    },
  });
  for (const [i, c] of opts.claims.entries())
    await harness.createNodeClaim(name, `${name}-${i}`, c.devices, c.ready);
  const workloads: Workload[] = [];
  if (opts.deployment) {
    await harness.createDeployment(NS, `serve-${n}`, opts.deployment.replicas, type, opts.deployment.devices);
    await harness.reconcileDeployment(NS, `serve-${n}`);
    workloads.push({
      namespace: NS,
      deployment: `serve-${n}`,
      acceleratorType: type,
      devicesPerReplica: opts.deployment.devices,
    });
  }
  const pool: KarpenterNodePool = {
    name,
    acceleratorType: type,
    devicesPerNode: 8,
    provisioningSeconds: opts.provisioningSeconds ?? 240,
    ...(opts.maxDevicesLimit !== undefined ? { maxDevicesLimit: opts.maxDevicesLimit } : {}),
  };
  const scaler = kubeApis(kube!.scaler);
  return {
    type,
    pool,
    workloads,
    provider: new KarpenterProvider(async () => scaler, { nodePools: [pool], workloads }),
    limit: async () =>
      (
        (await harness.custom.getClusterCustomObject({
          group: 'karpenter.sh',
          version: 'v1',
          plural: 'nodepools',
          name,
        })) as { spec: { limits?: Record<string, unknown> } }
      ).spec.limits?.[GPU],
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
}

const now = () => Date.now() / 1000;
const eight = (replicas: number): ReplicaNeed[] => [{ devicesPerReplica: 8, replicas }];

describe('Karpenter NodePools', () => {
  it('observes ready, starting and addable devices: the NodePool’s limits minus what its NodeClaims hold', async () => {
    const run = await newRun({
      limit: 32,
      claims: [
        { devices: 8, ready: true },
        { devices: 8, ready: true },
        { devices: 8, ready: false },
      ],
    });
    const [cap] = await run.provider.observe([run.type, 'not-mine'], now());
    expect(cap).toEqual({
      acceleratorType: run.type,
      devicesPerNode: 8,
      readyDevices: 16,
      startingDevices: 8,
      addableDevices: 8,
      provisioningSeconds: 240,
    });
  });

  it('a plan within the limits is left to Karpenter to provision; one above them is insufficient capacity', async () => {
    const run = await newRun({ limit: 32, claims: [{ devices: 8, ready: true }] });
    const fits = await run.provider.provide(run.intent(1, eight(4)), { now: now(), allowRemoval: true });
    expect(fits.changes).toEqual([
      expect.objectContaining({
        acceleratorType: run.type,
        status: 'grown',
        devicesBefore: 8,
        devicesAfter: 32,
      }),
    ]);
    const over = await run.provider.provide(run.intent(2, eight(5)), { now: now(), allowRemoval: true });
    expect(over.changes[0]).toMatchObject({
      status: 'insufficient',
      insufficient: {
        kind: 'insufficient-capacity',
        reason: 'at-limit',
        askedDevices: 40,
        availableDevices: 32,
      },
    });
    expect(await run.limit()).toBe(32);
  });

  it('raises the NodePool’s limit within the bound the config allows, and no further', async () => {
    const run = await newRun({ limit: 16, maxDevicesLimit: 48, claims: [] });
    const raised = await run.provider.provide(run.intent(1, eight(5)), { now: now(), allowRemoval: true });
    expect(raised.changes[0]).toMatchObject({ status: 'grown', devicesAfter: 40 });
    expect(await run.limit()).toBe('40');
    const capped = await run.provider.provide(run.intent(2, eight(7)), { now: now(), allowRemoval: true });
    expect(capped.changes[0]).toMatchObject({
      status: 'insufficient',
      insufficient: { reason: 'at-limit', askedDevices: 56, availableDevices: 48 },
    });
    expect(await run.limit()).toBe('48');
  });

  it('leaves removal to consolidation: a smaller plan changes nothing', async () => {
    const run = await newRun({ limit: 64, claims: [1, 2, 3].map(() => ({ devices: 8, ready: true })) });
    const report = await run.provider.provide(run.intent(1, eight(1)), { now: now(), allowRemoval: true });
    expect(report.changes[0]).toMatchObject({ status: 'unchanged', devicesBefore: 24, devicesAfter: 24 });
    expect(report.changes[0]!.detail).toMatch(/consolidation/);
    const claims = (await harness.custom.listClusterCustomObject({
      group: 'karpenter.sh',
      version: 'v1',
      plural: 'nodeclaims',
      labelSelector: `karpenter.sh/nodepool=${run.pool.name}`,
    })) as { items: unknown[] };
    expect(claims.items).toHaveLength(3);
  });

  it('reports pods waiting for a node longer than the provisioning time as insufficient (not arrived)', async () => {
    const run = await newRun({
      limit: 32,
      claims: [{ devices: 8, ready: true }],
      deployment: { replicas: 2, devices: 8 },
      provisioningSeconds: 240,
    });
    // The first replica found its node; the second waits (no node of the type has room).
    await harness.registerNode({ instanceId: `i-karp${runs}`, acceleratorType: run.type, devices: 8 });
    await harness.schedule();
    const pending = (await harness.podsOn(undefined)).filter(
      (p) => p.metadata?.labels?.app === `serve-${runs}`,
    );
    expect(pending).toHaveLength(1);
    const t = now();
    expect((await run.provider.observe([run.type], t))[0]!.insufficient).toBeUndefined();
    const late = (await run.provider.observe([run.type], t + 241))[0]!;
    expect(late.insufficient).toMatchObject({
      kind: 'insufficient-capacity',
      reason: 'not-arrived',
      availableDevices: 8,
    });
  });

  it('a NodePool that does not exist is an error naming it, not an empty pool', async () => {
    const scaler = kubeApis(kube!.scaler);
    const provider = new KarpenterProvider(async () => scaler, {
      nodePools: [
        { name: 'no-such-pool', acceleratorType: 'A100', devicesPerNode: 8, provisioningSeconds: 60 },
      ],
      workloads: [],
    });
    const err = await provider.observe(['A100'], now()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterNodesError);
    expect((err as ClusterNodesError).message).toMatch(/NodePool no-such-pool.*404/);
  });
});
