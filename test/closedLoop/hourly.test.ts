import { describe, expect, it } from '@jest/globals';
import { hourlyRows } from '../../lib/closedLoop/hourly.js';
import type { SimulationRun, TimelinePoint } from '../../lib/closedLoop/closedLoop.js';

/** A two-hour run with a point every 30 min: 2 then 4 L4 replicas, $1/h per replica. */
function run(): SimulationRun {
  const point = (t: number, replicas: number, rate: number): TimelinePoint => ({
    t,
    variants: {
      chat: {
        arrivalRate: rate,
        estimatedRate: null,
        desired: { L4: replicas },
        ready: { L4: replicas },
        p95TtftMs: null,
        p95ItlMs: null,
      },
    },
    costPerHour: replicas,
    nodes: { 'gpu-l4': replicas },
  });
  const hourly = [
    { requests: 100, met: 99 },
    { requests: 10, met: 5 },
  ];
  return {
    controller: 'p',
    summary: { durationSeconds: 7200 } as SimulationRun['summary'],
    timeline: [point(1800, 2, 1), point(3600, 2, 3), point(5400, 4, 5), point(7200, 4, 5)],
    events: [
      {
        t: 3700,
        variant: 'chat',
        action: 'scale-up',
        accelerator: 'L4',
        from: 2,
        to: 4,
        reason: '',
        message: '',
      },
    ],
    targets: { chat: { ttftMs: 1000, itlMs: 50 } },
    elapsedMs: 0,
    hourly,
  };
}

describe('a run hour by hour', () => {
  it('averages demand and replicas over each hour, sums its cost, counts its arrivals and actions', () => {
    const rows = hourlyRows(run());
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      hour: 0,
      demand: 2,
      replicas: { L4: 2 },
      cost: 2,
      requests: 100,
      scalingActions: 0,
    });
    expect(rows[0]!.sloAttainment).toBeCloseTo(0.99, 10);
    expect(rows[1]).toMatchObject({
      hour: 1,
      demand: 5,
      replicas: { L4: 4 },
      cost: 4,
      requests: 10,
      scalingActions: 1,
    });
    expect(rows[1]!.sloAttainment).toBeCloseTo(0.5, 10);
  });
});
