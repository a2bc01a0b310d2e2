/** Stage observe: what runs and what was measured, per variant, before anything is decided. */
import { observe } from '../../../lib/policy/stages/observe.js';
import { BIG, CHAT, deployment, KEY, observation, poolConfig, poolInput, T0 } from '../helpers.js';

describe('observe', () => {
  it('gives every configured variant, in config order, its observation and its memory', () => {
    const config = poolConfig({ variants: [CHAT, BIG] });
    const obs = observation(2, T0);
    const remembered = { sequence: 7, recommendations: [], demand: [] };
    const observed = observe(
      poolInput(config, {
        observations: [obs],
        memory: { poolSequence: 3, variants: { [KEY]: remembered } },
      }),
    );
    expect(observed.map((o) => o.key)).toEqual(['llm/chat', 'llm/big']);
    expect(observed[0]!.observation).toBe(obs);
    expect(observed[0]!.memory).toBe(remembered);
    expect(observed[1]!.observation).toBeUndefined();
    expect(observed[1]!.memory).toEqual({ sequence: 0, recommendations: [], demand: [] });
  });

  it('takes the accelerator with the most ready replicas as the one serving, during a move too', () => {
    const config = poolConfig({ chat: { accelerator: undefined, accelerators: ['H100', 'L4'] } });
    const [o] = observe(
      poolInput(config, { deployments: [deployment('H100', 1, 1), deployment('L4', 3, 0)] }),
    );
    expect(o!.current).toMatchObject({ accelerator: 'H100', desired: 1, ready: 1 });
    expect(o!.current.byAccelerator.get('L4')).toMatchObject({ desired: 3, ready: 0 });
  });

  it("does not take a spill's replicas for the accelerator serving, however many they are", () => {
    const config = poolConfig({
      chat: { accelerator: undefined, accelerators: ['H100', 'L4'] },
      policy: { spill: { enabled: true } },
    });
    const deployments = [deployment('H100', 2, 2), deployment('L4', 6, 6)];
    const spilled = { sequence: 4, recommendations: [], demand: [], spilledTo: 'L4' };
    const [o] = observe(
      poolInput(config, { deployments, memory: { poolSequence: 4, variants: { [KEY]: spilled } } }),
    );
    expect(o!.current).toMatchObject({ accelerator: 'H100', desired: 2, ready: 2 });
    // without a spill remembered, the most ready replicas name it
    const [plain] = observe(poolInput(config, { deployments }));
    expect(plain!.current.accelerator).toBe('L4');
    // a spill alone (the chosen accelerator's replicas all gone) still names it
    const [alone] = observe(
      poolInput(config, {
        deployments: [deployment('H100', 0, 0), deployment('L4', 6, 6)],
        memory: { poolSequence: 4, variants: { [KEY]: spilled } },
      }),
    );
    expect(alone!.current.accelerator).toBe('L4');
  });

  it('without replicas anywhere, names the first accelerator the variant may run on', () => {
    const config = poolConfig({ chat: { accelerator: undefined, accelerators: ['H100', 'L4'] } });
    const [o] = observe(poolInput(config, { deployments: [deployment('L4', 0, 0)] }));
    expect(o!.current).toMatchObject({ accelerator: 'H100', desired: 0, ready: 0 });
  });
});
