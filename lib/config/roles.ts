/**
 * The questions asked of a disaggregated variant's roles, answered from the config: which
 * accelerators a role may use, its Deployment on each, its startup phases, the KV it moves.
 */
import { roleDeploymentName } from './kubernetesNames.js';
import { replicaStartup, type ReplicaStartup } from './startup.js';
import { ROLES, type Config, type DisaggregatedVariantConfig, type Role, type RoleConfig } from './schema.js';
import { variantKey } from './variantKey.js';

export { ROLES, type Role };

/** The disaggregated variants of the config (none when it has no `roles` anywhere). */
export function disaggregatedVariants(config: Config): readonly DisaggregatedVariantConfig[] {
  return config.disaggregated ?? [];
}

/** The disaggregated variant of a key `namespace/name`. */
export function disaggregatedByKey(config: Config, key: string): DisaggregatedVariantConfig | undefined {
  return disaggregatedVariants(config).find((v) => variantKey(v) === key);
}

export function roleOf(v: DisaggregatedVariantConfig, role: Role): RoleConfig {
  return v.roles[role];
}

/** Accelerators a role may run on: listed, or every one its model is profiled on. */
export function roleAccelerators(config: Config, v: DisaggregatedVariantConfig, role: Role): string[] {
  const listed = v.roles[role].accelerators;
  if (listed !== undefined) return [...listed];
  return Object.keys(config.models.find((m) => m.name === v.model)?.profiles ?? {}).sort();
}

/** The role's Deployment on an accelerator. */
export function roleDeployment(
  config: Config,
  v: DisaggregatedVariantConfig,
  role: Role,
  accelerator: string,
): string {
  return roleDeploymentName(
    v.name,
    role,
    v.roles[role].deployments,
    roleAccelerators(config, v, role),
    accelerator,
  );
}

/** A role's replica startup phases (its own startup or startupSeconds; the defaults otherwise). */
export function roleStartup(
  config: Pick<Config, 'models'>,
  v: DisaggregatedVariantConfig,
  role: Role,
): ReplicaStartup {
  const r = v.roles[role];
  return replicaStartup(config, { ...v, startup: r.startup, startupSeconds: r.startupSeconds });
}

/** Bytes of KV cache per token of the variant's model (validated present for a disaggregated variant). */
export function kvBytesPerToken(config: Config, v: DisaggregatedVariantConfig): number {
  return config.models.find((m) => m.name === v.model)?.kvBytesPerToken ?? 0;
}
