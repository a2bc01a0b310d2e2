/**
 * The devices a disaggregated variant's nodes leave idle, given to its roles (policy.fillNodes,
 * lib/policy/wholeNodes.ts): 4-GPU pods on 8-GPU nodes, an odd number of pods leaves half a node
 * paid for and idle.
 */
import type { Config } from '../../lib/config/schema.js';
import { variantKey } from '../../lib/config/variantKey.js';
import { decideDisaggregated, roleWindow } from '../../lib/policy/disaggregated.js';
import { emptyMemory, type PolicyMemory } from '../../lib/policy/memory.js';
import { devicesPerNode, fillNodeRoom, type RoleRoom } from '../../lib/policy/wholeNodes.js';
import { disaggregatedConfig, roleObservation, runningRole } from './helpers.js';

const fromFile = disaggregatedConfig();
const withFill = (on: boolean): Config => ({
  ...fromFile,
  policy: { ...fromFile.policy, fillNodes: { enabled: on } },
});
const role = (target: number, more: Partial<RoleRoom> = {}): RoleRoom => ({
  deviceType: 'H100',
  devicesPerReplica: 4,
  target,
  maxReplicas: 12,
  moving: false,
  ...more,
});

describe('fillNodeRoom', () => {
  it('off: the targets as the window decided', () => {
    expect(fillNodeRoom(withFill(false), { prefill: role(8), decode: role(3) })).toEqual({
      prefill: 8,
      decode: 3,
    });
  });

  it('gives the half node 8 + 3 pods leave idle to the prefill role, and asks for no node', () => {
    expect(devicesPerNode(fromFile, 'H100')).toBe(8);
    expect(fillNodeRoom(withFill(true), { prefill: role(8), decode: role(3) })).toEqual({
      prefill: 9,
      decode: 3,
    });
    // 9 + 3 pods fill 6 nodes: no room, nothing added
    expect(fillNodeRoom(withFill(true), { prefill: role(9), decode: role(3) })).toEqual({
      prefill: 9,
      decode: 3,
    });
  });

  it("counts each device type's nodes apart, and gives the room to a role that runs there", () => {
    // prefill on H100 (3 pods: 12 of 16 devices), decode on A100 (1 pod: 4 of 8)
    const filled = fillNodeRoom(withFill(true), {
      prefill: role(3),
      decode: role(1, { deviceType: 'A100' }),
    });
    expect(filled).toEqual({ prefill: 4, decode: 2 });
  });

  it('never outside the ratio bound: apply would reject the decision (prefill 9 : decode 1 beyond max 8)', () => {
    // 8 prefill + 1 decode pods hold 36 of 40 devices: the room would take a 9th prefill pod
    expect(fillNodeRoom(withFill(true), { prefill: role(8), decode: role(1) })).toEqual({
      prefill: 9,
      decode: 1,
    });
    expect(fillNodeRoom(withFill(true), { prefill: role(8), decode: role(1) }, { max: 8 })).toEqual({
      prefill: 8,
      decode: 2,
    });
    // a least ratio keeps the decode role from taking the room the prefill role cannot
    expect(
      fillNodeRoom(withFill(true), { prefill: role(2, { maxReplicas: 2 }), decode: role(1) }, { min: 2 }),
    ).toEqual({ prefill: 2, decode: 1 });
  });

  it("never beyond a role's maxReplicas (the room passes to the other role), never for a role that runs nothing", () => {
    expect(fillNodeRoom(withFill(true), { prefill: role(7, { maxReplicas: 7 }), decode: role(2) })).toEqual({
      prefill: 7,
      decode: 3,
    });
    expect(fillNodeRoom(withFill(true), { prefill: role(0), decode: role(1) })).toEqual({
      prefill: 0,
      decode: 2,
    });
  });

  it('leaves a variant alone while one of its roles moves to another accelerator, and a type without node groups', () => {
    expect(fillNodeRoom(withFill(true), { prefill: role(8), decode: role(3, { moving: true }) })).toEqual({
      prefill: 8,
      decode: 3,
    });
    expect(
      fillNodeRoom(withFill(true), {
        prefill: role(8, { deviceType: 'TPU' }),
        decode: role(3, { deviceType: 'TPU' }),
      }),
    ).toEqual({ prefill: 8, decode: 3 });
  });
});

describe('decideDisaggregated with policy.fillNodes', () => {
  const v = fromFile.disaggregated![0]!;
  const now = 1_800_000_000;
  const e = (value: number) => ({ value, source: 's', timestamp: now });
  const obs = (rate: number) => roleObservation(now, { arrivalRate: e(rate), running: e(1) });
  const running = runningRole;

  /** 3 prefill pods on H100 held by the window (12 of 16 devices), one decode pod on A100 (4 of 8). */
  function decide(on: boolean) {
    const config = withFill(on);
    const window = roleWindow(config, v);
    const memory: PolicyMemory = emptyMemory();
    memory.variants[variantKey(v)] = {
      sequence: 1,
      observedSince: now - 2 * window,
      recommendations: [],
      demand: [],
      roles: {
        prefill: [{ t: now - 60, accelerator: '4xH100', replicas: 3 }],
        decode: [{ t: now - 60, accelerator: '4xA100', replicas: 1 }],
      },
    };
    return decideDisaggregated(
      v,
      { prefill: obs(0.5), decode: obs(0.5) },
      { prefill: running('4xH100', 3), decode: running('4xA100', 1) },
      memory,
      { config, now, pool: 'default', poolSequence: 1 },
    );
  }

  it('off: the window holds the 3 prefill pods, the decode role its one (half of an H100 node and of an A100 node idle)', () => {
    const d = decide(false);
    expect(d.roles.prefill.target).toBe(3);
    expect(d.roles.decode.target).toBe(1);
    expect(d.record.message).not.toContain('room left on the nodes');
  });

  it("on: each idle half node takes a pod of the role there, said in the message; the window's memory keeps the plan", () => {
    const d = decide(true);
    expect(d.roles.prefill.target).toBe(4);
    expect(d.roles.decode.target).toBe(2);
    expect(d.record.message).toContain('the room left on the nodes: prefill +1, decode +1');
    expect(d.memory.roles!.prefill.at(-1)!.replicas).toBeLessThan(4);
  });
});
