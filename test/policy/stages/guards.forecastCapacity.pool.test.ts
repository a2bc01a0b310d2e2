/**
 * Capacity for demand expected when it arrives (policy.forecastCapacity): a forecast's replicas
 * are held until the time they were forecast for, then only as far as the rise learnt from the
 * variant's demand expects; a scale-up buys the forecast only as far as that rise; a regret is
 * capacity measured demand asks for again.
 */
import type { Config } from '../../../lib/config/schema.js';
import { adaptWindow, leadSeconds } from '../../../lib/policy/window.js';
import { variantMemory } from '../../../lib/policy/memory.js';
import { deployment, poolConfig, ratePerReplica, Session, T0 } from '../helpers.js';

const at = (i: number) => T0 + 30 * i;
// the flags a test does not turn on are off (both are on by default)
const OFF = { buyAsExpected: false, holdAsExpected: false };
const policy = (forecastCapacity: Record<string, boolean>) =>
  poolConfig({
    policy: {
      forecast: { enabled: true, horizonSeconds: 180, maxGrowth: 3 },
      forecastCapacity: { ...OFF, ...forecastCapacity },
    },
  });
const hold = policy({ holdAsExpected: true });
const off = policy({});
const r = ratePerReplica(off);
// lead time: startup 60 s + L4 node 60 s = 120 s, four evaluations; the window is 300 s
const lead = leadSeconds(off, off.variants[0]!, 'L4');

/** a ramp the trend extrapolates: 0.01 r* a second */
const RAMP = [1.8, 2.1, 2.4, 2.7, 3.0];

/** Steady demand long enough to learn its rises, a short burst the trend extrapolates, steady again. */
function burst(config: Config, base = 1.5 * r) {
  const s = new Session(config, [deployment('L4', 2)]);
  let i = 0;
  for (; i < 40; i++) s.run(at(i), base);
  for (const x of RAMP) s.run(at(i++), x * r);
  const top = s.steps.at(-1)!.decision;
  const after: number[] = [];
  for (let k = 0; k < 14; k++) after.push(s.run(at(i++), base).targetReplicas);
  return { s, top, after, end: i - 14 };
}

describe('forecast capacity held as far as the rise learnt expects', () => {
  it('holds a burst forecast for its lead time, then what measured demand asked, where the window held all', () => {
    const held = burst(hold);
    const plain = burst(off);
    const forecastReplicas = plain.top.targetReplicas;
    expect(plain.top.inputs.demand!.forecastRate).toBeGreaterThan(0);
    // without: the forecast's replicas for the whole 300-s window after the burst
    expect(plain.after.slice(0, 8)).toEqual(Array(8).fill(forecastReplicas));
    // with: all of them while the forecast is due (the lead time), then fewer
    expect(held.top.targetReplicas).toBe(forecastReplicas);
    expect(held.after.slice(0, lead / 30 - 1)).toEqual(Array(lead / 30 - 1).fill(forecastReplicas));
    const released = held.after.findIndex((n) => n < forecastReplicas);
    expect(released).toBeGreaterThanOrEqual(lead / 30 - 1);
    expect(released).toBeLessThan(8);
    // never below what measured demand asked for in the window: 3 r* needs 3 replicas
    expect(Math.min(...held.after.slice(0, 8))).toBe(3);
    // and the decision says why it holds what it holds
    const why = held.s.steps[held.end + released]!.decision.message;
    expect(why).toMatch(
      /held by the 300 s window \(recommended 2\): the window holds 3 for measured demand, forecasts' replicas for their 120 s lead time \(\d+\) and beyond it, as far as the demand expected within a lead time needs \(\d+, a rise of x\d+\.\d\d now\)/,
    );
  });

  it('lets go of a forecast on the most demand expected over the last lead time, not on a dip', () => {
    const s = new Session(hold, [deployment('L4', 2)]);
    let i = 0;
    for (; i < 40; i++) s.run(at(i), 1.5 * r);
    for (const x of RAMP) s.run(at(i++), x * r);
    // measured demand dips every other evaluation: a release cannot be undone within a lead time
    const after: number[] = [];
    for (let k = 0; k < 8; k++) after.push(s.run(at(i++), (k % 2 ? 1.2 : 2.8) * r).targetReplicas);
    for (let k = lead / 30; k < 7; k += 2) expect(after[k + 1]).toBe(after[k]);
    const dip = s.steps.at(-1)!.decision;
    expect(dip.inputs.demand!.measured).toBeCloseTo(1.2 * r, 9);
    // what the 2.8 r* evaluations expected within a lead time, kept through the dip: more than
    // the 3 replicas measured demand asked for, where 1.2 r* times the rise needs 2
    expect(dip.message).toMatch(
      /the window holds 3 for measured demand.* needs \(4, a rise of x1\.\d\d now\)/,
    );
    expect(dip.targetReplicas).toBe(4);
  });

  it('on demand that comes and goes, the rise learnt keeps the forecast for the whole window', () => {
    const onOff = (config: Config) => {
      const s = new Session(config, [deployment('L4', 2)]);
      let i = 0;
      // bursts from nothing every 3 minutes: rises within a lead time are the rule
      for (; i < 60; i++) s.run(at(i), i % 6 < 2 ? 0 : i % 6 === 2 ? 1.5 * r : 3 * r);
      const after: number[] = [];
      for (let k = 0; k < 8; k++) after.push(s.run(at(i++), 0.5 * r).targetReplicas);
      return { after, s };
    };
    const held = onOff(hold);
    expect(held.after).toEqual(onOff(off).after);
    // forecasts were held beyond their lead time: the learnt rise expects such demand
    expect(held.s.steps.some((x) => x.decision.inputs.demand!.forecastRate > 0)).toBe(true);
    expect(held.after[7]).toBeGreaterThan(1);
    expect(held.s.steps.at(-1)!.decision.message).toMatch(
      /as far as the demand expected within a lead time needs \(\d+, a rise of x[\d.]+ now\)/,
    );
  });

  it('holds all of a forecast before a lead time of rises has been seen, and says so', () => {
    // a 300-s startup: a lead time of 360 s, twelve evaluations of rises to learn from, in a
    // 900-s window
    const slow = poolConfig({
      chat: { startupSeconds: 300 },
      policy: {
        stabilizationWindowSeconds: 900,
        forecast: { enabled: true, horizonSeconds: 180, maxGrowth: 3 },
        forecastCapacity: { ...OFF, holdAsExpected: true },
      },
    });
    const s = new Session(slow, [deployment('L4', 2)]);
    let i = 0;
    for (; i < 2; i++) s.run(at(i), 1.5 * r);
    for (const x of RAMP) s.run(at(i++), x * r);
    const top = s.steps.at(-1)!.decision.targetReplicas;
    const after: number[] = [];
    // beyond the lead time of the forecast's replicas
    for (let k = 0; k < 13; k++) after.push(s.run(at(i++), 1.5 * r).targetReplicas);
    expect(top).toBeGreaterThan(3);
    expect(after).toEqual(Array(13).fill(top));
    expect(s.steps.at(-1)!.decision.message).toMatch(/all of them: no lead time of rises seen yet$/);
  });
});

describe('forecast bought as far as the rise learnt expects', () => {
  it("cuts the trend's forecast to the rise expected within the lead time, and records both", () => {
    const buy = policy({ buyAsExpected: true });
    const s = new Session(buy, [deployment('L4', 2)]);
    let i = 0;
    for (; i < 40; i++) s.run(at(i), 1.5 * r);
    // a steady variant learnt rises of little more than 1: a sudden ramp's forecast is cut
    const d = RAMP.map((x) => s.run(at(i++), x * r)).at(-1)!;
    const demand = d.inputs.demand!;
    expect(demand.expected).toBeDefined();
    const { rise, forecastRate: trend } = demand.expected!;
    expect(demand.forecastRate).toBeLessThan(trend);
    // what is bought is the measured rate times the rise (rates counted at 1 request per minute)
    expect(demand.measured + demand.forecastRate).toBeCloseTo((3 * r + 1 / 60) * rise - 1 / 60, 9);
    const plain = new Session(off, [deployment('L4', 2)]);
    for (let k = 0; k < 40; k++) plain.run(at(k), 1.5 * r);
    const p = RAMP.map((x, k) => plain.run(at(40 + k), x * r)).at(-1)!;
    expect(p.inputs.demand!.forecastRate).toBeCloseTo(trend, 9);
    expect(d.targetReplicas).toBeLessThanOrEqual(p.targetReplicas);
  });
});

describe('a regret counted on measured demand', () => {
  const config = policy({ regretOnMeasured: true });
  const mem = { ...variantMemory({ poolSequence: 0, variants: {} }, 'llm/chat'), window: 300 };
  const v = config.variants[0]!;
  const released = { ...mem, lastScaleDown: { t: T0 - 60, from: 6 } };

  it('does not grow the window when only a forecast asks again for replicas released', () => {
    const step = { now: T0, window: 300, current: 4, target: 6, asked: 4 };
    expect(adaptWindow(config, v, 'L4', released, step).note).toBeUndefined();
  });

  it('grows it when measured demand asks for them again, and without asked as before', () => {
    const step = { now: T0, window: 300, current: 4, target: 6 };
    expect(adaptWindow(config, v, 'L4', released, { ...step, asked: 5 }).note).toMatch(
      /released 60 s ago are needed again: window 300 s -> 600 s/,
    );
    expect(adaptWindow(config, v, 'L4', released, step).note).toMatch(/window 300 s -> 600 s/);
  });
});
