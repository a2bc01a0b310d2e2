/**
 * Stage capacity: one intent per pool evaluation, in the domain's terms: per accelerator type
 * the pool's variants may use, the replicas asked for by size and the devices they take.
 */
import { planCapacity } from '../../../lib/policy/stages/capacity.js';
import { BIG, CHAT, poolConfig } from '../helpers.js';

const chatAnywhere = { ...CHAT, accelerator: undefined, accelerators: ['L4', 'H100'] };
const config = poolConfig({ variants: [chatAnywhere, BIG] });
const chat = config.variants[0]!;
const big = config.variants[1]!;
const ctx = { pool: 'test', poolSequence: 9, now: 1_000_000 };

describe('planCapacity', () => {
  it('asks for no more devices of a type than the config lets the pool hold, leaving the excess out in the variants order', () => {
    // gpu-h100: 4 nodes of 8 = 32 H100 devices; BIG (4xH100) may ask for more during a move
    const intent = planCapacity(
      config,
      [
        { key: 'llm/chat', v: chat, deployments: new Map([['H100', 6]]) },
        { key: 'llm/big', v: big, deployments: new Map([['4xH100', 8]]) },
      ],
      ctx,
    );
    const h100 = intent.accelerators.find((a) => a.acceleratorType === 'H100')!;
    expect(h100.devices).toBe(30);
    expect(h100.replicas).toEqual([
      { devicesPerReplica: 4, replicas: 6 },
      { devicesPerReplica: 1, replicas: 6 },
    ]);
  });

  it('asks per type for every replica of the pool, in devices per replica', () => {
    const intent = planCapacity(
      config,
      [
        { key: 'llm/chat', v: chat, deployments: new Map([['H100', 3]]) },
        // 4xH100 is of type H100, 4 devices a replica
        { key: 'llm/big', v: big, deployments: new Map([['4xH100', 3]]) },
      ],
      ctx,
    );
    expect(intent).toMatchObject({
      kind: 'capacity',
      id: 'test#9',
      pool: 'test',
      poolSequence: 9,
      variants: ['llm/big', 'llm/chat'],
      accelerators: [
        {
          acceleratorType: 'H100',
          replicas: [
            { devicesPerReplica: 4, replicas: 3 },
            { devicesPerReplica: 1, replicas: 3 },
          ],
          devices: 15,
        },
        // allowed to chat, asked for by no one: zero, so a provider may remove what it has
        { acceleratorType: 'L4', replicas: [], devices: 0 },
      ],
    });
  });

  it('counts both accelerators of a move (make before break)', () => {
    const intent = planCapacity(
      config,
      [
        {
          key: 'llm/chat',
          v: chat,
          deployments: new Map([
            ['L4', 2],
            ['H100', 1],
          ]),
        },
      ],
      ctx,
    );
    expect(Object.fromEntries(intent.accelerators.map((a) => [a.acceleratorType, a.devices]))).toEqual({
      H100: 1,
      L4: 2,
    });
  });
});
