import {
  atOrAbove,
  describeLearntWindow,
  heldByLevel,
  learntWindow,
  levelWindows,
  MAX_RETURNS,
  trackReleases,
  type ReleaseHistory,
  type ReleaseReturn,
} from '../../lib/policy/learntWindow.js';

const step = (now: number, level: number) => ({ now, accelerator: 'L4', level, horizonSeconds: 1800 });

/** The history after evaluations of (time, level), from nothing. */
const track = (...levels: [number, number][]): ReleaseHistory =>
  levels.reduce<ReleaseHistory | undefined>((h, [t, l]) => trackReleases(h, step(t, l)), undefined)!;

describe('trackReleases', () => {
  it('opens the levels a drop releases, from the time they were last asked for', () => {
    const h = track([100, 6], [130, 2]);
    expect(h.open).toEqual([{ t: 100, low: 3, high: 6 }]);
    expect(h.returns).toEqual([]);
    expect(h.last).toEqual({ t: 130, replicas: 2 });
  });

  it('returns the levels asked again, with the time since they were released; the rest stay open', () => {
    const h = track([100, 6], [130, 2], [700, 4]);
    expect(h.returns).toEqual([{ t: 700, after: 600, replicas: 2, top: 4 }]);
    expect(h.open).toEqual([{ t: 100, low: 5, high: 6 }]);
  });

  it('a second drop below open levels opens only the levels under them', () => {
    let h = track([100, 6], [130, 4], [160, 1]);
    expect(h.open).toEqual([
      { t: 100, low: 5, high: 6 },
      { t: 130, low: 2, high: 4 },
    ]);
    h = trackReleases(h, step(190, 6));
    expect(h.returns).toEqual([
      { t: 190, after: 90, replicas: 2, top: 6 },
      { t: 190, after: 60, replicas: 3, top: 4 },
    ]);
    expect(h.open).toEqual([]);
  });

  it('counts levels not asked again within the horizon as not needed', () => {
    const h = track([100, 6], [130, 2], [1901, 2]);
    expect(h.returns).toEqual([{ t: 1901, after: null, replicas: 4, top: 6 }]);
    expect(h.open).toEqual([]);
  });

  it('forgets open levels and the last level when the accelerator changes (levels of another do not compare), keeps the returns', () => {
    const prev: ReleaseHistory = {
      accelerator: 'H100',
      open: [{ t: 100, low: 3, high: 6 }],
      last: { t: 100, replicas: 6 },
      returns: [{ t: 90, after: 30, replicas: 1, top: 1 }],
    };
    const h = trackReleases(prev, step(130, 1));
    expect(h.open).toEqual([]);
    expect(h.returns).toEqual(prev.returns);
    expect(h.accelerator).toBe('L4');
  });

  it(`keeps the newest ${MAX_RETURNS} returns`, () => {
    const prev: ReleaseHistory = {
      accelerator: 'L4',
      open: [{ t: 100, low: 3, high: 3 }],
      returns: Array.from({ length: MAX_RETURNS }, (_, i) => ({ t: i, after: 30, replicas: 1, top: 1 })),
    };
    const h = trackReleases(prev, step(160, 3));
    expect(h.returns).toHaveLength(MAX_RETURNS);
    expect(h.returns.at(-1)).toEqual({ t: 160, after: 60, replicas: 1, top: 3 });
    expect(h.returns[0]!.t).toBe(1);
  });
});

describe('learntWindow', () => {
  const settings = { leadSeconds: 400, horizonSeconds: 1800, regretLeadTimes: 2, minReleases: 8 };
  const back = (after: number | null, n = 8): ReleaseReturn[] =>
    Array.from({ length: n }, (_, i) => ({ t: i, after, replicas: 1, top: 1 }));

  it('decides nothing before minReleases', () => {
    expect(learntWindow(back(1000, 7), settings)).toBeUndefined();
  });

  it('holds until replicas are asked again when that costs less than buying them again', () => {
    // held 1,000 s each (8,000) against a lead time and a regret of two (8 x 1,200 = 9,600)
    const w = learntWindow(back(1000), settings)!;
    expect(w.seconds).toBe(1001);
    expect(w).toMatchObject({ released: 8, heldUntilAsked: 8, boughtAgain: 0, notAsked: 0 });
  });

  it('lets go after one lead time when released replicas come back later than holding is worth', () => {
    // held 1,700 s each costs more than 3 lead times (1,200)
    const w = learntWindow(back(1700), settings)!;
    expect(w.seconds).toBe(400);
    expect(w.boughtAgain).toBe(8);
  });

  it('is shortened by releases never asked again: holding them is paid for nothing', () => {
    const w = learntWindow([...back(1000), ...back(null)], settings)!;
    expect(w.seconds).toBe(400);
    expect(w).toMatchObject({ released: 16, heldUntilAsked: 0, boughtAgain: 8, notAsked: 8 });
  });

  it('never shorter than a lead time, however soon replicas come back', () => {
    expect(learntWindow(back(60), settings)!.seconds).toBe(400);
  });

  it('never longer than the horizon', () => {
    const w = learntWindow(back(1799), { ...settings, regretLeadTimes: 10 })!;
    expect(w.seconds).toBe(1800);
  });

  it('grows with what buying again costs', () => {
    expect(learntWindow(back(1300), settings)!.seconds).toBe(400);
    expect(learntWindow(back(1300), { ...settings, regretLeadTimes: 3 })!.seconds).toBe(1301);
  });

  it('counts the releases still open: quick returns complete first and would learn too short a window', () => {
    // 8 replicas open for 1,500 s have cost 1,500 s each under the longer window, 400 s under
    // one lead time: that outweighs the regrets 8 late returns save
    const quick = back(60);
    const late = back(1000);
    expect(learntWindow([...quick, ...late], settings)!.seconds).toBe(1001);
    expect(learntWindow([...quick, ...late], settings, [{ age: 1500, replicas: 8 }])!.seconds).toBe(400);
    // open for 500 s: they cost no more than 500 s under the longer window so far
    expect(learntWindow([...quick, ...late], settings, [{ age: 500, replicas: 8 }])!.seconds).toBe(1001);
  });

  it('says why the window has its length', () => {
    const w = learntWindow([...back(1000), ...back(null, 1)], settings)!;
    expect(describeLearntWindow(w, settings)).toBe(
      'window learnt from 9 replicas released: 8 asked again within 1001 s, 0 later, 1 not within 1800 s ' +
        '(the least replica-seconds, a replica bought again costing 2 lead times of 400 s)',
    );
  });
});

describe('a window per replica level', () => {
  const settings = { leadSeconds: 400, horizonSeconds: 1800, regretLeadTimes: 2, minReleases: 8 };
  // the low replicas (1-2) come back within a minute, the burst's top ones (3-4) after 1,000 s
  const returns: ReleaseReturn[] = [
    ...Array.from({ length: 8 }, (_, i) => ({ t: i, after: 60, replicas: 2, top: 2 })),
    ...Array.from({ length: 8 }, (_, i) => ({ t: i, after: 1000, replicas: 2, top: 4 })),
  ];

  it('keeps of the samples only the replicas at or above the level', () => {
    const above = atOrAbove(returns, [{ t: 100, low: 2, high: 5 }], 3, 400);
    expect(above.returns).toHaveLength(8);
    expect(above.returns[0]).toMatchObject({ after: 1000, replicas: 2 });
    expect(above.open).toEqual([{ age: 300, replicas: 3 }]);
  });

  it('learns each level from its own returns; the configured window where too few reach it', () => {
    const history: ReleaseHistory = { accelerator: 'L4', open: [], returns };
    const { windows, learnt } = levelWindows(history, settings, 2000, 5, 1596);
    // levels 1-2: their own quick returns and the burst's above them (a replica 2 is held while a
    // replica 4 is): held as long as the burst's
    expect(windows.slice(1, 3)).toEqual([1001, 1001]);
    expect(learnt[1]).toMatchObject({ released: 32, heldUntilAsked: 32 });
    // levels 3-4: only the burst's, back after 1,000 s: held
    expect(windows.slice(3, 5)).toEqual([1001, 1001]);
    expect(learnt[3]).toMatchObject({ released: 16, heldUntilAsked: 16 });
    // level 5: never released, the configured window
    expect(windows[5]).toBe(1596);
    expect(learnt[5]).toBeUndefined();
    // a burst whose top came back too late to be worth holding: let go after a lead time, and the
    // quick levels below it with it
    const late: ReleaseReturn[] = [
      ...returns.slice(0, 8),
      ...Array.from({ length: 8 }, (_, i) => ({ t: i, after: 1700, replicas: 2, top: 4 })),
    ];
    const w = levelWindows({ accelerator: 'L4', open: [], returns: late }, settings, 2000, 4, 1596).windows;
    expect(w.slice(1)).toEqual([400, 400, 400, 400]);
  });

  it('an entry holds its highest level whose window has not run out', () => {
    const windows = [0, 400, 400, 1001, 1001];
    expect(heldByLevel(windows, { t: 1000, replicas: 4 }, 1300)).toBe(4);
    expect(heldByLevel(windows, { t: 1000, replicas: 6 }, 1300)).toBe(4);
    expect(heldByLevel([0, 1001, 1001, 400, 400], { t: 1000, replicas: 4 }, 1500)).toBe(2);
    expect(heldByLevel(windows, { t: 1000, replicas: 4 }, 2100)).toBe(0);
  });
});
