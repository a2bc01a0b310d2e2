/**
 * What a disaggregated role's window holds of each earlier plan (lib/policy/roleHolds.ts): the
 * forecast's pods as expected (policy.forecastCapacity.roles) and the plan less the arrival
 * rate's sampling noise (policy.windowNoise), as for single-Deployment variants.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseConfig } from '../../lib/config/index.js';
import type { Config } from '../../lib/config/schema.js';
import type { Demand } from '../../lib/policy/demand.js';
import { emptyMemory, variantMemory } from '../../lib/policy/memory.js';
import {
  rateLessNoise,
  roleDemandHistorySeconds,
  roleEntry,
  roleForecast,
  roleHeldBy,
  roleHoldRates,
} from '../../lib/policy/roleHolds.js';
import { noiseInHighest } from '../../lib/policy/windowNoise.js';

const fromFile = parseConfig(
  parse(readFileSync('config/disaggregated.yaml', 'utf8')),
  'config/disaggregated.yaml',
);
const withPolicy = (policy: Partial<Config['policy']>): Config => ({
  ...fromFile,
  policy: { ...fromFile.policy, ...policy },
});
const rolesOn = withPolicy({ forecastCapacity: { ...fromFile.policy.forecastCapacity, roles: true } });

const demand = (measured: number, forecastRate: number, backlogRate = 0): Demand => ({
  rate: measured + forecastRate + backlogRate,
  measured,
  backlogRate,
  forecastRate,
  leadSeconds: 900,
  inputTokens: 12000,
  outputTokens: 343,
  driver: forecastRate > 0 ? 'forecast' : 'load',
});

describe('roleEntry', () => {
  it("records the replicas at each rate shifted by what the plan's other terms added, and only what is below the plan", () => {
    // the optimizer sized 3 at the demand's rate and the burst sizing raised it to 5: at the
    // measured rate it sizes 2, so measured demand asks for 4 of the 5
    const e = roleEntry(
      { t: 0, accelerator: 'H100', replicas: 5 },
      3,
      { measured: 2, expected: 4, lessNoise: 3 },
      3.1,
    );
    expect(e).toMatchObject({ measured: 4, expected: 6, arrivals: 3.1 });
    // the rate less its noise needs what the rate does: nothing recorded
    expect(e.lessNoise).toBeUndefined();
    expect(roleEntry({ t: 0, accelerator: 'H100', replicas: 3 }, 3, {})).toEqual({
      t: 0,
      accelerator: 'H100',
      replicas: 3,
    });
  });
});

describe('roleHeldBy', () => {
  const now = 10_000;
  const lead = 900;
  const forecastEntry = (age: number) => ({ t: now - age, accelerator: 'H100', replicas: 4, measured: 3 });

  it('is undefined with both rules off: each entry holds all it asked for', () => {
    expect(roleHeldBy([], now, lead, { forecast: false, noise: false }, 3)).toBeUndefined();
  });

  it("holds the forecast's pods until the time they were forecast for, then only as far as the demand expected needs", () => {
    const held = roleHeldBy([], now, lead, { forecast: true, noise: false }, 3)!;
    expect(held(forecastEntry(600))).toBe(4);
    expect(held(forecastEntry(1200))).toBe(3);
    // the demand expected within a lead time needing 4 (now, or estimated within the last lead time) keeps them
    expect(roleHeldBy([], now, lead, { forecast: true, noise: false }, 4)!(forecastEntry(1200))).toBe(4);
    const estimated = [{ t: now - 300, accelerator: 'H100', replicas: 3, expected: 4 }];
    expect(roleHeldBy(estimated, now, lead, { forecast: true, noise: false }, 3)!(forecastEntry(1200))).toBe(
      4,
    );
    // no rise learnt yet: all of it
    expect(roleHeldBy([], now, lead, { forecast: true, noise: false }, undefined)!(forecastEntry(1200))).toBe(
      4,
    );
  });

  it('holds an entry less its noise, and the forecast rule judges what is left', () => {
    const entry = { t: now - 1200, accelerator: 'H100', replicas: 4, lessNoise: 3 };
    expect(roleHeldBy([], now, lead, { forecast: false, noise: true }, undefined)!(entry)).toBe(3);
    expect(roleHeldBy([], now, lead, { forecast: true, noise: true }, 2)!({ ...entry, measured: 4 })).toBe(3);
  });
});

describe('rateLessNoise', () => {
  const w = { rateWindowSeconds: 60, holdSeconds: 1800 };
  it('is undefined with policy.windowNoise off or nothing measured', () => {
    expect(rateLessNoise(fromFile, 3.5, [3, 4, 3.5], w)).toBeUndefined();
    expect(
      rateLessNoise(withPolicy({ windowNoise: { enabled: true, variation: 'poisson' } }), 0, [], w),
    ).toBeUndefined();
  });

  it("takes off what the count's noise adds to the highest of the window's rates", () => {
    const config = withPolicy({ windowNoise: { enabled: true, variation: 'poisson' } });
    const less = rateLessNoise(config, 4, [3.5, 3.8], w)!;
    expect(less).toBeCloseTo(4 - noiseInHighest(4, [3.5, 3.8, 4], w, 'poisson'), 9);
    expect(less).toBeLessThan(4 - 0.4);
  });
});

describe('roleForecast', () => {
  const now = 1_800_000_000;
  it('off (the default): the demand as estimated, nothing learnt, no rates to hold by', () => {
    const f = roleForecast(fromFile, variantMemory(emptyMemory(), 'x'), demand(3, 1), {
      now,
      windowSeconds: 60,
    });
    expect(f.demand.rate).toBe(4);
    expect(f.rise).toBeUndefined();
    expect(roleHoldRates(fromFile, f)).toBeUndefined();
    expect(roleDemandHistorySeconds(fromFile, 936)).toBe(fromFile.policy.forecast.horizonSeconds);
  });

  it("on: learns the rise from a lead time of the variant's measured rates and cuts the forecast to it", () => {
    const lead = 900;
    const memory = {
      ...variantMemory(emptyMemory(), 'x'),
      // steady at 3 req/s over two lead times: the rise learnt is about none
      demand: Array.from({ length: 61 }, (_, i) => ({ t: now - 1800 + i * 30, rate: 3 })),
    };
    let rise = undefined as ReturnType<typeof roleForecast>['rise'];
    let f: ReturnType<typeof roleForecast> | undefined;
    for (let k = 0; k < 40; k++) {
      f = roleForecast(rolesOn, { ...memory, ...(rise ? { rise } : {}) }, demand(3, 1), {
        now: now + k * 30,
        windowSeconds: 60,
      });
      rise = f.rise;
    }
    expect(f!.rise).toBeDefined();
    expect(f!.demand.forecastRate).toBeLessThan(1);
    const rates = roleHoldRates(rolesOn, f!)!;
    expect(rates.measured).toBe(3);
    expect(rates.expected).toBeGreaterThanOrEqual(3);
    expect(roleDemandHistorySeconds(rolesOn, lead)).toBe(lead + rolesOn.policy.intervalSeconds);
  });
});
