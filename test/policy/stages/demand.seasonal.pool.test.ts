/**
 * Seasonal forecasting in the decisions: a new variant says it has no history; with a learnt
 * season the rise it expects within the lead time is sized for before it comes.
 */
import { leadSeconds } from '../../../lib/policy/window.js';
import { observeSeason, type SeasonState } from '../../../lib/policy/seasonal.js';
import { deployment, KEY, observation, poolConfig, ratePerReplica, Session, T0 } from '../helpers.js';

const config = poolConfig({ policy: { forecast: { enabled: true, seasonal: { enabled: true } } } });
const r = ratePerReplica(config);
const DAY = 86_400;
/** quiet until the morning, then twice the rate within a quarter of an hour */
const rateAt = (t: number) => ((t % DAY) / DAY < 0.4 ? 1.5 * r : 3 * r);

describe('seasonal forecast in the decisions', () => {
  it('a new variant starts without history and says so; its season is kept for the next evaluation', () => {
    const s = new Session(config, [deployment('L4', 2)]);
    const first = s.decide(T0, [observation(1.5 * r, T0)]);
    expect(first.message).toMatch(/no demand history yet: no seasonal forecast/);
    expect(first.inputs.demand!.seasonal).toEqual({
      kind: 'no-history',
      note: 'no demand history yet: no seasonal forecast',
    });
    expect(s.seasons.get(KEY)).toBeDefined();
    const later = s.decide(T0 + 600, [observation(1.5 * r, T0 + 600)]);
    expect(later.message).toMatch(/h of the day's season seen of 24: no seasonal forecast yet/);
  });

  it('with a learnt day, sizes for the morning rise a lead time before it comes', () => {
    const lead = leadSeconds(config, config.variants[0]!, 'L4');
    const start = 10 * DAY;
    const before = start + 0.4 * DAY - lead / 2; // half a lead time before the rise
    let season: SeasonState | undefined;
    for (let t = start - 2 * DAY; t < before; t += 30) {
      season = observeSeason(season, t, rateAt(t), config.policy.forecast.seasonal);
    }
    const s = new Session(config, [deployment('L4', 2)]);
    s.seasons.set(KEY, season!);
    const d = s.decide(before, [observation(1.5 * r, before)]);
    expect(d.inputs.demand!.seasonal!.kind).toBe('forecast');
    expect(d.reason).toBe('forecast');
    expect(d.inputs.demand!.forecastRate).toBeGreaterThan(0.4 * r);
    expect(d.targetReplicas).toBeGreaterThan(2);
    // without the season, the same moment is sized for what is measured
    const plain = new Session(poolConfig({ policy: { forecast: { enabled: true } } }), [deployment('L4', 2)]);
    expect(plain.decide(before, [observation(1.5 * r, before)]).targetReplicas).toBe(2);
  });
});
