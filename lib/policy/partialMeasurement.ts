/**
 * Whether a variant's measurement may undercount its load. A pod whose scrapes fail drops out of
 * Prometheus's summed increase() while the other pods keep the newest sample fresh, and missing
 * token statistics fall back to remembered or default counts: demand computed from either can be
 * too low, and acting on it would remove replicas that are needed. So an evaluation on a partial
 * measurement may add replicas but never remove any (docs/METRICS.md, "Partial measurements").
 */
import type { VariantObservation } from '../metrics/observation.js';
import type { CurrentState } from './plan.js';

/** Why the measurement is partial; empty when it covers the whole variant. */
export function measurementGaps(
  observation: VariantObservation,
  current: CurrentState,
  measuredRate: number,
): string[] {
  const gaps: string[] = [];
  // No replica reporting at all shows as missing gauges below.
  const reporting = observation.readyReplicas?.value;
  if (reporting !== undefined && reporting < current.ready) {
    gaps.push(`metrics from ${reporting} of ${current.ready} ready replicas`);
  }
  // Requests still arriving but no completions' token counts: lengths are guessed, not measured.
  if (measuredRate > 0 && (!observation.avgInputTokens || !observation.avgOutputTokens)) {
    gaps.push('token statistics missing');
  }
  // In-flight requests are part of the arrival estimate (completions + their change).
  if (!observation.running || !observation.waiting) gaps.push('running/waiting gauges missing');
  if (observation.stale.length > 0) gaps.push(`stale ${observation.stale.join(', ')}`);
  return gaps;
}
