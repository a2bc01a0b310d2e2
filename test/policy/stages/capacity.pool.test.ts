/**
 * Node groups in decisions, through the whole pool evaluation: nodes for every replica of every
 * variant, each decision carrying the groups of its own accelerator types.
 */
import { decidePool } from '../../../lib/policy/decide.js';
import { emptyMemory } from '../../../lib/policy/memory.js';
import {
  BIG,
  CHAT,
  deployment,
  nodeGroupViews,
  nodeSizes,
  observation,
  poolConfig,
  ratePerReplica,
  Session,
  T0,
} from '../helpers.js';

describe('node groups in decisions', () => {
  it('plans a multi-GPU variant in whole nodes: 3 replicas of 4xH100 on 8-GPU nodes need 2', () => {
    const config = poolConfig({ variants: [BIG] });
    const r = ratePerReplica(config, 'llm/big', '4xH100');
    const s = new Session(config, [deployment('4xH100', 3, 3, 'llm/big')]);
    const d = s.decide(T0, [observation(2.5 * r, T0, { variant: 'llm/big', model: 'm70b' })], 'llm/big');
    expect(d.targetReplicas).toBe(3);
    expect(d.nodeGroups).toEqual([
      { name: 'gpu-h100', acceleratorType: 'H100', desiredSize: 2, poolSequence: 1 },
    ]);
  });

  it('plans for every replica of every variant in the pool, each decision carrying its own types', () => {
    const chatH100 = { ...CHAT, name: 'fast', accelerator: 'H100' };
    const config = poolConfig({ variants: [CHAT, BIG, chatH100] });
    const rChat = ratePerReplica(config, 'llm/chat', 'L4');
    const rBig = ratePerReplica(config, 'llm/big', '4xH100');
    const rFast = ratePerReplica(config, 'llm/fast', 'H100');
    const out = decidePool({
      pool: 'test',
      config,
      observations: new Map([
        ['llm/chat', observation(2.5 * rChat, T0)],
        ['llm/big', observation(2.5 * rBig, T0, { variant: 'llm/big', model: 'm70b' })],
        ['llm/fast', observation(2.5 * rFast, T0, { variant: 'llm/fast' })],
      ]),
      deployments: [
        deployment('L4', 3, 3, 'llm/chat'),
        deployment('4xH100', 3, 3, 'llm/big'),
        deployment('H100', 3, 3, 'llm/fast'),
      ],
      nodeGroups: nodeGroupViews(config),
      memory: emptyMemory(),
      now: T0,
    });
    const [chat, big, fast] = out.decisions;
    expect([chat, big, fast].map((d) => d!.targetReplicas)).toEqual([3, 3, 3]);
    // L4: 3 nodes; H100: 2 nodes for 3 x 4 GPUs + 1 node for 3 x 1 GPU
    expect(nodeSizes(chat!)).toEqual({ 'gpu-l4': 3 });
    expect(nodeSizes(big!)).toEqual({ 'gpu-h100': 3 });
    expect(nodeSizes(fast!)).toEqual({ 'gpu-h100': 3 });
  });

  it('spreads over the groups of a type in name order within their max', () => {
    const config = poolConfig({
      variants: [BIG],
      nodeGroups: [
        { name: 'h100-b', acceleratorType: 'H100', gpusPerNode: 8, maxNodes: 4 },
        { name: 'h100-a', acceleratorType: 'H100', gpusPerNode: 8, maxNodes: 1 },
      ],
    });
    const r = ratePerReplica(config, 'llm/big', '4xH100');
    const s = new Session(config, [deployment('4xH100', 5, 5, 'llm/big')]);
    const d = s.decide(T0, [observation(4.5 * r, T0, { variant: 'llm/big', model: 'm70b' })], 'llm/big');
    expect(d.targetReplicas).toBe(5);
    // 5 replicas, 2 per node: h100-a takes 1 node (its max), h100-b the other 2
    expect(nodeSizes(d)).toEqual({ 'h100-b': 2, 'h100-a': 1 });
  });

  it('never plans a group below its min nor above its max', () => {
    const config = poolConfig({
      chat: { maxReplicas: 10 },
      nodeGroups: [{ name: 'gpu-l4', acceleratorType: 'L4', gpusPerNode: 1, minNodes: 2, maxNodes: 6 }],
    });
    const r = ratePerReplica(config);
    const low = new Session(config, [deployment('L4', 1)]).decide(T0, [observation(0.5 * r, T0)]);
    expect(nodeSizes(low)).toEqual({ 'gpu-l4': 2 });
    const high = new Session(config, [deployment('L4', 6)]).decide(T0, [observation(9.5 * r, T0)]);
    expect(high.targetReplicas).toBeLessThanOrEqual(6);
    expect(nodeSizes(high)).toEqual({ 'gpu-l4': 6 });
  });
});
