/**
 * A MetricsSource that reports each variant's fixed `load` from the config (the one `sva solve`
 * uses) as if measured now: for `sva invoke` against a local stack and for tests, where no
 * Prometheus runs. A variant without a load is reported missing, so the policy holds it.
 */
import type { Config } from '../lib/config/schema.js';
import { everyVariant } from '../lib/config/roles.js';
import { variantKey } from '../lib/config/toSystem.js';
import type { Estimate, VariantObservation } from '../lib/metrics/observation.js';
import type { MetricsQuery, MetricsSource } from '../lib/policy/ports.js';

export class ConfigLoadMetrics implements MetricsSource {
  constructor(private readonly config: Config) {}

  async collect(queries: readonly MetricsQuery[], now: number): Promise<VariantObservation[]> {
    const windowSeconds = this.config.policy.metricsWindowSeconds;
    return queries.map((q) => {
      // a disaggregated variant's roles (`namespace/name@role`) both report the variant's load
      const key = q.variant.replace(/@(prefill|decode)$/, '');
      const load = everyVariant(this.config).find((v) => variantKey(v) === key)?.load;
      const base = { variant: q.variant, model: q.modelName, at: now, windowSeconds, stale: [] };
      if (!load) return { ...base, missing: ['config load'] };
      const at = (value: number, field: string): Estimate => ({
        value,
        source: `config:load.${field}`,
        timestamp: now,
      });
      return {
        ...base,
        arrivalRate: at(load.arrivalRate, 'arrivalRate'),
        completionRate: at(load.arrivalRate, 'arrivalRate'),
        avgInputTokens: at(load.avgInputTokens, 'avgInputTokens'),
        avgOutputTokens: at(load.avgOutputTokens, 'avgOutputTokens'),
        missing: [],
      };
    });
  }
}
