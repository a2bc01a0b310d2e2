/**
 * Stage 3: the optimizer sizes the whole pool at once, within the capacity the held variants
 * leave, and each variant's answer becomes a recommendation: an accelerator, a replica count and
 * why. A held variant's recommendation is to keep what runs. With policy.burstSizing, a variant
 * may ask for more for the bursts its measured rate averages away (stages/bursts.ts), from the
 * devices the optimizer's allocations leave free.
 */
import type { Config } from '../../config/schema.js';
import type { VariantObservation } from '../../metrics/observation.js';
import { configCapacity } from '../../config/toSystem.js';
import { solve } from '../../optimizer/index.js';
import { recommend, type Recommendation } from '../recommend.js';
import { freeDevices, sizingSystem } from '../sizingSystem.js';
import { sizeForBursts, type BurstSizing, type ItlStepSizing, type SharedBudgetSizing } from './bursts.js';
import { isMeasured, type Assessed } from './demand.js';

export interface Sized extends Assessed {
  readonly recommendation: Recommendation;
  /** the accelerator the optimizer chose, which may not be the one recommended yet */
  readonly preferred?: string;
  /** req/s one replica on the recommended accelerator sustains within the targets */
  readonly ratePerReplica?: number;
  /** r* of every allowed accelerator that meets the targets at some rate, maxReplicas and capacity aside */
  readonly ratesPerReplica?: ReadonlyMap<string, number>;
  /** what the burst sizing found (policy.burstSizing; stages/bursts.ts) */
  readonly bursts?: BurstSizing;
  /** what the ITL sizing over the steps found (policy.burstSizing.itl; stages/bursts.ts) */
  readonly itlSteps?: ItlStepSizing;
  /** one budget for both shares (policy.burstSizing.sharedBudget; stages/bursts.ts) */
  readonly sharedBudget?: SharedBudgetSizing;
}

export function size(
  assessed: readonly Assessed[],
  config: Config,
  now: number,
  /** devices per type the pool may count on (sizingCapacity); undefined = unlimited */
  devices: ReadonlyMap<string, number> | undefined = configCapacity(config),
  /** types whose asked-for capacity did not arrive: a variant on one moves without waiting */
  shortTypes: ReadonlySet<string> = new Set(),
): Sized[] {
  const solution = solve(sizingSystem(config, assessed, devices));
  // Shared by the variants in order: one the targets cannot be met for takes what is left.
  const free = freeDevices(config, assessed, solution.allocations, devices);
  return assessed.map((a): Sized => {
    if (!isMeasured(a)) return { ...a, recommendation: hold(a) };
    const allocation = solution.allocations.get(a.key);
    const candidates = solution.candidates.get(a.key) ?? [];
    const sized = recommend(a, allocation, candidates, config, now, free, shortTypes);
    // the bursts the window averages away, on devices no variant's sizing takes (policy.burstSizing)
    const { recommendation, bursts, itlSteps, sharedBudget } = sizeForBursts(
      { ...a, recommendation: sized },
      config,
      free,
    );
    const onRecommended = candidates.find((c) => c.accelerator === recommendation.accelerator);
    return {
      ...a,
      recommendation,
      ...(bursts ? { bursts } : {}),
      ...(itlSteps ? { itlSteps } : {}),
      ...(sharedBudget ? { sharedBudget } : {}),
      preferred: allocation?.accelerator,
      ratesPerReplica: solution.ratesPerReplica.get(a.key),
      ...(onRecommended && onRecommended.maxRatePerReplica > 0
        ? { ratePerReplica: onRecommended.maxRatePerReplica }
        : {}),
    };
  });
}

function hold({ current, observation }: Assessed): Recommendation {
  return {
    accelerator: current.accelerator,
    replicas: current.desired,
    reason: 'stale-metrics',
    message: holdMessage(observation),
  };
}

function holdMessage(obs: VariantObservation | undefined): string {
  if (!obs) return 'hold: no observation for this variant';
  const parts = [];
  if (obs.missing.length > 0) parts.push(`missing ${obs.missing.join(', ')}`);
  if (obs.stale.length > 0) parts.push(`stale ${obs.stale.join(', ')}`);
  return `hold: cannot measure arrivals (${parts.join('; ') || 'no arrival estimate'})`;
}
