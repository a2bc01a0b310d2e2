/** What the optimizer sees of a pool, and what capacity its answer leaves. */
import type { Config, VariantConfig } from '../config/schema.js';
import { configCapacity, configToSystem } from '../config/toSystem.js';
import type { Allocation, ModelSpec, ServiceClassSpec, SystemSpec } from '../optimizer/index.js';
import type { ServerLoad } from '../optimizer/system.js';
import { kvTokensPerRequest } from './kvBatch.js';
import { corrected } from './correction.js';
import type { Assessed } from './stages/demand.js';
import { acceleratorType, devicesPerReplica, profileOf } from '../config/resolved.js';
import { itlRateCap, shareBeyond, trustedDistributions } from './distribution.js';
import { allowedModelShare } from './itlMissCorrection.js';
import { inherentLate } from './promptSpread.js';

/** The system the optimizer sees: sizing targets with the policy's margins, capacity less what held variants keep. */
export function sizingSystem(
  config: Config,
  plans: readonly Assessed[],
  /** devices per type the pool may count on; undefined = unlimited */
  devices: ReadonlyMap<string, number> | undefined = configCapacity(config),
): SystemSpec {
  const loads = new Map<string, ServerLoad>();
  const current = new Map<string, { accelerator: string; replicas: number }>();
  for (const p of plans) {
    if (p.demand) {
      const kv = kvTokensPerRequest(config, p);
      loads.set(p.key, {
        arrivalRate: p.demand.rate * 60,
        avgInTokens: p.demand.inputTokens,
        avgOutTokens: p.demand.outputTokens,
        ...(kv !== undefined ? { kvTokensPerRequest: kv } : {}),
      });
    }
    current.set(p.key, { accelerator: p.current.accelerator, replicas: p.current.desired });
  }
  let capacity: Map<string, number> | 'unlimited' = devices ? new Map(devices) : 'unlimited';
  if (capacity !== 'unlimited') {
    capacity = new Map(capacity);
    for (const p of plans.filter((q) => !q.demand)) {
      for (const [acc, d] of p.current.byAccelerator) {
        const type = acceleratorType(config, acc)!;
        const used = d.desired * devicesPerReplica(config, p.v, acc);
        capacity.set(type, Math.max((capacity.get(type) ?? 0) - used, 0));
      }
    }
  }
  const system = configToSystem(config, { loads, current, capacity });
  // Each variant is sized with its own copy of its model, whose profile carries what the policy
  // has learned about the engine's speed for that variant (iteration times scaled by the ITL
  // correction), against its class's targets times the margins. The TTFT target is divided by the
  // TTFT correction only where the model proved optimistic: the model predicts the mean TTFT
  // while the target is judged per request, and a model found pessimistic about the mean says
  // nothing about the tail its pessimism was covering.
  const margin = config.policy.targetMargin;
  const models = new Map<string, ModelSpec>();
  const serviceClasses = new Map<string, ServiceClassSpec>();
  const servers = [];
  for (const p of plans.filter((q) => q.demand)) {
    const server = system.servers.find((s) => s.name === p.key)!;
    const base = system.serviceClasses.get(server.serviceClass)!;
    const t = base.targets.get(server.model)!;
    const model = `${server.model}@${p.key}`;
    models.set(model, {
      name: model,
      profiles: new Map(
        [...system.models.get(server.model)!.profiles].map(([acc, profile]) => [
          acc,
          corrected(profile, p.correction),
        ]),
      ),
    });
    const serviceClass = `${base.name}@${p.key}`;
    serviceClasses.set(serviceClass, {
      name: serviceClass,
      priority: base.priority,
      targets: new Map([
        [
          model,
          {
            ttft: (t.ttft * margin.ttft) / Math.max(p.correction.ttft, 1),
            itl: t.itl * margin.itl,
            tps: t.tps,
          },
        ],
      ]),
    });
    const rateCaps = distributionCaps(config, p, models.get(model)!, t.itl);
    const allowedAccelerators = fittingAccelerators(config, p, server.allowedAccelerators);
    servers.push({
      ...server,
      model,
      serviceClass,
      ...(rateCaps ? { rateCaps } : {}),
      ...(allowedAccelerators ? { allowedAccelerators } : {}),
    });
  }
  return { ...system, models, serviceClasses, servers };
}

/** Devices per type left after the optimizer's allocations and the held variants; undefined = unlimited. */
export function freeDevices(
  config: Config,
  plans: readonly Assessed[],
  allocations: ReadonlyMap<string, Allocation>,
  capacity: ReadonlyMap<string, number> | undefined = configCapacity(config),
): Map<string, number> | undefined {
  if (!capacity) return undefined;
  const free = new Map(capacity);
  const take = (acc: string, replicas: number, v: VariantConfig) => {
    const type = acceleratorType(config, acc);
    if (type) free.set(type, (free.get(type) ?? 0) - replicas * devicesPerReplica(config, v, acc));
  };
  for (const p of plans) {
    if (!p.demand) for (const [acc, d] of p.current.byAccelerator) take(acc, d.desired, p.v);
    const a = allocations.get(p.key);
    if (a && a.accelerator) take(a.accelerator, a.numReplicas, p.v);
  }
  return free;
}

/**
 * The allowed accelerators whose replicas' KV cache holds all but at most
 * itlDistribution.missShare of the variant's requests, by its token histograms: a request longer
 * than the KV cache is rejected there, so an accelerator that rejects more cannot meet the
 * attainment asked for at any rate, and is neither sized on nor spilled onto. With
 * policy.burstSizing.promptSpread the same for an accelerator where more than missShare of the
 * requests take longer than the TTFT target to prefill alone (lib/policy/promptSpread.ts).
 * undefined (the allowed ones unchanged): no trusted histograms, no KV cache configured, or none
 * fits.
 */
function fittingAccelerators(
  config: Config,
  p: Assessed,
  allowed: readonly string[] | undefined,
): string[] | undefined {
  const settings = config.policy.itlDistribution;
  if (!settings.enabled || !allowed) return undefined;
  const distributions = trustedDistributions(
    p.tokenHistogram,
    { input: p.demand?.inputTokens, output: p.demand?.outputTokens },
    settings.missShare,
  );
  if (!distributions) return undefined;
  const fits = allowed.filter((acc) => {
    const tokens = profileOf(config, p.v, acc)?.kvCacheTokens;
    const kvFits =
      tokens === undefined ||
      shareBeyond(distributions.input, distributions.output, tokens) <= settings.missShare;
    return kvFits && (inherentLate(config, p, acc)?.share ?? 0) <= settings.missShare;
  });
  return fits.length > 0 && fits.length < allowed.length ? fits : undefined;
}

/** Caps per accelerator from the variant's token histograms (lib/policy/distribution.ts). */
function distributionCaps(
  config: Config,
  p: Assessed,
  model: ModelSpec,
  itlTargetMs: number,
): Map<string, number> | undefined {
  const settings = config.policy.itlDistribution;
  if (!settings.enabled || !(itlTargetMs > 0)) return undefined;
  const distributions = trustedDistributions(
    p.tokenHistogram,
    { input: p.demand?.inputTokens, output: p.demand?.outputTokens },
    settings.missShare,
  );
  if (!distributions) return undefined;
  const { input, output } = distributions;
  const caps = new Map<string, number>();
  for (const [acc, profile] of model.profiles) {
    const configured = profileOf(config, p.v, acc);
    caps.set(
      acc,
      itlRateCap({
        profile,
        stepBudget: configured?.maxBatchedTokens,
        input,
        output,
        itlTargetMs,
        // the model's share times the learnt factor within the allowed one (policy.itlMissCorrection)
        missShare: allowedModelShare(settings.missShare, p.itlMissFactor),
        upperRate: CAP_UPPER_RATE,
        demand: p.demand?.rate,
      }),
    );
  }
  return caps;
}

/** req/s per replica above which no cap is looked for (far above any replica's throughput). */
const CAP_UPPER_RATE = 500;
