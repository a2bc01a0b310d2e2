/**
 * The disaggregated variant's decision: both roles in one record, sized from the prefill role's
 * arrivals and the decode role's output sizes; held, and saying why, on stale metrics or failing
 * KV transfers.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { roleObservation } from './helpers.js';
import { parseConfig } from '../../lib/config/index.js';
import type { VariantObservation } from '../../lib/metrics/observation.js';
import {
  decideDisaggregated,
  expectedPrefillWaiting,
  promptSpread,
  type RoleState,
} from '../../lib/policy/disaggregated.js';
import { emptyMemory } from '../../lib/policy/memory.js';
import { parseDecision } from '../../lib/policy/decisionRecord.js';
import { admitRoles } from '../../lib/loop/roleAdmission.js';

const config = parseConfig(
  parse(readFileSync('config/disaggregated.yaml', 'utf8')),
  'config/disaggregated.yaml',
);
const v = config.disaggregated![0]!;
const now = 1_800_000_000;
const e = (value: number, source = 's') => ({ value, source, timestamp: now });

const obs = (over: Partial<VariantObservation> = {}): VariantObservation => roleObservation(now, over);

const running = (acc: string, n: number): RoleState => ({
  byAccelerator: new Map([[acc, { desired: n, ready: n }]]),
});
const state = { prefill: running('4xH100', 1), decode: running('4xA100', 1) };
const ctx = { config, now, pool: 'default', poolSequence: 1 };

describe('decideDisaggregated', () => {
  it('scales both roles in one decision: prefill for the prompts, decode for the tokens', () => {
    const d = decideDisaggregated(
      v,
      { prefill: obs(), decode: obs({ kvTransferMs: e(40) }) },
      state,
      emptyMemory(),
      ctx,
    );
    // 8 req/s of 2,048-token prompts: about 4 req/s per H100 prefill pod at most, so 3 or more
    expect(d.roles.prefill.target).toBeGreaterThanOrEqual(3);
    expect(d.roles.prefill.accelerator).toBe('4xH100');
    expect(d.record.action).toBe('scale-up');
    expect(d.record.roles!.prefill.targetReplicas).toBe(d.roles.prefill.target);
    expect(d.record.targetReplicas).toBe(d.roles.prefill.target + d.roles.decode.target);
    expect(d.record.deployments.filter((t) => t.role === 'prefill').map((t) => t.deployment)).toEqual([
      'code-70b-pd-prefill-4xh100',
    ]);
    // the measured transfer (40 ms) is longer than the model's (~33 ms): it is what TTFT counts
    expect(d.record.message).toContain('KV 40');
    expect(() => parseDecision(JSON.stringify(d.record))).not.toThrow();
    expect(d.memory.roles!.prefill).toHaveLength(1);
  });

  it('holds when KV transfers fail, and says so', () => {
    const d = decideDisaggregated(
      v,
      { prefill: obs(), decode: obs({ kvTransferFailures: e(3) }) },
      state,
      emptyMemory(),
      ctx,
    );
    expect(d.record.action).toBe('hold');
    expect(d.record.reason).toBe('kv-transfer-failing');
    expect(d.record.message).toMatch(/3 KV transfer\(s\) from prefill to decode failed/);
    expect(d.roles.prefill.target).toBe(1);
    expect(d.roles.decode.target).toBe(1);
  });

  it('holds on a role whose metrics are stale, naming the role', () => {
    const d = decideDisaggregated(
      v,
      { prefill: obs(), decode: obs({ stale: ['vllm:num_requests_running'] }) },
      state,
      emptyMemory(),
      ctx,
    );
    expect(d.record.reason).toBe('stale-metrics');
    expect(d.record.message).toContain('decode role');
    expect(d.record.targetReplicas).toBe(2);
  });

  it('prefill-heavy load grows prefill, not decode', () => {
    const light = decideDisaggregated(
      v,
      { prefill: obs({ avgInputTokens: e(1000) }), decode: obs() },
      state,
      emptyMemory(),
      ctx,
    );
    const heavy = decideDisaggregated(
      v,
      { prefill: obs({ avgInputTokens: e(3000) }), decode: obs() },
      state,
      emptyMemory(),
      ctx,
    );
    expect(heavy.roles.prefill.target).toBeGreaterThan(light.roles.prefill.target);
    expect(heavy.roles.decode.target).toBe(light.roles.decode.target);
  });
});

describe("the prompts' spread", () => {
  const demand = { inputTokens: 2048, outputTokens: 28 };
  // 1,000 requests counted (ten expected misses at 1%): 900 of 1,001-2,000 tokens, 100 of 5,001-10,000
  const bounds = [1000, 2000, 5000, 10000];
  const histogram = { t: now, bounds, input: [0, 900, 0, 100, 0], output: [1000, 0, 0, 0, 0] };

  it('a point at the mean prompt before the histogram is trusted, the histogram after; the target as asked', () => {
    const before = promptSpread(config, v, { ...histogram, output: [999, 0, 0, 0, 0] }, demand)!;
    expect(before.input).toEqual({ values: [2048], weights: [1] });
    expect(before.missShare).toBe(0.01);
    expect(before.ttftMs).toBe(2000);
    const after = promptSpread(config, v, histogram, demand)!;
    expect(Math.max(...after.input.values)).toBe(10000);
    expect(after.input.weights.reduce((a, w) => a + w, 0)).toBeCloseTo(1, 12);
  });

  it('none when the distribution sizing is off', () => {
    const off = {
      ...config,
      policy: { ...config.policy, itlDistribution: { ...config.policy.itlDistribution, enabled: false } },
    };
    expect(promptSpread(off, v, histogram, demand)).toBeUndefined();
  });

  it("the decision remembers the prompt histogram of the prefill pods with the decode pods' outputs", () => {
    const buckets = (counts: number[]) => ({ bounds: [...bounds, Infinity], counts });
    const d = decideDisaggregated(
      v,
      {
        prefill: obs({ inputTokenBuckets: buckets([0, 90, 0, 10, 0]) }),
        decode: obs({ outputTokenBuckets: buckets([100, 0, 0, 0, 0]) }),
      },
      state,
      emptyMemory(),
      ctx,
    );
    expect(d.memory.tokenHistogram).toEqual({
      t: now,
      bounds,
      input: [0, 90, 0, 10, 0],
      output: [100, 0, 0, 0, 0],
    });
  });
});

describe('the prefill backlog', () => {
  it('only what waits beyond the queue the prefill pods hold anyway is drained', () => {
    // 2,048-token prompts on 4xH100 take 4 x 7.2 + 0.107 x 2048 = 248 ms; 12 req/s on 4 pods: a = 2.98
    const queued = expectedPrefillWaiting(config, v, '4xH100', {
      rate: 12,
      ready: 4,
      inputTokens: 2048,
      histogram: undefined,
    });
    expect(queued).toBeGreaterThan(0.5);
    expect(queued).toBeLessThan(3);
    expect(
      expectedPrefillWaiting(config, v, '4xH100', {
        rate: 12,
        ready: 0,
        inputTokens: 2048,
        histogram: undefined,
      }),
    ).toBe(0);
    // the pods cannot keep up: everything waiting is a backlog
    expect(
      expectedPrefillWaiting(config, v, '4xH100', {
        rate: 40,
        ready: 4,
        inputTokens: 2048,
        histogram: undefined,
      }),
    ).toBe(0);
    const decide = (waiting: number) =>
      decideDisaggregated(
        v,
        { prefill: obs({ arrivalRate: e(12), waiting: e(waiting) }), decode: obs() },
        { prefill: running('4xH100', 4), decode: running('4xA100', 2) },
        emptyMemory(),
        ctx,
      );
    // as many waiting as the queue holds anyway: no backlog; ten more: drained within the TTFT target
    expect(decide(Math.floor(queued)).record.inputs.demandRate).toBeCloseTo(12, 9);
    expect(decide(Math.floor(queued) + 10).record.inputs.demandRate).toBeGreaterThan(12);
  });

  it('is answered by prefill pods starting, not by decode pods starting', () => {
    const starting = (acc: string, desired: number, ready: number): RoleState => ({
      byAccelerator: new Map([[acc, { desired, ready }]]),
    });
    const decide = (prefill: RoleState, decode: RoleState) =>
      decideDisaggregated(
        v,
        { prefill: obs({ arrivalRate: e(12), waiting: e(60) }), decode: obs() },
        { prefill, decode },
        emptyMemory(),
        ctx,
      ).record.inputs.demandRate!;
    const settled = decide(running('4xH100', 4), running('4xA100', 2));
    expect(settled).toBeGreaterThan(12);
    // a decode pod starting drains no prompt waiting for prefill
    expect(decide(running('4xH100', 4), starting('4xA100', 3, 2))).toBeCloseTo(settled, 9);
    // a prefill pod starting has been asked for it already
    expect(decide(starting('4xH100', 5, 4), running('4xA100', 2))).toBeCloseTo(12, 9);
  });
});

describe('a role moving to another accelerator', () => {
  // 16 req/s of 28-token answers: an A100 decode step is 42.9 + 0.43 n ms, so the ITL target with
  // its margin (45 ms) allows about 4 sequences a pod, and five A100 pods cost more than one and a
  // half H100 pods (28.4 + 0.346 n ms: dozens of sequences), what a move must save
  const decide = (decode: RoleState, memory = emptyMemory()) =>
    decideDisaggregated(
      v,
      { prefill: obs({ arrivalRate: e(16) }), decode: obs() },
      { prefill: running('4xH100', 5), decode },
      memory,
      ctx,
    );

  it('moves the decode role to the accelerator that carries the demand for less, keeping the old pods until the new are ready', () => {
    const d = decide(running('4xA100', 3));
    expect(d.roles.decode.accelerator).toBe('4xH100');
    expect(d.roles.decode.retiring).toEqual([{ accelerator: '4xA100', replicas: 3 }]);
    expect(d.record.deployments.filter((t) => t.role === 'decode')).toEqual([
      {
        accelerator: '4xH100',
        deployment: 'code-70b-pd-decode-4xh100',
        replicas: d.roles.decode.target,
        role: 'decode',
      },
      { accelerator: '4xA100', deployment: 'code-70b-pd-decode-4xa100', replicas: 3, role: 'decode' },
    ]);
    expect(() => parseDecision(JSON.stringify(d.record))).not.toThrow();
    // apply admits it: the Deployment left keeps what runs
    const live = new Map([
      ['code-70b-pd-prefill-4xh100', 3],
      ['code-70b-pd-decode-4xa100', 3],
    ]);
    expect(admitRoles(d.record, v, config, live)).toBeUndefined();
  });

  it('lets the old pods go once the new accelerator has the replicas ready', () => {
    const both: RoleState = {
      byAccelerator: new Map([
        ['4xA100', { desired: 3, ready: 3 }],
        ['4xH100', { desired: 1, ready: 1 }],
      ]),
    };
    const d = decide(both);
    expect(d.roles.decode).toMatchObject({
      accelerator: '4xH100',
      target: 1,
      retiring: [{ accelerator: '4xA100', replicas: 0 }],
    });
  });

  it('lowers every Deployment the role leaves as the new replicas get ready, the chosen one having the most or not', () => {
    // the move well under way: more desired on the new accelerator than on the old, none ready
    const halfway: RoleState = {
      byAccelerator: new Map([
        ['4xA100', { desired: 2, ready: 2 }],
        ['4xH100', { desired: 4, ready: 0 }],
      ]),
    };
    const d = decide(halfway);
    const target = d.roles.decode.target;
    expect(d.roles.decode.accelerator).toBe('4xH100');
    expect(d.roles.decode.retiring).toEqual([{ accelerator: '4xA100', replicas: 2 }]);
    // one replica short of the target: the old keeps its share of that one
    const later: RoleState = {
      byAccelerator: new Map([
        ['4xA100', { desired: 2, ready: 2 }],
        ['4xH100', { desired: target, ready: target - 1 }],
      ]),
    };
    expect(decide(later).roles.decode.retiring).toEqual([
      { accelerator: '4xA100', replicas: Math.ceil(2 / target - 1e-9) },
    ]);
  });

  it("stays where it runs when the other accelerator costs as much or more at the window's highest demand", () => {
    const quiet = decideDisaggregated(
      v,
      { prefill: obs({ arrivalRate: e(0.2) }), decode: obs() },
      { prefill: running('4xH100', 1), decode: running('4xA100', 1) },
      emptyMemory(),
      ctx,
    );
    expect(quiet.roles.decode.accelerator).toBe('4xA100');
    expect(quiet.roles.decode.retiring).toBeUndefined();
  });
});

describe('the ratio bound', () => {
  it("keeps the decision within it when each role's window holds a different past: the smaller side raised", () => {
    // the prefill window still holds 11 pods a burst asked for a minute ago, the decode role
    // asked for 1 then; each target is right on its own, together 11 : 1 is outside max 8 (and
    // the 12 pods fill 6 nodes, so no room on them raises decode either)
    const memory = {
      ...emptyMemory(),
      observedSince: now - 7200,
      roles: {
        prefill: [{ t: now - 60, accelerator: '4xH100', replicas: 11, rate: 1 }],
        decode: [{ t: now - 60, accelerator: '4xH100', replicas: 1, rate: 1 }],
      },
    };
    const d = decideDisaggregated(
      v,
      { prefill: obs({ arrivalRate: e(1) }), decode: obs() },
      { prefill: running('4xH100', 11), decode: running('4xH100', 1) },
      memory,
      ctx,
    );
    expect(d.roles.prefill.target).toBe(11);
    expect(d.roles.decode.target).toBe(2);
    expect(d.record.message).toContain('within the ratio bound: decode 1 -> 2');
    expect(admitRoles(d.record, v, config)).toBeUndefined();
  });
});
