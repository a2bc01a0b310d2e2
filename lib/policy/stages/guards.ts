/**
 * Stage 4: the rules a recommendation must pass before it becomes a target. Idle variants go to
 * zero only after the idle window; min and max replicas bound everything; the stabilisation
 * window and step limits stop flapping and adapt to bursty demand; and a move to another
 * accelerator is make-before-break. A held variant only has its replicas kept within min and max.
 */
import type { Config, VariantConfig } from '../../config/schema.js';
import type { ScalingReason } from '../decisionRecord.js';
import type { Recommendation as WindowEntry, VariantMemory } from '../memory.js';
import type { CurrentState } from '../plan.js';
import { stabilize } from '../stabilize.js';
import { adaptWindow, coversBursts, leadSeconds, longestWindow, stabilizationWindow } from '../window.js';
import {
  describeLearntWindow,
  heldByLevel,
  learntWindow,
  levelWindows,
  trackReleases,
  type LearntWindowSettings,
} from '../learntWindow.js';
import { cautiousRise } from '../caution.js';
import {
  describeHold,
  expectedRise,
  heldByEntry,
  rateExpected,
  replicasForMeasured,
  type ForecastHold,
} from '../forecastCapacity.js';
import type { Recommendation } from '../recommend.js';
import { describeLessNoise, noiseInHighest, replicasLessNoise, type NoiseWindow } from '../windowNoise.js';
import { isMeasured, type Measured } from './demand.js';
import type { Sized } from './size.js';

export interface Guarded extends Sized {
  readonly accelerator: string;
  readonly target: number;
  readonly reason: ScalingReason;
  readonly message: string;
  /** moving replicas from one accelerator to another */
  readonly migrating: boolean;
  /** replicas per accelerator to ask for (includes an old accelerator kept during a move, and a spill) */
  readonly deployments: ReadonlyMap<string, number>;
  /** what the optimizer recommended on the accelerator, before the window and step limits */
  readonly recommended?: number;
  /** the shortfall run on another accelerator (lib/policy/spill.ts) */
  readonly spill?: { readonly accelerator: string; readonly replicas: number };
  /** what the stabilisation window keeps of this evaluation (nothing without an accelerator) */
  readonly windowEntry?: WindowEntry;
  /** the adaptive window's state after this evaluation */
  readonly windowMemory: Partial<VariantMemory>;
  /** the stabilisation window this evaluation held the target over (seconds) */
  readonly windowSeconds?: number;
}

export function guard(s: Sized, config: Config, now: number): Guarded {
  return isMeasured(s) ? guardMeasured(s, config, now) : guardHold(s, now);
}

/** Hold what runs, within min and max: a new variant with no pods yet has no metrics either. */
export function guardHold(s: Sized, now: number): Guarded {
  const { v, current, recommendation } = s;
  const target = withinBounds(v, current.desired);
  const deployments = new Map<string, number>();
  for (const [acc, d] of current.byAccelerator) deployments.set(acc, d.desired);
  if (current.accelerator) deployments.set(current.accelerator, target);
  return {
    ...s,
    accelerator: current.accelerator,
    target,
    reason: recommendation.reason,
    message:
      recommendation.message + (target !== current.desired ? `; kept within min/max at ${target}` : ''),
    migrating: false,
    deployments,
    // A hold is a recommendation to keep what runs, so the window cannot forget it.
    windowEntry: current.accelerator
      ? { t: now, accelerator: current.accelerator, replicas: target }
      : undefined,
    windowMemory: {},
  };
}

function guardMeasured(s: Sized & Measured, config: Config, now: number): Guarded {
  const { current } = s;
  const bounded = idleAndBounds(s, config, now);
  const stabilized = stabilizeTarget(s, bounded, config, now);
  const decided = refuseShrinkOnGaps(s, {
    accelerator: bounded.accelerator,
    replicas: stabilized.target,
    reason: stabilized.reason,
    message: stabilized.message,
  });
  return {
    ...s,
    accelerator: decided.accelerator,
    target: decided.replicas,
    reason: decided.reason,
    message: decided.message,
    migrating: decided.accelerator !== current.accelerator && current.desired > 0,
    deployments: makeBeforeBreak(current, decided.accelerator, decided.replicas),
    recommended: bounded.replicas,
    windowEntry: windowEntry(s, bounded, config, now, stabilized.expected, stabilized.windowSeconds),
    windowMemory: stabilized.windowMemory,
    windowSeconds: stabilized.windowSeconds,
  };
}

/** What the window keeps of this evaluation: its replicas, and of them those for measured demand. */
function windowEntry(
  s: Measured & Sized,
  bounded: Recommendation,
  config: Config,
  now: number,
  /** the replicas the demand expected a lead time from now needs (holdAsExpected, rise learnt) */
  expected: number | undefined,
  /** the window this evaluation was held over */
  windowSeconds: number,
): WindowEntry {
  // Replicas asked for because no fleet meets the targets (all that is allowed or free) are not
  // sized for the rate: the window holds them as they are.
  const sized = bounded.reason !== 'capacity' && bounded.reason !== 'max-replicas';
  const noise = noiseWindow(s, config, windowSeconds);
  const variation = config.policy.windowNoise.variation;
  const arrivals = noise && variation === 'measured' ? { arrivals: s.demand.measured } : {};
  const lessNoise =
    noise && sized
      ? replicasLessNoise(
          s.demand,
          bounded.replicas,
          s.ratePerReplica,
          s.v.minReplicas,
          noiseInHighest(
            s.demand.measured,
            [
              ...s.memory.recommendations
                .filter((r) => r.t > now - windowSeconds && r.arrivals !== undefined)
                .map((r) => r.arrivals!),
              s.demand.measured,
            ],
            noise,
            variation,
          ),
        ).replicas
      : bounded.replicas;
  const entry = {
    t: now,
    accelerator: bounded.accelerator,
    replicas: bounded.replicas,
    ...(expected !== undefined ? { expected } : {}),
    ...(lessNoise < bounded.replicas ? { lessNoise } : {}),
    ...arrivals,
  };
  if (!config.policy.forecastCapacity.holdAsExpected || !sized) return entry;
  const measured = replicasForMeasured(s.demand, bounded.replicas, s.ratePerReplica, s.v.minReplicas);
  return measured < bounded.replicas ? { ...entry, measured } : entry;
}

/** The windows the sampling noise is judged over (policy.windowNoise; undefined when off). */
function noiseWindow(s: Sized, config: Config, holdSeconds: number): NoiseWindow | undefined {
  if (!config.policy.windowNoise.enabled || !s.observation) return undefined;
  return { rateWindowSeconds: s.observation.windowSeconds, holdSeconds };
}

/** What an earlier recommendation holds before any other rule: all of it, or less its noise. */
const heldOf = (r: WindowEntry) => Math.min(r.lessNoise ?? r.replicas, r.replicas);

const withinBounds = (v: VariantConfig, replicas: number) =>
  Math.min(Math.max(replicas, v.minReplicas), v.maxReplicas ?? Infinity);

/**
 * Idle: scale to zero only when allowed, nothing arrived for the whole idle window and nothing
 * waits; then min and max. A request waiting (in an engine, or in the gateway's flow-control
 * queue for a variant at zero) is demand however long ago it arrived: it gets a replica.
 */
export function idleAndBounds(s: Sized & Measured, config: Config, now: number): Recommendation {
  const { v, current, demand, memory } = s;
  let { replicas, reason, message } = s.recommendation;
  if (demand.measured === 0 && v.minReplicas === 0) {
    const idleSince = memory.lastArrivalAt ?? -Infinity;
    const waiting = s.observation?.waiting?.value ?? 0;
    if (waiting > 0) {
      replicas = Math.max(replicas, 1);
    } else if (now - idleSince >= config.policy.idleWindowSeconds) {
      replicas = 0;
      reason = 'idle';
      message = `no arrivals for ${Number.isFinite(idleSince) ? `${Math.round(now - idleSince)} s` : 'the whole history'}`;
    } else {
      replicas = Math.max(replicas, Math.min(current.desired, 1));
    }
  }
  if (replicas < v.minReplicas) {
    replicas = v.minReplicas;
    reason = 'min-replicas';
    message = `held at minReplicas ${v.minReplicas}`;
  }
  if (v.maxReplicas !== undefined && replicas > v.maxReplicas) {
    replicas = v.maxReplicas;
    reason = 'max-replicas';
    message = `capped at maxReplicas ${v.maxReplicas}`;
  }
  return { accelerator: s.recommendation.accelerator, replicas, reason, message };
}

/**
 * The stabilisation window and step limits on the accelerator recommended, the window adapted
 * to this step, and min and max once more (a window can hold more than a lowered maximum).
 */
export function stabilizeTarget(
  s: Sized,
  recommended: Recommendation,
  config: Config,
  now: number,
): {
  target: number;
  reason: ScalingReason;
  message: string;
  windowMemory: Partial<VariantMemory>;
  windowSeconds: number;
  /** the replicas the demand expected a lead time from now needs (holdAsExpected, rise learnt) */
  expected?: number;
} {
  const { v, current, memory } = s;
  const policy = config.policy;
  const { accelerator } = recommended;
  let { reason, message } = recommended;
  const currentOnTarget = current.byAccelerator.get(accelerator)?.desired ?? 0;
  const lead = leadSeconds(config, v, accelerator);
  // Caution learnt from the variant's rises, once a lead time's worth of them has been seen;
  // before, the configured window (a few lead times, adapted to regrets).
  const rise = policy.caution.enabled
    ? cautiousRise(s.rise, policy.itlDistribution.missShare, lead / policy.intervalSeconds)
    : undefined;
  const history = memory.recommendations.filter((r) => r.accelerator === accelerator);
  const learnt = learnWindow(s, recommended, config, now, lead);
  const adaptedWindow =
    policy.adaptiveWindow.enabled && !coversBursts(config)
      ? (memory.window ?? policy.adaptiveWindow.initialSeconds)
      : 0;
  const configured = Math.max(stabilizationWindow(config, v, accelerator), adaptedWindow);
  // The rise is of rates counted at one request per window of resolution, as it was learnt.
  const resolution = s.observation ? 1 / s.observation.windowSeconds : 0;
  const forecastHold = holdAsExpected(s, config, now, lead, resolution, history);
  // A window per replica level (policy.learntWindow.perLevel): the entries are held level by level.
  const perLevel =
    rise === undefined && learnt?.releases && policy.learntWindow.perLevel && !forecastHold
      ? levelWindows(
          learnt.releases,
          learnt.settings,
          now,
          Math.max(recommended.replicas, currentOnTarget, ...history.map((r) => r.replicas)),
          configured,
        )
      : undefined;
  const window =
    rise !== undefined
      ? lead
      : perLevel
        ? Math.max(...perLevel.windows)
        : (learnt?.window?.seconds ?? configured);
  // policy.windowNoise: each entry counts as its replicas less the rate's noise, then the rules above.
  const lessNoise = policy.windowNoise.enabled;
  const base = (r: WindowEntry): WindowEntry =>
    lessNoise
      ? {
          ...r,
          replicas: heldOf(r),
          ...(r.measured !== undefined ? { measured: Math.min(r.measured, heldOf(r)) } : {}),
        }
      : r;
  const heldBy = forecastHold
    ? (r: WindowEntry) => heldByEntry(base(r), forecastHold.hold)
    : perLevel
      ? (r: WindowEntry) => heldByLevel(perLevel.windows, base(r), now)
      : lessNoise
        ? heldOf
        : undefined;
  const stabilized = stabilize({
    now,
    current: currentOnTarget,
    recommended: recommended.replicas,
    history,
    windowSeconds: window,
    observedSince: memory.observedSince ?? now,
    up: policy.scaleUpMaxStep,
    down: policy.scaleDownMaxStep,
    ...(heldBy ? { heldBy } : {}),
  });
  let target = stabilized.replicas;
  // Released capacity is back a lead time later at best: keep what the rise demand has shown
  // within a lead time would need, at the rate one replica sustains within the targets.
  const cautiousRate = s.demand
    ? Math.max(s.demand.rate, (s.demand.measured + resolution) * (rise ?? 1) - resolution)
    : 0;
  const kept =
    rise !== undefined && s.ratePerReplica
      ? Math.min(currentOnTarget, Math.ceil(cautiousRate / s.ratePerReplica - 1e-9))
      : 0;
  const keptForRise = target < currentOnTarget && kept > target;
  if (keptForRise) target = kept;
  // Forecast and backlog explain growth; a smaller target is the measured load's doing.
  if (target < currentOnTarget && (reason === 'forecast' || reason === 'backlog')) reason = 'load';
  if (stabilized.limitedBy && reason !== 'idle') {
    reason = 'stabilization';
    const heldWindow = perLevel
      ? `the window of replica ${stabilized.replicas}, ${Math.round(perLevel.windows[stabilized.replicas] ?? window)} s`
      : `the ${Math.round(window)} s window`;
    message = `${message}; ${stabilized.limitedBy === 'window' ? `held by ${heldWindow}` : 'limited by the step size'} (recommended ${recommended.replicas})`;
    const inWindow = history.filter((r) => r.t > now - window);
    // (with no entries yet, what runs stands for the recommendations not seen: nothing to name)
    const noise = stabilized.limitedBy === 'window' ? noiseWindow(s, config, window) : undefined;
    if (noise && inWindow.some((r) => heldOf(r) < r.replicas))
      message = `${message}; ${describeLessNoise(noise, policy.windowNoise.variation)}`;
    if (stabilized.limitedBy === 'window' && forecastHold && inWindow.length > 0)
      message = `${message}: ${describeHold(inWindow, forecastHold.hold, forecastHold.rise)}`;
    if (stabilized.limitedBy === 'window' && perLevel) {
      const w = perLevel.learnt[stabilized.replicas];
      message = `${message}; ${
        w
          ? `replicas ${stabilized.replicas} and above: ${describeLearntWindow(w, learnt!.settings)}`
          : `fewer than ${learnt!.settings.minReleases} releases of replicas ${stabilized.replicas} and above seen: the configured window`
      }`;
    } else if (stabilized.limitedBy === 'window' && learnt && rise === undefined)
      message = `${message}; ${
        learnt.window
          ? describeLearntWindow(learnt.window, learnt.settings)
          : `fewer than ${learnt.settings.minReleases} releases seen: the configured window`
      }`;
  }
  if (keptForRise && reason !== 'idle') {
    reason = 'stabilization';
    message = `${message}; keeps ${target} for ${cautiousRate.toFixed(3)} req/s, a rise of x${rise!.toFixed(2)} within the ${Math.round(lead)} s lead time (recommended ${recommended.replicas})`;
  } else if (policy.caution.enabled && rise === undefined && target < currentOnTarget) {
    message = `${message}; no lead time of rises seen yet: the configured window rules`;
  }
  // A regret is capacity released that demand asks for again: with regretOnMeasured, measured
  // demand, not a forecast of it.
  const asked =
    policy.forecastCapacity.regretOnMeasured && s.demand
      ? replicasForMeasured(s.demand, recommended.replicas, s.ratePerReplica, v.minReplicas)
      : undefined;
  const adapted = adaptWindow(config, v, accelerator, memory, {
    now,
    window,
    current: currentOnTarget,
    target,
    ...(asked !== undefined ? { asked } : {}),
  });
  // (a learnt window does not grow by regrets: they are in what it learns from)
  if (adapted.note && !learnt?.window) message = `${message}; ${adapted.note}`;
  return {
    target: withinBounds(v, target),
    reason,
    message,
    windowMemory: learnt?.releases ? { ...adapted.memory, releases: learnt.releases } : adapted.memory,
    windowSeconds: window,
    ...(forecastHold?.expectedNow !== undefined ? { expected: forecastHold.expectedNow } : {}),
  };
}

/**
 * The releases of the recommendation tracked one step further, and the window they teach
 * (policy.learntWindow; undefined when off; `window` undefined until enough have been seen).
 */
function learnWindow(s: Sized, recommended: Recommendation, config: Config, now: number, lead: number) {
  const settingsIn = config.policy.learntWindow;
  if (!settingsIn.enabled) return undefined;
  const horizonSeconds = longestWindow(config, s.v, recommended.accelerator);
  // The arrivals do not depend on the capacity that ran; the recommendation does (a backlog where
  // capacity was let go asks more), so the arrivals' replicas are the unbiased history.
  const level =
    settingsIn.levels === 'recommendation'
      ? recommended.replicas
      : isMeasured(s) && s.ratePerReplica
        ? Math.ceil(s.demand.measured / s.ratePerReplica - 1e-9)
        : undefined;
  const releases =
    level === undefined
      ? s.memory.releases
      : trackReleases(s.memory.releases, {
          now,
          accelerator: recommended.accelerator,
          level,
          horizonSeconds,
        });
  const settings: LearntWindowSettings = {
    leadSeconds: lead,
    horizonSeconds,
    regretLeadTimes: settingsIn.regretLeadTimes,
    minReleases: settingsIn.minReleases,
  };
  const open = (releases?.open ?? []).map((o) => ({ age: now - o.t, replicas: o.high - o.low + 1 }));
  const window = releases ? learntWindow(releases.returns, settings, open) : undefined;
  return { releases, settings, window };
}

/**
 * What the window holds of forecasts (policy.forecastCapacity.holdAsExpected): the replicas the
 * demand expected within a lead time needs (the measured rate times the rise learnt), the most
 * of those estimated over the last lead time: a release cannot be undone sooner, so one
 * evaluation's dip in the measured rate is no reason to let go. Undefined when off.
 */
function holdAsExpected(
  s: Sized,
  config: Config,
  now: number,
  lead: number,
  resolution: number,
  history: readonly WindowEntry[],
): { hold: ForecastHold; rise?: number; expectedNow?: number } | undefined {
  const policy = config.policy;
  if (!policy.forecastCapacity.holdAsExpected || !s.demand) return undefined;
  const rise = expectedRise(policy, s.rise, lead);
  // With nothing to size for, the rate per replica is not the one demand would be served at.
  const expectedNow =
    rise !== undefined && s.ratePerReplica && s.demand.rate > 0
      ? Math.ceil(
          (rateExpected(s.demand.measured, rise, resolution) + s.demand.backlogRate) / s.ratePerReplica -
            1e-9,
        )
      : undefined;
  if (expectedNow === undefined) return { hold: { now, leadSeconds: lead } };
  const recent = history.filter((r) => r.t > now - lead && r.expected !== undefined).map((r) => r.expected!);
  return {
    hold: { now, leadSeconds: lead, expectedReplicas: Math.max(expectedNow, ...recent) },
    rise,
    expectedNow,
  };
}

/**
 * On a partial measurement the variant may grow but not shrink: a smaller target keeps what runs,
 * and a move to another accelerator (which ends by removing the old replicas) waits. Max replicas
 * still bound it: a lowered maximum is the operator's word, not the measurement's.
 */
export function refuseShrinkOnGaps(s: Measured, decided: Recommendation): Recommendation {
  const { v, current, gaps } = s;
  if (gaps.length === 0) return decided;
  const why = `partial metrics (${gaps.join('; ')})`;
  if (decided.accelerator !== current.accelerator && current.desired > 0) {
    return {
      accelerator: current.accelerator,
      replicas: withinBounds(v, current.desired),
      reason: 'partial-metrics',
      message: `${decided.message}; ${why}: no move to ${decided.accelerator} (it would remove replicas)`,
    };
  }
  const running = current.byAccelerator.get(decided.accelerator)?.desired ?? 0;
  if (decided.replicas >= running) return decided;
  const kept = withinBounds(v, running);
  if (kept === decided.replicas) return decided;
  return {
    ...decided,
    replicas: kept,
    reason: 'partial-metrics',
    message: `${decided.message}; ${why}: may scale up, not down (kept ${kept} instead of ${decided.replicas})`,
  };
}

/**
 * Make before break: other accelerators keep their replicas until the chosen one has `needed`
 * ready (by default its whole target; with a spill, what the recommendation needs of it).
 */
export function makeBeforeBreak(
  current: CurrentState,
  accelerator: string,
  target: number,
  needed = target,
): Map<string, number> {
  const deployments = new Map([[accelerator, target]]);
  const readyOnTarget = current.byAccelerator.get(accelerator)?.ready ?? 0;
  for (const [acc, d] of current.byAccelerator) {
    if (acc !== accelerator) deployments.set(acc, readyOnTarget >= needed ? 0 : d.desired);
  }
  return deployments;
}
