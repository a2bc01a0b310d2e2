/** updateTrendSkill() and trendSkillFactor(): each forecast judged a lead time on, hand-computed. */
import {
  describeTrendSkill,
  trendSkillFactor,
  updateTrendSkill,
  type TrendPoint,
} from '../../lib/policy/trendSkill.js';

const LEAD = 600;
const HALF_LIFE = 3600;
const ctx = (now: number, measured: number, judgedBy: 'highest' | 'end' = 'end') => ({
  now,
  measured,
  leadSeconds: LEAD,
  halfLifeSeconds: HALF_LIFE,
  judgedBy,
});

describe('updateTrendSkill', () => {
  const history: TrendPoint[] = [
    { t: 0, rate: 10, trend: 4 },
    { t: 300, rate: 12 },
  ];

  it('judges the forecast made a lead time ago against the rate measured now', () => {
    // 10 req/s then, 4 forecast; 11 now: 1 of the 4 came
    expect(updateTrendSkill(undefined, history, ctx(600, 11))).toEqual({
      forecast: 4,
      came: 1,
      judged: 1,
      t: 0,
    });
  });

  it('judged by the highest rate over the lead time: what came at 300 s counts, gone by now', () => {
    // 12 req/s at 300 s, 11 now: 2 of the 4 came
    expect(updateTrendSkill(undefined, history, ctx(600, 11, 'highest'))!.came).toBe(2);
    expect(updateTrendSkill(undefined, history, ctx(600, 13, 'highest'))!.came).toBe(3);
  });

  it('counts a rise beyond the forecast only up to it, and a fall as nothing', () => {
    expect(updateTrendSkill(undefined, history, ctx(600, 30))!.came).toBe(4);
    expect(updateTrendSkill(undefined, history, ctx(600, 3))!.came).toBe(0);
  });

  it('judges nothing before the history reaches a lead time back, nor where no rise was forecast', () => {
    expect(updateTrendSkill(undefined, history, ctx(599, 11))).toBeUndefined();
    const previous = { forecast: 4, came: 1, judged: 1, t: 0 };
    // the point a lead time before 900 is the one at 300, which forecast nothing
    expect(updateTrendSkill(previous, history, ctx(900, 20))).toBe(previous);
    // the one at 0 again, already judged
    expect(updateTrendSkill(previous, history, ctx(630, 20))).toBe(previous);
  });

  it('decays earlier evidence with the half-life between the forecasts judged', () => {
    const previous = { forecast: 4, came: 4, judged: 1, t: 0 };
    const later: TrendPoint[] = [{ t: HALF_LIFE, rate: 10, trend: 2 }];
    const next = updateTrendSkill(previous, later, ctx(HALF_LIFE + LEAD, 10))!;
    expect(next.forecast).toBeCloseTo(2 + 2, 12);
    expect(next.came).toBeCloseTo(2 + 0, 12);
    expect(next.judged).toBe(2);
    expect(next.t).toBe(HALF_LIFE);
  });
});

describe('trendSkillFactor', () => {
  it('is undefined until enough forecasts were judged, then the share of the forecast that came', () => {
    expect(trendSkillFactor(undefined, 20)).toBeUndefined();
    expect(trendSkillFactor({ forecast: 10, came: 3, judged: 19, t: 0 }, 20)).toBeUndefined();
    expect(trendSkillFactor({ forecast: 10, came: 3, judged: 20, t: 0 }, 20)).toBeCloseTo(0.3, 12);
    expect(trendSkillFactor({ forecast: 10, came: 0, judged: 25, t: 0 }, 20)).toBe(0);
    expect(trendSkillFactor({ forecast: 10, came: 10, judged: 25, t: 0 }, 20)).toBe(1);
  });
});

describe('describeTrendSkill', () => {
  it('says whether the forecast is bought whole for want of evidence, or how much of it', () => {
    expect(describeTrendSkill({ rate: 4, skill: null, evidence: 3 }, 26.6)).toMatch(
      /not learnt yet \(3 of 27 forecasts judged a lead time on\): its forecast bought whole/,
    );
    expect(describeTrendSkill({ rate: 4, skill: 0.25, evidence: 40 }, 26.6)).toMatch(
      /skill 0\.25 .*bought 1\.00 of its 4\.00 req\/s/,
    );
  });
});
