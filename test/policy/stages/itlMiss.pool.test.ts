/**
 * The ITL miss share corrected from the replicas (policy.itlMissCorrection) through the whole
 * pool evaluation: off, the per-request time-per-token buckets change nothing and nothing is
 * recorded; on, replicas missing ITL more often than the model predicts raise the factor,
 * evaluation by evaluation within its bound, the ITL sizing over steps asks for more replicas
 * with it and says so, and a window without the histogram leaves the factor as it was. Against
 * the target (against: target): each window judged against the allowed share over the factor in
 * force, the factor lowered by a fleet missing less than allowed, and no window judged while the
 * fleet is short of the replicas asked for.
 */
import type { DecisionRecord } from '../../../lib/policy/decisionRecord.js';
import type { VariantObservation } from '../../../lib/metrics/observation.js';
import { deployment, observation, poolConfig, Session, T0, withArrivalSteps } from '../helpers.js';

const unlimited = { scaleUpMaxStep: { replicas: 20 } };
const itlSteps = { burstSizing: { enabled: false, itl: true, windowPerStartup: 0 } };
const off = poolConfig({
  policy: { ...unlimited, ...itlSteps, itlMissCorrection: { enabled: false } },
  chat: { maxReplicas: 40 },
});
const on = poolConfig({
  policy: { ...unlimited, ...itlSteps, itlMissCorrection: { enabled: true, against: 'model' } },
  chat: { maxReplicas: 40 },
});
const rate = 3;
/** what the ITL sizing over these steps asks without the factor: the load carried is the one sized for */
const REPLICAS = 9;

/** Token histograms of 2,000 requests: long prompts next to short answers (as bursts.itl.pool.test.ts). */
function withTokens(obs: VariantObservation): VariantObservation {
  const bounds = [32, 128, 512, 2048, 8192, Infinity];
  return {
    ...obs,
    inputTokenBuckets: { bounds, counts: [0, 0, 1600, 0, 400, 0] },
    outputTokenBuckets: { bounds, counts: [600, 1400, 0, 0, 0, 0] },
  };
}

/** The window's requests by time per output token (s): `over` of them in (75, 100] ms, over the 60-ms target. */
function withTpot(obs: VariantObservation, requests: number, over: number): VariantObservation {
  return {
    ...obs,
    requestTpotBuckets: {
      bounds: [0.025, 0.05, 0.075, 0.1, Infinity],
      counts: [requests - over, 0, 0, over, 0],
    },
  };
}

/** 60 steps of 15 s at the measured rate, six of them at twice it. */
const withSteps = (obs: VariantObservation) =>
  withArrivalSteps(
    obs,
    Array.from({ length: 60 }, (_, i) => (i >= 30 && i < 36 ? 2 : 1) * rate * 15),
  );

const at = (t: number) => withSteps(withTokens(observation(rate, t)));

/** Evaluations every 30 s on the sized L4 replicas, each window showing `share` of 180 requests over the target. */
function session(config: typeof on, share: number, evaluations: number): DecisionRecord[] {
  const s = new Session(config, [deployment('L4', REPLICAS)]);
  return Array.from({ length: evaluations }, (_, k) =>
    s.decide(T0 + 30 * k, [withTpot(at(T0 + 30 * k), 180, 180 * share)]),
  );
}

test('off: the buckets change nothing and nothing is recorded', () => {
  const s = new Session(off, [deployment('L4', REPLICAS)]);
  const plain = new Session(off, [deployment('L4', REPLICAS)]);
  for (let k = 0; k < 12; k++) {
    const t = T0 + 30 * k;
    const d = s.decide(t, [withTpot(at(t), 180, 18)]);
    const p = plain.decide(t, [at(t)]);
    expect([d.targetReplicas, d.message, d.inputs.itlSteps]).toEqual([
      p.targetReplicas,
      p.message,
      p.inputs.itlSteps,
    ]);
    expect(d.inputs.itlMiss).toBeUndefined();
  }
  expect(s.memory.variants['llm/chat']?.itlMiss).toBeUndefined();
});

test('on: misses beyond the prediction raise the factor once 1,000 requests are pooled, up to its bound', () => {
  const ds = session(on, 0.1, 40);
  const factors = ds.map((d) => d.inputs.itlMiss!.factor);
  // 180 requests a window, half of each new after the first: 1,000 pooled by the tenth evaluation
  expect(factors.slice(0, 5).every((f) => f === 1)).toBe(true);
  expect(factors.at(-1)).toBeGreaterThan(3);
  expect(Math.max(...factors)).toBeLessThanOrEqual(4);
  for (let k = 1; k < factors.length; k++) expect(factors[k]).toBeGreaterThanOrEqual(factors[k - 1]!);
  const last = ds.at(-1)!.inputs.itlMiss!;
  expect(last.window).toMatchObject({ requests: 180, misses: 18 });
  expect(last.window!.predictedShare).toBeGreaterThan(0);
  expect(last.pooled!.misses).toBeGreaterThan(last.pooled!.predicted);
});

test('on: the ITL sizing over steps holds the corrected share within the allowed one, and says so', () => {
  const plain = session(off, 0, 40).at(-1)!;
  const d = session(on, 0.1, 40).at(-1)!;
  const b = d.inputs.itlSteps!;
  expect(b.allowedShare).toBe(0.01);
  expect(b.replicas).toBeGreaterThan(plain.inputs.itlSteps!.replicas);
  expect(b.share).toBeLessThanOrEqual(0.01);
  expect(d.targetReplicas).toBe(b.replicas);
  expect(d.message).toMatch(/\(the model's share x[34]\.\d\d, as the replicas showed it\)/);
});

test('on: a window without the histogram leaves the factor as it was', () => {
  const s = new Session(on, [deployment('L4', REPLICAS)]);
  let t = T0;
  for (let k = 0; k < 20; k++, t += 30) s.decide(t, [withTpot(at(t), 180, 18)]);
  const learnt = s.memory.variants['llm/chat']!.itlMiss!;
  expect(learnt.factor).toBeGreaterThan(1);
  const d = s.decide(t, [at(t)]);
  expect(d.inputs.itlMiss).toMatchObject({ factor: learnt.factor, window: null });
  expect(s.memory.variants['llm/chat']!.itlMiss).toEqual(learnt);
});

test('on: the variant moved to another accelerator starts afresh: no factor until it learns there', () => {
  const s = new Session(on, [deployment('L4', REPLICAS)]);
  let t = T0;
  for (let k = 0; k < 20; k++, t += 30) s.decide(t, [withTpot(at(t), 180, 18)]);
  expect(s.memory.variants['llm/chat']!.itlMiss!.factor).toBeGreaterThan(1);
  const moved = new Session(
    poolConfig({
      policy: { ...unlimited, ...itlSteps, itlMissCorrection: { enabled: true, against: 'model' } },
      chat: { maxReplicas: 40, accelerator: 'H100' },
    }),
    [deployment('H100', 2)],
  );
  moved.memory = s.memory;
  const d = moved.decide(t, [at(t)]);
  expect(d.inputs.itlMiss).toMatchObject({ factor: 1, pooled: null, window: null });
  expect(moved.memory.variants['llm/chat']!.itlMiss).toBeUndefined();
});

const target = poolConfig({
  policy: { ...unlimited, ...itlSteps, itlMissCorrection: { enabled: true, against: 'target' } },
  chat: { maxReplicas: 40 },
});

test('against the target: each window judged against the allowed share over the factor in force; a fleet missing less than allowed lowers the factor and the ITL sizing', () => {
  const ds = session(target, 0.002, 60);
  const m = ds.map((d) => d.inputs.itlMiss!);
  // the first window only opens the pool
  expect(m[0]!.pooled).toEqual({ requests: 0, misses: 0, predicted: 0 });
  for (let k = 1; k < m.length; k++) {
    expect(m[k]!.window!.predictedShare).toBeCloseTo(0.01 / m[k - 1]!.factor, 12);
  }
  // 0.2% missing where the setpoint is ~0.8% of the pool: the factor falls to its bound
  expect(m.at(-1)!.factor).toBeCloseTo(0.5, 3);
  const plain = session(off, 0, 60).at(-1)!;
  expect(ds.at(-1)!.inputs.itlSteps!.replicas).toBeLessThan(plain.inputs.itlSteps!.replicas);
});

test('against the target: a fleet short of the replicas asked for is not judged, where the model form learns', () => {
  const short = (config: typeof on) => {
    const s = new Session(config, [deployment('L4', REPLICAS, REPLICAS - 2)]);
    let last: DecisionRecord | undefined;
    for (let k = 0; k < 30; k++) last = s.decide(T0 + 30 * k, [withTpot(at(T0 + 30 * k), 180, 18)]);
    return last!.inputs.itlMiss!;
  };
  expect(short(target)).toMatchObject({ factor: 1, pooled: null, window: null });
  expect(short(on).factor).toBeGreaterThan(1);
});
