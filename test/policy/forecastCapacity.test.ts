/** Capacity for demand expected when it arrives: the forecast bought and held as far as the rise learnt. */
import type { Demand } from '../../lib/policy/demand.js';
import {
  describeHold,
  forecastAsExpected,
  heldByEntry,
  rateExpected,
  replicasForMeasured,
} from '../../lib/policy/forecastCapacity.js';

const demand = (measured: number, forecastRate: number, backlogRate = 0): Demand => ({
  rate: measured + backlogRate + forecastRate,
  measured,
  backlogRate,
  forecastRate,
  leadSeconds: 600,
  inputTokens: 512,
  outputTokens: 128,
  driver: forecastRate > backlogRate ? 'forecast' : backlogRate > 0 ? 'backlog' : 'load',
});

describe('rateExpected', () => {
  it('is the measured rate times the rise, counted with the resolution the rise was learnt at', () => {
    expect(rateExpected(4, 1.5, 0)).toBeCloseTo(6, 12);
    expect(rateExpected(4, 1.5, 1 / 60)).toBeCloseTo((4 + 1 / 60) * 1.5 - 1 / 60, 12);
    // a rate of zero can rise: one request per window times the rise
    expect(rateExpected(0, 3, 1 / 60)).toBeCloseTo(2 / 60, 12);
    // never below what is measured
    expect(rateExpected(4, 1, 1 / 60)).toBe(4);
  });
});

describe('forecastAsExpected', () => {
  it("cuts the trend's forecast to the rise demand is expected to reach within the lead time", () => {
    const d = forecastAsExpected(demand(4, 2, 0.5), 1.25, 0);
    expect(d.forecastRate).toBeCloseTo(1, 12);
    expect(d.rate).toBeCloseTo(5.5, 12);
    expect(d.driver).toBe('forecast');
    // the decision says what the trend forecast and the rise it was cut to
    expect(d.expected).toEqual({ rise: 1.25, forecastRate: 2 });
  });

  it("never cuts the season's part of the forecast: the days before learnt what comes a lead time later", () => {
    const seasonal = { kind: 'forecast' as const, rate: 5.5, expected: 5.2, error: 0.15 };
    // the season expects 1.5 req/s more; a rise of 1.25 expects only 1
    const d = forecastAsExpected({ ...demand(4, 2), seasonal }, 1.25, 0);
    expect(d.forecastRate).toBeCloseTo(1.5, 12);
    expect(d.rate).toBeCloseTo(5.5, 12);
    expect(d.expected).toEqual({ rise: 1.25, forecastRate: 2 });
    // a season expecting less than the rise changes nothing in the cut
    const low = forecastAsExpected({ ...demand(4, 2), seasonal: { ...seasonal, rate: 4.2 } }, 1.25, 0);
    expect(low.forecastRate).toBeCloseTo(1, 12);
  });

  it('keeps a forecast the rise expects, and says so', () => {
    const d = forecastAsExpected(demand(4, 2), 2, 0);
    expect(d.rate).toBe(6);
    expect(d.expected).toEqual({ rise: 2, forecastRate: 2 });
  });

  it('on a smooth variant (no rise), buys for the measured demand and backlog only', () => {
    const d = forecastAsExpected(demand(4, 2, 0.5), 1, 0);
    expect(d.forecastRate).toBe(0);
    expect(d.rate).toBe(4.5);
    expect(d.driver).toBe('backlog');
  });

  it('changes nothing before a rise is learnt, or without a forecast', () => {
    const d = demand(4, 2);
    expect(forecastAsExpected(d, undefined, 0)).toBe(d);
    const flat = demand(4, 0);
    expect(forecastAsExpected(flat, 1.1, 0)).toBe(flat);
  });
});

describe('replicasForMeasured', () => {
  it('counts the replicas measured demand and backlog ask for, without the forecast', () => {
    // 4 + 0.5 req/s at 1 req/s per replica: 5 of the 7 recommended
    expect(replicasForMeasured(demand(4, 2.5, 0.5), 7, 1, 1)).toBe(5);
    // never above the recommendation, never below the minimum
    expect(replicasForMeasured(demand(9, 2.5), 7, 1, 1)).toBe(7);
    expect(replicasForMeasured(demand(0.1, 2.5), 3, 1, 2)).toBe(2);
  });

  it("is the recommendation's own without a forecast or a rate per replica", () => {
    expect(replicasForMeasured(demand(4, 0), 7, 1, 1)).toBe(7);
    expect(replicasForMeasured(demand(4, 2), 7, undefined, 1)).toBe(7);
  });
});

describe('heldByEntry', () => {
  const entry = { t: 1000, accelerator: 'L4', replicas: 11, measured: 4 };

  it('holds all a forecast asked for until the time it was forecast for', () => {
    expect(heldByEntry(entry, { now: 1000 + 599, leadSeconds: 600, expectedReplicas: 2 })).toBe(11);
  });

  it("then the measured demand's replicas, and the forecast's as far as the demand expected needs", () => {
    expect(heldByEntry(entry, { now: 1000 + 600, leadSeconds: 600, expectedReplicas: 2 })).toBe(4);
    expect(heldByEntry(entry, { now: 1000 + 600, leadSeconds: 600, expectedReplicas: 7 })).toBe(7);
    expect(heldByEntry(entry, { now: 1000 + 600, leadSeconds: 600, expectedReplicas: 20 })).toBe(11);
  });

  it('holds all of it before a rise is learnt, and all of an entry without a forecast', () => {
    expect(heldByEntry(entry, { now: 5000, leadSeconds: 600 })).toBe(11);
    const plain = { t: 1000, accelerator: 'L4', replicas: 11 };
    expect(heldByEntry(plain, { now: 5000, leadSeconds: 600, expectedReplicas: 2 })).toBe(11);
  });
});

describe('describeHold', () => {
  it('names what the window holds for measured demand, for forecasts in their lead time and beyond', () => {
    const entries = [
      { t: 0, accelerator: 'L4', replicas: 11, measured: 4 },
      { t: 500, accelerator: 'L4', replicas: 3 },
    ];
    const hold = { now: 700, leadSeconds: 600, expectedReplicas: 5 };
    expect(describeHold(entries, hold, 1.3)).toBe(
      "the window holds 4 for measured demand, forecasts' replicas for their 600 s lead time (3) and beyond it, as far as the demand expected within a lead time needs (5, a rise of x1.30 now)",
    );
    expect(describeHold(entries, { now: 700, leadSeconds: 600 }, undefined)).toMatch(
      /and beyond it, all of them: no lead time of rises seen yet$/,
    );
  });
});
