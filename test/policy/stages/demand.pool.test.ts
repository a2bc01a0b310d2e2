/**
 * What the policy sizes for: arrivals (completions plus the growth of what is in flight, not
 * completions alone), plus the backlog to drain, plus the forecast rise over the startup delay.
 */
import { estimateObservation } from '../../../lib/metrics/signals.js';
import { deployment, KEY, observation, poolConfig, ratePerReplica, Session, T0 } from '../helpers.js';

const config = poolConfig();
const r = ratePerReplica(config);

describe('demand the policy sizes for', () => {
  it('sizes from the measured arrivals: k replicas for (k - 0.5) r*', () => {
    for (const k of [1, 2, 3, 5]) {
      const s = new Session(config, [deployment('L4', 1)]);
      const d = s.decide(T0, [observation((k - 0.5) * r, T0)]);
      expect(d.targetReplicas).toBe(k);
      expect(d.inputs.demandRate).toBeCloseTo((k - 0.5) * r, 9);
    }
  });

  it('under overload counts arrivals as completions plus the growth in flight, not completions alone', () => {
    // 0.9 r* complete (all one replica can do); in flight grows by 1.6 r* per second over 60 s.
    const w = 60;
    const completions = 0.9 * r * w;
    const growth = 1.6 * r * w;
    const obs = estimateObservation(
      {
        variant: KEY,
        model: 'm8b',
        windowSeconds: w,
        completions: { value: completions, timestamp: T0 - 5, series: 'vllm:request_success_total' },
        inFlightBefore: { value: 10, timestamp: T0 - 5, series: 'in flight' },
        inFlightNow: { value: 10 + growth, timestamp: T0 - 5, series: 'in flight' },
        running: { value: 10 + growth, timestamp: T0 - 5, series: 'vllm:num_requests_running' },
        waiting: { value: 0, timestamp: T0 - 5, series: 'vllm:num_requests_waiting' },
        promptTokens: {
          sum: { value: 512 * 100, timestamp: T0 - 5, series: 'vllm:request_prompt_tokens_sum' },
          count: { value: 100, timestamp: T0 - 5, series: 'vllm:request_prompt_tokens_count' },
        },
        generationTokens: {
          sum: { value: 128 * 100, timestamp: T0 - 5, series: 'vllm:request_generation_tokens_sum' },
          count: { value: 100, timestamp: T0 - 5, series: 'vllm:request_generation_tokens_count' },
        },
      },
      { now: T0, maxAgeSeconds: 120 },
    );
    expect(obs.arrivalRate!.value).toBeCloseTo(2.5 * r, 9);
    expect(obs.completionRate!.value).toBeCloseTo(0.9 * r, 9);

    const overloaded = new Session(config, [deployment('L4', 1)]).decide(T0, [obs]);
    expect(overloaded.inputs.arrivalRate).toBeCloseTo(2.5 * r, 9);
    expect(overloaded.inputs.completionRate).toBeCloseTo(0.9 * r, 9);
    expect(overloaded.targetReplicas).toBe(3);

    // Sizing for completions alone would have kept one replica.
    const completionsOnly = new Session(config, [deployment('L4', 1)]).decide(T0, [observation(0.9 * r, T0)]);
    expect(completionsOnly.targetReplicas).toBe(1);
  });

  it('adds the backlog: waiting requests drained within max(TTFT target, interval)', () => {
    // 3 s TTFT target < 30 s interval: the backlog is drained over 30 s.
    const waiting = 1.5 * r * 30;
    const s = new Session(config, [deployment('L4', 1)]);
    const d = s.decide(T0, [observation(0.9 * r, T0, { waiting })]);
    expect(d.inputs.demandRate).toBeCloseTo(2.4 * r, 9);
    expect(d.inputs.waiting).toBeCloseTo(waiting, 9);
    expect(d.targetReplicas).toBe(3);
    expect(d.reason).toBe('backlog');
    expect(d.action).toBe('scale-up');

    const without = new Session(config, [deployment('L4', 1)]).decide(T0, [observation(0.9 * r, T0)]);
    expect(without.targetReplicas).toBe(1);
  });

  it('drains over the TTFT target when it is longer than the interval', () => {
    const slow = poolConfig({ policy: { intervalSeconds: 1 } });
    const rs = ratePerReplica(slow);
    // 3 s TTFT target > 1 s interval: 3 s drain
    const d = new Session(slow, [deployment('L4', 1)]).decide(T0, [
      observation(0.5 * rs, T0, { waiting: 30 }),
    ]);
    expect(d.inputs.demandRate).toBeCloseTo(0.5 * rs + 10, 9);
  });

  it('adds the forecast rise over the startup delay when demand is rising', () => {
    const forecasting = poolConfig({
      policy: { forecast: { enabled: true, horizonSeconds: 180, maxGrowth: 10 } },
    });
    const rf = ratePerReplica(forecasting);
    const s = new Session(forecasting, [deployment('L4', 4)]);
    // rising by 0.01 r* per second: +0.3 r* per 30 s evaluation
    for (let i = 0; i < 4; i++) s.decide(T0 + 30 * i, [observation((1 + 0.3 * i) * rf, T0 + 30 * i)]);
    const d = s.steps.at(-1)!.decision;
    // lead = startup 60 s + L4 node provisioning 60 s: +1.2 r* expected
    expect(d.inputs.demandRate).toBeCloseTo((1.9 + 1.2) * rf, 6);
    expect(d.inputs.arrivalRate).toBeCloseTo(1.9 * rf, 9);
  });

  it('records the token sizes it sized for, and keeps the last known ones when nothing completed', () => {
    const s = new Session(config, [deployment('L4', 2)]);
    s.decide(T0, [observation(r, T0, { tokens: { input: 2000, output: 300 } })]);
    const d = s.decide(T0 + 30, [observation(r, T0 + 30, { tokens: false })]);
    expect(d.inputs.avgInputTokens).toBe(2000);
    expect(d.inputs.avgOutputTokens).toBe(300);
  });
});
