/**
 * Observations set by hand per variant (`namespace/name`); a variant without one is observed
 * with every series missing, as a Prometheus that has never scraped it would report.
 * Queries go to the CallLog when one is given. Subclasses estimate observations otherwise (the
 * simulation, from its scrapes) by overriding observe().
 */
import type { VariantObservation } from '../../metrics/observation.js';
import type { MetricsQuery, MetricsSource } from '../../policy/ports.js';
import type { CallLog } from './callLog.js';

export class MemoryMetricsSource implements MetricsSource {
  /** variant → its observation at a time */
  readonly observations = new Map<string, (now: number) => VariantObservation>();

  constructor(protected readonly log?: CallLog) {}

  async collect(queries: readonly MetricsQuery[], now: number): Promise<VariantObservation[]> {
    this.log?.metricsQueries.push(queries);
    return queries.map((q) => this.observe(q, now));
  }

  protected observe(q: MetricsQuery, now: number): VariantObservation {
    return (
      this.observations.get(q.variant)?.(now) ?? {
        variant: q.variant,
        model: q.modelName,
        at: now,
        windowSeconds: 60,
        stale: [],
        missing: ['vllm:request_success_total'],
      }
    );
  }
}
