/**
 * Node groups: nodes for every replica of every variant, in whole nodes per replica size,
 * spread over an accelerator type's groups in name order, each within its min and max.
 * (Node groups in decisions: test/policy/stages/capacity*.)
 */
import { planNodeGroups } from '../../lib/policy/nodePlan.js';
import type { NodeGroupView } from '../../lib/policy/ports.js';

const group = (name: string, type: string, gpusPerNode: number, minSize: number, maxSize: number) =>
  ({
    name,
    acceleratorType: type,
    gpusPerNode,
    minSize,
    maxSize,
    desiredSize: 0,
    readyNodes: 0,
  }) satisfies NodeGroupView;

describe('planNodeGroups', () => {
  it('packs replicas of one size per node: 4-GPU replicas two to an 8-GPU node', () => {
    const plan = planNodeGroups(
      [{ acceleratorType: 'H100', devicesPerReplica: 4, replicas: 3 }],
      [group('p5', 'H100', 8, 0, 10)],
    );
    expect(plan.sizes).toEqual(new Map([['p5', 2]]));
    expect(plan.unplaced).toEqual([]);
  });

  it('does not mix replica sizes on a node: 3 x 4-GPU and 3 x 1-GPU take 2 + 1 nodes', () => {
    const plan = planNodeGroups(
      [
        { acceleratorType: 'H100', devicesPerReplica: 1, replicas: 3 },
        { acceleratorType: 'H100', devicesPerReplica: 4, replicas: 3 },
      ],
      [group('p5', 'H100', 8, 0, 10)],
    );
    expect(plan.sizes.get('p5')).toBe(3);
  });

  it('fills groups of a type in name order, each up to its max', () => {
    const plan = planNodeGroups(
      [{ acceleratorType: 'L4', devicesPerReplica: 1, replicas: 5 }],
      [group('l4-b', 'L4', 1, 0, 10), group('l4-a', 'L4', 1, 0, 2)],
    );
    expect(plan.sizes).toEqual(
      new Map([
        ['l4-b', 3],
        ['l4-a', 2],
      ]),
    );
  });

  it('keeps every group at least at its min, and groups of other types untouched by demand', () => {
    const plan = planNodeGroups(
      [{ acceleratorType: 'L4', devicesPerReplica: 1, replicas: 1 }],
      [group('l4', 'L4', 1, 2, 10), group('p5', 'H100', 8, 1, 4)],
    );
    expect(plan.sizes).toEqual(
      new Map([
        ['l4', 2],
        ['p5', 1],
      ]),
    );
  });

  it('reports replicas that fit nowhere instead of dropping them', () => {
    const plan = planNodeGroups(
      [
        { acceleratorType: 'L4', devicesPerReplica: 1, replicas: 5 },
        { acceleratorType: 'H100', devicesPerReplica: 16, replicas: 1 },
        { acceleratorType: 'A100', devicesPerReplica: 1, replicas: 2 },
      ],
      [group('l4', 'L4', 1, 0, 3), group('p5', 'H100', 8, 0, 4)],
    );
    expect(plan.sizes).toEqual(
      new Map([
        ['l4', 3],
        ['p5', 0],
      ]),
    );
    expect(plan.unplaced).toEqual([
      { acceleratorType: 'H100', devicesPerReplica: 16, replicas: 1 },
      { acceleratorType: 'L4', devicesPerReplica: 1, replicas: 2 },
      { acceleratorType: 'A100', devicesPerReplica: 1, replicas: 2 },
    ]);
  });

  it('sizes to the mins with no demand', () => {
    const plan = planNodeGroups([], [group('l4', 'L4', 1, 1, 3), group('p5', 'H100', 8, 0, 4)]);
    expect(plan.sizes).toEqual(
      new Map([
        ['l4', 1],
        ['p5', 0],
      ]),
    );
    expect(plan.unplaced).toEqual([]);
  });
});
