/**
 * What the decision policy remembers between stateless invocations, per pool: sequences, the
 * stabilisation window's recommendations, recent demand for the trend, and when each variant
 * last saw an arrival. Plain JSON, so any state store can hold it.
 */

import type { ConcentrationMemory } from './burstConcentration.js';
import type { BurstHistory } from './burstHeadroom.js';
import type { ItlMissMemory } from './itlMissCorrection.js';
import type { ReleaseHistory } from './learntWindow.js';
import type { TrendSkill } from './trendSkill.js';

export interface Recommendation {
  readonly t: number;
  readonly accelerator: string;
  readonly replicas: number;
  /** the demand it was sized for (req/s): a disaggregated role's accelerator is chosen for the window's highest */
  readonly rate?: number;
  /**
   * of them, the replicas measured demand and backlog asked for, when a forecast asked for more
   * (policy.forecastCapacity.holdAsExpected)
   */
  readonly measured?: number;
  /** the replicas the demand expected within a lead time needed then (holdAsExpected) */
  readonly expected?: number;
  /**
   * of them, the replicas the window holds once this evaluation is past: sized on the measured
   * rate less its sampling noise (policy.windowNoise), when that needs fewer
   */
  readonly lessNoise?: number;
  /** the arrival rate measured (req/s; policy.windowNoise with variation 'measured') */
  readonly arrivals?: number;
}

export interface VariantMemory {
  /** sequence of the last decision issued */
  sequence: number;
  /** first evaluation that recorded a recommendation, epoch seconds */
  observedSince?: number;
  recommendations: Recommendation[];
  /** measured rates, with the trend's own forecast rise where policy.forecast.skill judges it */
  demand: { t: number; rate: number; trend?: number }[];
  lastArrivalAt?: number;
  lastTokens?: { input: number; output: number };
  /** the stabilisation window grown by regretted scale-downs (seconds), when above the configured one */
  window?: number;
  /** the last scale-down: when, and from how many replicas */
  lastScaleDown?: { t: number; from: number };
  /** since when no released capacity was needed again */
  calmSince?: number;
  /** replicas the recommendation let go of and how long they took to be asked again (policy.learntWindow) */
  releases?: ReleaseHistory;
  /** how far demand rose within one lead time (lib/policy/caution.ts) */
  rise?: { mean: number; variance: number; weight: number; t: number };
  /** of the trend's forecast rises, the share that came a lead time on (lib/policy/trendSkill.ts) */
  trendSkill?: TrendSkill;
  /** observed / predicted latency, learned online */
  correction?: { ttft: number; itl: number };
  /** the factor on the chunked-ITL model's miss share and its pooled evidence (policy.itlMissCorrection) */
  itlMiss?: ItlMissMemory;
  /**
   * the token histograms seen, counts decayed with time (lib/policy/distribution.ts): finite
   * bucket bounds, counts with one more slot for the overflow (JSON has no Infinity)
   */
  tokenHistogram?: { t: number; bounds: number[]; input: number[]; output: number[] };
  /** the recent metrics windows' completions and mean output, without overlap (lib/policy/outputMean.ts) */
  outputWindows?: { t: number; count: number; mean: number }[];
  /** since when the optimizer has preferred an accelerator other than the current one */
  otherAccelerator?: { accelerator: string; since: number };
  /**
   * replicas of the chosen accelerator the demand asked beyond what it could hold, where the
   * target was bounded (policy.spill): the spill keeps the largest within the window, as the
   * window keeps the target
   */
  shortfalls?: Recommendation[];
  /**
   * the accelerator the last decision spilled onto (policy.spill): its replicas are the chosen
   * accelerator's shortfall, not where the variant serves (stages/observe.ts)
   */
  spilledTo?: string;
  /**
   * how far the lead time after a look-back went beyond its busiest step (policy.burstSizing.headroom,
   * lib/policy/burstHeadroom.ts); validated where read: a corrupted one is dropped
   */
  bursts?: BurstHistory;
  /**
   * how concentrated a disaggregated variant's arrivals are within a step, learnt from its prefill
   * pods' TTFT misses (policy.burstSizing.concentration, lib/policy/burstConcentration.ts);
   * validated where read: a corrupted one is dropped
   */
  concentration?: ConcentrationMemory;
  /** a disaggregated variant's recommendations per role (its stabilisation windows) */
  roles?: { prefill: Recommendation[]; decode: Recommendation[] };
  /** each role's releases and how long they took to be asked again (policy.learntWindow, lib/policy/roleWindow.ts) */
  roleReleases?: { prefill?: ReleaseHistory; decode?: ReleaseHistory };
}

export interface PolicyMemory {
  /**
   * When this memory was started (epoch ms): sequences are compared only within one generation.
   * A fresh memory (a lost or deleted item) starts a new one, and so does evaluate when apply's
   * marks show that the memory went back in time (a point-in-time restore): apply then resets
   * its comparison instead of dropping every decision until the sequence catches up.
   */
  generation?: number;
  poolSequence: number;
  variants: Record<string, VariantMemory>;
}

export function emptyMemory(): PolicyMemory {
  return { poolSequence: 0, variants: {} };
}

export function variantMemory(memory: PolicyMemory, variant: string): VariantMemory {
  return memory.variants[variant] ?? { sequence: 0, recommendations: [], demand: [] };
}
