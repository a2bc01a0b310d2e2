/**
 * A disaggregated variant of the config as the sizing's input (lib/optimizer/disaggregated.ts):
 * each role's accelerators with their profiles, prices and devices, the KV transfer, the targets.
 */
import {
  sizeDisaggregated,
  type DisaggregatedInput,
  type DisaggregatedSizing,
  type PromptSpread,
  type RoleBounds,
} from '../optimizer/disaggregated.js';
import { acceleratorNamed, acceleratorType, targetsOf } from './resolved.js';
import { kvBytesPerToken, roleAccelerators, type Role } from './roles.js';
import type { Config, DisaggregatedVariantConfig } from './schema.js';

export interface DisaggregatedLoad {
  readonly rate: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** the prompts' spread (prefill's tail, decode's KV admission); without it the mean prompt sizes */
  readonly spread?: PromptSpread;
}

export interface DisaggregatedOptions {
  /** fractions of the targets to size for (policy.targetMargin); default 1 */
  readonly margin?: { readonly ttft: number; readonly itl: number };
  readonly freeDevices?: ReadonlyMap<string, number>;
  readonly observedTransferMs?: number;
  /** restrict a role to these accelerators (e.g. a baseline's single choice) */
  readonly accelerators?: Partial<Record<Role, readonly string[]>>;
}

function roleBounds(
  config: Config,
  v: DisaggregatedVariantConfig,
  role: Role,
  only: readonly string[] | undefined,
): RoleBounds {
  const model = config.models.find((m) => m.name === v.model)!;
  const r = v.roles[role];
  const options = roleAccelerators(config, v, role)
    .filter((acc) => only === undefined || only.includes(acc))
    .map((accelerator) => {
      const p = model.profiles[accelerator]!;
      const acc = acceleratorNamed(config, accelerator)!;
      return {
        accelerator,
        profile: {
          alpha: p.alpha,
          beta: p.beta,
          gamma: p.gamma,
          delta: p.delta,
          maxBatchedTokens: p.maxBatchedTokens,
          kvCacheTokens: p.kvCacheTokens,
        },
        costPerReplica: acc.costPerHour * p.acceleratorCount,
        deviceType: acceleratorType(config, accelerator)!,
        devicesPerReplica: acc.multiplicity * p.acceleratorCount,
      };
    });
  return { options, minReplicas: r.minReplicas, maxReplicas: r.maxReplicas };
}

export function disaggregatedInput(
  config: Config,
  v: DisaggregatedVariantConfig,
  load: DisaggregatedLoad,
  options: DisaggregatedOptions = {},
): DisaggregatedInput {
  const targets = targetsOf(config, v);
  const margin = options.margin ?? { ttft: 1, itl: 1 };
  const transfer = config.kvTransfer ?? { bandwidthGBps: 1, latencyMs: 0 };
  return {
    load,
    targets: { ttftMs: targets.ttftMs * margin.ttft, itlMs: targets.itlMs * margin.itl },
    kv: {
      bytesPerToken: kvBytesPerToken(config, v),
      bandwidthBytesPerSecond: transfer.bandwidthGBps * 1e9,
      latencyMs: transfer.latencyMs,
      observedTransferMs: options.observedTransferMs,
    },
    prefill: roleBounds(config, v, 'prefill', options.accelerators?.prefill),
    decode: roleBounds(config, v, 'decode', options.accelerators?.decode),
    ratio: v.roles.ratio,
    freeDevices: options.freeDevices,
  };
}

/** Devices left per type once the allocations took theirs; undefined stays unlimited. */
export function freeAfter(
  capacity: ReadonlyMap<string, number> | undefined,
  used: readonly { readonly type: string; readonly devices: number }[],
): Map<string, number> | undefined {
  if (capacity === undefined) return undefined;
  const free = new Map(capacity);
  for (const u of used) free.set(u.type, (free.get(u.type) ?? 0) - u.devices);
  return free;
}

/**
 * Every disaggregated variant sized, in priority order (1 first, then name), each from the
 * devices the ones before it left. `loadOf` gives a variant's load (undefined: not sized).
 */
export function sizeDisaggregatedVariants(
  config: Config,
  loadOf: (v: DisaggregatedVariantConfig) => DisaggregatedLoad | undefined,
  options: Omit<DisaggregatedOptions, 'freeDevices'> & {
    readonly freeDevices?: ReadonlyMap<string, number>;
  } = {},
): Map<DisaggregatedVariantConfig, DisaggregatedSizing> {
  const priority = (v: DisaggregatedVariantConfig) =>
    config.serviceClasses.find((c) => c.name === v.serviceClass)?.priority ?? 100;
  const ordered = [...(config.disaggregated ?? [])].sort(
    (a, b) => priority(a) - priority(b) || a.name.localeCompare(b.name),
  );
  let free = options.freeDevices;
  const out = new Map<DisaggregatedVariantConfig, DisaggregatedSizing>();
  for (const v of ordered) {
    const load = loadOf(v);
    if (load === undefined) continue;
    const sizing = sizeDisaggregated(disaggregatedInput(config, v, load, { ...options, freeDevices: free }));
    out.set(v, sizing);
    if (sizing.feasible) {
      const { prefill, decode } = sizing.plan;
      free = freeAfter(free, [
        { type: prefill.deviceType, devices: prefill.devices },
        { type: decode.deviceType, devices: decode.devices },
      ]);
    }
  }
  return out;
}
