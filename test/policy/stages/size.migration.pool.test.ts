/**
 * Accelerator moves: only after the optimizer has preferred the other accelerator for
 * acceleratorSwitchSeconds, and make-before-break (the old Deployment keeps its replicas until
 * the new one has enough ready, then goes to 0).
 */
import {
  deployment,
  lastDevicesAsked,
  observation,
  poolConfig,
  ratePerReplica,
  replicasOn,
  Session,
  T0,
} from '../helpers.js';

const at = (i: number) => T0 + 30 * i;

// chat may run on H100 or L4; it starts on one H100 replica, and L4 (1/5 of the price) is cheaper.
const config = poolConfig({ chat: { accelerator: undefined, accelerators: ['H100', 'L4'] } });
const rL4 = ratePerReplica(config, 'llm/chat', 'L4');

function startOnH100(): Session {
  return new Session(config, [
    deployment('H100', 1, 1, 'llm/chat', 'chat-h100'),
    deployment('L4', 0, 0, 'llm/chat', 'chat-l4'),
  ]);
}

describe('accelerator moves', () => {
  it('stays on the current accelerator until the other has been preferred for acceleratorSwitchSeconds', () => {
    const s = startOnH100();
    for (let i = 0; i < 10; i++) {
      const d = s.run(at(i), 0.5 * rL4);
      expect(d.accelerator).toBe('H100');
      expect(d.action).toBe('none');
      expect(replicasOn(d, 'H100')).toBe(1);
      expect(replicasOn(d, 'L4')).toBe(0);
      expect(d.message).toContain(`L4 preferred for ${30 * i} s of 300 s`);
    }
    expect(s.memory.variants['llm/chat']!.otherAccelerator).toEqual({ accelerator: 'L4', since: at(0) });
    const move = s.decide(at(10), [observation(0.5 * rL4, at(10))]);
    expect(move).toMatchObject({
      action: 'migrate',
      reason: 'migration',
      accelerator: 'L4',
      targetReplicas: 1,
    });
    expect(move.message).toContain('moving from H100 to L4');
  });

  it('forgets the preference when the optimizer goes back to the current accelerator', () => {
    const s = startOnH100();
    for (let i = 0; i < 6; i++) s.run(at(i), 0.5 * rL4);
    // a load only H100 can serve within maxReplicas 10: H100 preferred again
    const back = s.run(at(6), 40 * rL4);
    expect(back.accelerator).toBe('H100');
    expect(s.memory.variants['llm/chat']!.otherAccelerator).toBeUndefined();
    // the clock starts again from the next preference
    s.setReady('H100', s.deployments.find((d) => d.accelerator === 'H100')!.desired);
    const again = s.run(at(7), 0.5 * rL4);
    expect(again.accelerator).toBe('H100');
    expect(s.memory.variants['llm/chat']!.otherAccelerator?.since).toBe(at(7));
  });

  it('is make-before-break: the old Deployment keeps its replicas until the new has enough ready, then 0', () => {
    const s = startOnH100();
    for (let i = 0; i < 10; i++) s.run(at(i), 0.5 * rL4);
    // the move: L4 asked for, H100 kept
    const move = s.run(at(10), 0.5 * rL4, {}, false);
    expect(move.action).toBe('migrate');
    expect(replicasOn(move, 'L4')).toBe(1);
    expect(replicasOn(move, 'H100')).toBe(1);
    // capacity for both meanwhile
    expect(lastDevicesAsked(s)).toEqual({ H100: 1, L4: 1 });
    // the L4 replica is not ready yet: H100 stays
    const waiting = s.run(at(11), 0.5 * rL4, {}, false);
    expect(replicasOn(waiting, 'L4')).toBe(1);
    expect(replicasOn(waiting, 'H100')).toBe(1);
    // now it is: H100 goes to 0
    s.setReady('L4', 1);
    const done = s.run(at(12), 0.5 * rL4, {}, false);
    expect(replicasOn(done, 'L4')).toBe(1);
    expect(replicasOn(done, 'H100')).toBe(0);
    expect(lastDevicesAsked(s)).toEqual({ H100: 0, L4: 1 });
    // and the variant now lives on L4
    const after = s.run(at(13), 0.5 * rL4, {}, false);
    expect(after).toMatchObject({ accelerator: 'L4', action: 'none', targetReplicas: 1 });
  });

  it('is make-before-break also when the new accelerator needs more replicas than the old', () => {
    // 1.5 r*(L4): one H100 replica or two L4 ones; L4 is still cheaper.
    const s = startOnH100();
    for (let i = 0; i < 10; i++) s.run(at(i), 1.5 * rL4, {}, false);
    const move = s.run(at(10), 1.5 * rL4, {}, false);
    expect(move.action).toBe('migrate');
    expect(replicasOn(move, 'L4')).toBe(2);
    expect(replicasOn(move, 'H100')).toBe(1);
    // no L4 replica ready yet: the H100 one must stay
    const next = s.run(at(11), 1.5 * rL4, {}, false);
    expect(replicasOn(next, 'L4')).toBe(2);
    expect(replicasOn(next, 'H100')).toBe(1);
  });

  it('never moves a variant with keepAccelerator', () => {
    const kept = poolConfig({
      chat: { accelerator: undefined, accelerators: ['H100', 'L4'], keepAccelerator: true },
    });
    const s = new Session(kept, [
      deployment('H100', 1, 1, 'llm/chat', 'chat-h100'),
      deployment('L4', 0, 0, 'llm/chat', 'chat-l4'),
    ]);
    for (let i = 0; i < 15; i++) {
      const d = s.run(at(i), 0.5 * ratePerReplica(kept, 'llm/chat', 'L4'));
      expect(d.accelerator).toBe('H100');
    }
  });
});
