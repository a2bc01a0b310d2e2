/**
 * Capacity through the whole pool evaluation: one intent for every replica of every variant,
 * none inside the variants' decisions, and sizing that moves off a type whose capacity did not
 * arrive.
 */
import { decidePool } from '../../../lib/policy/decide.js';
import { emptyMemory } from '../../../lib/policy/memory.js';
import {
  BIG,
  capacityViews,
  CHAT,
  deployment,
  devicesAsked,
  observation,
  poolConfig,
  ratePerReplica,
  T0,
} from '../helpers.js';

describe('capacity of a pool evaluation', () => {
  it('plans every replica of every variant in one intent, on its own; decisions carry none', () => {
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
      capacity: capacityViews(config),
      memory: emptyMemory(),
      now: T0,
    });
    expect(out.decisions.map((d) => d.targetReplicas)).toEqual([3, 3, 3]);
    for (const d of out.decisions) expect(d).not.toHaveProperty('nodeGroups');
    expect(out.capacity).toMatchObject({
      poolSequence: 1,
      variants: ['llm/big', 'llm/chat', 'llm/fast'],
    });
    // L4: 3 devices; H100: 3 × 4 for big and 3 × 1 for fast
    expect(devicesAsked(out)).toEqual({ L4: 3, H100: 15 });
  });

  it('sizes on another allowed accelerator when the first one’s capacity did not arrive', () => {
    const anywhere = { ...CHAT, accelerator: undefined, accelerators: ['L4', 'H100'] };
    const config = poolConfig({ variants: [anywhere] });
    const r = ratePerReplica(config, 'llm/chat', 'L4');
    const decide = (capacity: ReturnType<typeof capacityViews>) =>
      decidePool({
        pool: 'test',
        config,
        observations: new Map([['llm/chat', observation(3.5 * r, T0)]]),
        deployments: [deployment('L4', 1, 1, 'llm/chat'), deployment('H100', 0, 0, 'llm/chat')],
        capacity,
        memory: emptyMemory(),
        now: T0,
      });
    const plenty = decide(capacityViews(config, { 'gpu-l4': 1 }));
    expect(devicesAsked(plenty).L4).toBeGreaterThan(1);
    // L4 asked for before, and it did not come: only the one ready L4 counts now.
    const short = capacityViews(config, { 'gpu-l4': 1 }).map((c) =>
      c.acceleratorType === 'L4'
        ? {
            ...c,
            insufficient: {
              kind: 'insufficient-capacity' as const,
              acceleratorType: 'L4',
              reason: 'not-arrived' as const,
              askedDevices: 4,
              availableDevices: 1,
              detail: 'out of stock',
            },
          }
        : c,
    );
    const out = decide(short);
    expect(devicesAsked(out).L4).toBeLessThanOrEqual(1);
    expect(devicesAsked(out).H100).toBeGreaterThan(0);
  });
});
