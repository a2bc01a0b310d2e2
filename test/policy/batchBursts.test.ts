/** The TTFT burst replay of a replica whose batch is what its KV cache holds (lib/policy/batchBursts.ts). */
import { batchBurstShare, replicasForBatchBursts } from '../../lib/policy/batchBursts.js';
import { fluidReplay, replicasForBursts } from '../../lib/policy/burstSizing.js';

// a reasoning model on L40S: 49 places, each held 35 s (49 at 1.4 req/s with the batch full), the
// prefill's throughput 2.6 req/s; 1 req/s for a quarter of an hour, then a 15-s step at 3 req/s
const STEADY = Array.from({ length: 59 }, () => 15);
const LONG = {
  counts: [...STEADY, 45],
  stepSeconds: 15,
  prefillRate: 2.6,
  slots: 49,
  holdSeconds: 35,
  budgetSeconds: 7.5,
  allowedShare: 0.01,
  atLeast: 1,
  atMost: 10,
};

describe('batchBurstShare', () => {
  it('takes a burst into the batch where a queue at the saturated rate would make it wait', () => {
    // served one after another at 1.4 req/s, the burst step's 45 requests queue 24 deep: 17 s
    const queued = fluidReplay(LONG.counts, 15, 1.4, 7.5).share;
    expect(queued).toBeGreaterThan(0);
    // in flight: 35 before the burst, 45 more over 15 s while some 20 leave: within 49 places but
    // for the step's last seconds, and a place frees every 0.7 s
    expect(batchBurstShare(LONG, 1)).toBeLessThan(queued);
  });

  it('waits for places once the batch is full', () => {
    // 2 req/s for a quarter of an hour fills 49 places held 35 s (70 in flight asked)
    const full = { ...LONG, counts: Array.from({ length: 60 }, () => 30) };
    expect(batchBurstShare(full, 1)).toBeGreaterThan(0.1);
    expect(batchBurstShare(full, 2)).toBe(0);
  });

  it("is the prefill's queue where answers are short and the places never fill", () => {
    const short = { ...LONG, slots: 96, holdSeconds: 2, prefillRate: 1.5 };
    expect(batchBurstShare(short, 1)).toBeCloseTo(fluidReplay(short.counts, 15, 1.5, 7.5).share, 12);
    expect(batchBurstShare(short, 1)).toBeGreaterThan(0);
  });
});

describe('replicasForBatchBursts', () => {
  it('asks fewer replicas than the queue at the saturated rate for bursts the batch takes', () => {
    // 1 req/s with a 2.7-req/s step every 150 s
    const bursty = { ...LONG, counts: Array.from({ length: 60 }, (_, i) => (i % 10 === 9 ? 40 : 15)) };
    const batch = replicasForBatchBursts(bursty);
    const queue = replicasForBursts({ ...bursty, perReplica: 1.4 });
    expect(queue.replicas).toBe(2);
    expect(batch).toMatchObject({ replicas: 1, met: true });
    expect(batch.share).toBeLessThanOrEqual(0.01);
  });

  it('raises where the places fill, never below the sizing', () => {
    // 1.3 req/s with a 4-req/s step every 150 s: 46 in flight before each burst
    const full = { ...LONG, counts: Array.from({ length: 60 }, (_, i) => (i % 10 === 9 ? 60 : 20)) };
    const fleet = replicasForBatchBursts(full);
    expect(fleet.shareAtLeast).toBeGreaterThan(0.01);
    expect(fleet).toMatchObject({ replicas: 2, met: true });
    expect(replicasForBatchBursts({ ...full, atLeast: 6 }).replicas).toBe(6);
  });

  it('stops at atMost, not met, where even that leaves more late', () => {
    const flood = { ...LONG, counts: Array.from({ length: 60 }, () => 300), atMost: 3 };
    const fleet = replicasForBatchBursts(flood);
    expect(fleet).toMatchObject({ replicas: 3, met: false });
    expect(fleet.share).toBeGreaterThan(0.01);
  });
});
