/**
 * What apply lets through: every message is judged against apply's own copy of the config
 * before anything is acted on, because anyone who can send to the queue could otherwise scale
 * anything apply's role can. A check that fails names the field; nothing of the message is
 * applied. Pure: the live replicas a move may only lower come in as arguments.
 */
import { providerDeviceBound, variantDeviceBound } from '../config/capacityBounds.js';
import { acceleratorNamed, allowedAccelerators, deploymentName, variantByKey } from '../config/resolved.js';
import type { Config, VariantConfig } from '../config/schema.js';
import type { CapacityIntent } from '../policy/capacity.js';
import type { DecisionRecord } from '../policy/decisionRecord.js';
import { disaggregatedByKey } from '../config/roles.js';
import { admitRoles, roleDeploymentsToCompare } from './roleAdmission.js';

/** Bodies larger than this are refused before parsing: a decision is a few KiB. */
export const MAX_BODY_BYTES = 64 * 1024;
/** How far in the future an issuedAt may be: the clocks of evaluate and apply differ a little. */
export const CLOCK_SKEW_SECONDS = 60;
/** Kubernetes replicas are int32; sequences stay below it too (one a minute lasts 4000 years). */
export const INT32_MAX = 2 ** 31 - 1;

export interface Rejection {
  /** the offending field, as `decision.deployments[1].replicas` */
  readonly field: string;
  readonly reason: string;
}

const reject = (field: string, reason: string): Rejection => ({ field, reason });

/** A body over the size limit (checked on the raw text, before JSON.parse sees it). */
export function checkBodySize(body: unknown): Rejection | undefined {
  if (typeof body !== 'string') return undefined;
  const bytes = Buffer.byteLength(body, 'utf8');
  return bytes > MAX_BODY_BYTES
    ? reject('body', `${bytes} bytes, more than the ${MAX_BODY_BYTES} a message may have`)
    : undefined;
}

export interface AdmissionContext {
  readonly config: Config;
  /** the pool this apply serves */
  readonly pool: string;
  /** epoch seconds */
  readonly now: number;
}

function checkIssuedAt(what: string, issuedAt: string, now: number): Rejection | undefined {
  const ahead = Date.parse(issuedAt) / 1000 - now;
  return ahead > CLOCK_SKEW_SECONDS
    ? reject(
        `${what}.issuedAt`,
        `${issuedAt} is ${Math.round(ahead)} s in the future, more than the ${CLOCK_SKEW_SECONDS} s clocks may differ`,
      )
    : undefined;
}

function checkSequence(field: string, value: number): Rejection | undefined {
  return Number.isInteger(value) && value >= 0 && value <= INT32_MAX
    ? undefined
    : reject(field, `${value} is not an integer in [0, ${INT32_MAX}]`);
}

/** Whether the decision's chosen accelerator may grow: it is one the config allows the variant. */
function chosenMayGrow(d: DecisionRecord, config: Config): boolean {
  const v = variantByKey(config, `${d.namespace}/${d.variant}`);
  return v !== undefined && allowedAccelerators(config, v).includes(d.accelerator);
}

/**
 * A spill (policy.spill) may grow one Deployment besides the chosen one: it must be on another
 * accelerator the config allows the variant, within maxReplicas.
 */
function checkSpill(d: DecisionRecord, v: VariantConfig, config: Config): Rejection | undefined {
  if (!d.spill) return undefined;
  // like a decision's mode, the message cannot ask for more than apply's own config allows
  if (!config.policy.spill.enabled)
    return reject('decision.spill', 'policy.spill is off in the config apply runs with');
  const { accelerator, replicas } = d.spill;
  if (accelerator === d.accelerator)
    return reject('decision.spill.accelerator', `${accelerator} is the chosen accelerator, not another`);
  if (!allowedAccelerators(config, v).includes(accelerator))
    return reject('decision.spill.accelerator', `${accelerator} is not an accelerator the variant may use`);
  if (v.maxReplicas !== undefined && replicas > v.maxReplicas)
    return reject('decision.spill.replicas', `${replicas} is above maxReplicas ${v.maxReplicas}`);
  return undefined;
}

/**
 * The Deployments the decision may only keep or lower, and so only if the live cluster runs at
 * least that many: those of other accelerators (a move in progress), and the chosen one's when
 * the config no longer allows it (a hold there after a config change). The caller reads these
 * and passes their current replicas to admitDecision.
 */
export function deploymentsToCompare(d: DecisionRecord, config: Config): DecisionRecord['deployments'] {
  if (d.roles) return roleDeploymentsToCompare(d);
  const mayGrow = chosenMayGrow(d, config);
  return d.deployments.filter((t) => (t.accelerator !== d.accelerator || !mayGrow) && t.replicas > 0);
}

/**
 * Checks a parsed decision against the config. `live` gives the current replicas of the
 * Deployments deploymentsToCompare named (absent from it: the Deployment does not exist);
 * without `live` those are not compared yet (the first pass, before reading the cluster).
 */
export function admitDecision(
  d: DecisionRecord,
  ctx: AdmissionContext,
  live?: ReadonlyMap<string, number>,
): Rejection | undefined {
  const { config } = ctx;
  if (d.pool !== ctx.pool)
    return reject('decision.pool', `"${d.pool}" is not this apply's pool "${ctx.pool}"`);
  const key = `${d.namespace}/${d.variant}`;
  const v = variantByKey(config, key);
  const split = v ? undefined : disaggregatedByKey(config, key);
  if (!v && !split) return reject('decision.variant', `${key} is not a variant of the config`);
  const seq =
    checkSequence('decision.sequence', d.sequence) ?? checkSequence('decision.poolSequence', d.poolSequence);
  if (seq) return seq;
  // A variant's sequence grows by one per evaluation, as the pool's does, from when it joined:
  // it can never be ahead of the pool sequence of its own evaluation.
  if (d.sequence > d.poolSequence)
    return reject(
      'decision.sequence',
      `${d.sequence} is beyond the pool sequence ${d.poolSequence} it was decided in`,
    );
  const future = checkIssuedAt('decision', d.issuedAt, ctx.now);
  if (future) return future;
  if (split && d.spill) return reject('decision.spill', `${key} is disaggregated: its roles spill nothing`);
  if (split) return admitRoles(d, split, config, live);
  if (!v) return reject('decision.variant', `${key} is not a variant of the config`);
  if (d.roles) return reject('decision.roles', `${key} is not disaggregated: it has no roles`);

  if (d.accelerator !== '' && !acceleratorNamed(config, d.accelerator))
    return reject('decision.accelerator', `"${d.accelerator}" is not an accelerator of the config`);
  const mayGrow = chosenMayGrow(d, config);
  const spillCheck = checkSpill(d, v, config);
  if (spillCheck) return spillCheck;
  const seen = new Set<string>();
  const names = new Set<string>();
  for (const [i, t] of d.deployments.entries()) {
    const at = `decision.deployments[${i}]`;
    if (!acceleratorNamed(config, t.accelerator))
      return reject(`${at}.accelerator`, `"${t.accelerator}" is not an accelerator of the config`);
    if (seen.has(t.accelerator))
      return reject(`${at}.accelerator`, `${t.accelerator} is named twice in one decision`);
    seen.add(t.accelerator);
    const expected = deploymentName(config, v, t.accelerator);
    if (t.deployment !== expected)
      return reject(
        `${at}.deployment`,
        `"${t.deployment}" is not the Deployment of ${key} on ${t.accelerator} (${d.namespace}/${expected})`,
      );
    if (names.has(t.deployment))
      return reject(`${at}.deployment`, `${t.deployment} is named twice in one decision`);
    names.add(t.deployment);
    if (t.replicas > INT32_MAX) return reject(`${at}.replicas`, `${t.replicas} is more than int32`);
    if (t.accelerator === d.accelerator && mayGrow) {
      const bounds = replicaBounds(`${at}.replicas`, t.replicas, v);
      if (bounds) return bounds;
    } else if (live) {
      // Another accelerator of the variant (a move in progress), or one no longer allowed:
      // it may keep or lower what runs, never raise it; a spill's up to the replicas it names.
      const current = live.get(t.deployment) ?? 0;
      const spillTo = d.spill?.accelerator === t.accelerator ? d.spill.replicas : 0;
      if (t.replicas > Math.max(current, spillTo))
        return reject(
          `${at}.replicas`,
          `${t.replicas} would raise ${t.deployment} from ${current}: only the chosen accelerator, when the variant may use it, may grow`,
        );
    }
  }

  const chosen = d.deployments.find((t) => t.accelerator === d.accelerator);
  if (d.accelerator === '') {
    // No accelerator chosen: a hold while nothing of the variant runs (its Deployments are not
    // there yet). Its target is only the bounded intention; the Deployments it names were
    // checked above as others, so none of them may grow.
    return replicaBounds('decision.targetReplicas', d.targetReplicas, v);
  }
  const bounds = replicaBounds('decision.targetReplicas', d.targetReplicas, v);
  if (bounds) return bounds;
  if (!chosen) {
    return d.targetReplicas === 0
      ? undefined
      : reject(
          'decision.deployments',
          `no Deployment on ${d.accelerator}, the chosen accelerator, for targetReplicas ${d.targetReplicas}`,
        );
  }
  if (chosen.replicas !== d.targetReplicas)
    return reject(
      'decision.targetReplicas',
      `${d.targetReplicas} disagrees with ${chosen.deployment}'s ${chosen.replicas} replicas`,
    );
  return undefined;
}

function replicaBounds(field: string, replicas: number, v: VariantConfig): Rejection | undefined {
  const max = v.maxReplicas ?? INT32_MAX;
  if (!Number.isInteger(replicas) || replicas < v.minReplicas || replicas > max)
    return reject(field, `${replicas} is outside the variant's [${v.minReplicas}, ${max}] replicas`);
  return undefined;
}

/** Checks a parsed capacity intent against the config. */
export function admitCapacityIntent(intent: CapacityIntent, ctx: AdmissionContext): Rejection | undefined {
  const { config } = ctx;
  if (intent.pool !== ctx.pool)
    return reject('capacity.pool', `"${intent.pool}" is not this apply's pool "${ctx.pool}"`);
  const seq = checkSequence('capacity.poolSequence', intent.poolSequence);
  if (seq) return seq;
  const future = checkIssuedAt('capacity', intent.issuedAt, ctx.now);
  if (future) return future;
  for (const [i, key] of intent.variants.entries()) {
    if (!variantByKey(config, key) && !disaggregatedByKey(config, key))
      return reject(`capacity.variants[${i}]`, `${key} is not a variant of the config`);
  }
  const types = new Set(config.accelerators.map((a) => a.type ?? a.name));
  for (const [i, need] of intent.accelerators.entries()) {
    const at = `capacity.accelerators[${i}]`;
    if (!types.has(need.acceleratorType))
      return reject(
        `${at}.acceleratorType`,
        `"${need.acceleratorType}" is not an accelerator type of the config`,
      );
    const sum = need.replicas.reduce((s, r) => s + r.devicesPerReplica * r.replicas, 0);
    if (sum !== need.devices)
      return reject(`${at}.devices`, `${need.devices} disagrees with the ${sum} devices its replicas take`);
    const bounds = [
      ['the capacity provider could ever hold', providerDeviceBound(config, need.acceleratorType)],
      ["the pool's variants could ever ask for", variantDeviceBound(config, need.acceleratorType)],
    ] as const;
    for (const [what, bound] of bounds) {
      if (bound !== undefined && need.devices > bound)
        return reject(
          `${at}.devices`,
          `${need.devices} ${need.acceleratorType} devices, more than the ${bound} ${what}`,
        );
    }
  }
  return undefined;
}
