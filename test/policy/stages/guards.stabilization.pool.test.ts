/**
 * Scale up at once within the step limit; scale down only to the highest recommendation of the
 * stabilisation window, and by at most the down step per evaluation; never before a whole window
 * has been seen; min and max always hold.
 */
import { mulberry32 } from '../../../lib/fleetSimulator/index.js';
import { deployment, observation, poolConfig, ratePerReplica, replicasOn, Session, T0 } from '../helpers.js';

const at = (i: number) => T0 + 30 * i;

describe('scaling up', () => {
  const config = poolConfig();
  const r = ratePerReplica(config);

  it('is immediate: the first evaluation that sees the load asks for all of it', () => {
    const s = new Session(config, [deployment('L4', 1)]);
    const d = s.decide(T0, [observation(3.5 * r, T0)]);
    expect(d).toMatchObject({ action: 'scale-up', reason: 'load', currentReplicas: 1, targetReplicas: 4 });
    expect(replicasOn(d, 'L4')).toBe(4);
  });

  it('adds at most the larger of scaleUpMaxStep.replicas and .percent per evaluation', () => {
    const limited = poolConfig({ policy: { scaleUpMaxStep: { replicas: 2, percent: 0 } } });
    const rl = ratePerReplica(limited);
    const s = new Session(limited, [deployment('L4', 1)]);
    const targets = [0, 1, 2, 3].map((i) => s.run(at(i), 6.5 * rl).targetReplicas);
    expect(targets).toEqual([3, 5, 7, 7]);
    expect(s.steps[0]!.decision.reason).toBe('stabilization');
    expect(s.steps[0]!.decision.message).toContain('limited by the step size (recommended 7)');
    expect(s.steps[3]!.decision.action).toBe('none');

    const percent = poolConfig({ policy: { scaleUpMaxStep: { replicas: 1, percent: 100 } } });
    const rp = ratePerReplica(percent);
    const p = new Session(percent, [deployment('L4', 2)]);
    // doubling: 2 -> 4 -> 8 -> 9
    expect([0, 1, 2].map((i) => p.run(at(i), 8.5 * rp).targetReplicas)).toEqual([4, 8, 9]);
  });
});

describe('scaling down', () => {
  const config = poolConfig();
  const r = ratePerReplica(config);

  it('after a spike, stays at the window maximum until the window passes, then steps down', () => {
    const s = new Session(config, [deployment('L4', 2)]);
    // a whole window of steady load first, so the partial-view rule is not what holds
    for (let i = 0; i <= 10; i++) s.run(at(i), 1.5 * r);
    expect(s.deployments[0]!.desired).toBe(2);
    const spike = s.run(at(11), 5.5 * r);
    expect(spike.targetReplicas).toBe(6);
    const targets: number[] = [];
    for (let i = 12; i <= 26; i++) targets.push(s.run(at(i), 1.5 * r).targetReplicas);
    // the spike at at(11) leaves the 300 s window at at(21): held through at(20)
    expect(targets.slice(0, 9)).toEqual(Array(9).fill(6));
    // then down by max(1, 50%) per evaluation: 6 -> 3 -> 2
    expect(targets.slice(9)).toEqual([3, 2, 2, 2, 2, 2]);
    const held = s.steps.find((x) => x.now === at(15))!.decision;
    expect(held).toMatchObject({ reason: 'stabilization', action: 'none' });
    expect(held.message).toContain('held by the 300 s window (recommended 2)');
    const stepped = s.steps.find((x) => x.now === at(21))!.decision;
    expect(stepped).toMatchObject({ reason: 'stabilization', action: 'scale-down', targetReplicas: 3 });
    expect(stepped.message).toContain('limited by the step size');
  });

  it('removes at most the larger of scaleDownMaxStep.replicas and .percent per evaluation', () => {
    const slow = poolConfig({
      policy: { stabilizationWindowSeconds: 0, scaleDownMaxStep: { replicas: 1, percent: 0 } },
    });
    const s = new Session(slow, [deployment('L4', 6)]);
    const rs = ratePerReplica(slow);
    expect([0, 1, 2, 3, 4, 5].map((i) => s.run(at(i), 0.5 * rs).targetReplicas)).toEqual([5, 4, 3, 2, 1, 1]);

    const fast = poolConfig({
      policy: { stabilizationWindowSeconds: 0, scaleDownMaxStep: { replicas: 3, percent: 10 } },
    });
    const f = new Session(fast, [deployment('L4', 8)]);
    expect([0, 1, 2].map((i) => f.run(at(i), 0.5 * ratePerReplica(fast)).targetReplicas)).toEqual([5, 2, 1]);
  });

  it('does not scale down before a whole window has been observed (a new variant or a restart)', () => {
    const s = new Session(config, [deployment('L4', 5)]);
    const targets = [];
    for (let i = 0; i <= 12; i++) targets.push(s.run(at(i), 0.5 * r).targetReplicas);
    // observed since at(0); the window (now - 300, now] is whole from at(10) on
    expect(targets.slice(0, 10)).toEqual(Array(10).fill(5));
    expect(s.steps[0]!.decision.reason).toBe('stabilization');
    expect(s.steps[0]!.decision.message).toContain('held by the 300 s window');
    expect(targets.slice(10)).toEqual([3, 2, 1]);
  });

  it('stretches the window to windowPerStartup times the lead time (startup + node provisioning)', () => {
    // lead on L4 = 60 s startup + 60 s provisioning; 2 x 120 s = 240 s > the configured 60 s
    const stretched = poolConfig({ policy: { stabilizationWindowSeconds: 60, windowPerStartup: 2 } });
    const rs = ratePerReplica(stretched);
    const s = new Session(stretched, [deployment('L4', 2)]);
    for (let i = 0; i <= 8; i++) s.run(at(i), 1.5 * rs);
    expect(s.run(at(9), 4.5 * rs).targetReplicas).toBe(5);
    const targets = [10, 11, 12, 13, 14, 15, 16, 17].map((i) => s.run(at(i), 1.5 * rs).targetReplicas);
    // the spike at at(9) leaves the 240 s window at at(17), then a step of max(1, 50%)
    expect(targets).toEqual([5, 5, 5, 5, 5, 5, 5, 3]);
    expect(s.steps.find((x) => x.now === at(12))!.decision.message).toContain('held by the 240 s window');
  });

  it('a window of 0 with unlimited steps follows the recommendation at once', () => {
    const free = poolConfig({
      policy: { stabilizationWindowSeconds: 0, scaleDownMaxStep: { replicas: 100, percent: 100 } },
    });
    const s = new Session(free, [deployment('L4', 9)]);
    const d = s.run(T0, 1.5 * ratePerReplica(free));
    expect(d).toMatchObject({ action: 'scale-down', targetReplicas: 2, reason: 'load' });
  });
});

describe('min and max replicas', () => {
  it('never goes below minReplicas nor above maxReplicas, whatever the load and history', () => {
    const config = poolConfig({
      chat: { minReplicas: 2, maxReplicas: 7 },
      policy: {
        stabilizationWindowSeconds: 60,
        scaleDownMaxStep: { replicas: 10, percent: 100 },
        scaleUpMaxStep: { replicas: 10, percent: 100 },
      },
    });
    const r = ratePerReplica(config);
    const random = mulberry32(42);
    const s = new Session(config, [deployment('L4', 3)]);
    const seen = new Set<number>();
    for (let i = 0; i < 120; i++) {
      const rate = random() < 0.2 ? 0 : random() * 12 * r;
      const d = s.run(at(i), rate, { waiting: random() < 0.1 ? random() * 200 : 0 });
      expect(d.targetReplicas).toBeGreaterThanOrEqual(2);
      expect(d.targetReplicas).toBeLessThanOrEqual(7);
      for (const t of d.deployments) {
        expect(t.replicas).toBeGreaterThanOrEqual(2);
        expect(t.replicas).toBeLessThanOrEqual(7);
      }
      seen.add(d.targetReplicas);
    }
    // the bounds were actually reached
    expect(seen.has(2)).toBe(true);
    expect(seen.has(7)).toBe(true);
  });

  it('holds minReplicas when the load needs fewer', () => {
    const config = poolConfig({ chat: { minReplicas: 3 }, policy: { stabilizationWindowSeconds: 0 } });
    const s = new Session(config, [deployment('L4', 3)]);
    const d = s.run(T0, 0.1 * ratePerReplica(config));
    expect(d.targetReplicas).toBe(3);
    expect(d.action).toBe('none');
  });

  it('caps at maxReplicas when the load needs more, and says so', () => {
    const config = poolConfig({ chat: { maxReplicas: 6 } });
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 5)]);
    const d = s.decide(T0, [observation(20 * r, T0)]);
    expect(d).toMatchObject({ reason: 'max-replicas', targetReplicas: 6, action: 'scale-up' });
    expect(d.message).toContain('maxReplicas 6');
    expect(replicasOn(d, 'L4')).toBe(6);
  });

  it('caps at maxReplicas when the step limit reaches it', () => {
    const config = poolConfig({ chat: { maxReplicas: 6 } });
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 1)]);
    // 1 -> 5 (step of 4) -> 6 (max)
    expect([0, 1, 2].map((i) => s.run(at(i), 20 * r).targetReplicas)).toEqual([5, 6, 6]);
    expect(s.steps[2]!.decision.reason).toBe('max-replicas');
  });

  it('is limited by free node capacity when the node groups cannot hold maxReplicas', () => {
    const config = poolConfig({
      chat: { maxReplicas: 10 },
      nodeGroups: [{ name: 'gpu-l4', acceleratorType: 'L4', gpusPerNode: 1, maxNodes: 4 }],
    });
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 3)]);
    const d = s.decide(T0, [observation(20 * r, T0)]);
    expect(d).toMatchObject({ reason: 'capacity', targetReplicas: 4 });
    expect(d.message).toContain('free capacity');
  });
});
