/**
 * A stabilisation window learnt per variant (policy.learntWindow, docs/SIZING.md section 6): how
 * long replica levels the variant let go of took to be asked for again. A level is what the
 * measured arrivals need at the rate one replica sustains (levels: 'arrivals'; arrivals do not
 * depend on the capacity that ran, so the history is the same whatever window ran) or the
 * recommendation (levels: 'recommendation'; it asks more where a backlog built up for want of
 * capacity). The window holds a level for as long after its last asking as the window lasts, so
 * each released level, once asked again, says exactly which window would have kept it; a level
 * not asked again within the longest window says that holding it was paid for nothing.
 *
 * The length is the one that would have cost least over that history, counted in replica-seconds:
 * a level held until it is asked again (or the window ends) costs the time held; a level asked
 * again after the window let it go is bought again: a lead time paid for a replica that does not
 * serve yet, and a lead time in which the demand it served goes without (`regretLeadTimes` lead
 * times in all). Levels still open count for the time they have been open. Never shorter than one
 * lead time (a release cannot be undone sooner), never longer than the longest window (the
 * recommendations are not kept longer).
 */

/** Replica levels released and not recommended again yet: low..high, last recommended at t. */
export interface OpenRelease {
  readonly t: number;
  readonly low: number;
  readonly high: number;
}

/** Replicas released at once and how long they took to be asked again (null: not within the horizon). */
export interface ReleaseReturn {
  readonly t: number;
  readonly after: number | null;
  readonly replicas: number;
  /** the highest level among them (they are levels top - replicas + 1 .. top) */
  readonly top: number;
}

export interface ReleaseHistory {
  /** the accelerator the open levels are counted on (levels of another do not compare) */
  readonly accelerator: string;
  readonly open: readonly OpenRelease[];
  /** the level of the last evaluation counted */
  readonly last?: { readonly t: number; readonly replicas: number };
  /** the newest returns, oldest first */
  readonly returns: readonly ReleaseReturn[];
}

/** Returns kept per variant: the memory is one item per pool (lib/adapters/dynamodb). */
export const MAX_RETURNS = 64;

export interface ReleaseStep {
  readonly now: number;
  readonly accelerator: string;
  /** the replicas asked for at this evaluation (the recommendation, or what the arrivals need) */
  readonly level: number;
  /** levels not asked again within this long count as not needed (the longest window) */
  readonly horizonSeconds: number;
}

/** The history advanced by one evaluation: levels asked again return, a drop opens levels. */
export function trackReleases(prev: ReleaseHistory | undefined, step: ReleaseStep): ReleaseHistory {
  const { now, level: r } = step;
  const returns = [...(prev?.returns ?? [])];
  const open: OpenRelease[] = [];
  const same = prev?.accelerator === step.accelerator;
  for (const o of same ? prev.open : []) {
    if (now - o.t > step.horizonSeconds) {
      returns.push({ t: now, after: null, replicas: o.high - o.low + 1, top: o.high });
      continue;
    }
    if (o.low <= r) {
      const top = Math.min(o.high, r);
      returns.push({ t: now, after: now - o.t, replicas: top - o.low + 1, top });
      if (o.high > r) open.push({ t: o.t, low: r + 1, high: o.high });
    } else {
      open.push(o);
    }
  }
  const p = same ? prev.last : undefined;
  if (p && r < p.replicas) {
    // levels above what is still open were asked for later; below the lowest open one only
    const lowestOpen = Math.min(...open.map((o) => o.low), Infinity);
    const high = Math.min(p.replicas, lowestOpen - 1);
    if (high > r) open.push({ t: p.t, low: r + 1, high });
  }
  return {
    accelerator: step.accelerator,
    open,
    last: { t: now, replicas: r },
    returns: returns.slice(-MAX_RETURNS),
  };
}

export interface LearntWindow {
  readonly seconds: number;
  /** released replicas counted (asked again or not within the horizon) */
  readonly released: number;
  /** of them, asked again within the window */
  readonly heldUntilAsked: number;
  /** asked again after the window: bought again */
  readonly boughtAgain: number;
  /** not asked again within the horizon */
  readonly notAsked: number;
}

export interface LearntWindowSettings {
  readonly leadSeconds: number;
  readonly horizonSeconds: number;
  /** what buying a released replica again costs, in lead times of one replica */
  readonly regretLeadTimes: number;
  /** releases (drops of the recommendation) seen before the history decides */
  readonly minReleases: number;
}

/**
 * The window that would have cost least over the variant's releases, within one lead time and the
 * horizon; undefined until minReleases releases have returned or run out the horizon.
 */
export function learntWindow(
  returns: readonly ReleaseReturn[],
  s: LearntWindowSettings,
  /** levels released and not asked again yet: for how long, how many */
  open: readonly { readonly age: number; readonly replicas: number }[] = [],
): LearntWindow | undefined {
  if (returns.length < s.minReleases) return undefined;
  const regret = s.regretLeadTimes * s.leadSeconds;
  // Quick returns complete first, so leaving out the releases still open would learn too short a
  // window: one open for `age` has cost min(w, age) so far (a lower bound: it may come back after
  // the window yet).
  const cost = (w: number) => {
    let sum = 0;
    for (const x of returns) {
      if (x.after === null || x.after > s.horizonSeconds) sum += x.replicas * w;
      // held while its last recommendation is inside the window (stabilize: r.t > now - window)
      else sum += x.replicas * (x.after < w ? x.after : w + regret);
    }
    for (const o of open) sum += o.replicas * Math.min(w, o.age);
    return sum;
  };
  const lo = Math.min(s.leadSeconds, s.horizonSeconds);
  const candidates = [lo, s.horizonSeconds];
  for (const x of returns) {
    if (x.after !== null && x.after + 1 > lo && x.after + 1 < s.horizonSeconds) candidates.push(x.after + 1);
  }
  let best = lo;
  let bestCost = cost(lo);
  for (const w of candidates) {
    const c = cost(w);
    // the shorter of two equal costs
    if (c < bestCost - 1e-9 || (Math.abs(c - bestCost) <= 1e-9 && w < best)) {
      best = w;
      bestCost = c;
    }
  }
  let heldUntilAsked = 0;
  let boughtAgain = 0;
  let notAsked = 0;
  for (const x of returns) {
    if (x.after === null || x.after > s.horizonSeconds) notAsked += x.replicas;
    else if (x.after < best) heldUntilAsked += x.replicas;
    else boughtAgain += x.replicas;
  }
  return {
    seconds: best,
    released: heldUntilAsked + boughtAgain + notAsked,
    heldUntilAsked,
    boughtAgain,
    notAsked,
  };
}

/** Why the window has its length, for the decision's message. */
export function describeLearntWindow(w: LearntWindow, s: LearntWindowSettings): string {
  return (
    `window learnt from ${w.released} replicas released: ${w.heldUntilAsked} asked again within ${Math.round(w.seconds)} s, ` +
    `${w.boughtAgain} later, ${w.notAsked} not within ${Math.round(s.horizonSeconds)} s ` +
    `(the least replica-seconds, a replica bought again costing ${s.regretLeadTimes} lead times of ${Math.round(s.leadSeconds)} s)`
  );
}

/**
 * The samples of replica `level` and above only (levels below it left out): the top replicas of
 * a burst come back with the next burst, the low ones within minutes; one window for all would be
 * learnt from the many low ones.
 */
export function atOrAbove(
  returns: readonly ReleaseReturn[],
  open: readonly OpenRelease[],
  level: number,
  now: number,
): { returns: ReleaseReturn[]; open: { age: number; replicas: number }[] } {
  const count = (low: number, high: number) => Math.max(0, high - Math.max(low, level) + 1);
  return {
    returns: returns
      .map((x) => ({ ...x, replicas: count(x.top - x.replicas + 1, x.top) }))
      .filter((x) => x.replicas > 0),
    open: open.map((o) => ({ age: now - o.t, replicas: count(o.low, o.high) })).filter((o) => o.replicas > 0),
  };
}

/**
 * The window of each replica level 1..highest (index 0 unused), learnt from that level and those
 * above it; `configured` where fewer than minReleases samples reach the level.
 */
export function levelWindows(
  history: ReleaseHistory,
  s: LearntWindowSettings,
  now: number,
  highest: number,
  configured: number,
): { windows: number[]; learnt: (LearntWindow | undefined)[] } {
  const windows = [0];
  const learnt: (LearntWindow | undefined)[] = [undefined];
  for (let k = 1; k <= highest; k++) {
    const above = atOrAbove(history.returns, history.open, k, now);
    const w = learntWindow(above.returns, s, above.open);
    learnt.push(w);
    windows.push(w?.seconds ?? configured);
  }
  return { windows, learnt };
}

/** Replicas an entry still holds: the highest level of it whose window has not run out since. */
export function heldByLevel(
  windows: readonly number[],
  entry: { t: number; replicas: number },
  now: number,
): number {
  for (let k = Math.min(entry.replicas, windows.length - 1); k >= 1; k--)
    if (now - entry.t < windows[k]!) return k;
  return 0;
}
