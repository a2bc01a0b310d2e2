/**
 * What lets a platform team adopt sva beside what it runs (README "Adopting sva"): apply acts
 * only on a variant in `act` mode, not paused, whose Deployments no other autoscaler (an HPA or
 * a KEDA ScaledObject) targets. Otherwise it changes nothing, and says what it would have done
 * and why: in the outcome (logged, the decision record's fate), and in published metrics.
 */
import { acceleratorType, modeOf, variantByKey } from '../config/resolved.js';
import { disaggregatedByKey } from '../config/roles.js';
import type { AdoptionMode, TelemetryAliasSet } from '../config/schema.js';
import type { DecisionRecord } from '../policy/decisionRecord.js';
import type { DeletionCost, DeploymentView, OtherAutoscaler, TelemetryPoint } from '../policy/ports.js';
import { PAUSED_ANNOTATION } from '../policy/ports.js';
import type { ApplyDeps, ApplyOptions, ApplyOutcome } from './apply.js';
import { adviceNames, adviceSeries, notOnAdvice, readsAdvice, scalesOnAdvice } from './adviceConsumers.js';
import { ADOPTION } from './telemetry.js';

export interface AdoptionHold {
  readonly status: 'shadow' | 'advise' | 'paused' | 'conflict';
  readonly detail: string;
  readonly extra: Partial<ApplyOutcome>;
  /** where a pause came from */
  readonly pausedBy?: 'config' | 'annotation';
}

/**
 * The mode apply holds a decision to: its own config's, unless that says act and the decision
 * was made in another mode (a config being rolled out): the mode that changes less wins, so a
 * message can only ever make apply do less.
 */
export function effectiveMode(d: DecisionRecord, mode: AdoptionMode): AdoptionMode {
  return mode === 'act' ? (d.mode ?? 'act') : mode;
}

/** The changes acting would make: `chat 2 → 4` per Deployment whose replicas would change. */
export function wouldDo(d: DecisionRecord, views: readonly DeploymentView[]): string[] {
  const live = new Map(views.map((v) => [v.deployment, v.desired]));
  return d.deployments
    .filter((t) => live.get(t.deployment) !== t.replicas)
    .map((t) => `${t.deployment} ${live.get(t.deployment) ?? 'absent'} → ${t.replicas}`);
}

/** Why apply changes nothing for this decision, or undefined when it acts. */
export async function adoptionHold(
  deps: ApplyDeps,
  d: DecisionRecord,
  opts: ApplyOptions,
  views: readonly DeploymentView[],
): Promise<AdoptionHold | undefined> {
  const key = `${d.namespace}/${d.variant}`;
  const v = variantByKey(opts.config, key) ?? disaggregatedByKey(opts.config, key);
  const mode = effectiveMode(d, v ? modeOf(opts.config, v) : opts.config.mode);
  const would = wouldDo(d, views);
  const summary = would.length > 0 ? would.join(', ') : 'no change';
  if (mode === 'shadow')
    return {
      status: 'shadow',
      detail: `shadow mode: nothing changed; acting would have set ${summary}`,
      extra: { wouldDo: would },
    };
  if (mode === 'advise')
    return {
      status: 'advise',
      detail: `advise mode: nothing changed; inferno_desired_replicas advises ${d.targetReplicas} for the HPA or KEDA to scale on (${summary})`,
      extra: { wouldDo: would, ...(await adviceConsumers(deps, d, opts.config.telemetry?.aliases)) },
    };
  const annotated = views.filter((x) => x.paused).map((x) => x.deployment);
  if (v?.paused || annotated.length > 0) {
    const by = v?.paused
      ? 'the config (paused: true)'
      : `${PAUSED_ANNOTATION}="true" on ${annotated.join(', ')}`;
    return {
      status: 'paused',
      detail: `paused by ${by}: nothing changed (evaluate goes on deciding); acting would have set ${summary}`,
      extra: { wouldDo: would },
      pausedBy: v?.paused ? 'config' : 'annotation',
    };
  }
  const names = new Set(d.deployments.map((t) => t.deployment));
  if (names.size === 0) return undefined;
  const others = (await deps.cluster.otherAutoscalers(d.namespace)).filter((a) => names.has(a.deployment));
  if (others.length === 0) return undefined;
  const conflicts = others.map(named);
  return {
    status: 'conflict',
    detail: `refused: ${conflicts.join('; ')} scales the same Deployment, and two autoscalers would overwrite each other's replicas. Remove it, or set the variant's mode to advise and let it scale on inferno_desired_replicas`,
    extra: { conflicts, wouldDo: would },
  };
}

/** `HorizontalPodAutoscaler llm/chat (autoscaling/v2beta2) → chat`: what it is and what it scales. */
function named(a: OtherAutoscaler): string {
  return `${a.kind} ${a.namespace}/${a.name} (${a.apiVersion}) → ${a.deployment}`;
}

/**
 * Advise mode changes nothing itself: unless an HPA or a ScaledObject scales one of the
 * variant's Deployments on the advice (./adviceConsumers.ts), nothing does, and the variant
 * silently never scales; one on CPU or another query ignores it (docs/ADOPTION.md
 * "Advise mode: nobody scaling on the advice"). The same cached list as act mode's conflict
 * check, so no extra call per decision. A failure to read it is reported, never thrown: nothing
 * is acted on either way, and the decision must not wait on a check that only warns.
 */
async function adviceConsumers(
  deps: ApplyDeps,
  d: DecisionRecord,
  aliases: readonly TelemetryAliasSet[] = [],
): Promise<Partial<ApplyOutcome>> {
  const names = [...new Set(d.deployments.map((t) => t.deployment))];
  if (names.length === 0) return {};
  let listed: OtherAutoscaler[];
  try {
    listed = await deps.cluster.otherAutoscalers(d.namespace);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return { adviceCheck: `not checked whether an HPA or ScaledObject scales on the advice: ${error}` };
  }
  const found = listed.filter((a) => names.includes(a.deployment));
  const v = { namespace: d.namespace, variant: d.variant, names: adviceNames(aliases) };
  const consumers = found.filter((a) => scalesOnAdvice(a, v)).map(named);
  if (consumers.length > 0) return { advisedTo: consumers };
  const ignored = `nothing acts on ${d.namespace}/${d.variant}'s advice, and it never scales`;
  const act = "(deploy/advise/), or set the variant's mode to act";
  if (found.length === 0)
    return {
      advisedTo: [],
      unconsumed: `no HPA or ScaledObject scales ${names.join(', ')} (namespace ${d.namespace}): ${ignored}. Deploy one on inferno_desired_replicas ${act}`,
    };
  // One scales the Deployment on something else (CPU, another query), or on the advice of
  // another variant or of several: then it scales, only not to this variant's advice.
  const misread = found.some((a) => readsAdvice(a, v))
    ? `nothing is known to act on ${d.namespace}/${d.variant}'s advice alone`
    : ignored;
  return {
    advisedTo: [],
    unconsumed: `${found.map((a) => notOnAdvice(a, v)).join('; ')}: ${misread}. Scale it on ${adviceSeries(v)} ${act}`,
  };
}

/**
 * The metrics of a held decision: its mode, whether it is paused, the conflicts it met, in
 * advise mode whether anything scales on the advice (when that could be checked), and in shadow mode the replicas it would have set and a count of the scalings it would have made.
 * Returns the telemetry error, never throws: the hold stands without its metrics.
 */
export async function publishAdoption(
  deps: ApplyDeps,
  d: DecisionRecord,
  opts: ApplyOptions,
  hold: AdoptionHold,
  views: readonly DeploymentView[],
): Promise<string | undefined> {
  const timestamp = deps.clock.now() * 1000;
  const variant = { variant_name: d.variant, namespace: d.namespace };
  const type = acceleratorType(opts.config, d.accelerator) ?? d.accelerator;
  const at = (name: string, labels: Record<string, string>, value: number): TelemetryPoint => ({
    name,
    labels,
    value,
    timestamp,
  });
  try {
    const mode = hold.status === 'shadow' || hold.status === 'advise' ? hold.status : 'act';
    const points = [
      at(ADOPTION.mode, { ...variant, mode }, 1),
      at(ADOPTION.paused, { ...variant, source: hold.pausedBy ?? 'none' }, hold.status === 'paused' ? 1 : 0),
    ];
    if (hold.status === 'conflict')
      points.push(at(ADOPTION.conflicts, variant, hold.extra.conflicts?.length ?? 0));
    // only when checked: a failed listing says nothing either way
    if (hold.status === 'advise' && hold.extra.advisedTo)
      points.push(at(ADOPTION.adviseUnconsumed, variant, hold.extra.advisedTo.length === 0 ? 1 : 0));
    if (hold.status === 'shadow' && d.accelerator !== '') {
      const labels = { ...variant, accelerator_type: type };
      points.push(at(ADOPTION.shadowReplicas, labels, d.targetReplicas));
      const chosen = d.deployments.find((t) => t.accelerator === d.accelerator);
      const running = views.find((x) => x.deployment === chosen?.deployment)?.desired ?? 0;
      if (chosen && chosen.replicas !== running) {
        const direction = chosen.replicas > running ? 'up' : 'down';
        const counted = { ...labels, direction };
        const value = await deps.state.incrementCounter(ADOPTION.shadowScalingTotal, counted);
        points.push(at(ADOPTION.shadowScalingTotal, counted, value));
      }
    }
    await deps.telemetry.publish(points);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Deletion-cost annotations hold an int32. */
const MAX_COST = 2 ** 31 - 1;

/**
 * Each pod's deletion cost from its load (running + waiting requests): a thousandth of a
 * request is one unit, so averaged gauges still order. The ReplicaSet deletes the lowest first
 * (after pods that are not ready). Only pods with a load are written: at a scale-down every
 * serving pod has one, since a pod whose series are missing makes the metrics partial and
 * partial metrics never scale down (lib/policy/partialMeasurement.ts); a pod still starting has
 * none, and the ReplicaSet removes it first whatever its cost.
 */
export function deletionCostsOf(loads: readonly { pod: string; load: number }[]): DeletionCost[] {
  return loads.map((l) => ({ pod: l.pod, cost: Math.min(MAX_COST, Math.round(l.load * 1000)) }));
}
