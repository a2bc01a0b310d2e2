/**
 * One evaluation of a capacity pool: collect (metrics, Deployments, the capacity provider's
 * view), decide, queue one decision per variant and the pool's capacity intent, publish the
 * desired replicas. The Lambda handler, `sva invoke` and the simulation all run this.
 */
import type { Config } from '../config/schema.js';
import { variantKey } from '../config/toSystem.js';
import type { CapacityIntent, CapacityProvider } from '../policy/capacity.js';
import type { DecisionRecord } from '../policy/decisionRecord.js';
import { decidePool } from '../policy/decide.js';
import type { PolicyMemory } from '../policy/memory.js';
import type {
  CapacityMark,
  Clock,
  Cluster,
  DecisionQueue,
  DecisionState,
  SeasonStore,
  MetricsSource,
  TelemetrySink,
} from '../policy/ports.js';
import {
  acceleratorNamed,
  acceleratorType,
  allowedAccelerators,
  deploymentName,
  modeOf,
  profileOf,
  targetsOf,
  variantByKey,
} from '../config/resolved.js';
import { metricsQuery } from '../policy/ports.js';
import {
  disaggregatedByKey,
  disaggregatedVariants,
  roleAccelerators,
  roleDeployment,
  ROLES,
} from '../config/roles.js';
import { roleQueries } from '../policy/disaggregated.js';
import { MAX_POD_LOADS } from '../policy/decisionRecord.js';
import { decisionOpsPoints, desiredPoints } from './telemetry.js';

export interface EvaluateDeps {
  readonly metrics: MetricsSource;
  readonly cluster: Cluster;
  readonly capacity: CapacityProvider;
  readonly queue: DecisionQueue;
  readonly state: DecisionState;
  /** the variants' learnt seasons (policy.forecast.seasonal); absent: no seasonal forecast */
  readonly seasons?: SeasonStore;
  readonly telemetry: TelemetrySink;
  readonly clock: Clock;
}

export interface EvaluateResult {
  readonly pool: string;
  readonly poolSequence: number;
  readonly decisions: DecisionRecord[];
  /** the pool's capacity intent, queued after the decisions */
  readonly capacity: CapacityIntent;
  /** the policy memory's generation the decisions carry */
  readonly generation: number;
  /** why this evaluation started a new generation: the memory went back in time (a restore) */
  readonly generationStarted?: string;
  /** variants held on stale or missing metrics */
  readonly held: string[];
  /** a failed publish of the desired metrics; the decisions were queued all the same */
  readonly telemetryError?: string;
}

export async function evaluatePool(
  deps: EvaluateDeps,
  config: Config,
  pool = 'default',
): Promise<EvaluateResult> {
  const now = deps.clock.now();
  const targets = config.variants.flatMap((v) =>
    allowedAccelerators(config, v).map((accelerator) => ({
      variant: variantKey(v),
      namespace: v.namespace,
      accelerator,
      deployment: deploymentName(config, v, accelerator),
    })),
  );
  targets.push(...roleTargets(config));
  const types = [...new Set(targets.flatMap((t) => acceleratorType(config, t.accelerator) ?? []))].sort();
  const seasonal = config.policy.forecast.seasonal.enabled ? deps.seasons : undefined;
  const [observations, deployments, capacity, loaded, mark, seasons] = await Promise.all([
    deps.metrics.collect([...config.variants.map(metricsQuery), ...roleQueries(config)], now),
    deps.cluster.deployments(targets),
    deps.capacity.observe(types, now),
    deps.state.loadPolicy(pool),
    deps.state.capacityMark(pool),
    seasonal?.load(config.variants.map(variantKey)),
  ]);
  const { memory, restored } = checkGeneration(loaded, mark, now);
  const out = decidePool({
    pool,
    config,
    observations: new Map(observations.map((o) => [o.variant, o])),
    deployments,
    capacity,
    memory,
    ...(seasons ? { seasons } : {}),
    now,
  });
  // A variant not in act mode says so in its record, so the queue and the logs tell what it is;
  // one that lowers a Deployment carries its pods' loads, for apply's deletion costs.
  const byVariant = new Map(observations.map((o) => [o.variant, o]));
  const desired = new Map(deployments.map((d) => [`${d.namespace}/${d.deployment}`, d.desired]));
  const decisions = out.decisions.map((d) => {
    const v = variantOf(config, d);
    const mode = v ? modeOf(config, v) : config.mode;
    const lowers = d.deployments.some(
      (t) => t.replicas < (desired.get(`${d.namespace}/${t.deployment}`) ?? 0),
    );
    const podLoads = lowers ? byVariant.get(`${d.namespace}/${d.variant}`)?.podLoads : undefined;
    return {
      ...d,
      ...(mode === 'act' ? {} : { mode }),
      ...(podLoads?.length ? { podLoads: podLoads.slice(0, MAX_POD_LOADS) } : {}),
    };
  });
  // Saved before sending: a lost send skips a sequence number, but never reuses one.
  await deps.state.savePolicy(pool, out.memory);
  if (seasonal && out.seasons.size > 0) await seasonal.save(out.seasons);
  await deps.queue.send([...decisions, out.capacity]);

  let telemetryError: string | undefined;
  try {
    await deps.telemetry.publish(
      decisions.flatMap((d) => {
        const type = acceleratorType(config, d.accelerator) ?? d.accelerator;
        const base = {
          variant: d.variant,
          namespace: d.namespace,
          acceleratorType: type,
          timestampMs: now * 1000,
        };
        return [
          ...desiredPoints({ ...base, replicas: d.targetReplicas, current: d.currentReplicas }),
          ...decisionOpsPoints({
            ...base,
            stale: d.reason === 'stale-metrics' || d.inputs.stale.length > 0 || d.inputs.missing.length > 0,
            prediction: d.prediction,
            targets: targetsOfDecision(config, d),
            replicaCostPerHour: replicaCost(config, d),
          }),
        ];
      }),
    );
  } catch (err) {
    telemetryError = err instanceof Error ? err.message : String(err);
  }
  return {
    pool,
    poolSequence: out.memory.poolSequence,
    generation: out.memory.generation ?? 0,
    ...(restored ? { generationStarted: restored } : {}),
    decisions,
    capacity: out.capacity,
    held: decisions.filter((d) => d.action === 'hold').map((d) => `${d.namespace}/${d.variant}`),
    telemetryError,
  };
}

/** Every role Deployment of the disaggregated variants, on every accelerator the role may use. */
function roleTargets(config: Config) {
  return disaggregatedVariants(config).flatMap((v) =>
    ROLES.flatMap((role) =>
      roleAccelerators(config, v, role).map((accelerator) => ({
        variant: variantKey(v),
        namespace: v.namespace,
        accelerator,
        deployment: roleDeployment(config, v, role, accelerator),
      })),
    ),
  );
}

/**
 * A policy memory behind what apply has already taken on (a point-in-time restore of the
 * table, an older item put back) would have its decisions dropped as superseded, or rejected as
 * of an older generation, until its sequences caught up. Apply's capacity mark of the pool
 * tells: a newer generation, or the same one at a higher pool sequence. Then this evaluation
 * starts a new generation, later than the mark's, and apply resets its comparison.
 */
export function checkGeneration(
  memory: PolicyMemory,
  mark: CapacityMark | undefined,
  now: number,
): { memory: PolicyMemory; restored?: string } {
  if (!mark) return { memory };
  const generation = memory.generation ?? 0;
  const behind =
    mark.generation > generation ||
    (mark.generation === generation && mark.poolSequence > memory.poolSequence);
  if (!behind) return { memory };
  const next = Math.max(Math.round(now * 1000), mark.generation + 1);
  return {
    memory: { ...memory, generation: next },
    restored: `policy memory at generation ${generation}, pool sequence ${memory.poolSequence} is behind apply's (generation ${mark.generation}, pool sequence ${mark.poolSequence}): restored; new generation ${next}`,
  };
}

/** The decision's variant, single-Deployment or disaggregated. */
function variantOf(config: Config, d: DecisionRecord) {
  const key = variantKey({ namespace: d.namespace, name: d.variant });
  return variantByKey(config, key) ?? disaggregatedByKey(config, key);
}

function targetsOfDecision(config: Config, d: DecisionRecord): { ttftMs: number; itlMs: number } {
  const v = variantOf(config, d);
  return v ? targetsOf(config, v) : { ttftMs: 0, itlMs: 0 };
}

/** One replica's price per hour on the decision's accelerator: the unit's price times the units it takes. */
function replicaCost(config: Config, d: DecisionRecord): number | undefined {
  const v = variantOf(config, d);
  const accelerator = acceleratorNamed(config, d.accelerator);
  if (!v || !accelerator) return undefined;
  const units = profileOf(config, v, d.accelerator)?.acceleratorCount ?? 1;
  return accelerator.costPerHour * units;
}
