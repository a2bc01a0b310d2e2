/**
 * Applying one message of a pool evaluation. A variant's decision scales its Deployments; the
 * pool's capacity intent asks the capacity provider for what the plan needs. The two travel on
 * different FIFO message groups, so neither waits on the other: each variant records the pool
 * sequence it has finished or dropped, and the capacity intent grows at once but removes
 * capacity only when every variant of the pool has reached its pool sequence (otherwise it skips
 * removal and leaves it to the next evaluation). Idempotent: targets are absolute, a decision
 * is claimed before and marked after, and an intent older than one taken on is dropped. A
 * decision costs two state writes (the claim, and markDone: applied, pool sequence reached and
 * the scaling counted), and the capacity intent one read of every variant's mark.
 */
import { configHash } from '../config/hash.js';
import { modeOf } from '../config/resolved.js';
import { variantKey } from '../config/variantKey.js';
import type { Config } from '../config/schema.js';
import { removalAllowed } from '../policy/capacityPlan.js';
import {
  InvalidCapacityIntentError,
  type CapacityIntent,
  type CapacityProvider,
  type CapacityReport,
} from '../policy/capacity.js';
import { InvalidDecisionError, parseDecision, type DecisionRecord } from '../policy/decisionRecord.js';
import { isCapacityIntent, parsePoolMessage, type PoolMessage } from '../policy/messages.js';
import type { Clock, Cluster, DecisionState, DeploymentView, TelemetrySink } from '../policy/ports.js';
import {
  admitCapacityIntent,
  admitDecision,
  checkBodySize,
  deploymentsToCompare,
  type Rejection,
} from './admission.js';
import { adoptionHold, deletionCostsOf, publishAdoption } from './adoption.js';
import { currentPoint, INFERNO, scalingLabels } from './telemetry.js';
import { roleScalingOrder } from './roleAdmission.js';
import { disaggregatedVariants } from '../config/roles.js';

export interface ApplyDeps {
  readonly cluster: Cluster;
  readonly capacity: CapacityProvider;
  readonly state: DecisionState;
  readonly telemetry: TelemetrySink;
  readonly clock: Clock;
}

export interface ApplyOptions {
  /** apply's own copy of the config: every message is judged by it (./admission.ts) */
  readonly config: Config;
  /** the pool this apply serves; default "default" */
  readonly pool?: string;
  /** decisions older than this are dropped, never applied */
  readonly maxAgeSeconds: number;
  /** accelerator name → device type, for the accelerator_type label */
  readonly acceleratorTypes?: ReadonlyMap<string, string>;
}

export type ApplyStatus =
  | 'applied'
  /** shadow mode: nothing changed; the outcome says what would have been */
  | 'shadow'
  /** advise mode: nothing changed; the user's HPA or KEDA scales on inferno_desired_replicas */
  | 'advise'
  /** paused by the config or the Deployment's annotation: nothing changed */
  | 'paused'
  /** an HPA or ScaledObject targets a Deployment of the variant: refused, nothing changed */
  | 'conflict'
  | 'duplicate'
  | 'superseded'
  | 'expired'
  | 'failed'
  /**
   * some of the decision's Deployments were set before a permanent refusal of another: what was
   * set stands (absolute targets), the rest waits for the next decision, which sets them all
   */
  | 'partial'
  /** of an older generation of the policy memory than apply has taken on: a restored memory */
  | 'stale-generation';

/** Statuses of a message the consumer drops (a duplicate was applied before: not dropped). */
export const DROPPED: ReadonlySet<string> = new Set([
  'superseded',
  'expired',
  'failed',
  'partial',
  'stale-generation',
  'rejected',
  'conflict',
]);

export interface ApplyOutcome {
  readonly kind: 'decision';
  readonly status: ApplyStatus;
  readonly decision: DecisionRecord;
  readonly detail: string;
  readonly telemetryError?: string;
  /** the decision was made with another config than apply's: judged by apply's all the same */
  readonly configMismatch?: string;
  /** failed or partial: the permanent error that ended it (403, 404, 422), after the changes in detail */
  readonly error?: string;
  /** failed or partial: the Deployments set before the refusal ("chat-h100 to 3"), and the one refused */
  readonly set?: readonly string[];
  readonly refused?: string;
  /** shadow and advise: the changes acting would have made, as `chat 2 → 4` */
  readonly wouldDo?: readonly string[];
  /** advise: the HPAs and ScaledObjects scaling the variant's Deployments on the advice (named as conflicts), when checked */
  readonly advisedTo?: readonly string[];
  /** advise: none scales them on the advice (none at all, or on CPU or another query), and so nothing acts on it (a warning) */
  readonly unconsumed?: string;
  /** advise: the listing failed and the check was skipped (the decision stands) */
  readonly adviceCheck?: string;
  /** conflict: the other autoscalers, as `HorizontalPodAutoscaler llm/chat (autoscaling/v2beta2) → chat` */
  readonly conflicts?: readonly string[];
  /** deletion costs set on pods before a scale-down, as `pod=cost` */
  readonly deletionCosts?: readonly string[];
}

/**
 * A message refused before anything of it was acted on: malformed, too large, or outside what
 * the config allows. It goes to the dead-letter queue with the reason; it never blocks its group.
 */
export interface RejectedOutcome {
  readonly kind: 'rejected';
  readonly status: 'rejected';
  readonly field: string;
  readonly reason: string;
  readonly detail: string;
  /** the message, when it parsed */
  readonly message?: PoolMessage;
  readonly telemetryError?: string;
}

export interface CapacityOutcome {
  readonly kind: 'capacity';
  readonly status: Exclude<ApplyStatus, 'duplicate'>;
  readonly intent: CapacityIntent;
  readonly detail: string;
  /** whether every variant had reached the intent's pool sequence */
  readonly removalAllowed: boolean;
  readonly report?: CapacityReport;
  readonly telemetryError?: string;
}

export type MessageOutcome = ApplyOutcome | CapacityOutcome | RejectedOutcome;

function rejected(r: Rejection, message?: PoolMessage): RejectedOutcome {
  return { kind: 'rejected', status: 'rejected', ...r, detail: `${r.field}: ${r.reason}`, message };
}

/** "decision.deployments[0].replicas: …" → field and reason, from the parsers' errors. */
function parseRejection(err: InvalidDecisionError | InvalidCapacityIntentError): Rejection {
  const colon = err.message.indexOf(': ');
  return colon > 0
    ? { field: err.message.slice(0, colon), reason: err.message.slice(colon + 2) }
    : { field: 'body', reason: err.message };
}

/**
 * Applies whichever message it is, once it is admitted: a malformed, oversized or disallowed
 * message is a RejectedOutcome (the field named) with nothing of it done. Throws the adapters'
 * errors when acting fails transiently; permanent ones end a decision as `failed`.
 */
export async function applyMessage(
  deps: ApplyDeps,
  body: unknown,
  opts: ApplyOptions,
): Promise<MessageOutcome> {
  const tooLarge = checkBodySize(body);
  if (tooLarge) return rejected(tooLarge);
  let message: PoolMessage;
  try {
    message = parsePoolMessage(body);
  } catch (err) {
    if (err instanceof InvalidDecisionError || err instanceof InvalidCapacityIntentError)
      return rejected(parseRejection(err));
    throw err;
  }
  const outcome = isCapacityIntent(message)
    ? await applyCapacity(deps, message, opts)
    : await applyDecision(deps, message, opts);
  return countDropped(deps, outcome);
}

/**
 * Counts a dropped message in inferno_decisions_dropped_total{reason} (kept in the state store
 * across invocations, as the scaling counter) and publishes it. Never fails the message: a
 * telemetry error is reported with the outcome.
 */
async function countDropped<T extends MessageOutcome>(deps: ApplyDeps, outcome: T): Promise<T> {
  if (!DROPPED.has(outcome.status)) return outcome;
  try {
    const labels = { reason: outcome.status };
    const value = await deps.state.incrementCounter(INFERNO.decisionsDropped, labels);
    await deps.telemetry.publish([
      { name: INFERNO.decisionsDropped, labels, value, timestamp: deps.clock.now() * 1000 },
    ]);
    return outcome;
  } catch (err) {
    return { ...outcome, telemetryError: err instanceof Error ? err.message : String(err) };
  }
}

/** The pool's capacity intent: growth at once, removal only once every variant has caught up. */
export async function applyCapacity(
  deps: ApplyDeps,
  intent: CapacityIntent,
  opts: ApplyOptions,
): Promise<CapacityOutcome | RejectedOutcome> {
  const now = deps.clock.now();
  const refused = admitCapacityIntent(intent, { config: opts.config, pool: opts.pool ?? 'default', now });
  if (refused) return rejected(refused, intent);
  const outcome = (
    status: CapacityOutcome['status'],
    detail: string,
    allowed = false,
    report?: CapacityReport,
  ) =>
    ({
      kind: 'capacity',
      status,
      intent,
      detail,
      removalAllowed: allowed,
      ...(report ? { report } : {}),
    }) as const;
  const age = now - Date.parse(intent.issuedAt) / 1000;
  if (age > opts.maxAgeSeconds) {
    return outcome(
      'expired',
      `issued ${Math.round(age)} s ago, more than ${opts.maxAgeSeconds} s: not applied`,
    );
  }
  // Capacity is sva's to change once some variant of the pool acts: the intent counts variants
  // in shadow mode (and paused ones) at what they run, so they neither gain nor lose nodes by it.
  // While none acts (a pool being watched, or advising), it changes nothing. Disaggregated
  // variants count too: a pool of only those would otherwise never get a node.
  const modes = new Set(
    [...opts.config.variants, ...disaggregatedVariants(opts.config)].map((v) => modeOf(opts.config, v)),
  );
  if (!modes.has('act')) {
    const mode = modes.has('shadow') ? 'shadow' : 'advise';
    const would = intent.accelerators.map((a) => `${a.acceleratorType}: ${a.devices} devices`).join('; ');
    return outcome(
      mode,
      `no variant of the pool in act mode: capacity not changed (would ask for ${would || 'none'})`,
    );
  }
  const generation = intent.generation ?? 0;
  if (!(await deps.state.claimCapacity(intent.pool, intent.poolSequence, generation))) {
    return outcome('superseded', `a newer capacity intent of pool ${intent.pool} was taken on`);
  }
  // Removal waits for every variant apply's own config has too: an intent that leaves one out
  // (another config, or a forged intent) cannot remove capacity that variant may still need.
  const own = [...opts.config.variants, ...disaggregatedVariants(opts.config)].map(variantKey);
  const variants = [...new Set([...intent.variants, ...own])].sort();
  const reached = await deps.state.poolsReached(variants, generation);
  const allowed = removalAllowed({ poolSequence: intent.poolSequence, variants }, reached);
  const report = await deps.capacity.provide(intent, { now, allowRemoval: allowed });
  const behind = variants.filter((v) => (reached.get(v) ?? 0) < intent.poolSequence);
  const detail = [
    ...report.changes.map(
      (c) => `${c.acceleratorType}: ${c.status} (${c.devicesBefore} → ${c.devicesAfter} devices)`,
    ),
    ...(allowed
      ? []
      : [`removal skipped: ${behind.join(', ')} not yet at pool sequence ${intent.poolSequence}`]),
  ].join('; ');
  return outcome('applied', detail || 'no capacity to change', allowed, report);
}

/** Is this adapter error one that a retry cannot mend (403, 404, 422, a refused request)? */
export function isPermanent(err: unknown): boolean {
  return (err as { retryable?: unknown } | null)?.retryable === false;
}

/**
 * Throws InvalidDecisionError for a malformed message (applyMessage reports it as rejected),
 * and the adapters' transient errors; a permanent one ends the decision as `failed`.
 */
export async function applyDecision(
  deps: ApplyDeps,
  body: unknown,
  opts: ApplyOptions,
): Promise<ApplyOutcome | RejectedOutcome> {
  const decision = parseDecision(body);
  const variant = `${decision.namespace}/${decision.variant}`;
  const now = deps.clock.now();
  const admission = { config: opts.config, pool: opts.pool ?? 'default', now };
  // Checked before the live read: a decision naming an unknown variant or Deployment must not
  // even make apply read the cluster for it.
  const refused = admitDecision(decision, admission);
  if (refused) return rejected(refused, decision);
  // Every Deployment it names, read once: the replicas a move may only lower, the pause
  // annotation, and what a scale-down lowers (its pods' deletion costs).
  let views: DeploymentView[] = [];
  try {
    if (decision.deployments.length > 0)
      views = await deps.cluster.deployments(
        decision.deployments.map((t) => ({
          namespace: decision.namespace,
          deployment: t.deployment,
          variant,
          accelerator: t.accelerator,
        })),
      );
  } catch (err) {
    if (!isPermanent(err)) throw err;
    // Refused for good (403, 404 of the namespace): as a refused scale, the variant is done
    // with this pool evaluation and the message ends without holding its group.
    await deps.state.markDone(variant, {
      poolSequence: decision.poolSequence,
      generation: decision.generation ?? 0,
    });
    const targets = decision.deployments.map((t) => `${t.deployment} to ${t.replicas}`).join(', ');
    return {
      kind: 'decision',
      status: 'failed',
      decision,
      detail: `${targets} refused`,
      error: err instanceof Error ? err.message : String(err),
    };
  }
  const live = new Map(views.map((v) => [v.deployment, v.desired]));
  // what the read saw, so a scale need not read the Deployment again (a conflict re-reads)
  const seen = new Map(
    views.flatMap((v) =>
      v.resourceVersion ? [[v.deployment, { desired: v.desired, resourceVersion: v.resourceVersion }]] : [],
    ),
  );
  if (deploymentsToCompare(decision, opts.config).length > 0) {
    const lowered = admitDecision(decision, admission, live);
    if (lowered) return rejected(lowered, decision);
  }
  const generation = decision.generation ?? 0;
  const ownHash = configHash(opts.config);
  const configMismatch =
    decision.configHash !== undefined && decision.configHash !== ownHash
      ? `decided with config ${decision.configHash.slice(0, 12)}, judged by apply's ${ownHash.slice(0, 12)}`
      : undefined;
  // Whatever becomes of it, the variant is done with this pool evaluation: capacity may follow.
  const outcome = async (
    status: ApplyStatus,
    detail: string,
    extra: Partial<ApplyOutcome> = {},
  ): Promise<ApplyOutcome> => {
    await deps.state.markDone(variant, { poolSequence: decision.poolSequence, generation });
    return {
      kind: 'decision',
      status,
      decision,
      detail,
      ...(configMismatch ? { configMismatch } : {}),
      ...extra,
    };
  };
  const age = now - Date.parse(decision.issuedAt) / 1000;
  if (age > opts.maxAgeSeconds) {
    return outcome(
      'expired',
      `issued ${Math.round(age)} s ago, more than ${opts.maxAgeSeconds} s: not applied`,
    );
  }
  // Sequences compare only within one generation of the policy memory: a newer generation
  // (a fresh memory) starts the comparison again; an older one is a restored memory, dropped
  // until evaluate notices and starts a newer generation (lib/loop/evaluate.ts checkGeneration).
  // The claim answers with the mark in its way when it is refused: one round trip either way.
  const claim = await deps.state.claim(variant, decision.sequence, generation);
  if (!claim.claimed) {
    const { last } = claim;
    const lastGeneration = last.generation ?? 0;
    if (generation < lastGeneration) {
      return outcome(
        'stale-generation',
        `generation ${generation} is older than generation ${lastGeneration} of the decisions already taken on: a restored policy memory; the next evaluation starts a new generation`,
      );
    }
    if (generation === lastGeneration && decision.sequence < last.sequence) {
      return outcome('superseded', `sequence ${decision.sequence} is older than ${last.sequence}`);
    }
    if (generation === lastGeneration && decision.sequence === last.sequence && last.applied) {
      return outcome('duplicate', `sequence ${decision.sequence} was already applied`);
    }
    return outcome('superseded', `a newer decision for ${variant} was taken on concurrently`);
  }

  // Adopting sva (README "Adopting sva"): a mode other than act, a pause, or another autoscaler
  // on the same Deployments, and apply changes nothing; it says what and why.
  let held;
  try {
    held = await adoptionHold(deps, decision, opts, views);
  } catch (err) {
    if (!isPermanent(err)) throw err;
    // What apply cannot check it does not act on: another autoscaler may be scaling these.
    const failed = await outcome(
      'failed',
      'not acted on: the other autoscalers of the namespace could not be read',
    );
    return { ...failed, error: err instanceof Error ? err.message : String(err) };
  }
  if (held) {
    const telemetryError = await publishAdoption(deps, decision, opts, held, views);
    const out = await outcome(held.status, held.detail, held.extra);
    return telemetryError ? { ...out, telemetryError } : out;
  }

  // Before lowering a Deployment, its least busy pods are marked to go first.
  const deletionCosts: string[] = [];
  for (const d of decision.deployments) {
    const current = live.get(d.deployment);
    if (current === undefined || d.replicas >= current || !decision.podLoads?.length) continue;
    try {
      // at most twice the pods the Deployment runs (a rollout may hold both ReplicaSets' pods):
      // a decision cannot make apply write more than that
      const costs = deletionCostsOf(decision.podLoads).slice(0, 2 * current);
      const set = await deps.cluster.setDeletionCosts(decision.namespace, d.deployment, costs);
      const byPod = new Map(costs.map((c) => [c.pod, c.cost]));
      deletionCosts.push(...set.map((p) => `${p}=${byPod.get(p)}`));
    } catch (err) {
      if (!isPermanent(err)) throw err;
      // Without the costs the ReplicaSet picks as it always did: the scale-down goes on.
      deletionCosts.push(`not set: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // Capacity for growth is asked for by the pool's capacity intent, and removed only after
  // every variant has applied its decision: here only the Deployments change.
  // A permanent refusal (403, 404, 422) ends the decision: retrying cannot mend it and would
  // hold the variant's message group. What was done before it stands and is reported; the next
  // decision sets every Deployment again, absolute targets, and so reconciles it.
  const done: string[] = [];
  // A disaggregated variant's roles change in an order that never starves either (roleAdmission.ts).
  for (const d of roleScalingOrder(decision)) {
    try {
      await deps.cluster.scale(decision.namespace, d.deployment, d.replicas, seen.get(d.deployment));
    } catch (err) {
      if (!isPermanent(err)) throw err;
      const error = err instanceof Error ? err.message : String(err);
      const refused = `${d.deployment} to ${d.replicas} refused`;
      const ended =
        done.length > 0
          ? await outcome('partial', `${done.join(', ')} set; ${refused}`)
          : await outcome('failed', refused);
      return { ...ended, error, set: done, refused: d.deployment };
    }
    done.push(`${d.deployment} to ${d.replicas}`);
  }
  const acceleratorType = opts.acceleratorTypes?.get(decision.accelerator) ?? decision.accelerator;
  const base = { variant: decision.variant, namespace: decision.namespace, acceleratorType };
  const scaled = decision.targetReplicas !== decision.currentReplicas;
  const count = scaled
    ? scalingLabels({
        ...base,
        direction: decision.targetReplicas > decision.currentReplicas ? 'up' : 'down',
        reason: decision.reason,
      })
    : undefined;
  // Applied, pool sequence reached and the scaling counted: one write.
  const marked = await deps.state.markDone(variant, {
    poolSequence: decision.poolSequence,
    generation,
    appliedSequence: decision.sequence,
    ...(count ? { count } : {}),
  });
  const applied: ApplyOutcome = {
    kind: 'decision',
    status: 'applied',
    decision,
    detail: `${decision.action} to ${decision.targetReplicas} on ${decision.accelerator}`,
    ...(configMismatch ? { configMismatch } : {}),
    ...(deletionCosts.length > 0 ? { deletionCosts } : {}),
  };

  let telemetryError: string | undefined;
  try {
    const points = [currentPoint({ ...base, replicas: decision.targetReplicas, timestampMs: now * 1000 })];
    if (count && marked.count !== undefined)
      points.push({ name: INFERNO.scalingTotal, labels: count, value: marked.count, timestamp: now * 1000 });
    await deps.telemetry.publish(points);
  } catch (err) {
    telemetryError = err instanceof Error ? err.message : String(err);
  }
  return { ...applied, telemetryError };
}
