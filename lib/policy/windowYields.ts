/**
 * The window yields to a neighbour's need (policy.windowYields). The stabilisation window holds
 * replicas above a variant's recommendation against the variant's own regret (re-buying them a
 * lead time later), not against another variant's need: on a node group at its limit, a burst's
 * replicas held until the window ends kept every H100 device from a neighbour whose sizing asked
 * for them (bench/RESULTS.md, "Issue 14: bursts below the metrics window (branch w16b)").
 *
 * So, per accelerator type at its limit: where a variant's recommendation on its chosen
 * accelerator (what its sizing asks, not what its own window holds; within its step limit) does not fit in what the
 * other variants' deployments leave, replicas the others hold only by their window (above their
 * own recommendation, on that type) are released for it, lowest priority first, never below the
 * holder's recommendation. A release is an ordinary scale-down: apply lowers the Deployment, its
 * least busy pods marked to go first (lib/loop/apply.ts), and a provider removes capacity never
 * below what the cluster runs (the capacity port, lib/policy/capacity.ts). A variant on missing or partial data, or whose decision apply will not
 * act on, keeps what it holds.
 *
 * Pure: the pool's guarded variants in, the same with the holders' targets lowered out.
 */
import type { Config } from '../config/schema.js';
import { acceleratorType, devicesPerReplica, modeOf, serviceClassOf } from '../config/resolved.js';
import { isMeasured } from './stages/demand.js';
import { makeBeforeBreak, type Guarded } from './stages/guards.js';

export interface YieldContext {
  readonly config: Config;
  /** devices per type the pool may count on (sizingCapacity); undefined: unlimited */
  readonly devices: ReadonlyMap<string, number> | undefined;
}

/** Service class priority: 1 is the highest; a variant without a class counts as the lowest. */
const priorityOf = (config: Config, g: Guarded) => serviceClassOf(config, g.v)?.priority ?? 101;

const typeOf = (config: Config, accelerator: string) => acceleratorType(config, accelerator) ?? accelerator;

/** Each variant whose recommendation does not fit, highest priority first, takes what others' windows hold. */
export function yieldWindowHolds(guarded: readonly Guarded[], ctx: YieldContext): Guarded[] {
  const { config, devices } = ctx;
  const out = [...guarded];
  if (!config.policy.windowYields.enabled || !devices) return out;
  const needy = out
    .map((g, i) => ({ g, i }))
    .sort((a, b) => priorityOf(config, a.g) - priorityOf(config, b.g) || a.i - b.i)
    .map(({ i }) => i);
  for (const n of needy) {
    const g = out[n]!;
    if (!asksOnChosen(g)) continue;
    const type = typeOf(config, g.accelerator);
    const bound = devices.get(type);
    if (bound === undefined) continue;
    const others = out.reduce((s, o, j) => (j === n ? s : s + devicesOn(config, o, type)), 0);
    // what its sizing asks and this step deploys (a step limit on its growth asks the rest later)
    const asked = Math.min(g.recommended!, g.target);
    // replicas that run are placed: a variant with what it asks ready needs nothing of the others
    if ((g.current.byAccelerator.get(g.accelerator)?.ready ?? 0) >= asked) continue;
    let short = asked * devicesPerReplica(config, g.v, g.accelerator) - Math.max(0, bound - others);
    if (short <= 0) continue;
    const holders = out
      .map((h, j) => ({ h, j }))
      .filter(({ h, j }) => j !== n && heldAbove(config, h, type) > 0)
      .sort((a, b) => priorityOf(config, b.h) - priorityOf(config, a.h) || a.j - b.j);
    for (const { h, j } of holders) {
      const per = devicesPerReplica(config, h.v, h.accelerator);
      const k = Math.min(heldAbove(config, h, type), Math.ceil(short / per));
      out[j] = release(h, k, g, bound);
      short -= k * per;
      if (short <= 0) break;
    }
  }
  return out;
}

/** A variant's recommendation stands on the accelerator it is decided on (measured, not held). */
function asksOnChosen(g: Guarded): boolean {
  return (
    isMeasured(g) &&
    g.accelerator !== '' &&
    g.recommended !== undefined &&
    g.recommended > 0 &&
    g.recommendation.accelerator === g.accelerator
  );
}

/** Devices of a type a variant's deployments take. */
function devicesOn(config: Config, g: Guarded, type: string): number {
  let devices = 0;
  for (const [acc, n] of g.deployments)
    if (typeOf(config, acc) === type) devices += n * devicesPerReplica(config, g.v, acc);
  return devices;
}

/**
 * Replicas a variant holds on a type only by its stabilisation window: its target above its
 * recommendation, on the accelerator it stays on. None on missing or partial data (a hold, or
 * a shrink refused), during a move, or where apply will not act on the decision (shadow, paused).
 */
function heldAbove(config: Config, h: Guarded, type: string): number {
  if (!asksOnChosen(h) || typeOf(config, h.accelerator) !== type) return 0;
  if (h.gaps.length > 0 || h.migrating || h.reason !== 'stabilization') return 0;
  if (modeOf(config, h.v) === 'shadow' || h.v.paused) return 0;
  return Math.max(0, h.target - h.recommended!);
}

function release(h: Guarded, k: number, forVariant: Guarded, bound: number): Guarded {
  const target = h.target - k;
  return {
    ...h,
    target,
    deployments: makeBeforeBreak(h.current, h.accelerator, target),
    message:
      `${h.message}; window yields ${k} replica${k === 1 ? '' : 's'} of ${h.accelerator} to ${forVariant.v.name}, ` +
      `which needs them and cannot get them elsewhere (${Math.min(forVariant.recommended!, forVariant.target)} asked, ` +
      `the type's ${bound} devices taken; kept ${target}, recommended ${h.recommended})`,
  };
}
