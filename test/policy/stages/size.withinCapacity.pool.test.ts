/**
 * policy.stayWithinCapacity: a variant waiting acceleratorSwitchSeconds on its current
 * accelerator while the optimizer prefers another is sized there only within what its type can
 * hold. The default scenario's chat-8b asked for 18-23 L40S on a node group of 16 for most of
 * an hour: the excess never started and nothing else served it (bench/RESULTS.md, "Issue 14:
 * replicas asked beyond the node group, and node release (branch w18n)").
 */
import { bookStay } from '../../../lib/policy/recommend.js';
import type { Allocation } from '../../../lib/optimizer/index.js';
import { deployment, poolConfig, ratePerReplica, replicasOn, Session, T0 } from '../helpers.js';

const at = (i: number) => T0 + 30 * i;

// chat may run on L4 (4 nodes at most) or H100; it runs on 4 L4, all the L4 group holds.
const config = (within: boolean) =>
  poolConfig({
    chat: { accelerator: undefined, accelerators: ['L4', 'H100'], maxReplicas: 20 },
    nodeGroups: [
      { name: 'gpu-l4', acceleratorType: 'L4', gpusPerNode: 1, maxNodes: 4, provisioningSeconds: 60 },
      { name: 'gpu-h100', acceleratorType: 'H100', gpusPerNode: 8, maxNodes: 4, provisioningSeconds: 120 },
    ],
    policy: { stayWithinCapacity: { enabled: within } },
  });

function onFullL4(within: boolean): Session {
  return new Session(config(within), [
    deployment('L4', 4, 4, 'llm/chat', 'chat-l4'),
    deployment('H100', 0, 0, 'llm/chat', 'chat-h100'),
  ]);
}

describe('policy.stayWithinCapacity', () => {
  const rL4 = ratePerReplica(config(false), 'llm/chat', 'L4');

  it('off: waits on the current accelerator with more replicas than its node group holds', () => {
    const s = onFullL4(false);
    const d = s.run(at(0), 6 * rL4);
    expect(d.accelerator).toBe('L4');
    expect(replicasOn(d, 'L4')).toBeGreaterThan(4);
    expect(d.message).toContain('H100 preferred for 0 s of 300 s');
  });

  it('on: moves at once where the current type cannot hold the replicas sized there', () => {
    const s = onFullL4(true);
    const d = s.run(at(0), 6 * rL4);
    expect(d.accelerator).toBe('H100');
    expect(d.reason).toBe('migration');
    expect(d.message).toContain('L4 has not the capacity for');
    // make-before-break: what serves on L4 stays until H100 serves; never beyond the group
    expect(replicasOn(d, 'L4')).toBe(4);
    expect(replicasOn(d, 'H100')).toBeGreaterThan(0);
  });
});

describe('bookStay', () => {
  const c = config(true);
  const v = c.variants[0]!;
  const allocation = (accelerator: string, numReplicas: number): Allocation => ({
    accelerator,
    numReplicas,
    maxBatch: 1,
    cost: 0,
    value: 0,
    itlAverage: 0,
    ttftAverage: 0,
    rho: 0,
    maxRatePerReplica: 1,
  });
  const stay = { accelerator: 'L4', replicas: 3, reason: 'load' as const, message: 'sized on L4' };

  it('gives the preferred allocation its devices back and takes those of the replicas that stay', () => {
    // free after the optimizer: 4 L4 untouched, 2 of 32 H100 taken by the allocation
    const free = new Map([
      ['L4', 4],
      ['H100', 30],
    ]);
    expect(bookStay(c, v, free, allocation('H100', 2), stay)).toBe(stay);
    expect(Object.fromEntries(free)).toEqual({ L4: 1, H100: 32 });
  });

  it('counts nothing without a bound on the devices', () => {
    expect(bookStay(c, v, undefined, allocation('H100', 2), stay)).toBe(stay);
  });
});
