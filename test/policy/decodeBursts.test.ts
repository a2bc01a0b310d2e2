/**
 * policy.burstSizing.decode on a disaggregated variant's decode role (lib/policy/decodeBursts.ts):
 * the per-step arrivals replayed through the decode pods' slots (lib/policy/slotReplay.ts), each
 * request holding one for its decode; the fewest pods from the plan's up with at most the allowed
 * share finding every slot taken. And the replay itself.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { roleObservation } from './helpers.js';
import { parseConfig } from '../../lib/config/index.js';
import type { Config } from '../../lib/config/schema.js';
import type { ArrivalSteps, VariantObservation } from '../../lib/metrics/observation.js';
import { decideDisaggregated, type RoleState } from '../../lib/policy/disaggregated.js';
import { emptyMemory, type PolicyMemory } from '../../lib/policy/memory.js';
import { parseDecision } from '../../lib/policy/decisionRecord.js';
import { fluidReplay } from '../../lib/policy/burstSizing.js';
import { slotReplay } from '../../lib/policy/slotReplay.js';
import { decodeSlots } from '../../lib/policy/decodeBursts.js';
import { decodeBatch } from '../../lib/optimizer/disaggregated.js';

describe('the slot replay', () => {
  it('nothing arriving, or arrivals the slots hold at their steady level, leave nobody late', () => {
    expect(slotReplay([], 15, 10, 1).share).toBe(0);
    expect(slotReplay([0, 0], 15, 10, 1)).toMatchObject({ arrivals: 0, late: 0, share: 0 });
    // 9 req/s held 1 s each: 9 in flight at most, within 10 slots
    expect(slotReplay(Array(20).fill(135), 15, 10, 1).share).toBe(0);
  });

  it('a step beyond the slots fills them after the in-flight rise, then everyone arriving waits', () => {
    // 20 req/s held 1 s: in flight 20 (1 - e^-t) reaches 10 slots at t = ln 2; then full for the rest
    const r = slotReplay([0, 300], 15, 10, 1);
    const full = 15 - Math.log(2);
    expect(r.late).toBeCloseTo(20 * full, 9);
    expect(r.share).toBeCloseTo((20 * full) / 300, 9);
    // completions free 10 slots a second: the queue grows at 10/s while full
    expect(r.backlog).toBeCloseTo(10 * full, 9);
  });

  it('with a budget, only those waiting longer than it are late; the queue drains at the completions', () => {
    const none = slotReplay([0, 300], 15, 10, 1);
    // a wait of 2 s: the queue above 20 requests, reached 2 s after the slots filled
    const budget = slotReplay([0, 300], 15, 10, 1, 2);
    expect(budget.late).toBeCloseTo(20 * (15 - Math.log(2) - 2), 9);
    expect(budget.late).toBeLessThan(none.late);
    // a quiet step after: the queue of ~143 drains at 10/s; arrivals at 2/s wait behind it
    const after = slotReplay([0, 300, 30], 15, 10, 1);
    expect(after.late - none.late).toBeCloseTo(2 * 15, 9);
    expect(after.backlog).toBeCloseTo(none.backlog - 8 * 15, 9);
  });

  it('more slots never leave more late; requests that hold nothing never find the slots taken', () => {
    const counts = [30, 400, 20, 0, 250, 600, 10, 90];
    let last = Infinity;
    for (const slots of [1, 2, 5, 10, 20, 40, 80]) {
      const share = slotReplay(counts, 15, slots, 2).share;
      expect(share).toBeLessThanOrEqual(last);
      last = share;
    }
    expect(last).toBe(0);
    expect(slotReplay(counts, 15, 10, 0).share).toBe(0);
    expect(slotReplay(counts, 15, 0, 1).share).toBe(1);
  });

  it("a step's arrivals within its first part fill the slots a step spread evenly leaves free", () => {
    // 135 a step held 1 s: 9 in flight spread over 15 s, within 10 slots; within the first 3 s
    // (concentration 0.2) it is 45 req/s, 45 (1 - e^-t) reaching 10 at t = ln(45/35), full after
    expect(slotReplay([135], 15, 10, 1).share).toBe(0);
    const r = slotReplay([135], 15, 10, 1, 0, 0.2);
    const full = 3 - Math.log(45 / 35);
    expect(r.late).toBeCloseTo(45 * full, 9);
    // the quiet 12 s after drain the queue (35/s for `full` s) at 10 completions a second
    expect(r.backlog).toBe(0);
    // concentration 1 is the replay as before, to the last digit
    const counts = [30, 400, 20, 0, 250, 600, 10, 90];
    expect(slotReplay(counts, 15, 7, 2, 0, 1)).toEqual(slotReplay(counts, 15, 7, 2));
    // the more concentrated, the more late
    expect(slotReplay(counts, 15, 7, 2, 0, 0.1).share).toBeGreaterThan(
      slotReplay(counts, 15, 7, 2, 0, 0.5).share,
    );
  });

  it('with a hold far shorter than a step it is the fluid queue at the slots completions', () => {
    const counts = [30, 400, 20, 0, 250, 600, 10, 90];
    const slots = 5;
    const hold = 0.01;
    const fluid = fluidReplay(counts, 15, slots / hold, 0.5);
    const replay = slotReplay(counts, 15, slots, hold, 0.5);
    expect(replay.share).toBeCloseTo(fluid.share, 3);
  });
});

const parsed = parseConfig(
  parse(readFileSync('config/disaggregated.yaml', 'utf8')),
  'config/disaggregated.yaml',
);
// the room left on the nodes (policy.fillNodes) adds pods of its own: these tests weigh the burst sizing alone
const base: Config = { ...parsed, policy: { ...parsed.policy, fillNodes: { enabled: false } } };
const v0 = base.disaggregated![0]!;
/** the decode role on A100 alone: four sequences a pod within the ITL target, so bursts need pods */
const onA100: Config = {
  ...base,
  disaggregated: [
    { ...v0, roles: { ...v0.roles, decode: { ...v0.roles.decode, accelerators: ['4xA100'] } } },
  ],
};
const withDecode = (config: Config, decode: boolean): Config => ({
  ...config,
  policy: { ...config.policy, burstSizing: { ...config.policy.burstSizing, decode } },
});
const now = 1_800_000_000;
const e = (value: number) => ({ value, source: 's', timestamp: now });

const steady: ArrivalSteps = { stepSeconds: 15, counts: Array(60).fill(120), source: 's', timestamp: now };
// 8 req/s on average over the last minute, but one 15-s step brings 200 (13.3 req/s)
const burst: ArrivalSteps = {
  stepSeconds: 15,
  counts: [...Array(56).fill(120), 30, 200, 120, 130],
  source: 's',
  timestamp: now,
};

const running = (acc: string, n: number): RoleState => ({
  byAccelerator: new Map([[acc, { desired: n, ready: n }]]),
});

function decide(
  config: Config,
  steps?: ArrivalSteps,
  state = { prefill: running('4xH100', 3), decode: running('4xA100', 3) },
  memory: PolicyMemory = emptyMemory(),
) {
  const prefill: VariantObservation = roleObservation(now, steps ? { arrivalSteps: steps } : {});
  return decideDisaggregated(
    config.disaggregated![0]!,
    { prefill, decode: roleObservation(now, { kvTransferMs: e(40) }) },
    state,
    memory,
    { config, now, pool: 'default', poolSequence: 1 },
  );
}

describe("a decode pod's slots", () => {
  const h100 = base.models[0]!.profiles['4xH100']!;
  const load = { rate: 8, inputTokens: 2048, outputTokens: 28 };

  it('short prompts: as many as the ITL target allows, each held its output tokens at that step', () => {
    const s = decodeSlots(h100, load, 45);
    expect(s.bound).toBe('ITL');
    expect(s.slots).toBe(Math.floor((45 - h100.alpha) / h100.beta));
    expect(s.holdMs).toBeCloseTo(28 * (h100.alpha + h100.beta * s.slots), 9);
  });

  it('long prompts: what the KV cache holds at the mean request', () => {
    const long = { rate: 3, inputTokens: 12000, outputTokens: 343 };
    const s = decodeSlots(h100, long, 45);
    expect(s.bound).toBe('KV cache');
    expect(s.slots).toBe(decodeBatch(h100, 12000, 343));
  });

  it('a target the step alone misses leaves no slot', () => {
    expect(decodeSlots(h100, load, 20).slots).toBe(0);
  });
});

describe('the decode pods sized for bursts (policy.burstSizing.decode)', () => {
  it('flag off: the per-step counts change nothing and nothing is recorded', () => {
    const without = decide(withDecode(onA100, false));
    const withSteps = decide(withDecode(onA100, false), burst);
    expect(withSteps.roles).toEqual(without.roles);
    expect(withSteps.record.inputs.decodeSteps).toBeUndefined();
  });

  it('flag on without per-step counts: the flag-off decision', () => {
    const off = decide(withDecode(onA100, false));
    const on = decide(withDecode(onA100, true));
    expect(on.roles).toEqual(off.roles);
    expect(on.record.message).toBe(off.record.message);
  });

  it('a 15-s burst the plan cannot hold raises the decode pods to the fewest the replay allows, and says why', () => {
    const off = decide(withDecode(onA100, false), burst);
    const on = decide(withDecode(onA100, true), burst);
    const d = on.record.inputs.decodeSteps!;
    expect(d.sizedReplicas).toBe(off.roles.decode.target);
    expect(d.replicas).toBeGreaterThan(d.sizedReplicas);
    expect(on.roles.decode.target).toBe(d.replicas);
    expect(d.share).toBeLessThanOrEqual(d.allowedShare);
    expect(d.slotsBound).toBe('ITL');
    // one pod fewer lets more than the allowed share find every slot taken: the fewest
    const fewer = slotReplay(burst.counts, 15, (d.replicas - 1) * d.slotsPerReplica, d.holdMs / 1000);
    expect(fewer.share).toBeGreaterThan(d.allowedShare);
    expect(d.peakRate).toBeCloseTo(200 / 15, 9);
    expect(on.roles.prefill.target).toBe(off.roles.prefill.target);
    expect(on.record.message).toMatch(
      new RegExp(`decode bursts: 15-s peaks of 13.3 req/s .* sized for ${d.replicas} decode pods so that`),
    );
    expect(on.record.message).toContain(`decode ${d.replicas} x 4xA100`);
    expect(() => parseDecision(JSON.stringify(on.record))).not.toThrow();
    // the window remembers the raised plan
    expect(on.memory.roles!.decode.at(-1)!.replicas).toBe(d.replicas);
  });

  it('steps the plan holds change nothing but are recorded', () => {
    const off = decide(withDecode(onA100, false), steady);
    const on = decide(withDecode(onA100, true), steady);
    expect(on.roles).toEqual(off.roles);
    expect(on.record.inputs.decodeSteps).toMatchObject({ replicas: off.roles.decode.target, share: 0 });
    expect(on.record.message).toBe(off.record.message);
  });

  it("never beyond the role's maxReplicas, and says so", () => {
    const v = onA100.disaggregated![0]!;
    const capped: Config = withDecode(
      {
        ...onA100,
        disaggregated: [{ ...v, roles: { ...v.roles, decode: { ...v.roles.decode, maxReplicas: 4 } } }],
      },
      true,
    );
    const d = decide(capped, burst);
    expect(d.roles.decode.target).toBe(4);
    expect(d.record.inputs.decodeSteps!.share).toBeGreaterThan(d.record.inputs.decodeSteps!.allowedShare);
    expect(d.record.message).toContain('maxReplicas');
  });

  it('a role whose accelerator cannot hold the bursts within its bounds moves to one that can', () => {
    // 24 req/s for a step: A100 decode pods (4 sequences each) would need more than the 8 allowed
    const big: ArrivalSteps = { ...burst, counts: [...Array(56).fill(120), 30, 360, 40, 50] };
    const on = decide(withDecode(base, true), big);
    expect(on.roles.decode.accelerator).toBe('4xH100');
    const d = on.record.inputs.decodeSteps!;
    expect(d.share).toBeLessThanOrEqual(d.allowedShare);
  });

  it('a role that just moved is judged from where it moved, not from the old pods it keeps', () => {
    const config = withDecode(base, true);
    const big: ArrivalSteps = { ...burst, counts: [...Array(56).fill(120), 30, 360, 40, 50] };
    const first = decide(config, big);
    expect(first.roles.decode.accelerator).toBe('4xH100');
    // a quiet look-back next: the A100 pods, still more of them, are kept until the H100 one is ready
    const moving: RoleState = {
      byAccelerator: new Map([
        ['4xA100', { desired: 3, ready: 3 }],
        ['4xH100', { desired: first.roles.decode.target, ready: 0 }],
      ]),
    };
    const memory: PolicyMemory = { ...emptyMemory(), variants: { [first.key]: first.memory } };
    const next = decide(config, steady, { prefill: running('4xH100', 3), decode: moving }, memory);
    expect(next.roles.decode.accelerator).toBe('4xH100');
  });
});
