/**
 * The devices a disaggregated variant's nodes leave idle, given to its roles
 * (policy.fillNodes, docs/SIZING.md section 7). Node-hours are what is billed, and a role's pod
 * takes a share of a node (a 4-GPU pod on an 8-GPU node: half): 8 prefill and 3 decode pods hold
 * 44 of the 48 devices of the 6 nodes they need, and the other 4 are paid for, idle. So after
 * each role's window has decided, the room its targets leave on the last node of a type (the
 * variant's devices of that type packed onto whole nodes) takes more pods of the roles running
 * there, the prefill role's first (each request queues there first, and the prompts' spread is
 * what its tail misses), within each role's maxReplicas. It asks for no node: a target that
 * needs a node more leaves no room. The pods it adds are not the plan's and the window does not
 * hold them: when the roles' plans need the devices, the room is gone and so are they.
 *
 * The room is counted on the variant's own devices (the smallest node of the type's node groups
 * where they differ); on a node group shared with other variants the last node's room is theirs
 * too, and the rule is an approximation there. Off for a type without node groups (a capacity
 * provider without node sizes) and while a role moves to another accelerator.
 */
import type { Config } from '../config/schema.js';
import { nodeGroupsOfType } from '../config/resolved.js';
import { ROLES, type Role } from '../config/roles.js';
import { withinRatio, type DisaggregatedInput } from '../optimizer/disaggregated.js';

export interface RoleRoom {
  /** the role's device type and devices per pod on the accelerator it runs on */
  readonly deviceType: string;
  readonly devicesPerReplica: number;
  /** what the window decided */
  readonly target: number;
  readonly maxReplicas: number;
  /** the role is moving to another accelerator (its old pods retiring): left as decided */
  readonly moving: boolean;
}

/** Devices per node of a type: the smallest of its node groups; undefined without any. */
export function devicesPerNode(config: Config, type: string): number | undefined {
  const groups = nodeGroupsOfType(config, type);
  return groups.length > 0 ? Math.min(...groups.map((g) => g.gpusPerNode)) : undefined;
}

/**
 * Whether prefill : decode pods keep within the variant's ratio bound, as apply judges it: the
 * bound would move neither, and no decode pods bound nothing.
 */
function withinBound(prefill: number, decode: number, ratio: DisaggregatedInput['ratio']): boolean {
  if (decode <= 0) return true;
  const bounded = withinRatio(prefill, decode, ratio);
  return bounded.prefill === prefill && bounded.decode === decode;
}

/**
 * The roles' targets with the room their nodes leave filled (as given when the rule is off). A pod
 * that would take the roles outside the variant's ratio bound is not added: apply rejects such a
 * decision, and the bound is the operator's.
 */
export function fillNodeRoom(
  config: Config,
  roles: Record<Role, RoleRoom>,
  ratio?: DisaggregatedInput['ratio'],
): Record<Role, number> {
  const out = { prefill: roles.prefill.target, decode: roles.decode.target };
  if (!config.policy.fillNodes.enabled || ROLES.some((r) => roles[r].moving)) return out;
  const devicesOf = (type: string) =>
    ROLES.reduce((s, r) => s + (roles[r].deviceType === type ? out[r] * roles[r].devicesPerReplica : 0), 0);
  for (const role of ROLES) {
    const r = roles[role];
    const perNode = devicesPerNode(config, r.deviceType);
    if (perNode === undefined || !(r.devicesPerReplica > 0)) continue;
    const nodes = (devices: number) => Math.ceil(devices / perNode - 1e-9);
    while (out[role] < r.maxReplicas && out[role] > 0) {
      const devices = devicesOf(r.deviceType);
      if (nodes(devices + r.devicesPerReplica) > nodes(devices)) break;
      const next = { ...out, [role]: out[role] + 1 };
      if (!withinBound(next.prefill, next.decode, ratio)) break;
      out[role] += 1;
    }
  }
  return out;
}
