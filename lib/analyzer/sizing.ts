/**
 * Sizing one replica against latency and throughput targets (docs/SIZING.md section 3): the
 * largest arrival rate at which the predictions still meet every target, and the replica's
 * sustainable throughput r* at that rate, which the optimizer divides demand by.
 */
import { findCrossing } from './rootFinding.js';
import { evaluateAt, type ReplicaMetrics, type ReplicaModel } from './replicaModel.js';

/** Targets in ms (TTFT, ITL) and tokens/s (TPS); 0 means no target. */
export interface Targets {
  readonly ttft: number;
  readonly itl: number;
  readonly tps: number;
}

/** Fraction of the maximum rate kept in reserve when sizing for a throughput target. */
const TPS_SAFETY_FRACTION = 0.1;

export type Sizing =
  | {
      readonly feasible: true;
      /** largest arrival rate meeting every target (req/s) */
      readonly rate: number;
      /** sustainable throughput of one replica at that rate, r* (req/s) */
      readonly maxRate: number;
      readonly metrics: ReplicaMetrics;
      readonly evaluations: number;
    }
  | { readonly feasible: false; readonly reason: string; readonly evaluations: number };

/**
 * How a latency that does not change with load (one request per batch, or beta = 0) is judged.
 * 'strict': met when the constant latency is within the target. 'reference': as the Inferno
 * optimizer's bisection, which takes a flat curve for a decreasing one and so accepts a
 * target below the constant latency and rejects one above it; kept for conformance on
 * Inferno inputs, never used for our own decisions.
 */
export type FlatTargetRule = 'strict' | 'reference';

/** Relative difference under which a latency curve counts as flat across the stable range. */
const FLAT_TOLERANCE = 1e-6;

type Metric = (m: ReplicaMetrics) => number;

interface Bounded {
  readonly metric: Metric;
  readonly target: number;
}

const TTFT: Metric = (m) => m.ttft;
const ITL: Metric = (m) => m.itl;

/**
 * Largest rate in the stable range at which every bounded metric is within its target, or
 * undefined when some target cannot be met anywhere in the range.
 */
function maxRateWithin(
  model: ReplicaModel,
  bounds: readonly Bounded[],
  flatRule: FlatTargetRule,
): { rate: number | undefined; evaluations: number } {
  const { min, max } = model.rateRange;
  const atMin = evaluateAt(model, min);
  const atMax = evaluateAt(model, max);
  const crossing: Bounded[] = [];
  for (const b of bounds) {
    const y0 = b.metric(atMin);
    const y1 = b.metric(atMax);
    if (Math.abs(y1 - y0) <= FLAT_TOLERANCE * Math.abs(y0)) {
      const met = flatRule === 'strict' ? y0 <= b.target : b.target <= y0;
      if (!met) return { rate: undefined, evaluations: 2 };
      continue;
    }
    if (y0 > b.target) return { rate: undefined, evaluations: 2 };
    if (y1 > b.target) crossing.push(b);
  }
  if (crossing.length === 0) return { rate: max, evaluations: 2 };
  // Searched as 1 - target/metric rather than metric/target - 1: latency grows like 1/(capacity -
  // rate) near saturation, so its reciprocal is nearly linear there and regula falsi needs a few
  // steps instead of a few dozen. Same sign, same root.
  const [first, second] = crossing as [Bounded, Bounded | undefined];
  const excess = second
    ? (m: ReplicaMetrics) => 1 - Math.min(first.target / first.metric(m), second.target / second.metric(m))
    : (m: ReplicaMetrics) => 1 - first.target / first.metric(m);
  const gMin = excess(atMin);
  if (gMin === 0) return { rate: min, evaluations: 2 };
  const found = findCrossing((rate) => excess(evaluateAt(model, rate)), min, gMin, max, excess(atMax));
  return { rate: found.x, evaluations: 2 + found.evaluations };
}

function latencyBounds(targets: Targets): Bounded[] {
  const bounds: Bounded[] = [];
  if (targets.ttft > 0) bounds.push({ metric: TTFT, target: targets.ttft });
  if (targets.itl > 0) bounds.push({ metric: ITL, target: targets.itl });
  return bounds;
}

function describeMiss(model: ReplicaModel, targets: Targets): string {
  const m = evaluateAt(model, model.rateRange.min);
  const missed: string[] = [];
  if (targets.ttft > 0 && m.ttft > targets.ttft)
    missed.push(`TTFT ${m.ttft.toFixed(2)} > ${targets.ttft} ms`);
  if (targets.itl > 0 && m.itl > targets.itl) missed.push(`ITL ${m.itl.toFixed(2)} > ${targets.itl} ms`);
  if (missed.length === 0) return 'a latency target is not met in the stable range';
  return `targets missed even at the lowest load: ${missed.join(', ')}`;
}

/** Sizes a replica for all targets at once: the rate is the smallest of the per-target rates. */
export function sizeReplica(
  model: ReplicaModel,
  targets: Targets,
  flatRule: FlatTargetRule = 'strict',
): Sizing {
  let rate = model.rateRange.max;
  let evaluations = 0;
  const bounds = latencyBounds(targets);
  if (bounds.length > 0) {
    const found = maxRateWithin(model, bounds, flatRule);
    evaluations += found.evaluations;
    if (found.rate === undefined)
      return { feasible: false, reason: describeMiss(model, targets), evaluations };
    rate = found.rate;
  }
  if (targets.tps > 0) rate = Math.min(rate, model.rateRange.max * (1 - TPS_SAFETY_FRACTION));
  const metrics = evaluateAt(model, rate);
  return { feasible: true, rate, maxRate: metrics.throughput, metrics, evaluations: evaluations + 1 };
}

export interface TargetRates {
  /** largest rate meeting the TTFT target (req/s); the range maximum when there is no target; null when unattainable */
  readonly rateTTFT: number | null;
  readonly rateITL: number | null;
  readonly rateTPS: number | null;
}

/** The per-target rates, each found on its own (for reporting; sizeReplica is the fast path). */
export function targetRates(
  model: ReplicaModel,
  targets: Targets,
  flatRule: FlatTargetRule = 'strict',
): TargetRates {
  const one = (target: number, metric: Metric): number | null =>
    target > 0 ? (maxRateWithin(model, [{ metric, target }], flatRule).rate ?? null) : model.rateRange.max;
  return {
    rateTTFT: one(targets.ttft, TTFT),
    rateITL: one(targets.itl, ITL),
    rateTPS: targets.tps > 0 ? model.rateRange.max * (1 - TPS_SAFETY_FRACTION) : model.rateRange.max,
  };
}
