/**
 * Stale or missing metrics: the policy holds the current size, says which series were stale or
 * missing, and never scales on them, up or down.
 */
import { decidePool } from '../../../lib/policy/decide.js';
import { emptyMemory } from '../../../lib/policy/memory.js';
import {
  blindObservation,
  CHAT,
  deployment,
  KEY,
  capacityViews,
  devicesAsked,
  lastDevicesAsked,
  observation,
  poolConfig,
  ratePerReplica,
  replicasOn,
  Session,
  T0,
} from '../helpers.js';

const SUCCESS = 'vllm:request_success_total';
const WAITING = 'vllm:num_requests_waiting';

describe('hold on stale or missing metrics', () => {
  const config = poolConfig();

  it('holds the current size when the arrival series are stale, naming them', () => {
    const s = new Session(config, [deployment('L4', 4)]);
    const d = s.decide(T0, [blindObservation(T0, { stale: [SUCCESS] })]);
    expect(d.action).toBe('hold');
    expect(d.reason).toBe('stale-metrics');
    expect(d.targetReplicas).toBe(4);
    expect(d.currentReplicas).toBe(4);
    expect(d.deployments).toEqual([{ accelerator: 'L4', deployment: 'chat', replicas: 4 }]);
    expect(d.message).toContain('stale');
    expect(d.message).toContain(SUCCESS);
    expect(d.inputs.stale).toEqual([SUCCESS]);
    expect(d.inputs.arrivalRate).toBeNull();
    expect(d.inputs.demandRate).toBeNull();
    expect(d.prediction).toBeNull();
  });

  it('holds when a series is missing, naming it', () => {
    const s = new Session(config, [deployment('L4', 3)]);
    const d = s.decide(T0, [blindObservation(T0, { missing: [WAITING] })]);
    expect(d).toMatchObject({ action: 'hold', reason: 'stale-metrics', targetReplicas: 3 });
    expect(d.message).toContain('missing');
    expect(d.message).toContain(WAITING);
    expect(d.inputs.missing).toEqual([WAITING]);
  });

  it('names both the stale and the missing series', () => {
    const s = new Session(config, [deployment('L4', 2)]);
    const d = s.decide(T0, [blindObservation(T0, { stale: [SUCCESS], missing: [WAITING] })]);
    expect(d.message).toMatch(new RegExp(`missing ${WAITING}.*stale ${SUCCESS}`));
  });

  it('holds when the variant has no observation at all, and says so', () => {
    const s = new Session(config, [deployment('L4', 2)]);
    const d = s.decide(T0, []);
    expect(d).toMatchObject({ action: 'hold', reason: 'stale-metrics', targetReplicas: 2 });
    expect(d.message).toContain('no observation');
    expect(d.inputs.missing).toEqual(['(no observation)']);
  });

  it('never scales down on stale metrics, however long they stay stale', () => {
    const s = new Session(config, [deployment('L4', 6)]);
    for (let i = 0; i <= 40; i++) {
      const now = T0 + 30 * i;
      const d = s.decide(now, [blindObservation(now, { stale: [SUCCESS] })]);
      s.apply();
      expect(d.targetReplicas).toBe(6);
      expect(replicasOn(d, 'L4')).toBe(6);
    }
  });

  it('never scales up on stale metrics either, even with a backlog recorded before', () => {
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 2)]);
    s.run(T0, 1.5 * r);
    const d = s.decide(T0 + 30, [blindObservation(T0 + 30, { stale: [SUCCESS] })]);
    expect(d.targetReplicas).toBe(2);
    expect(d.action).toBe('hold');
  });

  it('does not learn demand from a hold, but records it as a recommendation to keep what runs', () => {
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 2)]);
    s.run(T0, 1.5 * r);
    const before = structuredClone(s.memory.variants[KEY]!);
    s.decide(T0 + 30, [blindObservation(T0 + 30, { stale: [SUCCESS] })]);
    const after = s.memory.variants[KEY]!;
    expect(after.sequence).toBe(before.sequence + 1);
    // the window must remember the held size, or the first fresh sample after a gap could scale down
    expect(after.recommendations).toEqual([
      ...before.recommendations,
      { t: T0 + 30, accelerator: 'L4', replicas: 2 },
    ]);
    expect(after.demand).toEqual(before.demand);
    expect(after.lastArrivalAt).toBe(before.lastArrivalAt);
  });

  it('keeps the capacity for the held replicas', () => {
    const s = new Session(config, [deployment('L4', 5)], capacityViews(config, { 'gpu-l4': 5 }));
    s.decide(T0, [blindObservation(T0, { stale: [SUCCESS] })]);
    expect(lastDevicesAsked(s)).toEqual({ L4: 5 });
  });

  it('holds one variant while deciding the other, and keeps the held replicas in the capacity intent', () => {
    const two = poolConfig({
      variants: [CHAT, { ...CHAT, name: 'other', accelerator: 'L4' }],
    });
    const r = ratePerReplica(two);
    const out = decidePool({
      pool: 'test',
      config: two,
      observations: new Map([
        [KEY, blindObservation(T0, { stale: [SUCCESS] })],
        ['llm/other', observation(2.5 * r, T0, { variant: 'llm/other' })],
      ]),
      deployments: [deployment('L4', 4), deployment('L4', 1, 1, 'llm/other')],
      capacity: capacityViews(two, { 'gpu-l4': 5 }),
      memory: emptyMemory(),
      now: T0,
    });
    const [chat, other] = out.decisions;
    expect(chat).toMatchObject({ variant: 'chat', action: 'hold', targetReplicas: 4 });
    expect(other).toMatchObject({ variant: 'other', action: 'scale-up', targetReplicas: 3 });
    // 4 held + 3 decided, one L4 each
    expect(devicesAsked(out)).toEqual({ L4: 7 });
  });

  it('after metrics come back from a gap longer than the window, does not scale down on one sample', () => {
    // The window's recommendations all aged out during the gap: a single fresh, low sample is a
    // partial view, and a partial view must not scale down (stabilize.ts: "the replicas running
    // now stand for the recommendations not seen").
    const r = ratePerReplica(config);
    const s = new Session(config, [deployment('L4', 1)]);
    for (let i = 0; i <= 10; i++) s.run(T0 + 30 * i, 5.5 * r);
    expect(s.deployments[0]!.desired).toBe(6);
    for (let i = 11; i <= 30; i++) {
      const now = T0 + 30 * i;
      s.decide(now, [blindObservation(now, { stale: [SUCCESS] })]);
      s.apply();
    }
    const back = s.run(T0 + 31 * 30, 0.5 * r);
    expect(back.targetReplicas).toBe(6);
  });
});

describe('min and max hold even when holding', () => {
  it('a hold below minReplicas (a new Deployment at 0, no pods, no metrics) still asks for the minimum', () => {
    // No pods means no vLLM series: without this the variant would wait at 0 forever.
    const config = poolConfig({ chat: { minReplicas: 2 } });
    const s = new Session(config, [deployment('L4', 0)]);
    const d = s.decide(T0, [blindObservation(T0, { missing: [SUCCESS, WAITING] })]);
    expect(d.reason).toBe('stale-metrics');
    expect(d.targetReplicas).toBeGreaterThanOrEqual(2);
    expect(replicasOn(d, 'L4')).toBeGreaterThanOrEqual(2);
  });

  it('a hold above maxReplicas (maxReplicas lowered in the config) comes down to the maximum', () => {
    const config = poolConfig({ chat: { maxReplicas: 4 } });
    const s = new Session(config, [deployment('L4', 7)]);
    const d = s.decide(T0, [blindObservation(T0, { stale: [SUCCESS] })]);
    expect(d.targetReplicas).toBeLessThanOrEqual(4);
    expect(replicasOn(d, 'L4')).toBeLessThanOrEqual(4);
  });
});
