/**
 * Decisions through the whole pool evaluation: every record validates, carries the prediction at
 * its size and the inputs it came from, and is numbered per variant (sequence) and per pool
 * evaluation (poolSequence).
 */
import { decidePool } from '../../../lib/policy/decide.js';
import {
  DECISION_VERSION,
  deduplicationId,
  messageGroupId,
  parseDecision,
} from '../../../lib/policy/decisionRecord.js';
import { emptyMemory } from '../../../lib/policy/memory.js';
import { leadSeconds } from '../../../lib/policy/window.js';
import { predictAt } from '../../../lib/policy/predict.js';
import {
  blindObservation,
  CHAT,
  deployment,
  KEY,
  capacityViews,
  observation,
  poolConfig,
  ratePerReplica,
  Session,
  T0,
} from '../helpers.js';

const config = poolConfig();
const r = ratePerReplica(config);

describe('sequences', () => {
  it('increase by one per variant and per pool evaluation', () => {
    const two = poolConfig({ variants: [CHAT, { ...CHAT, name: 'other' }] });
    const s = new Session(two, [deployment('L4', 1), deployment('L4', 1, 1, 'llm/other')]);
    for (let i = 0; i < 3; i++) {
      const now = T0 + 30 * i;
      s.decide(now, [observation(0.5 * r, now), observation(0.5 * r, now, { variant: 'llm/other' })]);
    }
    const rows = s.steps.map((x) =>
      x.out.decisions.map((d) => [d.id, d.sequence, d.poolSequence, x.out.capacity.poolSequence]),
    );
    expect(rows).toEqual([
      [
        ['llm/chat#1', 1, 1, 1],
        ['llm/other#1', 1, 1, 1],
      ],
      [
        ['llm/chat#2', 2, 2, 2],
        ['llm/other#2', 2, 2, 2],
      ],
      [
        ['llm/chat#3', 3, 3, 3],
        ['llm/other#3', 3, 3, 3],
      ],
    ]);
    expect(s.memory.poolSequence).toBe(3);
  });

  it('continue from the memory they are given, holds included', () => {
    const s = new Session(config, [deployment('L4', 2)]);
    s.memory = { poolSequence: 41, variants: { [KEY]: { sequence: 17, recommendations: [], demand: [] } } };
    const held = s.decide(T0, [blindObservation(T0, { stale: ['vllm:request_success_total'] })]);
    expect([held.sequence, held.poolSequence, held.id]).toEqual([18, 42, 'llm/chat#18']);
    const next = s.decide(T0 + 30, [observation(r, T0 + 30)]);
    expect([next.sequence, next.poolSequence]).toEqual([19, 43]);
  });

  it('give SQS FIFO ids: one group per variant, one deduplication id per sequence', () => {
    const d = new Session(config, [deployment('L4', 2)]).decide(T0, [observation(r, T0)]);
    expect(messageGroupId(d)).toBe('llm/chat');
    expect(deduplicationId(d)).toBe('llm.chat.1');
    expect(deduplicationId({ namespace: 'a b', variant: 'c\u00e9', sequence: 2 })).toBe('a_b.c_.2');
  });
});

describe('the record', () => {
  it('validates and round-trips through JSON', () => {
    const s = new Session(config, [deployment('L4', 2)]);
    const decided = s.decide(T0, [observation(2.5 * r, T0, { running: 30, ready: 2 })]);
    const held = s.decide(T0 + 30, [blindObservation(T0 + 30, { missing: ['vllm:num_requests_waiting'] })]);
    const none = s.decide(T0 + 60, []);
    for (const d of [decided, held, none]) {
      expect(parseDecision(JSON.stringify(d))).toEqual(d);
      expect(parseDecision(d)).toEqual(d);
      expect(d.version).toBe(DECISION_VERSION);
    }
  });

  it('carries the prediction at its size and the inputs it came from', () => {
    const s = new Session(config, [deployment('L4', 2)]);
    const d = s.decide(T0, [observation(2.5 * r, T0, { running: 30, ready: 2, completionRate: 2 * r })]);
    expect(d).toMatchObject({
      pool: 'test',
      variant: 'chat',
      namespace: 'llm',
      model: 'm8b',
      accelerator: 'L4',
      targetReplicas: 3,
      currentReplicas: 2,
      action: 'scale-up',
      reason: 'load',
      issuedAt: new Date(T0 * 1000).toISOString(),
    });
    const expected = predictAt(config, config.variants[0]!, 'L4', { rate: 2.5 * r, ...tokens() }, 3)!;
    expect(d.prediction).toEqual(expected);
    expect(d.prediction!.ratePerReplica).toBeCloseTo((2.5 * r) / 3, 12);
    expect(d.prediction!.ttftMs).toBeLessThanOrEqual(3000);
    expect(d.prediction!.itlMs).toBeLessThanOrEqual(60);
    const carried = predictAt(config, config.variants[0]!, 'L4', { rate: 2.5 * r, ...tokens() }, 2)!;
    expect(d.inputs).toEqual({
      arrivalRate: 2.5 * r,
      completionRate: 2 * r,
      demandRate: 2.5 * r,
      avgInputTokens: 512,
      avgOutputTokens: 128,
      waiting: 0,
      running: 30,
      readyReplicas: 2,
      modelCorrection: { ttft: 1, itl: 1 },
      demand: {
        measured: 2.5 * r,
        backlogRate: 0,
        forecastRate: 0,
        leadSeconds: leadSeconds(config, config.variants[0]!, 'L4'),
      },
      // the miss budget learnt from the outcome (on by default): nothing to learn from yet
      itlMiss: { factor: 1, pooled: null, window: null },
      // the model at the load the two ready replicas carried, beside what they showed (nothing here)
      latency: {
        predictedTtftMs: carried.ttftMs,
        predictedItlMs: carried.itlMs,
        observedTtftMs: null,
        observedItlMs: null,
      },
      metricTimestamps: {
        'vllm:request_success_total + d(in flight)/dt': T0 - 5,
        'vllm:request_success_total': T0 - 5,
        'vllm:request_prompt_tokens': T0 - 5,
        'vllm:request_generation_tokens': T0 - 5,
        'vllm:num_requests_waiting': T0 - 5,
        'vllm:num_requests_running': T0 - 5,
      },
      stale: [],
      missing: [],
    });
  });

  it('has no prediction at zero replicas or zero load', () => {
    const idle = poolConfig({
      chat: { minReplicas: 0 },
      nodeGroups: [],
      policy: { idleWindowSeconds: 0, stabilizationWindowSeconds: 0 },
    });
    const d = new Session(idle, [deployment('L4', 0)]).decide(T0, [observation(0, T0)]);
    expect(d.targetReplicas).toBe(0);
    expect(d.prediction).toBeNull();
    expect(parseDecision(JSON.stringify(d))).toEqual(d);
  });

  it('learns the model error online, bounded, and records it in the decision', () => {
    const learning = poolConfig({
      policy: { modelCorrection: { enabled: true, smoothing: 0.5, min: 0.25, max: 2 } },
    });
    const rl = ratePerReplica(learning);
    const v = learning.variants[0]!;
    const s = new Session(learning, [deployment('L4', 2)]);
    const predicted = predictAt(learning, v, 'L4', { rate: rl, ...tokens() }, 2)!;
    // observed TTFT three times the prediction, ITL as predicted; the TTFT factor scales the
    // prediction, so the step is half the log gap: sqrt(3)
    const seen = { ttftMs: 3 * predicted.ttftMs, itlMs: predicted.itlMs };
    const d1 = s.decide(T0, [observation(rl, T0, seen)]);
    expect(d1.inputs.modelCorrection!.ttft).toBeCloseTo(Math.sqrt(3), 9);
    expect(d1.inputs.modelCorrection!.itl).toBeCloseTo(1, 9);
    expect(d1.inputs.latency).toMatchObject({
      predictedTtftMs: predicted.ttftMs,
      observedTtftMs: seen.ttftMs,
    });
    // bounded to 2 from there on
    const d2 = s.decide(T0 + 30, [observation(rl, T0 + 30, seen)]);
    expect(d2.inputs.modelCorrection!.ttft).toBeCloseTo(2, 9);
    expect(s.memory.variants[KEY]!.correction!.ttft).toBeCloseTo(2, 9);
    // the next record predicts with what was learned
    expect(d2.inputs.latency!.predictedTtftMs).toBeCloseTo(Math.sqrt(3) * predicted.ttftMs, 6);
  });

  it('does not learn from an overloaded replica set (backlog beyond the ready replicas)', () => {
    const learning = poolConfig({ policy: { modelCorrection: { enabled: true } } });
    const s = new Session(learning, [deployment('L4', 2)]);
    const d = s.decide(T0, [observation(r, T0, { waiting: 50, ttftMs: 60_000, itlMs: 500 })]);
    expect(d.inputs.modelCorrection).toEqual({ ttft: 1, itl: 1 });
  });

  it('does not change its inputs: the memory given is left as it was', () => {
    const s = new Session(config, [deployment('L4', 2)]);
    for (let i = 0; i < 3; i++) s.run(T0 + 30 * i, 1.5 * r);
    const memory = structuredClone(s.memory);
    const deployments = structuredClone(s.deployments);
    decidePool({
      pool: 'test',
      config,
      observations: new Map([[KEY, observation(4.5 * r, T0 + 90)]]),
      deployments: s.deployments,
      capacity: capacityViews(config),
      memory: s.memory,
      now: T0 + 90,
    });
    expect(s.memory).toEqual(memory);
    expect(s.deployments).toEqual(deployments);
  });

  it('is deterministic: the same inputs give the same decisions and memory', () => {
    const input = {
      pool: 'test',
      config,
      observations: new Map([[KEY, observation(2.5 * r, T0)]]),
      deployments: [deployment('L4', 2)],
      capacity: capacityViews(config),
      memory: emptyMemory(),
      now: T0,
    };
    expect(decidePool(input)).toEqual(decidePool(input));
  });
});

function tokens() {
  return { inputTokens: 512, outputTokens: 128 };
}
