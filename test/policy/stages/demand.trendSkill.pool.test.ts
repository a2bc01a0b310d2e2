/**
 * The trend damped by its skill (policy.forecast.skill) in the decisions: each forecast is judged
 * a lead time on against the rate measured then; rises that never come teach the variant to buy
 * less of the trend, rises that come keep it whole; before enough forecasts are judged the
 * forecast is bought whole and the decision says so.
 */
import { leadSeconds } from '../../../lib/policy/window.js';
import { variantMemory } from '../../../lib/policy/memory.js';
import { KEY, deployment, poolConfig, ratePerReplica, Session, T0 } from '../helpers.js';

const at = (i: number) => T0 + 30 * i;
const config = (skill: boolean, judgedBy: 'highest' | 'end' = 'end') =>
  poolConfig({
    policy: {
      forecast: { enabled: true, horizonSeconds: 180, maxGrowth: 3, skill: { enabled: skill, judgedBy } },
      forecastCapacity: { buyAsExpected: false, holdAsExpected: false },
    },
  });
const on = config(true);
/** Servers exposing the per-request time per token (vLLM >= 0.13): the misses are measured. */
const measured = { requestTpotBuckets: { bounds: [0.05, 0.075, Infinity], counts: [60, 0, 0] } };
const r = ratePerReplica(on);
// lead time: startup 60 s + L4 node 60 s = 120 s, four evaluations: four forecasts to judge
const lead = leadSeconds(on, on.variants[0]!, 'L4');

/** A ramp the trend extrapolates, then back to where it started: a rise that never comes. */
const BLIP = [1.5, 1.8, 2.1, 2.4, 2.7, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5];

describe("the trend's forecast bought by its skill", () => {
  it('buys a forecast whole before enough are judged, then less of rises that never came', () => {
    expect(lead).toBe(120);
    const s = new Session(on, [deployment('L4', 2)]);
    let i = 0;
    const tops = [];
    let atTop = s.memory;
    for (let k = 0; k < 6; k++) {
      for (const x of BLIP.slice(0, 5)) s.run(at(i++), x * r, measured);
      tops.push(s.steps.at(-1)!.decision);
      atTop = s.memory;
      for (const x of BLIP.slice(5)) s.run(at(i++), x * r, measured);
    }
    const first = tops[0]!;
    expect(first.inputs.demand!.trend!.skill).toBeNull();
    expect(first.inputs.demand!.forecastRate).toBeGreaterThan(0.3 * r);
    expect(first.inputs.demand!.forecastRate).toBeCloseTo(first.inputs.demand!.trend!.rate, 9);
    expect(first.message).toMatch(/trend's skill not learnt yet .*: its forecast bought whole/);
    // every forecast of a blip is judged against the base a lead time on: none of it came
    const last = tops.at(-1)!;
    expect(last.inputs.demand!.trend!.skill).toBe(0);
    expect(last.inputs.demand!.trend!.rate).toBeGreaterThan(0.3 * r);
    expect(last.inputs.demand!.forecastRate).toBe(0);
    expect(last.message).toMatch(/trend's skill 0\.00 .*bought 0\.00 of its/);
    expect(last.targetReplicas).toBeLessThan(first.targetReplicas);
    // never below what the measured rate asks: 2.7 r* needs 3 replicas
    expect(last.targetReplicas).toBe(3);
    // a few numbers per variant, and the forecasts on the rates the history keeps anyway
    const memory = variantMemory(atTop, KEY);
    expect(Object.keys(memory.trendSkill!).sort()).toEqual(['came', 'forecast', 'judged', 't']);
    expect(memory.demand.at(-1)!.trend).toBeCloseTo(last.inputs.demand!.trend!.rate, 9);
    expect(memory.demand.length).toBeLessThanOrEqual((lead + 30) / 30 + 1);
  });

  it('judged by the highest rate over the lead time, credits the part of a blip that came before it fell', () => {
    const s = new Session(config(true, 'highest'), [deployment('L4', 2)]);
    let i = 0;
    let top;
    for (let k = 0; k < 6; k++) {
      for (const x of BLIP.slice(0, 5)) s.run(at(i++), x * r, measured);
      top = s.steps.at(-1)!.decision;
      for (const x of BLIP.slice(5)) s.run(at(i++), x * r, measured);
    }
    const trend = top!.inputs.demand!.trend!;
    // the forecasts at the top of the ramp see none of it come, those on the way up some
    expect(trend.skill).toBeGreaterThan(0.05);
    expect(trend.skill).toBeLessThan(0.95);
    expect(top!.inputs.demand!.forecastRate).toBeCloseTo(trend.rate * trend.skill!, 9);
  });

  it('keeps buying the trend whole where its rises come', () => {
    const s = new Session(on, [deployment('L4', 2)]);
    let d;
    // a steady ramp: what is forecast over the lead time comes (the rise less its errors, at most)
    for (let i = 0; i < 40; i++) d = s.run(at(i), (1 + 0.1 * i) * r, measured);
    expect(d!.inputs.demand!.trend!.skill).toBeCloseTo(1, 9);
    expect(d!.inputs.demand!.forecastRate).toBeCloseTo(d!.inputs.demand!.trend!.rate, 9);
    expect(d!.inputs.demand!.forecastRate).toBeGreaterThan(0);
  });

  it('without the misses measured (servers before vLLM 0.13), buys the trend whole and says why', () => {
    const s = new Session(on, [deployment('L4', 2)]);
    let i = 0;
    const tops = [];
    for (let k = 0; k < 6; k++) {
      for (const x of BLIP.slice(0, 5)) s.run(at(i++), x * r);
      tops.push(s.steps.at(-1)!.decision);
      for (const x of BLIP.slice(5)) s.run(at(i++), x * r);
    }
    // the same blips that taught a skill of 0 above: learnt, but not applied
    const last = tops.at(-1)!;
    expect(last.inputs.demand!.trend).toMatchObject({ skill: null, unpaired: true });
    expect(last.inputs.demand!.trend!.evidence).toBeGreaterThan(0);
    expect(last.inputs.demand!.forecastRate).toBeCloseTo(last.inputs.demand!.trend!.rate, 9);
    expect(last.message).toMatch(/trend's forecast bought whole: no share of requests over the ITL target/);
    // and with the loop on the misses off, the same
    const noLoop = poolConfig({
      policy: { ...on.policy, itlMissCorrection: { ...on.policy.itlMissCorrection, enabled: false } },
    });
    const t = new Session(noLoop, [deployment('L4', 2)]);
    let d = t.run(at(0), 1.5 * r, measured);
    for (let j = 1; j < 5; j++) d = t.run(at(j), (1.5 + 0.3 * j) * r, measured);
    expect(d.inputs.demand!.trend).toMatchObject({ skill: null, unpaired: true });
  });

  it('off: the decision and the memory carry nothing of it', () => {
    const s = new Session(config(false), [deployment('L4', 2)]);
    let i = 0;
    for (let k = 0; k < 2; k++) for (const x of BLIP) s.run(at(i++), x * r, measured);
    const d = s.steps.at(-1)!.decision;
    expect(d.inputs.demand!.trend).toBeUndefined();
    expect(d.message).not.toMatch(/skill/);
    const memory = variantMemory(s.memory, KEY);
    expect(memory.trendSkill).toBeUndefined();
    expect(memory.demand.every((p) => p.trend === undefined)).toBe(true);
  });
});
