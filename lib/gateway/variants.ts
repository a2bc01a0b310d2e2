/**
 * Which configured variant a gateway event is for: by the model its servers report, then the
 * namespace when the event names one, then the variant's pod pattern on the engine.
 */
import type { Config } from '../config/schema.js';
import { variantKey } from '../config/variantKey.js';
import type { VariantResolver } from './aggregate.js';

export function variantResolver(config: Config): VariantResolver {
  const byModel = new Map<string, Config['variants'][number][]>();
  for (const v of config.variants) {
    const model = v.metrics.modelName ?? v.model;
    byModel.set(model, [...(byModel.get(model) ?? []), v]);
  }
  return (model, namespace, engine) => {
    let candidates = (byModel.get(model) ?? []).filter(
      (v) => namespace === undefined || v.namespace === namespace,
    );
    if (candidates.length > 1 && engine !== undefined)
      candidates = candidates.filter(
        (v) => v.metrics.podPattern === undefined || new RegExp(v.metrics.podPattern).test(engine),
      );
    // Several variants still: the event cannot be told apart, and a guess would count it twice over time.
    return candidates.length === 1 ? variantKey(candidates[0]!) : undefined;
  };
}
