import {
  AnalyzerError,
  analyzeAt,
  buildReplicaModel,
  evaluateAt,
  sizeReplica,
  targetRates,
} from '../../lib/analyzer/index.js';

const profile = { alpha: 20.58, beta: 0.41, gamma: 164.64, delta: 0.0128125 };
const request = { avgInputTokens: 128, avgOutputTokens: 1024 };
const model = buildReplicaModel(profile, request, { maxBatchSize: 16, maxQueueSize: 160 });

describe('replica model', () => {
  it('has the documented stable range', () => {
    const s1 = profile.gamma + profile.delta * 128 + 1023 * (profile.alpha + profile.beta);
    const s16 = profile.gamma + profile.delta * 128 * 16 + 1023 * (profile.alpha + profile.beta * 16);
    expect(model.rateRange.min).toBeCloseTo((0.001 * 1000) / s1, 12);
    expect(model.rateRange.max).toBeCloseTo((0.999 * 16 * 1000) / s16, 12);
  });

  it('predicts single-request latencies at a vanishing load', () => {
    const m = evaluateAt(model, model.rateRange.min);
    expect(m.itl).toBeCloseTo(profile.alpha + profile.beta, 2);
    expect(m.ttft).toBeCloseTo(profile.gamma + profile.delta * 128, 0);
    expect(m.rho).toBeLessThan(0.01);
  });

  it('grows latency and utilisation with load', () => {
    const rates = [0.1, 0.3, 0.5, 0.6].map((f) => f * model.rateRange.max);
    const ms = rates.map((r) => analyzeAt(model, r));
    for (let i = 1; i < ms.length; i++) {
      expect(ms[i]!.ttft).toBeGreaterThan(ms[i - 1]!.ttft);
      expect(ms[i]!.itl).toBeGreaterThan(ms[i - 1]!.itl);
      expect(ms[i]!.rho).toBeGreaterThan(ms[i - 1]!.rho);
    }
  });

  it('rejects rates outside the stable range', () => {
    expect(() => analyzeAt(model, model.rateRange.max * 1.01)).toThrow(AnalyzerError);
    expect(() => analyzeAt(model, 0)).toThrow(/rate must be > 0/);
  });

  it('refuses a zero service time instead of looping (no input, one output token)', () => {
    expect(() =>
      buildReplicaModel(
        profile,
        { avgInputTokens: 0, avgOutputTokens: 1 },
        { maxBatchSize: 8, maxQueueSize: 80 },
      ),
    ).toThrow(/service time is zero/);
  });
});

describe('sizing', () => {
  it('finds the rate at which the binding target is met exactly', () => {
    const targets = { ttft: 200, itl: 25, tps: 0 };
    const sizing = sizeReplica(model, targets);
    if (!sizing.feasible) throw new Error(sizing.reason);
    const m = sizing.metrics;
    const binding = Math.max(m.ttft / targets.ttft, m.itl / targets.itl);
    expect(binding).toBeCloseTo(1, 6);
    expect(m.ttft).toBeLessThanOrEqual(targets.ttft * (1 + 1e-9));
    expect(m.itl).toBeLessThanOrEqual(targets.itl * (1 + 1e-9));
    const rates = targetRates(model, targets);
    expect(sizing.rate).toBeCloseTo(Math.min(rates.rateTTFT!, rates.rateITL!), 9);
    expect(sizing.maxRate).toBeLessThanOrEqual(sizing.rate);
  });

  it('is infeasible when a target is missed at the lowest load', () => {
    const sizing = sizeReplica(model, { ttft: 0, itl: 20, tps: 0 });
    expect(sizing.feasible).toBe(false);
    if (!sizing.feasible) expect(sizing.reason).toMatch(/ITL 20\.\d+ > 20 ms/);
    expect(targetRates(model, { ttft: 0, itl: 20, tps: 0 }).rateITL).toBeNull();
  });

  it('gives the range maximum when no target binds, and 90% of it for a TPS target', () => {
    expect(sizeReplica(model, { ttft: 0, itl: 0, tps: 0 })).toMatchObject({ rate: model.rateRange.max });
    expect(sizeReplica(model, { ttft: 1e9, itl: 1e9, tps: 0 })).toMatchObject({ rate: model.rateRange.max });
    expect(sizeReplica(model, { ttft: 0, itl: 0, tps: 100 })).toMatchObject({
      rate: 0.9 * model.rateRange.max,
    });
  });

  it('judges a load-independent latency by the chosen flat-target rule', () => {
    // One request per batch: ITL is alpha + beta whatever the load.
    const single = buildReplicaModel(profile, request, { maxBatchSize: 1, maxQueueSize: 10 });
    const itl = profile.alpha + profile.beta;
    expect(sizeReplica(single, { ttft: 0, itl: itl + 5, tps: 0 }, 'strict').feasible).toBe(true);
    expect(sizeReplica(single, { ttft: 0, itl: itl - 5, tps: 0 }, 'strict').feasible).toBe(false);
    // The reference optimizer's bisection inverts both answers; Inferno inputs are judged that way.
    expect(sizeReplica(single, { ttft: 0, itl: itl + 5, tps: 0 }, 'reference').feasible).toBe(false);
    expect(sizeReplica(single, { ttft: 0, itl: itl - 5, tps: 0 }, 'reference').feasible).toBe(true);
  });

  it('needs few queue-model evaluations', () => {
    const sizing = sizeReplica(model, { ttft: 200, itl: 25, tps: 0 });
    expect(sizing.evaluations).toBeLessThan(40);
  });
});
