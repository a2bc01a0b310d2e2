/** The daily season learned online (additive Holt-Winters over five-minute slots). */
import {
  DAY_SLOTS,
  observeSeason,
  seasonalForecast,
  SLOT_SECONDS,
  type SeasonState,
} from '../../lib/policy/seasonal.js';

const settings = { level: 0.2, trend: 0.02, season: 0.3 };
const DAY = 86_400;
/** a day's shape: 2 req/s at night, 8 at the afternoon peak */
const rateAt = (t: number) => 5 - 3 * Math.cos((2 * Math.PI * (t % DAY)) / DAY);

function learn(days: number, every = 30): SeasonState {
  let s: SeasonState | undefined;
  for (let t = 0; t < days * DAY; t += every) s = observeSeason(s, t, rateAt(t), settings);
  return s!;
}

describe('seasonal forecast', () => {
  it('says there is no history before a whole day has been seen, and how much has', () => {
    expect(seasonalForecast(undefined, 0, 900)).toEqual({
      kind: 'no-history',
      note: 'no demand history yet: no seasonal forecast',
    });
    const half = learn(0.5);
    const f = seasonalForecast(half, DAY / 2, 900);
    expect(f.kind).toBe('no-history');
    expect(f.kind === 'no-history' && f.note).toMatch(/^11\.9 h of the day's season seen of 24/);
  });

  it('after three days, expects the morning ramp a lead time ahead, within its error', () => {
    const now = 3 * DAY + 0.3 * DAY; // rising towards the afternoon
    const s = learn(3.3);
    expect(s.seen).toBeGreaterThanOrEqual(3.3 * DAY_SLOTS - 1);
    const lead = 900;
    const f = seasonalForecast(s, now, lead);
    expect(f.kind).toBe('forecast');
    if (f.kind !== 'forecast') return;
    const truth = Math.max(rateAt(now), rateAt(now + lead));
    expect(Math.abs(f.expected - truth) / truth).toBeLessThan(0.05);
    // above the rate now: the rise is met before it comes
    expect(f.rate).toBeGreaterThan(rateAt(now));
    expect(f.rate).toBeGreaterThanOrEqual(f.expected);
  });

  it('on a repeated day, expects the morning ramp a lead time ahead above the rate measured now', () => {
    // 3 req/s at night, a ramp to 7 from 09:00 to 11:00; the same every day, measured every 30 s
    const ramp = (t: number) => {
      const h = (t % DAY) / 3600;
      if (h < 9) return 3;
      if (h < 11) return 3 + 2 * (h - 9);
      return h < 20 ? 7 : 7 - (h - 20);
    };
    let s: SeasonState | undefined;
    const now = 2 * DAY + 9.5 * 3600;
    for (let t = 0; t < now; t += 30) s = observeSeason(s, t, ramp(t), settings);
    const lead = 900;
    const f = seasonalForecast(s, now, lead);
    expect(f.kind).toBe('forecast');
    if (f.kind !== 'forecast') return;
    // the rate a lead time later (4.5 req/s), not the rate now (4): version 1's indices, the lag
    // of a level that followed the first day's rates, expected 3.86
    expect(f.expected).toBeGreaterThanOrEqual(ramp(now + lead));
    expect(f.expected).toBeLessThan(ramp(now + lead) + 0.2);
    // a day repeated exactly leaves no one-step error
    expect(f.error).toBeLessThan(0.01);
  });

  it('adds as many of its one-step errors as asked, none when asked for none', () => {
    // the shape plus noise that differs from slot to slot and from day to day
    const noisy = (t: number) => rateAt(t) + 0.5 * Math.sin(Math.floor(t / SLOT_SECONDS) * 12.9898);
    let s: SeasonState | undefined;
    for (let t = 0; t < 3.3 * DAY; t += 30) s = observeSeason(s, t, noisy(t), settings);
    const [none, one, two] = [0, 1, 2].map((k) => seasonalForecast(s, 3.3 * DAY, 900, k));
    if (none!.kind !== 'forecast' || one!.kind !== 'forecast' || two!.kind !== 'forecast')
      throw new Error('no forecast');
    expect(none!.error).toBeGreaterThan(0.1);
    expect(none!.rate).toBeCloseTo(none!.expected, 10);
    expect(one!.rate).toBeCloseTo(one!.expected + one!.error, 10);
    expect(two!.rate).toBeCloseTo(two!.expected + 2 * two!.error, 10);
    expect(seasonalForecast(s, 3.3 * DAY, 900)).toEqual(two);
  });

  it("turns the first day's rates into indices around their mean once the day is complete", () => {
    let s: SeasonState | undefined;
    for (let t = 0; t < DAY - SLOT_SECONDS; t += SLOT_SECONDS)
      s = observeSeason(s, t, t < DAY / 2 ? 2 : 6, settings);
    // 286 slots closed (the last observed still gathering): the rates themselves
    expect(s!.season[0]).toBe(2);
    expect(s!.season[DAY_SLOTS - 3]).toBe(6);
    expect(s!.level).toBeCloseTo((144 * 2 + 142 * 6) / 286, 10);
    expect(seasonalForecast(s, DAY - SLOT_SECONDS, 900).kind).toBe('no-history');
    s = observeSeason(s, DAY - SLOT_SECONDS, 6, settings);
    s = observeSeason(s, DAY, 2, settings); // closes the last slot of the day
    expect(s.level).toBeCloseTo(4, 10);
    expect(s.season[0]).toBeCloseTo(-2, 10);
    expect(s.season[DAY_SLOTS - 1]).toBeCloseTo(2, 10);
    expect(s.trend).toBe(0);
    const f = seasonalForecast(s, DAY, SLOT_SECONDS);
    expect(f.kind === 'forecast' && f.expected).toBeCloseTo(2, 10);
  });

  it('gathers the rates of a slot and learns from it once it is complete', () => {
    let s = observeSeason(undefined, 0, 4, settings);
    s = observeSeason(s, 30, 6, settings);
    expect(s).toMatchObject({ slot: 0, sum: 10, count: 2, seen: 0 });
    s = observeSeason(s, SLOT_SECONDS, 1, settings);
    expect(s.seen).toBe(1);
    expect(s.season[0]).not.toBeNull();
    expect(s).toMatchObject({ slot: 1, sum: 1, count: 1 });
    // a clock gone back leaves it as it was
    expect(observeSeason(s, 10, 99, settings)).toBe(s);
  });
});
