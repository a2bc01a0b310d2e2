/** EksNodeGroups with a scripted EKS API: views, sizes within bounds, busy groups, throttling. */
import {
  DescribeNodegroupCommand,
  ResourceInUseException,
  UpdateNodegroupConfigCommand,
  type EKSClient,
  type Nodegroup,
} from '@aws-sdk/client-eks';
import { EksNodeGroups, NodeGroupBusyError, NodeGroupError } from '../../../lib/adapters/eks/index.js';
import type { NodeGroupConfig } from '../../../lib/config/schema.js';

const CONFIG: NodeGroupConfig[] = [
  {
    name: 'gpu-l4',
    acceleratorType: 'L4',
    gpusPerNode: 1,
    minNodes: 0,
    maxNodes: 12,
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

const throttling = () =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 429 },
  });

function fakeEks(groups: Record<string, Nodegroup>, faults: { describe?: Error[]; update?: Error[] } = {}) {
  const updates: UpdateNodegroupConfigCommand['input'][] = [];
  let describes = 0;
  const send = (async (command: unknown) => {
    if (command instanceof DescribeNodegroupCommand) {
      describes++;
      const fault = faults.describe?.shift();
      if (fault) throw fault;
      return { nodegroup: groups[command.input.nodegroupName!] };
    }
    if (command instanceof UpdateNodegroupConfigCommand) {
      const fault = faults.update?.shift();
      if (fault) throw fault;
      updates.push(command.input);
      Object.assign(groups[command.input.nodegroupName!]!.scalingConfig!, command.input.scalingConfig);
      return { update: { status: 'InProgress' } };
    }
    throw new Error('unexpected command');
  }) as EKSClient['send'];
  return { client: { send }, updates, describes: () => describes };
}

const group = (status: string, minSize: number, maxSize: number, desiredSize: number): Nodegroup => ({
  status: status as Nodegroup['status'],
  scalingConfig: { minSize, maxSize, desiredSize },
});

const adapter = (client: { send: EKSClient['send'] }) =>
  new EksNodeGroups(client, { clusterName: 'gpu-cluster', nodeGroups: CONFIG });

test('describe: sizes from EKS, accelerator facts from the config, max as far as the config allows', async () => {
  const eks = fakeEks({ 'gpu-l4': group('ACTIVE', 1, 4, 3), 'gpu-h100': group('UPDATING', 0, 4, 1) });
  expect(await adapter(eks.client).describe(['gpu-l4', 'gpu-h100'])).toEqual([
    {
      name: 'gpu-l4',
      acceleratorType: 'L4',
      gpusPerNode: 1,
      minSize: 1,
      maxSize: 12,
      desiredSize: 3,
      readyNodes: 3,
    },
    {
      name: 'gpu-h100',
      acceleratorType: 'H100',
      gpusPerNode: 8,
      minSize: 0,
      maxSize: 4,
      desiredSize: 1,
      readyNodes: 0,
    },
  ]);
});

test('desired size within min and max; maxSize raised only up to the config maxNodes', async () => {
  const groups = { 'gpu-l4': group('ACTIVE', 1, 4, 3), 'gpu-h100': group('ACTIVE', 0, 2, 0) };
  const eks = fakeEks(groups);
  const nodes = adapter(eks.client);
  await nodes.setDesiredSize('gpu-l4', 0); // below min
  await nodes.setDesiredSize('gpu-l4', 9); // above EKS max, within config
  await nodes.setDesiredSize('gpu-l4', 40); // above both
  await nodes.setDesiredSize('gpu-l4', 2); // back down: maxSize stays
  await nodes.setDesiredSize('gpu-h100', 5); // the config allows 2
  expect(eks.updates.map((u) => [u.nodegroupName, u.scalingConfig])).toEqual([
    ['gpu-l4', { minSize: 1, maxSize: 4, desiredSize: 1 }],
    ['gpu-l4', { minSize: 1, maxSize: 9, desiredSize: 9 }],
    ['gpu-l4', { minSize: 1, maxSize: 12, desiredSize: 12 }],
    ['gpu-l4', { minSize: 1, maxSize: 12, desiredSize: 2 }],
    ['gpu-h100', { minSize: 0, maxSize: 2, desiredSize: 2 }],
  ]);
});

test('a group already at the size is not updated, whatever its status', async () => {
  const eks = fakeEks({ 'gpu-l4': group('UPDATING', 0, 4, 3) });
  await adapter(eks.client).setDesiredSize('gpu-l4', 3);
  expect(eks.updates).toEqual([]);
});

test('a group not ACTIVE is a retryable busy error at once, without an update or a wait', async () => {
  for (const status of ['UPDATING', 'CREATING', 'DELETING']) {
    const eks = fakeEks({ 'gpu-l4': group(status, 0, 4, 1) });
    const err = await adapter(eks.client)
      .setDesiredSize('gpu-l4', 3)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeGroupBusyError);
    expect(err).toMatchObject({ nodeGroup: 'gpu-l4', retryable: true });
    expect((err as Error).message).toBe(
      `node group gpu-l4 is ${status}: desired size 3 is retried on the next delivery`,
    );
    expect(eks.updates).toEqual([]);
    expect(eks.describes()).toBe(1);
  }
});

test('ResourceInUseException from the update is a busy error, not retried in place', async () => {
  const inUse = new ResourceInUseException({ message: 'update in progress', $metadata: {} });
  const eks = fakeEks({ 'gpu-l4': group('ACTIVE', 0, 4, 1) }, { update: [inUse] });
  await expect(adapter(eks.client).setDesiredSize('gpu-l4', 3)).rejects.toMatchObject({
    name: 'NodeGroupBusyError',
    retryable: true,
    message:
      'node group gpu-l4 (cluster gpu-cluster) is busy (ResourceInUseException: update in progress): set desired size 3 is retried on the next delivery',
  });
  expect(eks.updates).toEqual([]);
});

test("throttling that outlasts the SDK client's retries is reported as retryable, without a retry of its own", async () => {
  // Whole calls are retried by the client's retry strategy (aws/clientConfig.ts), not here.
  const describeThrottled = fakeEks({ 'gpu-l4': group('ACTIVE', 0, 4, 1) }, { describe: [throttling()] });
  await expect(adapter(describeThrottled.client).describe(['gpu-l4'])).rejects.toMatchObject({
    name: 'NodeGroupError',
    retryable: true,
    message:
      'node group gpu-l4 (cluster gpu-cluster): describe still throttled after retries (ThrottlingException: Rate exceeded)',
  });
  expect(describeThrottled.describes()).toBe(1);

  const stuck = fakeEks({ 'gpu-l4': group('ACTIVE', 0, 4, 1) }, { update: [throttling()] });
  const err = await adapter(stuck.client)
    .setDesiredSize('gpu-l4', 3)
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(NodeGroupError);
  expect(err).toMatchObject({
    retryable: true,
    message: expect.stringContaining('set desired size 3 still throttled after retries'),
  });
  expect(stuck.updates).toHaveLength(0);
  expect(stuck.describes()).toBe(1);
});

test('a node group missing from the config or from EKS is a clear, non-retryable error', async () => {
  const eks = fakeEks(
    {},
    {
      describe: [
        Object.assign(new Error('No node group found'), {
          name: 'ResourceNotFoundException',
          $fault: 'client',
        }),
      ],
    },
  );
  await expect(adapter(eks.client).setDesiredSize('gpu-l4', 1)).rejects.toMatchObject({
    retryable: false,
    message:
      'node group gpu-l4 (cluster gpu-cluster) not found: ResourceNotFoundException: No node group found',
  });
  await expect(adapter(eks.client).describe(['gpu-a10'])).rejects.toMatchObject({
    retryable: false,
    message: "node group gpu-a10 is not in the config's nodeGroups",
  });
});
