/**
 * How concentrated a disaggregated variant's arrivals are within a step, learnt from the TTFT
 * misses its prefill pods measure (policy.burstSizing.concentration, docs/SIZING.md "Arrivals
 * clustered within a step"). The prefill role's burst replay (lib/policy/prefillBursts.ts) sees
 * arrivals per scrape step only; a trace whose requests come in clusters of a second or two puts
 * a whole step's arrivals into a fraction of it, and the replay that spreads them over the step
 * predicts almost none late while the pods miss TTFT. The replay takes a concentration c: each
 * step's arrivals within its first c x step (lib/policy/burstSizing.ts, fluidReplay).
 *
 * c is learnt from the outcome, as the ITL miss budget is (lib/policy/itlMissCorrection.ts,
 * against the target): the prefill pods' windowed TTFT histogram (queue and prefill, as the pods
 * observe it) is read against the prefill pods' share of the TTFT target (the target less the KV
 * transfer and the first decode step the last sizing counted), the bucket holding it split
 * linearly (requestsOverTarget). A window counts only where the replay itself, at the
 * concentration in force, says the prefill pods ready sufficed (the window's steps at the ready
 * pods' saturated rate leave at most the allowed share late): its misses are then the replay's
 * own error. Where it says they were short (pods still starting, or the role held below what it
 * asked by maxReplicas or the devices), the misses are the lag's or the bound's, and a smaller c
 * would only ask for pods that cannot come: nothing is learnt. (The ITL loop's gate, the role at
 * the size it asked for, is stricter than this; on the bench's Azure trace the pods asked for
 * after the first misses took a quarter of an hour to come, and that gate learnt too late to
 * matter within the hour: docs/SIZING.md.) The
 * requests and the late among them are pooled with a half-life; once the pool says the share late
 * is over the allowed one (at least ten late), c takes a step in log space by the smoothing times
 * the log of allowed / observed; once it holds enough requests to expect ten late at the allowed
 * share and shows under half of it, c relaxes by a step of the same size at a gap of two, towards
 * 1. After a step the pool starts again: the next step is judged on requests served at the
 * concentration in force. c stays within [minSeconds / step, 1]. Pure.
 */
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import type { TokenBuckets, VariantObservation } from '../metrics/observation.js';
import { EVEN_CONCENTRATION, fluidReplay } from './burstSizing.js';
import { MIN_EXPECTED_MISSES } from './distribution.js';
import { poolWeights, requestsOverTarget } from './itlMissCorrection.js';

export interface ConcentrationSettings {
  readonly enabled: boolean;
  /** the pooled counts halve over this time */
  readonly halfLifeSeconds: number;
  /** share of the (log) gap between the allowed and the observed late share closed per step */
  readonly smoothing: number;
  /** the shortest cluster a step's arrivals are taken to come in (s): c >= minSeconds / stepSeconds */
  readonly minSeconds: number;
}

/** What the variant's memory keeps: the concentration and the pooled evidence at it. */
export interface ConcentrationMemory {
  /** the part of each step its arrivals are taken to come in, (0, 1] */
  readonly c: number;
  /** when the pool was last advanced, epoch seconds */
  readonly t: number;
  /** requests the prefill pods completed, and of them those over the budget; decayed with the half-life */
  readonly requests: number;
  readonly late: number;
  /**
   * the prefill pods' TTFT budget the last sizing counted (ms): the TTFT target less the KV
   * transfer and the first decode step; the next window's histogram is read against it
   */
  readonly budgetMs?: number;
  /** the last sizing's replay: a prefill pod's saturated rate (req/s) and the wait it allowed (ms) */
  readonly replay?: { readonly perPodRate: number; readonly waitMs: number };
}

const nonNegative = z.number().nonnegative().finite();
/** The memory item's shape: a corrupted one is dropped (learning starts again at 1), never sized on. */
export const concentrationMemorySchema = z
  .object({
    c: z.number().gt(0).max(1),
    t: z.number().finite(),
    requests: nonNegative,
    late: nonNegative,
    budgetMs: z.number().positive().finite().optional(),
    replay: z
      .object({ perPodRate: z.number().positive().finite(), waitMs: z.number().positive().finite() })
      .strict()
      .optional(),
  })
  .strict();

/** The memory as stored, or undefined when it is absent or corrupted. */
export function validConcentration(stored: unknown): ConcentrationMemory | undefined {
  if (stored === undefined) return undefined;
  const parsed = concentrationMemorySchema.safeParse(stored);
  return parsed.success ? parsed.data : undefined;
}

/** One metrics window's evidence: the prefill pods' requests and those over the budget. */
export interface ConcentrationWindow {
  readonly requests: number;
  readonly late: number;
}

/** The prefill role's pods ready over the window, and the window's arrivals per step. */
export interface PrefillRoleWindow {
  readonly ready: number;
  readonly steps?: { readonly counts: readonly number[]; readonly stepSeconds: number };
}

/**
 * The window's evidence: the prefill pods' TTFT histogram read against the budget, where the
 * replay at the concentration in force says the pods ready sufficed for the window's steps.
 * Undefined (nothing learnt) without a histogram, a budget or the last sizing's replay, or where
 * the replay says the pods ready were short.
 */
export function concentrationWindow(
  ttftBuckets: TokenBuckets | undefined,
  memory: ConcentrationMemory | undefined,
  role: PrefillRoleWindow,
  allowedShare: number,
): ConcentrationWindow | undefined {
  const budgetMs = memory?.budgetMs;
  if (!ttftBuckets || budgetMs === undefined || !(budgetMs > 0) || !(role.ready > 0)) return undefined;
  if (!readySufficed(memory, role, allowedShare)) return undefined;
  const over = requestsOverTarget(ttftBuckets, budgetMs);
  return over ? { requests: over.requests, late: over.misses } : undefined;
}

/** The replay at the concentration in force leaves at most the allowed share late at the ready pods. */
function readySufficed(
  memory: ConcentrationMemory | undefined,
  role: PrefillRoleWindow,
  allowedShare: number,
): boolean {
  const replay = memory?.replay;
  if (!memory || !replay || !role.steps || role.steps.counts.length === 0) return false;
  const { counts, stepSeconds } = role.steps;
  const throughput = role.ready * replay.perPodRate;
  return fluidReplay(counts, stepSeconds, throughput, replay.waitMs / 1000, memory.c).share <= allowedShare;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);

/**
 * The memory advanced by this window's evidence, or left as it was when there is none, pooled as
 * the ITL loop pools (poolWeights). Nothing is pooled before a sizing has left its budget
 * (withSizing): the window is read against it.
 */
export function updateConcentration(
  previous: ConcentrationMemory | undefined,
  window: ConcentrationWindow | undefined,
  ctx: {
    readonly now: number;
    readonly windowSeconds: number;
    readonly stepSeconds: number;
    /** the share of requests allowed over the budget */
    readonly allowedShare: number;
  },
  settings: ConcentrationSettings,
): ConcentrationMemory | undefined {
  if (!settings.enabled) return previous;
  if (!window || !(window.requests > 0) || !Number.isFinite(window.late)) return previous;
  const min = clamp(settings.minSeconds / ctx.stepSeconds, Number.MIN_VALUE, 1);
  if (!previous) return previous;
  const budget = previous.budgetMs !== undefined ? { budgetMs: previous.budgetMs } : {};
  const elapsed = Math.max(ctx.now - previous.t, 0);
  const { keep, fresh } = poolWeights(elapsed, settings.halfLifeSeconds, ctx.windowSeconds);
  const requests = keep * previous.requests + fresh * window.requests;
  const late = keep * previous.late + fresh * clamp(window.late, 0, window.requests);
  const c = clamp(previous.c, min, EVEN_CONCENTRATION);
  const pooled = { c, t: ctx.now, requests, late, ...budget };
  const allowed = ctx.allowedShare;
  if (!(allowed > 0) || !(requests > 0)) return pooled;
  const share = late / requests;
  // too many late: enough of them to tell (ten), and the share over the allowed one
  const over = late >= MIN_EXPECTED_MISSES && share > allowed;
  // well within: enough requests to expect ten late at the allowed share, under half of it seen
  const under = requests >= MIN_EXPECTED_MISSES / allowed && share < allowed / 2 && c < EVEN_CONCENTRATION;
  if (!over && !under) return pooled;
  const gap = over ? share / allowed : 1 / 2;
  const next = clamp(c * Math.exp(-settings.smoothing * Math.log(gap)), min, EVEN_CONCENTRATION);
  // the next step is judged on requests served at the concentration now in force
  return { c: next, t: ctx.now, requests: 0, late: 0, ...budget };
}

/**
 * The memory with the budget and the replay the sizing just counted, for reading the next window;
 * a first one (at 1, its pool empty) where there was none. Without a budget, as it was.
 */
export function withSizing(
  memory: ConcentrationMemory | undefined,
  sizing: { readonly budgetMs: number; readonly perPodRate: number; readonly waitMs: number } | undefined,
  now: number,
): ConcentrationMemory | undefined {
  if (!sizing || !(sizing.budgetMs > 0) || !Number.isFinite(sizing.budgetMs)) return memory;
  const replay =
    sizing.perPodRate > 0 && sizing.waitMs > 0 && Number.isFinite(sizing.perPodRate + sizing.waitMs)
      ? { replay: { perPodRate: sizing.perPodRate, waitMs: sizing.waitMs } }
      : {};
  const { replay: _old, ...kept } = memory ?? { c: EVEN_CONCENTRATION, t: now, requests: 0, late: 0 };
  return { ...kept, budgetMs: sizing.budgetMs, ...replay };
}

/**
 * This evaluation's concentration for a disaggregated variant's prefill replay: the stored memory
 * (validated; a corrupted one dropped) advanced by the prefill pods' window. Undefined with
 * policy.burstSizing.concentration or .prefill off (the replay spreads arrivals over the step).
 */
export function learntConcentration(
  config: Config,
  stored: unknown,
  at: {
    readonly now: number;
    readonly prefill: Pick<VariantObservation, 'requestTtftBuckets' | 'windowSeconds' | 'arrivalSteps'>;
    /** the prefill pods ready (every accelerator's) */
    readonly ready: number;
  },
): ConcentrationMemory | undefined {
  const b = config.policy.burstSizing;
  if (!b.concentration.enabled || !b.prefill) return undefined;
  const previous = validConcentration(stored);
  const allowedShare = config.policy.itlDistribution.missShare;
  const steps = at.prefill.arrivalSteps;
  // the steps the window's histogram covers
  const recent = steps
    ? {
        counts: steps.counts.slice(-Math.max(Math.round(at.prefill.windowSeconds / steps.stepSeconds), 1)),
        stepSeconds: steps.stepSeconds,
      }
    : undefined;
  const window = concentrationWindow(
    at.prefill.requestTtftBuckets,
    previous,
    { ready: at.ready, ...(recent ? { steps: recent } : {}) },
    allowedShare,
  );
  return updateConcentration(
    previous,
    window,
    {
      now: at.now,
      windowSeconds: at.prefill.windowSeconds,
      stepSeconds: at.prefill.arrivalSteps?.stepSeconds ?? b.stepSeconds,
      allowedShare,
    },
    b.concentration,
  );
}
