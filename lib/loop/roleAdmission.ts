/**
 * What apply lets through of a disaggregated variant's decision (docs/ARCHITECTURE.md): both
 * roles judged against apply's own config, and the order in which their Deployments change.
 * Pure, like ./admission.ts.
 */
import { acceleratorNamed } from '../config/resolved.js';
import { ROLES, roleAccelerators, roleDeployment, type Role } from '../config/roles.js';
import type { Config, DisaggregatedVariantConfig } from '../config/schema.js';
import type { DecisionRecord } from '../policy/decisionRecord.js';

export interface RoleRejection {
  readonly field: string;
  readonly reason: string;
}

const INT32_MAX = 2 ** 31 - 1;
const reject = (field: string, reason: string): RoleRejection => ({ field, reason });

/**
 * Checks both roles of a decision: each Deployment is the role's on that accelerator, each
 * role's chosen Deployment has its target within the role's bounds, the targets respect the
 * ratio bound, the sums agree; any other Deployment of a role may only keep or lower what runs
 * (`live`, as admitDecision reads it).
 */
export function admitRoles(
  d: DecisionRecord,
  v: DisaggregatedVariantConfig,
  config: Config,
  live?: ReadonlyMap<string, number>,
): RoleRejection | undefined {
  const roles = d.roles;
  if (!roles)
    return reject(
      'decision.roles',
      `${v.namespace}/${v.name} is disaggregated: its decision gives both roles`,
    );
  if (d.accelerator !== '')
    return reject(
      'decision.accelerator',
      'must be empty for a disaggregated variant: each role names its own',
    );
  for (const role of ROLES) {
    const r = roles[role];
    const at = `decision.roles.${role}`;
    if (r.accelerator !== '' && !roleAccelerators(config, v, role).includes(r.accelerator))
      return reject(`${at}.accelerator`, `"${r.accelerator}" is not an accelerator the ${role} role may use`);
    const bounds = v.roles[role];
    const max = bounds.maxReplicas ?? INT32_MAX;
    if (r.accelerator !== '' && (r.targetReplicas < bounds.minReplicas || r.targetReplicas > max))
      return reject(
        `${at}.targetReplicas`,
        `${r.targetReplicas} is outside the ${role} role's [${bounds.minReplicas}, ${max}] replicas`,
      );
  }
  const sum = roles.prefill.targetReplicas + roles.decode.targetReplicas;
  if (d.targetReplicas !== sum)
    return reject('decision.targetReplicas', `${d.targetReplicas} is not the roles' ${sum} together`);
  const { min, max } = v.roles.ratio ?? {};
  const p = roles.prefill.targetReplicas;
  const dec = roles.decode.targetReplicas;
  if (dec > 0 && ((min !== undefined && p < min * dec - 1e-9) || (max !== undefined && p > max * dec + 1e-9)))
    return reject(
      'decision.roles',
      `prefill ${p} : decode ${dec} is outside the ratio bound [${min ?? 0}, ${max ?? '∞'}]`,
    );
  const seen = new Set<string>();
  for (const [i, t] of d.deployments.entries()) {
    const at = `decision.deployments[${i}]`;
    if (t.role === undefined) return reject(`${at}.role`, 'required for a disaggregated variant');
    if (!acceleratorNamed(config, t.accelerator))
      return reject(`${at}.accelerator`, `"${t.accelerator}" is not an accelerator of the config`);
    if (!roleAccelerators(config, v, t.role).includes(t.accelerator))
      return reject(
        `${at}.accelerator`,
        `"${t.accelerator}" is not an accelerator the ${t.role} role may use`,
      );
    const expected = roleDeployment(config, v, t.role, t.accelerator);
    if (t.deployment !== expected)
      return reject(
        `${at}.deployment`,
        `"${t.deployment}" is not the ${t.role} Deployment of ${v.namespace}/${v.name} on ${t.accelerator} (${expected})`,
      );
    if (seen.has(t.deployment))
      return reject(`${at}.deployment`, `${t.deployment} is named twice in one decision`);
    seen.add(t.deployment);
    if (t.replicas > INT32_MAX) return reject(`${at}.replicas`, `${t.replicas} is more than int32`);
    const chosen = roles[t.role];
    if (t.accelerator === chosen.accelerator) {
      if (t.replicas !== chosen.targetReplicas)
        return reject(
          `${at}.replicas`,
          `${t.replicas} disagrees with the ${t.role} role's target ${chosen.targetReplicas}`,
        );
    } else if (live) {
      const current = live.get(t.deployment) ?? 0;
      if (t.replicas > current)
        return reject(
          `${at}.replicas`,
          `${t.replicas} would raise ${t.deployment} from ${current}: only the ${t.role} role's chosen accelerator may grow`,
        );
    }
  }
  for (const role of ROLES) {
    const r = roles[role];
    if (
      r.accelerator !== '' &&
      !d.deployments.some((t) => t.role === role && t.accelerator === r.accelerator)
    )
      return reject(
        'decision.deployments',
        `no ${role} Deployment on ${r.accelerator}, the role's chosen accelerator`,
      );
  }
  return undefined;
}

/** The role Deployments that may only keep or lower what runs: those off their role's chosen accelerator. */
export function roleDeploymentsToCompare(d: DecisionRecord): DecisionRecord['deployments'] {
  return d.deployments.filter(
    (t) => t.role !== undefined && t.accelerator !== d.roles?.[t.role].accelerator && t.replicas > 0,
  );
}

/**
 * The order a disaggregated decision's Deployments change in: growing roles first, decode before
 * prefill, then shrinking roles, prefill before decode. A new prefill pod hands every prompt it
 * computes to a decode pod, so decode room must be there first; a decode pod removed while
 * prefill pods still send it work would leave their KV with nowhere to go (docs/ARCHITECTURE.md).
 */
export function roleScalingOrder(d: DecisionRecord): DecisionRecord['deployments'] {
  if (!d.roles) return d.deployments;
  const grows = (role: Role) => d.roles![role].targetReplicas >= d.roles![role].currentReplicas;
  const rank = (role: Role | undefined): number => {
    if (role === undefined) return 4;
    if (grows(role)) return role === 'decode' ? 0 : 1;
    return role === 'prefill' ? 2 : 3;
  };
  return [...d.deployments].sort((a, b) => rank(a.role) - rank(b.role));
}
