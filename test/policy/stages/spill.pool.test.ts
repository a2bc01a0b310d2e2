/**
 * A deliberate spill (policy.spill, lib/policy/spill.ts): when the chosen accelerator cannot hold
 * the target, the shortfall runs on another allowed accelerator, sized as the shortfall, bounded
 * by the capacity there; it is held over the window as the target is, released once no longer
 * asked for, never while the chosen accelerator lacks ready replicas, and never on missing data.
 */
import type { Config } from '../../../lib/config/schema.js';
import {
  blindObservation,
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
const WINDOW = 300;

/** chat on L4 (4 one-GPU nodes at most) or H100 (8-GPU nodes, `h100Nodes` at most). */
function spillConfig(enabled = true, h100Nodes = 1) {
  return poolConfig({
    chat: { accelerator: undefined, accelerators: ['L4', 'H100'], maxReplicas: 10 },
    nodeGroups: [
      { name: 'gpu-l4', acceleratorType: 'L4', gpusPerNode: 1, maxNodes: 4, provisioningSeconds: 60 },
      {
        name: 'gpu-h100',
        acceleratorType: 'H100',
        gpusPerNode: 8,
        maxNodes: h100Nodes,
        provisioningSeconds: 120,
      },
    ],
    policy: { spill: { enabled }, stabilizationWindowSeconds: WINDOW },
  });
}

const config = spillConfig();
const rL4 = ratePerReplica(config, 'llm/chat', 'L4');
const rH100 = ratePerReplica(config, 'llm/chat', 'H100');

function onFourL4(c = config): Session {
  return new Session(c, [
    deployment('L4', 4, 4, 'llm/chat', 'chat-l4'),
    deployment('H100', 0, 0, 'llm/chat', 'chat-h100'),
  ]);
}

describe('a deliberate spill', () => {
  it('runs the shortfall beyond what the node group holds on the other accelerator, sized as the shortfall', () => {
    const s = onFourL4();
    // 6.5 L4 replicas' worth: 7 asked, 4 can exist
    const d = s.run(at(0), 6.5 * rL4);
    expect(d.accelerator).toBe('L4');
    expect(d.targetReplicas).toBe(7);
    const spilled = Math.ceil((2.5 * rL4) / rH100 - 1e-9);
    expect(spilled).toBeLessThan(3); // a shortfall, not a move of the 7
    expect(d.reason).toBe('spill');
    expect(d.spill).toEqual({ accelerator: 'H100', replicas: spilled });
    expect(replicasOn(d, 'H100')).toBe(spilled);
    expect(replicasOn(d, 'L4')).toBe(7);
    expect(d.message).toContain(`spill ${spilled} on H100: L4 holds 4 of the 7 replicas asked`);
    // the capacity intent asks for the spill's devices
    expect(lastDevicesAsked(s).H100).toBe(spilled);
  });

  it('is bounded by the capacity left on the other accelerator', () => {
    const c = spillConfig(true, 1);
    // another variant keeps 7 of the one H100 node's 8 devices
    const s = new Session(
      poolConfig({
        variants: [
          { ...c.variants[0], accelerator: undefined, accelerators: ['L4', 'H100'], maxReplicas: 40 },
          {
            name: 'other',
            namespace: 'llm',
            model: 'm8b',
            serviceClass: 'interactive',
            accelerator: 'H100',
            minReplicas: 7,
            maxReplicas: 7,
            startupSeconds: 60,
          },
        ],
        nodeGroups: c.nodeGroups,
        policy: { spill: { enabled: true }, stabilizationWindowSeconds: WINDOW },
      }),
      [
        deployment('L4', 4, 4, 'llm/chat', 'chat-l4'),
        deployment('H100', 0, 0, 'llm/chat', 'chat-h100'),
        deployment('H100', 7, 7, 'llm/other', 'other'),
      ],
    );
    // 30 L4 replicas' worth: 26 beyond the 4 L4 nodes, more than the one H100 device left serves
    const d = s.decide(at(0), [
      observation(30 * rL4, at(0)),
      observation(0.1, at(0), { variant: 'llm/other' }),
    ]);
    expect(Math.ceil((26 * rL4) / rH100)).toBeGreaterThan(1);
    expect(d.accelerator).toBe('L4');
    expect(d.spill).toEqual({ accelerator: 'H100', replicas: 1 });
    expect(d.message).toMatch(/spill 1 on H100: .* short: no more room there/);
  });

  it('is held over the window, then released, and only once the chosen accelerator has ready what it needs', () => {
    const s = onFourL4();
    const first = s.run(at(0), 6.5 * rL4);
    const spilled = first.spill!.replicas;
    // demand falls to what 3 L4 serve: the window still holds the target and the spill
    const held = s.run(at(1), 2.5 * rL4);
    expect(held.targetReplicas).toBe(7);
    expect(replicasOn(held, 'H100')).toBe(spilled);
    // past the window: 3 L4 asked, which 4 can hold: no spill, the H100 replicas go
    const later = s.run(at(WINDOW / 30 + 1), 2.5 * rL4);
    expect(later.spill).toBeUndefined();
    expect(later.targetReplicas).toBeLessThanOrEqual(4);
    expect(replicasOn(later, 'H100')).toBe(0);
  });

  it('never removes the other accelerator while the chosen one lacks the ready replicas it needs', () => {
    const s = onFourL4();
    s.run(at(0), 6.5 * rL4);
    s.run(at(1), 2.5 * rL4);
    // two L4 replicas are lost (not ready): the H100 replicas stay while L4 lacks the 3 it needs
    s.setReady('L4', 2);
    const waiting = s.decide(at(WINDOW / 30 + 1), [observation(2.5 * rL4, at(WINDOW / 30 + 1))]);
    expect(waiting.spill).toBeUndefined();
    expect(replicasOn(waiting, 'H100')).toBeGreaterThan(0);
    // once they are, H100 goes
    s.setReady('L4', 4);
    const released = s.decide(at(WINDOW / 30 + 2), [observation(2.5 * rL4, at(WINDOW / 30 + 2))]);
    expect(replicasOn(released, 'H100')).toBe(0);
  });

  it('holds what runs on missing data: the spill is neither grown nor released', () => {
    const s = onFourL4();
    const first = s.run(at(0), 6.5 * rL4);
    const hold = s.decide(at(WINDOW / 30 + 1), [
      blindObservation(at(WINDOW / 30 + 1), { missing: ['arrivals'] }),
    ]);
    expect(hold.action).toBe('hold');
    expect(hold.spill).toBeUndefined();
    expect(replicasOn(hold, 'H100')).toBe(first.spill!.replicas);
    expect(replicasOn(hold, 'L4')).toBe(7);
  });

  it('releases nothing on a partial measurement', () => {
    // L4 serves with 3 ready; one H100 replica is left from an earlier spill
    const start = () =>
      new Session(config, [
        deployment('L4', 3, 3, 'llm/chat', 'chat-l4'),
        deployment('H100', 1, 1, 'llm/chat', 'chat-h100'),
      ]);
    // measured in full, 2 L4 replicas' worth: L4 has them ready, the H100 replica goes
    const full = start().decide(at(0), [observation(1.5 * rL4, at(0))]);
    expect(replicasOn(full, 'H100')).toBe(0);
    // the same with the in-flight gauges missing: it stays
    const partial = start().decide(at(0), [{ ...observation(1.5 * rL4, at(0)), running: undefined }]);
    expect(replicasOn(partial, 'H100')).toBe(1);
  });

  it('releases an abandoned move kept by a target beyond the node group, keeping only the spill', () => {
    // L4 serves with its 4 nodes; 3 H100 replicas are left from a move abandoned at a dip
    const start = (c = config) =>
      new Session(c, [
        deployment('L4', 4, 4, 'llm/chat', 'chat-l4'),
        deployment('H100', 3, 3, 'llm/chat', 'chat-h100'),
      ]);
    const spilled = Math.ceil((2.5 * rL4) / rH100 - 1e-9);
    expect(spilled).toBeLessThan(3);
    const d = start().run(at(0), 6.5 * rL4);
    expect(d.targetReplicas).toBe(7);
    expect(replicasOn(d, 'H100')).toBe(spilled);
    // without the spill, make-before-break keeps the move's 3 until 7 L4 are ready, which cannot be
    const off = start(spillConfig(false)).run(at(0), 6.5 * rL4);
    expect(replicasOn(off, 'H100')).toBe(3);
  });

  it("holds on its chosen accelerator what the other variants' targets leave, not what their moves keep there", () => {
    const c = spillConfig(true, 1);
    const session = (pool: Config) =>
      new Session(pool, [
        deployment('L4', 4, 4, 'llm/chat', 'chat-l4'),
        deployment('H100', 0, 0, 'llm/chat', 'chat-h100'),
        // the other variant runs on H100; two L4 replicas are left of a move not yet undone
        deployment('H100', 2, 0, 'llm/other', 'other-h100'),
        deployment('L4', 2, 2, 'llm/other', 'other-l4'),
      ]);
    const pool = poolConfig({
      variants: [
        { ...c.variants[0], accelerator: undefined, accelerators: ['L4', 'H100'], maxReplicas: 10 },
        {
          name: 'other',
          namespace: 'llm',
          model: 'm8b',
          serviceClass: 'interactive',
          accelerator: 'H100',
          minReplicas: 2,
          maxReplicas: 2,
          startupSeconds: 60,
        },
      ],
      nodeGroups: c.nodeGroups,
      policy: { spill: { enabled: true }, stabilizationWindowSeconds: WINDOW },
    });
    const s = session(pool);
    // 3.5 L4 replicas' worth: the 4 L4 nodes hold chat's target; the other's two L4 replicas are
    // not its target (it is sized on H100) and take none of chat's room
    const d = s.decide(at(0), [
      observation(3.5 * rL4, at(0)),
      observation(0.1, at(0), { variant: 'llm/other' }),
    ]);
    expect(d.accelerator).toBe('L4');
    expect(d.targetReplicas).toBe(4);
    expect(d.spill).toBeUndefined();
    expect(replicasOn(d, 'H100')).toBe(0);
  });

  it('stays on an accelerator whose node group is full where what it holds and a spill cost less than a move', () => {
    // no delay before a move: the optimizer, which knows no spill, moves the variant to H100, the
    // one accelerator that holds all of 9.5 L4 replicas' worth
    const c = (enabled: boolean) =>
      poolConfig({
        chat: { accelerator: undefined, accelerators: ['L4', 'H100'], maxReplicas: 10 },
        nodeGroups: spillConfig(enabled).nodeGroups,
        policy: { spill: { enabled }, stabilizationWindowSeconds: WINDOW, acceleratorSwitchSeconds: 0 },
      });
    const demand = 9.5 * rL4;
    const off = onFourL4(c(false)).run(at(0), demand);
    expect(off.accelerator).toBe('H100');
    const moved = Math.ceil(demand / rH100 - 1e-9);
    const spilled = Math.ceil((6 * rL4) / rH100 - 1e-9);
    // the 4 L4 and the rest of the 10 on H100 cost less than the whole on H100 ($1 and $5 a device-hour)
    expect(4 * 1 + spilled * 5).toBeLessThan(moved * 5);
    const d = onFourL4(c(true)).run(at(0), demand);
    expect(d.accelerator).toBe('L4');
    // 10 L4 asked, the step limit lets 8 of them be asked at once
    expect(d.targetReplicas).toBe(8);
    expect(d.spill).toEqual({ accelerator: 'H100', replicas: spilled });
    expect(d.message).toContain(
      `no move to H100: 4 on L4 and the rest spilled cost $9.00/h, the move $${(moved * 5).toFixed(2)}/h`,
    );
    // where the move costs less, it is made: 6.5 L4 replicas' worth fit on one H100 replica
    expect(onFourL4(c(true)).run(at(0), 6.5 * rL4).accelerator).toBe('H100');
  });

  it("makes no move to an accelerator the other variants' targets fill", () => {
    const c = spillConfig(true, 1);
    const pool = poolConfig({
      variants: [
        { ...c.variants[0], accelerator: undefined, accelerators: ['L4', 'H100'], maxReplicas: 10 },
        {
          name: 'other',
          namespace: 'llm',
          model: 'm8b',
          serviceClass: 'interactive',
          accelerator: 'H100',
          minReplicas: 1,
          maxReplicas: 8,
          startupSeconds: 60,
        },
      ],
      nodeGroups: c.nodeGroups,
      policy: { spill: { enabled: true }, stabilizationWindowSeconds: WINDOW, acceleratorSwitchSeconds: 0 },
    });
    const s = new Session(pool, [
      deployment('L4', 4, 4, 'llm/chat', 'chat-l4'),
      deployment('H100', 0, 0, 'llm/chat', 'chat-h100'),
      deployment('H100', 8, 8, 'llm/other', 'other'),
    ]);
    // the other variant's burst asks the whole H100 node, which its window then holds
    s.decide(at(0), [observation(3 * rL4, at(0)), observation(7.5 * rH100, at(0), { variant: 'llm/other' })]);
    // its demand falls: the optimizer sees 7 H100 devices free and moves chat there, which they fill
    const d = s.decide(at(1), [
      observation(6.5 * rL4, at(1)),
      observation(0.1, at(1), { variant: 'llm/other' }),
    ]);
    expect(d.accelerator).toBe('L4');
    expect(d.message).toMatch(/no move to H100: it holds 0 of the \d+ replicas asked/);
    expect(replicasOn(d, 'L4')).toBeGreaterThanOrEqual(4);
  });

  it('keeps a move under way for the switch delay before going back, with the spill on', () => {
    const c = (enabled: boolean) =>
      poolConfig({
        chat: { accelerator: undefined, accelerators: ['L4', 'H100'], maxReplicas: 10 },
        nodeGroups: spillConfig(enabled).nodeGroups,
        policy: { spill: { enabled }, stabilizationWindowSeconds: 30, acceleratorSwitchSeconds: 60 },
      });
    const session = (enabled: boolean) => {
      const s = onFourL4(c(enabled));
      // 6.5 L4 replicas' worth: one H100 replica serves it for less than 4 L4 and a spill; after
      // the 60-s switch delay the variant moves, its H100 replica starting (not ready)
      for (let i = 0; i <= 2; i++) s.run(at(i), 6.5 * rL4, {}, false);
      expect(s.steps.at(-1)!.decision.accelerator).toBe('H100');
      // demand falls back to what L4 serves: the optimizer prefers L4 again
      return s.run(at(3), 2 * rL4, {}, false);
    };
    const on = session(true);
    expect(on.accelerator).toBe('H100');
    expect(on.message).toContain('moving from L4 to H100; L4 preferred for 0 s of 60 s');
    // without the spill, the move is abandoned at once (main's behaviour)
    expect(session(false).accelerator).toBe('L4');
  });

  it('is off by default: the target beyond the node group is asked of the chosen accelerator alone', () => {
    const s = onFourL4(spillConfig(false));
    const d = s.run(at(0), 6.5 * rL4);
    expect(d.spill).toBeUndefined();
    expect(replicasOn(d, 'H100')).toBe(0);
    expect(d.reason).not.toBe('spill');
  });
});
