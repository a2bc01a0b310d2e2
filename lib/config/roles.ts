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

/** The label llm-d's `llm-d.ai/role` pod label becomes on the series (Prometheus label rules). */
export const DEFAULT_ROLE_LABEL = 'llm_d_ai_role';

/** The series label a variant's roles are told apart by. */
export function roleLabel(v: DisaggregatedVariantConfig): string {
  return v.metrics.roleLabel ?? DEFAULT_ROLE_LABEL;
}

/** Bytes of KV cache per token of the variant's model (validated present for a disaggregated variant). */
export function kvBytesPerToken(config: Config, v: DisaggregatedVariantConfig): number {
  return config.models.find((m) => m.name === v.model)?.kvBytesPerToken ?? 0;
}

/**
 * The simulated fleet's variant of a role (lib/closedLoop/scenario.ts): the prefill role is the
 * variant's own name (arrivals and outcomes are the variant's), the decode role `name:decode`
 * (a name no Kubernetes object can have, so it never meets another variant's).
 */
export function simRoleVariant(v: { name: string }, role: Role): string {
  return role === 'prefill' ? v.name : `${v.name}:decode`;
}

/** Every variant of the config by name and service class, single-Deployment and disaggregated. */
export function everyVariant(config: Config): readonly Config['variants'][number][] {
  return [...config.variants, ...disaggregatedVariants(config)];
}
