/**
 * The derived multi-day workload (bench/heldout/multiDay.ts) on a day written by hand: seeded,
 * days scaled and warped as drawn, token pairs from the same hour of the source day, and the
 * seasonal fleet copy changing nothing but the season's switch.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  byDay,
  DAY_SECONDS,
  dayShapes,
  deriveDays,
  MAX_DAY_SCALE,
  MAX_WARP_SECONDS,
  seasonalFleet,
} from '../../bench/heldout/multiDay.js';
import { CHAT_FLEET } from '../../bench/policies/traces.js';
import { loadConfig } from '../../lib/config/load.js';
import { randomStream } from '../../lib/fleetSimulator/random.js';
import type { Trace } from '../../lib/fleetSimulator/traces.js';

/** one request every 10 s; its tokens name its hour (input = 1000 + hour, output = hour + 1) */
const day: Trace = {
  name: 'hand-written day',
  requests: Array.from({ length: DAY_SECONDS / 10 }, (_, i) => {
    const hour = Math.floor((10 * i) / 3600);
    return { arrival: 10 * i, inputTokens: 1000 + hour, outputTokens: hour + 1 };
  }),
};

describe('multi-day workload', () => {
  const shapes = dayShapes(3, randomStream(17, 0));

  it('draws each day within ±20% of the rate and ±30 min of warp, not two alike', () => {
    for (const s of shapes) {
      expect(Math.abs(s.scale - 1)).toBeLessThanOrEqual(MAX_DAY_SCALE);
      expect(Math.abs(s.warpSeconds)).toBeLessThanOrEqual(MAX_WARP_SECONDS);
    }
    expect(new Set(shapes.map((s) => s.scale)).size).toBe(3);
  });

  it('gives the same requests for the same seed, and other ones for another', () => {
    const a = deriveDays(day, shapes, 17).requests;
    expect(deriveDays(day, shapes, 17).requests).toEqual(a);
    expect(deriveDays(day, shapes, 18).requests).not.toEqual(a);
  });

  it("scales each day's arrivals, keeps them in their day and sorted, with the tokens of their hour", () => {
    const { requests, note } = deriveDays(day, shapes, 17);
    expect(note).toMatch(/^\d+ requests; day 1: rate x/);
    expect(requests.every((r, i) => i === 0 || r.arrival >= requests[i - 1]!.arrival)).toBe(true);
    for (const [d, s] of shapes.entries()) {
      const own = requests.filter((r) => r.arrival >= d * DAY_SECONDS && r.arrival < (d + 1) * DAY_SECONDS);
      // after the first hour's easing the day's own scale, within a few Poisson errors
      const settled = own.filter((r) => r.arrival - d * DAY_SECONDS >= 3600 + MAX_WARP_SECONDS).length;
      const expected = (s.scale * (DAY_SECONDS - 3600 - MAX_WARP_SECONDS)) / 10;
      expect(Math.abs(settled - expected)).toBeLessThan(4 * Math.sqrt(expected) + 0.03 * expected);
      // the warp moves an arrival by at most A, so its tokens come from its hour or a neighbour
      const astray = own.filter((r) => {
        const hour = r.inputTokens - 1000;
        const at = (r.arrival - d * DAY_SECONDS) / 3600;
        return (
          r.outputTokens !== hour + 1 || Math.abs(at - (hour + 0.5)) > 0.5 + (MAX_WARP_SECONDS + 30) / 3600
        );
      });
      expect(astray).toEqual([]);
    }
  });

  it('adds up attainment and cost by day from hour rows', () => {
    const row = (hour: number, requests: number, attained: number, cost: number) => ({
      hour,
      demand: 1,
      replicas: {},
      cost,
      sloAttainment: attained,
      requests,
      scalingActions: 0,
    });
    expect(byDay([row(0, 100, 1, 2), row(23, 100, 0.98, 3), row(24, 50, 0.9, 1)])).toEqual([
      { day: 0, requests: 200, met: 198, cost: 5 },
      { day: 1, requests: 50, met: 45, cost: 1 },
    ]);
  });

  it("writes the bench's chat fleet with only the seasonal forecast switched on", () => {
    const text = seasonalFleet(readFileSync(CHAT_FLEET, 'utf8'));
    const copy = parse(text) as { policy: unknown };
    const original = parse(readFileSync(CHAT_FLEET, 'utf8')) as { policy: Record<string, unknown> };
    expect(copy).toEqual({
      ...original,
      policy: { ...original.policy, forecast: { seasonal: { enabled: true } } },
    });
    // and the copy loads as a fleet, with the season on and its smoothing at the defaults
    const path = join(mkdtempSync(join(tmpdir(), 'multi-day-')), 'fleet.yaml');
    writeFileSync(path, text);
    expect(loadConfig(path).policy.forecast.seasonal).toEqual({
      enabled: true,
      level: 0.2,
      trend: 0.02,
      season: 0.3,
      errors: 2,
    });
  });
});
