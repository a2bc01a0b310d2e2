import { largerNeed, packOnGroups } from '../../../lib/adapters/managedNodeGroups/packing.js';
import { instanceIdOf } from '../../../lib/adapters/managedNodeGroups/autoScalingGroups.js';

describe('packOnGroups', () => {
  const groups = [
    { name: 'b-spill', devicesPerNode: 4, minNodes: 0, maxNodes: 10 },
    { name: 'a-main', devicesPerNode: 4, minNodes: 1, maxNodes: 2 },
  ];

  it('fills groups in name order up to their maximum, larger replicas first', () => {
    const { nodes, unplaced } = packOnGroups(
      [
        { devicesPerReplica: 1, replicas: 5 },
        { devicesPerReplica: 4, replicas: 1 },
      ],
      groups,
    );
    expect(nodes).toEqual(
      new Map([
        ['a-main', 2],
        ['b-spill', 1],
      ]),
    );
    expect(unplaced).toEqual([]);
  });

  it('keeps each group at its minimum and reports what fits nowhere', () => {
    const { nodes, unplaced } = packOnGroups([{ devicesPerReplica: 8, replicas: 1 }], groups);
    expect(nodes).toEqual(
      new Map([
        ['a-main', 1],
        ['b-spill', 0],
      ]),
    );
    expect(unplaced).toEqual([{ devicesPerReplica: 8, replicas: 1 }]);
  });
});

describe('largerNeed', () => {
  it('takes per size the larger of the plan and the live cluster', () => {
    expect(
      largerNeed(
        [{ devicesPerReplica: 1, replicas: 3 }],
        [
          { devicesPerReplica: 1, replicas: 1 },
          { devicesPerReplica: 1, replicas: 3 },
          { devicesPerReplica: 2, replicas: 1 },
        ],
      ),
    ).toEqual([
      { devicesPerReplica: 1, replicas: 4 },
      { devicesPerReplica: 2, replicas: 1 },
    ]);
  });
});

describe('instanceIdOf', () => {
  it('reads the instance from an AWS providerID, nothing else', () => {
    expect(instanceIdOf('aws:///us-east-1a/i-0abc123')).toBe('i-0abc123');
    expect(instanceIdOf('kind://docker/kind/node')).toBeUndefined();
    expect(instanceIdOf('')).toBeUndefined();
  });
});
