/**
 * The stabilisation window of one role of a disaggregated variant learnt from that role's own
 * releases (policy.learntWindow, docs/SIZING.md section 6): prefill and decode pods are released
 * and asked for again on their own schedules, so each role keeps its own history in the
 * variant's memory and learns its own length (or, with perLevel, a length per replica level).
 */
import type { Recommendation } from './memory.js';
import {
  describeLearntWindow,
  heldByLevel,
  learntWindow,
  levelWindows,
  trackReleases,
  type LearntWindow,
  type LearntWindowSettings,
  type ReleaseHistory,
} from './learntWindow.js';

export interface RoleWindowStep {
  readonly now: number;
  readonly accelerator: string;
  /** the replicas the role's plan asks for */
  readonly planned: number;
  /**
   * the share of the sized demand the measured arrivals are (measured / sized rate): a level is
   * the plan's replicas for the arrivals alone (policy.learntWindow.levels 'arrivals'), since the
   * backlog and the forecast in the sized rate depend on the capacity that ran
   */
  readonly arrivalsShare: number;
  /** the role's configured window: the longest a learnt one may be */
  readonly configuredSeconds: number;
  readonly leadSeconds: number;
  /** the highest replica level the window may have to hold (perLevel) */
  readonly highest: number;
}

export interface RoleWindow {
  readonly releases: ReleaseHistory;
  readonly settings: LearntWindowSettings;
  /** the window the role's recommendations are kept and held for */
  readonly seconds: number;
  /** what an earlier recommendation still holds (perLevel) */
  readonly heldBy?: (r: Recommendation) => number;
  /** the window learnt (one per role), undefined until enough releases are seen */
  readonly learnt?: LearntWindow;
  /** the window of each replica level 1.. (index 0 unused; perLevel) */
  readonly levels?: readonly number[];
  /** of them, those learnt (the rest are the configured window: too few releases reach them) */
  readonly levelsLearnt?: readonly boolean[];
}

/** Why the role's window has its length, for the decision's message. */
export function describeRoleWindow(w: RoleWindow): string {
  if (w.levels)
    return `windows per replica level ${w.levels
      .map((x, k) => `${Math.round(x)}${w.levelsLearnt?.[k] ? '' : '*'}`)
      .slice(1)
      .join(
        '/',
      )} s, learnt from the role's releases (*: fewer than ${w.settings.minReleases} reach the level: the configured window)`;
  return w.learnt
    ? describeLearntWindow(w.learnt, w.settings)
    : `fewer than ${w.settings.minReleases} releases of the role seen: the configured ${Math.round(w.seconds)} s window`;
}

/** The role's level at this evaluation: what the arrivals ask of the plan, or the plan itself. */
export function roleLevel(
  levels: 'arrivals' | 'recommendation',
  planned: number,
  arrivalsShare: number,
): number {
  if (levels === 'recommendation') return planned;
  const share = Number.isFinite(arrivalsShare) ? Math.min(Math.max(arrivalsShare, 0), 1) : 1;
  return Math.ceil(planned * share - 1e-9);
}

/** The role's releases tracked one step further and the window they teach. */
export function learnRoleWindow(
  previous: ReleaseHistory | undefined,
  step: RoleWindowStep,
  options: {
    levels: 'arrivals' | 'recommendation';
    regretLeadTimes: number;
    minReleases: number;
    perLevel: boolean;
  },
): RoleWindow {
  const { now, configuredSeconds } = step;
  const releases = trackReleases(previous, {
    now,
    accelerator: step.accelerator,
    level: roleLevel(options.levels, step.planned, step.arrivalsShare),
    horizonSeconds: configuredSeconds,
  });
  const settings: LearntWindowSettings = {
    leadSeconds: step.leadSeconds,
    horizonSeconds: configuredSeconds,
    regretLeadTimes: options.regretLeadTimes,
    minReleases: options.minReleases,
  };
  if (options.perLevel) {
    const { windows, learnt } = levelWindows(releases, settings, now, step.highest, configuredSeconds);
    return {
      releases,
      settings,
      seconds: Math.max(...windows.slice(1), step.leadSeconds),
      levels: windows,
      levelsLearnt: learnt.map((x) => x !== undefined),
      heldBy: (r) => heldByLevel(windows, r, now),
    };
  }
  const open = releases.open.map((o) => ({ age: now - o.t, replicas: o.high - o.low + 1 }));
  const learnt = learntWindow(releases.returns, settings, open);
  return { releases, settings, seconds: learnt?.seconds ?? configuredSeconds, ...(learnt ? { learnt } : {}) };
}
