/**
 * Stage capacity: node groups for every replica asked for across the pool, each variant given
 * the groups of the accelerator types it uses. The packing itself is planNodeGroups' (nodePlan).
 */
import { planCapacity } from '../../../lib/policy/stages/capacity.js';
import { BIG, CHAT, nodeGroupViews, poolConfig } from '../helpers.js';

const config = poolConfig({ variants: [CHAT, BIG] });
const chat = config.variants[0]!;
const big = config.variants[1]!;
const groups = nodeGroupViews(config);

describe('planCapacity', () => {
  it('sizes each type for all replicas of the pool, in devices per replica', () => {
    const plan = planCapacity(
      config,
      [
        { key: 'llm/chat', v: chat, accelerator: 'H100', deployments: new Map([['H100', 3]]) },
        // 4xH100 is of type H100, 4 devices a replica: 3 of them take 12 more GPUs
        { key: 'llm/big', v: big, accelerator: '4xH100', deployments: new Map([['4xH100', 3]]) },
      ],
      groups,
    );
    // 3 + 12 GPUs of H100, in whole nodes of 8 without mixing sizes: 2 nodes for big, 1 for chat
    expect(plan.get('llm/chat')).toEqual([{ name: 'gpu-h100', acceleratorType: 'H100', desiredSize: 3 }]);
    expect(plan.get('llm/big')).toEqual(plan.get('llm/chat'));
  });

  it('gives a variant the groups of every type it asks for, and of the one decided with no replicas', () => {
    const plan = planCapacity(
      config,
      [{ key: 'llm/chat', v: chat, accelerator: 'H100', deployments: new Map([['L4', 2]]) }],
      groups,
    );
    expect(plan.get('llm/chat')).toEqual([
      { name: 'gpu-l4', acceleratorType: 'L4', desiredSize: 2 },
      { name: 'gpu-h100', acceleratorType: 'H100', desiredSize: 0 },
    ]);
  });

  it('keeps groups at their min without replicas', () => {
    const withMin = groups.map((g) => ({ ...g, minSize: 1 }));
    const plan = planCapacity(
      config,
      [{ key: 'llm/chat', v: chat, accelerator: 'L4', deployments: new Map([['L4', 0]]) }],
      withMin,
    );
    expect(plan.get('llm/chat')).toEqual([{ name: 'gpu-l4', acceleratorType: 'L4', desiredSize: 1 }]);
  });
});
