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
