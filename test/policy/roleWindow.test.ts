/**
 * A disaggregated variant's roles each learn their stabilisation window from their own releases
 * (policy.learntWindow, lib/policy/roleWindow.ts); off, the roles keep the configured window and
 * the memory carries no release history.
 */
import type { Config } from '../../lib/config/schema.js';
import { variantKey } from '../../lib/config/variantKey.js';
import { decideDisaggregated, roleWindow } from '../../lib/policy/disaggregated.js';
import type { ReleaseHistory } from '../../lib/policy/learntWindow.js';
import { emptyMemory, type PolicyMemory } from '../../lib/policy/memory.js';
import { learnRoleWindow, roleLevel, type RoleWindowStep } from '../../lib/policy/roleWindow.js';
import { disaggregatedConfig, roleObservation, runningRole } from './helpers.js';

const options = { levels: 'recommendation' as const, regretLeadTimes: 2, minReleases: 4, perLevel: false };
const base: Omit<RoleWindowStep, 'now' | 'planned'> = {
  accelerator: 'H100',
  arrivalsShare: 1,
  configuredSeconds: 1200,
  leadSeconds: 300,
  highest: 6,
};

/** The role's history after plans of (time, replicas), from nothing, and the window of the last. */
function learn(
  plans: [number, number][],
  opts: Partial<typeof options> = {},
  step: Partial<RoleWindowStep> = {},
) {
  let releases: ReleaseHistory | undefined;
  let w: ReturnType<typeof learnRoleWindow> | undefined;
  for (const [now, planned] of plans) {
    w = learnRoleWindow(releases, { ...base, ...step, now, planned }, { ...options, ...opts });
    releases = w.releases;
  }
  return w!;
}

/** A plan of 4 dropping to 2 for `gap` seconds, `n` times. */
const bursts = (n: number, gap: number): [number, number][] =>
  Array.from({ length: n }, (_, i) => {
    const t = i * 2000;
    return [
      [t, 4],
      [t + 30, 2],
      [t + 30 + gap, 4],
    ] as [number, number][];
  }).flat();

describe('roleLevel', () => {
  it("is the plan's replicas, or the share of them the measured arrivals ask for", () => {
    expect(roleLevel('recommendation', 7, 0.5)).toBe(7);
    expect(roleLevel('arrivals', 7, 0.5)).toBe(4);
    expect(roleLevel('arrivals', 7, 1)).toBe(7);
    // a sized rate below the measured one (no backlog to drain) asks no more than the plan
    expect(roleLevel('arrivals', 7, 1.4)).toBe(7);
    expect(roleLevel('arrivals', 7, Number.NaN)).toBe(7);
  });
});

describe('learnRoleWindow', () => {
  it('keeps the configured window until enough of the role’s releases are seen', () => {
    const w = learn(bursts(1, 470));
    expect(w.seconds).toBe(1200);
    expect(w.learnt).toBeUndefined();
  });

  it('learns the length that costs least: held until asked again when that is cheaper than buying again', () => {
    // released replicas asked again 500 s later: holding them costs 500 s each, letting go at one
    // lead time (300 s) costs 300 + 2 x 300 s: the window keeps them (just over 500 s)
    const w = learn(bursts(4, 470));
    expect(w.learnt).toBeDefined();
    expect(w.seconds).toBe(501);
    expect(w.learnt!.heldUntilAsked).toBe(8);
  });

  it('is one lead time when releases come back much later than holding them is worth', () => {
    const w = learn([...bursts(4, 1150), [8000, 2], [8040, 2]]);
    // asked again after 1,150 s: holding costs more than 300 + 600 s of buying again
    expect(w.seconds).toBe(300);
  });

  it('per level: the top levels keep the configured window where too few releases reach them', () => {
    const w = learn(bursts(4, 470), { perLevel: true });
    // levels 1 to 4 learn from the releases of 3 and 4; none reach 5 and 6
    expect(w.levels!.slice(1)).toEqual([501, 501, 501, 501, 1200, 1200]);
    expect(w.levelsLearnt!.slice(1)).toEqual([true, true, true, true, false, false]);
    const last = w.releases.last!.t;
    const entry = (age: number, replicas: number) => ({ t: last - age, accelerator: 'H100', replicas });
    expect(w.heldBy!(entry(400, 4))).toBe(4);
    expect(w.heldBy!(entry(600, 4))).toBe(0);
    expect(w.heldBy!(entry(600, 6))).toBe(6);
    expect(w.seconds).toBe(1200);
  });
});

describe('decideDisaggregated with policy.learntWindow', () => {
  const fromFile = disaggregatedConfig();
  const withLearnt = (c: Config, on: boolean): Config => ({
    ...c,
    policy: {
      ...c.policy,
      learntWindow: { ...c.policy.learntWindow, enabled: on, minReleases: 2 },
      // the configured window of both roles (the prefill role's burst sizing would shorten its own)
      burstSizing: { ...c.policy.burstSizing, prefill: false },
    },
  });
  const v = fromFile.disaggregated![0]!;
  const now = 1_800_000_000;
  const e = (value: number) => ({ value, source: 's', timestamp: now });
  const obs = (rate: number) => roleObservation(now, { arrivalRate: e(rate), running: e(1) });
  const running = runningRole;

  /**
   * 8 prefill pods running, asked for by the plan a little over one lead time ago; the load now
   * needs far fewer. The prefill role has seen two releases come back at once (a learnt window of
   * one lead time), the decode role none.
   */
  function decide(on: boolean) {
    const config = withLearnt(fromFile, on);
    const window = roleWindow(config, v);
    const lead = window / config.policy.windowPerStartup;
    const asked = now - lead - 60;
    const returned = (t: number) => ({ t, after: 60, replicas: 2, top: 8 });
    const memory: PolicyMemory = emptyMemory();
    memory.variants[variantKey(v)] = {
      sequence: 1,
      observedSince: now - 2 * window,
      recommendations: [],
      demand: [],
      roles: {
        prefill: [{ t: asked, accelerator: '4xH100', replicas: 8 }],
        decode: [{ t: asked, accelerator: '4xA100', replicas: 1 }],
      },
      roleReleases: {
        prefill: {
          accelerator: '4xH100',
          open: [],
          last: { t: asked, replicas: 8 },
          returns: [returned(now - 3 * window), returned(now - 2 * window)],
        },
      },
    };
    const d = decideDisaggregated(
      v,
      { prefill: obs(0.5), decode: obs(0.5) },
      { prefill: running('4xH100', 8), decode: running('4xA100', 1) },
      memory,
      { config, now, pool: 'default', poolSequence: 1 },
    );
    return { d, asked };
  }

  it('off: the configured window holds the prefill pods asked for within it, and the role release history is not advanced', () => {
    const { d, asked } = decide(false);
    expect(d.roles.prefill.target).toBe(8);
    expect(d.record.message).toContain('held by the window');
    // what the memory had is carried, not advanced
    expect(d.memory.roleReleases!.prefill!.last).toEqual({ t: asked, replicas: 8 });
    expect(d.memory.roleReleases!.decode).toBeUndefined();
  });

  it("on: the prefill role's learnt window (one lead time) has run out, so it lets the pods go; each role keeps its own history", () => {
    const { d } = decide(true);
    expect(d.roles.prefill.target).toBeLessThan(8);
    const releases = d.memory.roleReleases!;
    expect(releases.prefill!.accelerator).toBe('4xH100');
    expect(releases.decode!.accelerator).toBe('4xA100');
    // the prefill drop from 8 opens levels in the prefill history only
    expect(releases.prefill!.open.length).toBe(1);
    expect(releases.decode!.open).toEqual([]);
    expect(releases.prefill!.returns).toHaveLength(2);
  });
});
