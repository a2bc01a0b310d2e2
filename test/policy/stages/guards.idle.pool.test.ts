/**
 * Scale to zero: only with minReplicas 0, and only after idleWindowSeconds without arrivals.
 */
import {
  deployment,
  lastDevicesAsked,
  poolConfig,
  ratePerReplica,
  replicasOn,
  Session,
  T0,
} from '../helpers.js';

const at = (i: number) => T0 + 30 * i;

describe('scale to zero', () => {
  it('goes to zero exactly when the idle window has passed since the last arrival (window 0)', () => {
    // No node groups: unlimited capacity. Stabilisation window 0 isolates the idle rule.
    const config = poolConfig({
      chat: { minReplicas: 0 },
      nodeGroups: [],
      policy: { stabilizationWindowSeconds: 0, idleWindowSeconds: 600 },
    });
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 1)]);
    s.run(at(0), 0.5 * r);
    const targets: number[] = [];
    for (let i = 1; i <= 22; i++) targets.push(s.run(at(i), 0).targetReplicas);
    // last arrival seen at at(0); idle for 600 s at at(20)
    expect(targets.slice(0, 19)).toEqual(Array(19).fill(1));
    expect(targets.slice(19)).toEqual([0, 0, 0]);
    const zero = s.steps.find((x) => x.now === at(20))!.decision;
    expect(zero).toMatchObject({ action: 'scale-down', reason: 'idle', targetReplicas: 0 });
    expect(zero.message).toContain('no arrivals for 600 s');
    expect(replicasOn(zero, 'L4')).toBe(0);
  });

  it('an arrival inside the idle window restarts it', () => {
    const config = poolConfig({
      chat: { minReplicas: 0 },
      nodeGroups: [],
      policy: { stabilizationWindowSeconds: 0, idleWindowSeconds: 300 },
    });
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 1)]);
    s.run(at(0), 0.5 * r);
    for (let i = 1; i <= 8; i++) s.run(at(i), 0);
    s.run(at(9), 0.01 * r);
    const targets = [];
    for (let i = 10; i <= 19; i++) targets.push(s.run(at(i), 0).targetReplicas);
    // idle since at(9): zero at at(19), not at(10)
    expect(targets).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
  });

  it('never goes to zero with minReplicas 1, however long idle', () => {
    const config = poolConfig({
      nodeGroups: [],
      policy: { stabilizationWindowSeconds: 0, idleWindowSeconds: 60 },
    });
    const s = new Session(config, [deployment('L4', 1)]);
    for (let i = 0; i <= 30; i++) {
      const d = s.run(at(i), 0);
      expect(d.targetReplicas).toBe(1);
      expect(d.reason).not.toBe('idle');
    }
  });

  it('with the stabilisation window, zero comes after idle window + window, never before the idle window', () => {
    const config = poolConfig({
      chat: { minReplicas: 0 },
      nodeGroups: [],
      policy: { stabilizationWindowSeconds: 300, idleWindowSeconds: 600 },
    });
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 1)]);
    for (let i = 0; i <= 10; i++) s.run(at(i), 0.5 * r);
    let zeroAt: number | undefined;
    for (let i = 11; i <= 60 && zeroAt === undefined; i++) {
      if (s.run(at(i), 0).targetReplicas === 0) zeroAt = at(i);
    }
    const lastArrival = at(10);
    expect(zeroAt).toBeDefined();
    expect(zeroAt! - lastArrival).toBeGreaterThanOrEqual(600);
    expect(zeroAt! - lastArrival).toBeLessThanOrEqual(600 + 300 + 30);
  });

  it('sizes the node groups for zero replicas once at zero', () => {
    const config = poolConfig({
      chat: { minReplicas: 0 },
      policy: { stabilizationWindowSeconds: 0, idleWindowSeconds: 60 },
    });
    const s = new Session(config, [deployment('L4', 0)]);
    const d = s.run(at(0), 0);
    expect(d.targetReplicas).toBe(0);
    expect(lastDevicesAsked(s)).toEqual({ L4: 0 });
  });

  it('zero arrivals inside the idle window never add replicas (pool with node groups: limited capacity)', () => {
    // With node groups the optimizer runs in limited mode, where an idle variant with no minimum
    // gets no allocation at all; that must read as "needs nothing", not "targets cannot be met".
    const config = poolConfig({
      chat: { minReplicas: 0 },
      policy: { stabilizationWindowSeconds: 0, idleWindowSeconds: 600 },
    });
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 1)]);
    s.run(at(0), 0.5 * r);
    for (let i = 1; i <= 10; i++) {
      const d = s.run(at(i), 0);
      expect(d.targetReplicas).toBeLessThanOrEqual(1);
      expect(d.reason).not.toBe('max-replicas');
    }
  });
});
