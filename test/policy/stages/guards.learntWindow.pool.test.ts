/**
 * The window learnt per variant (policy.learntWindow): decisions over a session whose demand
 * comes back to a level at a fixed interval after dropping from it.
 */
import type { DecisionRecord } from '../../../lib/policy/decisionRecord.js';
import { deployment, poolConfig, ratePerReplica, Session, T0 } from '../helpers.js';

const at = (i: number) => T0 + 30 * i;

/**
 * Bursts of one evaluation at 3.5 r* every `every` evaluations, 1.5 r* between (the arrivals ask
 * 4 replicas, then 2); returns every decision. The lead time of L4 here is 120 s.
 */
function bursts(policy: Record<string, unknown>, every: number, cycles: number): DecisionRecord[] {
  // the longest window (the horizon of returns) is adaptiveWindow.maxSeconds, 1800 s
  const config = poolConfig({ policy });
  const r = ratePerReplica(config);
  const s = new Session(config, [deployment('L4', 2)]);
  const out: DecisionRecord[] = [];
  for (let i = 0; i < every * cycles; i++) out.push(s.run(at(i), (i % every === 0 ? 3.5 : 1.5) * r));
  return out;
}

/** How many evaluations after the last burst the variant kept 4 replicas. */
function heldAfterLastBurst(ds: readonly DecisionRecord[], every: number): number {
  const last = ds.slice(-every);
  return last.slice(1).findIndex((d) => d.targetReplicas < 4);
}

describe('learnt stabilisation window', () => {
  it('holds released replicas until they come back when that costs less than buying them again, and says why', () => {
    // back after 480 s; buying again costs 4 lead times (480 s) on top of the window: hold
    const ds = bursts({ learntWindow: { enabled: true, regretLeadTimes: 4, minReleases: 2 } }, 16, 6);
    const last = ds.at(-2)!;
    expect(last.message).toMatch(/held by the 481 s window/);
    expect(last.message).toMatch(
      /window learnt from \d+ replicas released: \d+ asked again within 481 s, 0 later, 0 not within 1800 s \(the least replica-seconds, a replica bought again costing 4 lead times of 120 s\)/,
    );
    // held through the whole gap until the next burst
    expect(heldAfterLastBurst(ds, 16)).toBe(-1);
  });

  it('lets go after one lead time when holding until they come back costs more than buying them again', () => {
    // back after 480 s; buying again costs 2 lead times (240 s): 120 + 240 < 480
    const ds = bursts({ learntWindow: { enabled: true, minReleases: 2 } }, 16, 6);
    const held = ds.slice(-16).find((d) => d.message.includes('held by'))!;
    expect(held.message).toMatch(/held by the 120 s window/);
    expect(held.message).toMatch(/0 asked again within 120 s, \d+ later, 0 not within 1800 s/);
    // let go 120 s after the burst, where the adaptive window (grown by the regrets) holds the
    // whole gap
    expect(heldAfterLastBurst(ds, 16)).toBe(3);
    expect(heldAfterLastBurst(bursts({}, 16, 6), 16)).toBe(-1);
  });

  it('keeps the configured window until enough releases are seen, and says so', () => {
    const ds = bursts({ learntWindow: { enabled: true, minReleases: 100 } }, 16, 3);
    const held = ds.filter((d) => d.message.includes('held by'));
    expect(held.length).toBeGreaterThan(0);
    for (const d of held)
      expect(d.message).toMatch(
        /held by the \d+ s window.*; fewer than 100 releases seen: the configured window/,
      );
  });

  it('per level: the top replicas of a burst held by their own window, and the decision says which', () => {
    const ds = bursts(
      { learntWindow: { enabled: true, perLevel: true, regretLeadTimes: 4, minReleases: 2 } },
      16,
      6,
    );
    const last = ds.at(-2)!;
    expect(last.message).toMatch(/held by the window of replica 4, 481 s \(recommended 2\)/);
    expect(last.message).toMatch(/replicas 4 and above: window learnt from \d+ replicas released/);
    expect(heldAfterLastBurst(ds, 16)).toBe(-1);
    // levels without enough releases of their own keep the configured window
    const few = bursts({ learntWindow: { enabled: true, perLevel: true, minReleases: 100 } }, 16, 3);
    const held = few.filter((d) => d.message.includes('held by'));
    expect(held.length).toBeGreaterThan(0);
    for (const d of held)
      expect(d.message).toMatch(
        /held by the window of replica 4, \d+ s .*fewer than 100 releases of replicas 4 and above seen: the configured window/,
      );
  });

  it('is off by default: the window and the memory as before', () => {
    const config = poolConfig();
    expect(config.policy.learntWindow.enabled).toBe(false);
    const ds = bursts({}, 16, 3);
    for (const d of ds) expect(d.message).not.toMatch(/learnt|releases seen/);
  });
});
