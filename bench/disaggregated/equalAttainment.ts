/**
 * Cost at equal attainment. A baseline that never reaches sva's attainment has no cost "at equal
 * attainment", so each is given its natural knob and the knob is searched for the cheapest
 * setting whose run reaches a target attainment (or, when none does, the best it reaches):
 *
 * - the per-role planner: its headroom, the multiple of its predicted rate it sizes for;
 * - KEDA per role: its threshold, waiting requests per replica;
 * - sva (aggregated or disaggregated): its target margins, scaled together (looser or tighter).
 *
 * The knob's settings are listed from the least capacity to the most, and run in that order
 * until one reaches the target, then refined twice halfway between the last that missed and the
 * first that reached it (costs move in whole nodes, so a setting between may reach it for less);
 * the cheapest run reaching the target is taken. Attainment does not rise along the whole list (the planner and KEDA meet the roles'
 * maxReplicas, sva's tightest margins make the targets infeasible and fall back to stable
 * queues), so the list is walked rather than bisected; when no setting reaches the target,
 * every one has run and the best attainment is reported.
 * Runs are cached in bench/disaggregated/.cache/ by a hash of the workload, the config file,
 * the policy, the setting and SEARCH_VERSION (bump it when a policy or the simulator changes).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPolicy, type Knobs, type Row, type VariantKind, type Workload } from './workloads.js';

/** Bumped whenever a policy, the simulator or the search changes, so that cached runs are not reused. */
const SEARCH_VERSION = 11;
export const CACHE_DIR = fileURLToPath(new URL('./.cache/', import.meta.url));

export interface KnobSpec {
  /** the knob's name as printed */
  readonly name: string;
  /** the settings, least capacity first (sva's ITL margin below 0.57 is infeasible on H100: 28.4 ms steps) */
  readonly settings: readonly Knobs[];
  /** one setting as printed */
  readonly show: (k: Knobs) => string;
  /** the setting halfway between two (to refine between the last that missed and the first that reached) */
  readonly between: (a: Knobs, b: Knobs) => Knobs;
}

/** Refinement steps between the last setting that missed and the first that reached the target. */
const REFINE_STEPS = 2;
const mid = (a: number | undefined, b: number | undefined) => Math.round(((a ?? 0) + (b ?? 0)) * 50) / 100;

export const PLANNER_HEADROOM: KnobSpec = {
  name: 'headroom',
  settings: [1, 1.25, 1.5, 2, 3, 4, 6].map((h) => ({ plannerHeadroom: h })),
  show: (k) => `${k.plannerHeadroom}x`,
  between: (a, b) => ({ plannerHeadroom: mid(a.plannerHeadroom, b.plannerHeadroom) }),
};

export const KEDA_THRESHOLD: KnobSpec = {
  name: 'waiting per replica',
  settings: [10, 5, 2, 1, 0.5, 0.25].map((t) => ({ kedaThreshold: t })),
  show: (k) => `${k.kedaThreshold}`,
  between: (a, b) => ({ kedaThreshold: mid(a.kedaThreshold, b.kedaThreshold) }),
};

export const SVA_MARGIN: KnobSpec = {
  name: 'target margins x',
  settings: [2, 1.5, 1.25, 1, 0.9, 0.8, 0.7].map((s) => ({ marginScale: s })),
  show: (k) => `${k.marginScale}`,
  between: (a, b) => ({ marginScale: mid(a.marginScale, b.marginScale) }),
};

export interface Trial {
  readonly knobs: Knobs;
  readonly row: Row;
  readonly fromCache: boolean;
}

export interface SearchResult {
  readonly target: number;
  readonly knob: KnobSpec;
  /** the cheapest run reaching the target; undefined when none did */
  readonly cheapest?: Trial;
  /** the run of the highest attainment (the answer when none reached the target) */
  readonly best: Trial;
  readonly trials: readonly Trial[];
}

function cacheKey(w: Workload, kind: VariantKind, policy: string, knobs: Knobs, duration?: number): string {
  const file = (p: string) => {
    const s = statSync(p);
    return `${p}:${s.size}:${s.mtimeMs}`;
  };
  const trace = w.trace ? resolve(dirname(resolve(w.config)), w.trace) : undefined;
  return createHash('sha256')
    .update(
      JSON.stringify({
        v: SEARCH_VERSION,
        w,
        kind,
        policy,
        knobs,
        duration,
        config: readFileSync(w.config, 'utf8'),
        trace: trace ? file(trace) : null,
      }),
    )
    .digest('hex')
    .slice(0, 24);
}

/** One run, read from the cache when it holds it. */
export async function cachedRun(
  w: Workload,
  kind: VariantKind,
  policy: string,
  knobs: Knobs,
  opts: { cacheDir?: string; duration?: number },
): Promise<Trial> {
  const path = opts.cacheDir
    ? join(opts.cacheDir, `${cacheKey(w, kind, policy, knobs, opts.duration)}.json`)
    : undefined;
  if (path && existsSync(path)) {
    return { knobs, row: JSON.parse(readFileSync(path, 'utf8')) as Row, fromCache: true };
  }
  const { row } = await runPolicy(w, kind, policy, knobs, opts.duration);
  if (path) {
    mkdirSync(opts.cacheDir!, { recursive: true });
    writeFileSync(path, JSON.stringify(row));
  }
  return { knobs, row, fromCache: false };
}

/**
 * The walk of the file comment over any run: `run` gives a setting's trial, cached or not. The
 * cheapest trial reaching `target`, the best one, and every trial in the order run.
 */
export async function walkKnob(
  knob: KnobSpec,
  target: number,
  run: (knobs: Knobs) => Promise<Trial>,
): Promise<SearchResult> {
  const reaches = (t: Trial) => t.row.attainment >= target - 1e-12;
  const trials: Trial[] = [];
  let missed: Trial | undefined;
  let passing: Trial | undefined;
  for (const knobs of knob.settings) {
    const trial = await run(knobs);
    trials.push(trial);
    if (reaches(trial)) {
      passing = trial;
      break;
    }
    missed = trial;
  }
  // the grid is coarse and costs move in whole nodes: a setting between may reach it for less
  for (let i = 0; passing && missed && i < REFINE_STEPS; i++) {
    const trial = await run(knob.between(missed.knobs, passing.knobs));
    trials.push(trial);
    if (reaches(trial)) passing = trial;
    else missed = trial;
  }
  const cheapest = trials.filter(reaches).sort((a, b) => a.row.cost - b.row.cost)[0];
  const best = [...trials].sort((a, b) => b.row.attainment - a.row.attainment || a.row.cost - b.row.cost)[0]!;
  return { target, knob, ...(cheapest ? { cheapest } : {}), best, trials };
}

/** The cheapest setting of `knob` whose run of `policy` reaches `target` (see the file comment). */
export function searchKnob(
  w: Workload,
  kind: VariantKind,
  policy: string,
  knob: KnobSpec,
  target: number,
  opts: { cacheDir?: string; duration?: number },
): Promise<SearchResult> {
  return walkKnob(knob, target, (knobs) => cachedRun(w, kind, policy, knobs, opts));
}
