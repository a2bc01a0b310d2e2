/** EksNodeGroups and the cluster endpoint lookup against the EKS API (moto). */
import { jest } from '@jest/globals';
import { DescribeNodegroupCommand, UpdateNodegroupConfigCommand, type EKSClient } from '@aws-sdk/client-eks';
import { describeClusterEndpoint, EksNodeGroups } from '../../../lib/adapters/eks/index.js';
import type { NodeGroupConfig } from '../../../lib/config/schema.js';
import { createCluster, startMoto, type Moto } from './moto.js';

jest.setTimeout(60_000);

let moto: Moto | undefined;
const CONFIG: NodeGroupConfig[] = [
  {
    name: 'gpu-l4',
    acceleratorType: 'L4',
    gpusPerNode: 1,
    minNodes: 0,
    maxNodes: 10,
    provisioningSeconds: 60,
  },
  {
    name: 'gpu-h100',
    acceleratorType: 'H100',
    gpusPerNode: 8,
    minNodes: 0,
    maxNodes: 2,
    provisioningSeconds: 120,
  },
];

beforeAll(async () => {
  moto = await startMoto();
  await createCluster(moto.eks, 'gpu-cluster', [
    { name: 'gpu-l4', minSize: 1, maxSize: 4, desiredSize: 2 },
    { name: 'gpu-h100', minSize: 0, maxSize: 2, desiredSize: 0 },
  ]);
});

afterAll(async () => {
  await moto?.server.stop();
});

const scaling = async (name: string) =>
  (await moto!.eks.send(new DescribeNodegroupCommand({ clusterName: 'gpu-cluster', nodegroupName: name })))
    .nodegroup?.scalingConfig;

test('describes node groups and sets desired sizes within bounds', async () => {
  let updates = 0;
  const counting = {
    send: ((command: unknown) => {
      if (command instanceof UpdateNodegroupConfigCommand) updates++;
      return moto!.eks.send(command as UpdateNodegroupConfigCommand);
    }) as EKSClient['send'],
  };
  const nodes = new EksNodeGroups(counting, { clusterName: 'gpu-cluster', nodeGroups: CONFIG });
  expect(await nodes.describe(['gpu-l4', 'gpu-h100'])).toEqual([
    {
      name: 'gpu-l4',
      acceleratorType: 'L4',
      gpusPerNode: 1,
      minSize: 1,
      maxSize: 10,
      desiredSize: 2,
      readyNodes: 2,
    },
    {
      name: 'gpu-h100',
      acceleratorType: 'H100',
      gpusPerNode: 8,
      minSize: 0,
      maxSize: 2,
      desiredSize: 0,
      readyNodes: 0,
    },
  ]);
  await nodes.setDesiredSize('gpu-l4', 7);
  expect(await scaling('gpu-l4')).toEqual({ minSize: 1, maxSize: 7, desiredSize: 7 });
  await nodes.setDesiredSize('gpu-l4', 0);
  expect(await scaling('gpu-l4')).toEqual({ minSize: 1, maxSize: 7, desiredSize: 1 });
  await nodes.setDesiredSize('gpu-h100', 3);
  expect(await scaling('gpu-h100')).toEqual({ minSize: 0, maxSize: 2, desiredSize: 2 });
  expect(updates).toBe(3);
  await nodes.setDesiredSize('gpu-h100', 2); // already there
  expect(updates).toBe(3);
});

test('a node group EKS does not know is reported by name', async () => {
  const nodes = new EksNodeGroups(moto!.eks, {
    clusterName: 'gpu-cluster',
    nodeGroups: [...CONFIG, { ...CONFIG[0]!, name: 'gpu-gone' }],
  });
  await expect(nodes.setDesiredSize('gpu-gone', 1)).rejects.toMatchObject({
    name: 'NodeGroupError',
    retryable: false,
    message: expect.stringMatching(
      /^node group gpu-gone \(cluster gpu-cluster\) not found: ResourceNotFoundException/,
    ),
  });
});

test('the cluster endpoint and CA for the Lambda path come from DescribeCluster', async () => {
  const endpoint = await describeClusterEndpoint(moto!.eks, 'gpu-cluster');
  expect(endpoint.name).toBe('gpu-cluster');
  expect(endpoint.server).toMatch(/^https:\/\//);
  expect(endpoint.caData.length).toBeGreaterThan(0);
  await expect(describeClusterEndpoint(moto!.eks, 'nope')).rejects.toMatchObject({
    name: 'ResourceNotFoundException',
  });
});
