/**
 * The adaptive window: a scale-up that re-buys replicas released within the window (plus the
 * startup delay) doubles the variant's window; two quiet windows halve it back.
 */
import { deployment, poolConfig, ratePerReplica, Session, T0 } from '../helpers.js';

const at = (i: number) => T0 + 30 * i;

/** Steady, spike, back to steady until the window lets go, then the first step down. */
function spikeAndRelease(s: Session, r: number): number {
  let i = 0;
  for (; i <= 10; i++) s.run(at(i), 1.5 * r);
  s.run(at(i++), 5.5 * r); // 2 -> 6
  while (s.deployments[0]!.desired === 6 && i < 40) s.run(at(i++), 1.5 * r);
  return i;
}

describe('adaptive stabilisation window', () => {
  it('doubles the window when released replicas are needed again, and says so', () => {
    const config = poolConfig();
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 2)]);
    let i = spikeAndRelease(s, r);
    expect(s.deployments[0]!.desired).toBe(3); // the first step down, after the 300 s window
    const again = s.run(at(i++), 5.5 * r);
    expect(again.action).toBe('scale-up');
    expect(again.message).toMatch(/replicas released 30 s ago are needed again: window 300 s -> 600 s/);
    // now a drop is held for 600 s, not 300 s
    const held: number[] = [];
    for (let k = 0; k < 22; k++) held.push(s.run(at(i++), 1.5 * r).targetReplicas);
    expect(held.slice(0, 19)).toEqual(Array(19).fill(6));
    expect(held[20]).toBeLessThan(6);
    expect(s.steps.find((x) => x.now === at(i - 15))!.decision.message).toContain('held by the 600 s window');
  });

  it('keeps the configured window when adaptation is off', () => {
    const config = poolConfig({ policy: { adaptiveWindow: { enabled: false } } });
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 2)]);
    let i = spikeAndRelease(s, r);
    const again = s.run(at(i++), 5.5 * r);
    expect(again.message).not.toContain('window 300 s ->');
    const held: number[] = [];
    for (let k = 0; k < 12; k++) held.push(s.run(at(i++), 1.5 * r).targetReplicas);
    // released after 300 s again: held through nine evaluations, then the first step down
    expect(held.slice(0, 9)).toEqual(Array(9).fill(6));
    expect(held[9]).toBe(3);
  });

  it('never grows past maxSeconds', () => {
    const config = poolConfig({ policy: { adaptiveWindow: { initialSeconds: 0, maxSeconds: 450 } } });
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 2)]);
    let i = spikeAndRelease(s, r);
    expect(s.run(at(i++), 5.5 * r).message).toMatch(/window 300 s -> 450 s/);
    expect(s.memory.variants[Object.keys(s.memory.variants)[0]!]!.window).toBe(450);
  });

  it('starts a variant not seen yet at the cautious initial window', () => {
    const config = poolConfig({ policy: { adaptiveWindow: { initialSeconds: 900 } } });
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 2)]);
    let i = 0;
    // a whole (initial) window of steady load, so the partial-view rule is not what holds
    for (; i <= 30; i++) s.run(at(i), 1.5 * r);
    expect(s.run(at(i++), 5.5 * r).targetReplicas).toBe(6);
    const held: number[] = [];
    for (let k = 0; k < 31; k++) held.push(s.run(at(i++), 1.5 * r).targetReplicas);
    expect(held.slice(0, 29)).toEqual(Array(29).fill(6));
    expect(held[30]).toBeLessThan(6);
  });

  it('halves the window back after two quiet windows', () => {
    const config = poolConfig();
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 2)]);
    let i = spikeAndRelease(s, r);
    s.run(at(i++), 5.5 * r); // regret: 600 s
    const key = Object.keys(s.memory.variants)[0]!;
    expect(s.memory.variants[key]!.window).toBe(600);
    // steady load, no regret, for more than two windows
    for (let k = 0; k < 45; k++) s.run(at(i++), 1.5 * r);
    expect(s.memory.variants[key]!.window).toBe(300);
  });
});
