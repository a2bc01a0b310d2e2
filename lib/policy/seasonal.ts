/**
 * A daily season of demand, learned online per variant (docs/SIZING.md section 6): additive
 * Holt-Winters over five-minute slots (level, trend, and one index per slot of the day), updated
 * each time a slot's measured rates are complete, with the one-step forecast error's variance
 * kept beside it as the forecast's own headroom. The state is small (288 indices and a few
 * numbers) and outlives invocations in a store of its own per variant (the SeasonStore port),
 * not in the pool's policy memory, which a week of points for a hundred variants would overflow.
 *
 * A variant starts without history and says so: the season forecasts only once every slot of a
 * whole day has been seen. Until then the slots hold the rates themselves and the level their
 * mean; the day complete, the level becomes that day's mean and each index its slot's gap to it
 * (the textbook start of Holt-Winters). Indices taken as the gap to a level that followed the
 * rates through the first day (version 1) were only that level's lag: on a repeated day the
 * season forecast the morning ramp below the rate measured at the time, and never learnt better,
 * since the level went on following the rates.
 */
export const SLOT_SECONDS = 300;
export const DAY_SLOTS = 86_400 / SLOT_SECONDS;

export interface SeasonState {
  readonly version: 2;
  /** the deseasonalised level; before a whole day has been seen, the mean of the slots seen */
  readonly level: number;
  readonly trend: number;
  /**
   * additive index per slot of the day; null until that slot has been seen; before every slot has
   * been seen, the slot's rate itself
   */
  readonly season: (number | null)[];
  /** absolute slot (floor(t / SLOT_SECONDS)) whose rates are being gathered */
  readonly slot: number;
  readonly sum: number;
  readonly count: number;
  /** exponentially weighted variance of the one-step forecast error (req/s squared) */
  readonly errorVariance: number;
  /** completed slots so far */
  readonly seen: number;
}

export interface SeasonSettings {
  /** smoothing of the level, the trend and the seasonal indices (Holt-Winters' alpha, beta, gamma) */
  readonly level: number;
  readonly trend: number;
  readonly season: number;
}

const slotOf = (t: number) => Math.floor(t / SLOT_SECONDS);
const dayIndex = (slot: number) => ((slot % DAY_SLOTS) + DAY_SLOTS) % DAY_SLOTS;

/** The state with a measured rate at time t added; a completed slot updates the season. */
export function observeSeason(
  previous: SeasonState | undefined,
  t: number,
  rate: number,
  s: SeasonSettings,
): SeasonState {
  const slot = slotOf(t);
  if (!previous) {
    return {
      version: 2,
      level: rate,
      trend: 0,
      season: Array<number | null>(DAY_SLOTS).fill(null),
      slot,
      sum: rate,
      count: 1,
      errorVariance: 0,
      seen: 0,
    };
  }
  if (slot === previous.slot) return { ...previous, sum: previous.sum + rate, count: previous.count + 1 };
  if (slot < previous.slot) return previous; // a clock gone back: keep what was learnt
  const completed = closeSlot(previous, s);
  // Slots skipped without a measurement (an outage) are not learnt from.
  return { ...completed, slot, sum: rate, count: 1 };
}

function closeSlot(p: SeasonState, s: SeasonSettings): SeasonState {
  const y = p.sum / p.count;
  const i = dayIndex(p.slot);
  if (p.season.some((x) => x === null)) return learnFirstDay(p, i, y, s);
  const index = p.season[i]!;
  const season = [...p.season];
  const forecast = p.level + p.trend + index;
  const error = y - forecast;
  const level = s.level * (y - index) + (1 - s.level) * (p.level + p.trend);
  const trend = s.trend * (level - p.level) + (1 - s.trend) * p.trend;
  season[i] = s.season * (y - level) + (1 - s.season) * index;
  const errorVariance = p.errorVariance + s.level * (error * error - p.errorVariance);
  return { ...p, level, trend, season, errorVariance, seen: p.seen + 1 };
}

/**
 * A slot of the first day (or of a day with slots still unseen): its rate is kept as it is (a slot
 * seen again before the day is complete smoothed by the season's gamma), and the level is the
 * mean of the slots kept. The slot that completes the day turns the rates into indices around
 * their mean, with no trend yet.
 */
function learnFirstDay(p: SeasonState, i: number, y: number, s: SeasonSettings): SeasonState {
  const season = [...p.season];
  const before = season[i];
  season[i] = before === null || before === undefined ? y : s.season * y + (1 - s.season) * before;
  const kept = season.filter((x): x is number => x !== null);
  const mean = kept.reduce((a, x) => a + x, 0) / kept.length;
  if (kept.length < DAY_SLOTS) return { ...p, level: mean, season, seen: p.seen + 1 };
  return {
    ...p,
    level: mean,
    trend: 0,
    season: season.map((x) => x! - mean),
    errorVariance: 0,
    seen: p.seen + 1,
  };
}

export type SeasonalForecast =
  | {
      readonly kind: 'forecast';
      /** the highest rate expected within the lead time, plus `errors` forecast errors */
      readonly rate: number;
      readonly expected: number;
      readonly error: number;
    }
  | { readonly kind: 'no-history'; readonly note: string };

/** The highest demand the season expects between now and now + lead, with its errors as headroom. */
export function seasonalForecast(
  state: SeasonState | undefined,
  now: number,
  leadSeconds: number,
  /** how many of its one-step errors the forecast adds as headroom */
  errors = 2,
): SeasonalForecast {
  if (!state || state.seen === 0) {
    return { kind: 'no-history', note: 'no demand history yet: no seasonal forecast' };
  }
  const missing = state.season.filter((x) => x === null).length;
  if (state.seen < DAY_SLOTS || missing > 0) {
    const hours = ((DAY_SLOTS - missing) * SLOT_SECONDS) / 3600;
    return {
      kind: 'no-history',
      note: `${hours.toFixed(1)} h of the day's season seen of 24: no seasonal forecast yet`,
    };
  }
  const from = slotOf(now);
  const to = slotOf(now + leadSeconds);
  let expected = -Infinity;
  for (let k = from; k <= to; k++) {
    const steps = k - state.slot + 1;
    expected = Math.max(expected, state.level + state.trend * steps + state.season[dayIndex(k)]!);
  }
  const error = Math.sqrt(Math.max(state.errorVariance, 0));
  return {
    kind: 'forecast',
    rate: Math.max(expected + errors * error, 0),
    expected: Math.max(expected, 0),
    error,
  };
}
