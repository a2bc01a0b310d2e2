/** The report sets the rate each evaluation sized for against the arrivals a lead time later. */
import { describe, expect, it } from '@jest/globals';
import { forecastAgainstArrivals } from '../../lib/closedLoop/report.js';
import type { SimulationRun, TimelinePoint } from '../../lib/closedLoop/closedLoop.js';

const point = (t: number, forecast?: { rate: number; leadSeconds: number }): TimelinePoint => ({
  t,
  variants: {
    chat: {
      arrivalRate: 1,
      estimatedRate: 1,
      ...(forecast ? { forecast } : {}),
      desired: { L4: 1 },
      ready: { L4: 1 },
      p95TtftMs: null,
      p95ItlMs: null,
    },
  },
  costPerHour: 1,
  nodes: {},
});

const run = (timeline: TimelinePoint[]) => ({ timeline }) as unknown as SimulationRun;

describe('forecastAgainstArrivals', () => {
  it('places each forecast at the first point a lead time after it was made', () => {
    const timeline = [30, 60, 90, 120, 150, 180].map((t) =>
      point(t, t <= 90 ? { rate: t / 10, leadSeconds: 60 } : undefined),
    );
    // made at 30, 60, 90 with a 60 s lead: shown at 90, 120, 150
    expect(forecastAgainstArrivals(run(timeline), 'chat')).toEqual([null, null, 3, 6, 9, null]);
  });

  it('leaves out forecasts whose lead time runs past the end, and variants without forecasts', () => {
    const timeline = [30, 60].map((t) => point(t, { rate: 2, leadSeconds: 600 }));
    expect(forecastAgainstArrivals(run(timeline), 'chat')).toEqual([null, null]);
    expect(forecastAgainstArrivals(run(timeline), 'other')).toEqual([null, null]);
  });
});
