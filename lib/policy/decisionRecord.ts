/**
 * The decision message: a versioned, validated record of what to do to one variant and why,
 * with what it was decided from. The consumer trusts nothing that does not parse.
 */
import { z } from 'zod';

/**
 * 2: node-group sizes left the variants' decisions for the pool's capacity intent (capacity.ts)
 * 3: the hash of the config it was decided with (configHash) and the policy memory's generation;
 *    version 2 records still parse (generation 0)
 */
export const DECISION_VERSION = 3;

const count = z.number().int().nonnegative();

/** The most pods a decision carries loads of: a message stays far below the body limit. */
export const MAX_POD_LOADS = 500;
const finite = z.number().refine(Number.isFinite, 'must be a finite number');

export const SCALING_REASONS = [
  'load', // the sizing for the measured (or forecast) demand
  'backlog', // waiting requests to drain
  'forecast', // rising demand ahead of the startup delay
  'min-replicas',
  'max-replicas',
  'capacity', // limited by free devices
  'idle', // scale to zero after the idle window
  'stabilization', // scale-down held by the window or the step limit
  'stale-metrics', // hold: metrics missing or too old
  'partial-metrics', // a scale-down or move refused: the measurement may undercount the load
  'migration', // moving to another accelerator
  'spill', // the chosen accelerator cannot hold the target: the shortfall runs on another
  'steady',
  'kv-transfer-failing', // hold: a disaggregated variant's KV transfers fail
] as const;
export type ScalingReason = (typeof SCALING_REASONS)[number];

export const deploymentTargetSchema = z
  .object({
    accelerator: z.string().min(1),
    deployment: z.string().min(1),
    replicas: count,
    /** a disaggregated variant's role this Deployment serves */
    role: z.enum(['prefill', 'decode']).optional(),
  })
  .strict();

const roleTargetSchema = z
  .object({ accelerator: z.string(), targetReplicas: count, currentReplicas: count })
  .strict();

/** What a sizing over the recent past's steps found: the replicas asked for and the share there. */
const stepSizing = z.object({
  stepSeconds: finite,
  steps: count,
  peakRate: finite,
  allowedShare: finite,
  replicas: count,
  share: finite,
  sizedReplicas: count,
  sizedShare: finite,
});

export const decisionSchema = z
  .object({
    version: z.union([z.literal(2), z.literal(DECISION_VERSION)]),
    id: z.string().min(1),
    pool: z.string().min(1),
    poolSequence: count,
    /** the policy memory's generation (epoch ms it started): sequences compare only within one */
    generation: count.optional(),
    variant: z.string().min(1),
    namespace: z.string().min(1),
    model: z.string().min(1),
    /** per variant, increasing: the consumer applies only newer sequences */
    sequence: z.number().int().positive(),
    issuedAt: z.string().datetime(),
    /** sha256 of the config evaluate decided with: apply, deployed apart, warns when its own differs */
    configHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be a sha256 in hex')
      .optional(),
    accelerator: z.string(),
    targetReplicas: count,
    currentReplicas: count,
    action: z.enum(['scale-up', 'scale-down', 'hold', 'migrate', 'none']),
    reason: z.enum(SCALING_REASONS),
    message: z.string(),
    deployments: z.array(deploymentTargetSchema),
    /**
     * a disaggregated variant's roles, both in one decision: targetReplicas and currentReplicas
     * are then their sums, and accelerator is empty
     */
    roles: z.object({ prefill: roleTargetSchema, decode: roleTargetSchema }).strict().optional(),
    /**
     * The shortfall the chosen accelerator cannot hold, run on another allowed accelerator
     * (policy.spill): the one Deployment besides the chosen one that may grow, up to these replicas.
     */
    spill: z
      .object({ accelerator: z.string().min(1), replicas: count })
      .strict()
      .optional(),
    /** the variant's adoption mode when evaluate decided (absent: act); apply judges by its own config */
    mode: z.enum(['act', 'shadow', 'advise']).optional(),
    /**
     * Load per pod (running + waiting requests, from vLLM's metrics) at a scale-down: apply sets
     * the pods' deletion cost from it so the ReplicaSet removes the least busy.
     */
    podLoads: z
      .array(
        z
          .object({
            pod: z
              .string()
              .min(1)
              .max(253)
              .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a pod name (DNS-1123 subdomain)'),
            load: finite.refine((n) => n >= 0, 'must not be negative'),
          })
          .strict(),
      )
      .max(MAX_POD_LOADS)
      .optional(),
    prediction: z
      .object({ ttftMs: finite, itlMs: finite, utilization: finite, ratePerReplica: finite })
      .strict()
      .nullable(),
    inputs: z
      .object({
        arrivalRate: finite.nullable(),
        completionRate: finite.nullable(),
        demandRate: finite.nullable(),
        avgInputTokens: finite.nullable(),
        avgOutputTokens: finite.nullable(),
        waiting: finite.nullable(),
        running: finite.nullable(),
        readyReplicas: finite.nullable(),
        modelCorrection: z.object({ ttft: finite, itl: finite }).strict().nullable(),
        /** what the demand was made of: measured, backlog to drain, the rise forecast over the lead time */
        demand: z
          .object({
            measured: finite,
            backlogRate: finite,
            forecastRate: finite,
            leadSeconds: finite,
            /**
             * the rise learnt expected within the lead time and the trend's forecast before it was
             * cut to what that rise expects (policy.forecastCapacity.buyAsExpected)
             */
            expected: z.object({ rise: finite, forecastRate: finite }).strict().optional(),
            /**
             * the trend's own forecast rise and the skill it was bought with: the share of its
             * forecasts that came a lead time on, null until enough were judged (policy.forecast.skill)
             */
            trend: z
              .object({
                rate: finite,
                skill: finite.nullable(),
                evidence: finite,
                unpaired: z.literal(true).optional(),
              })
              .strict()
              .optional(),
            /** the learnt season's highest rate within the lead time (with two errors), or why none */
            seasonal: z
              .union([
                z
                  .object({ kind: z.literal('forecast'), rate: finite, expected: finite, error: finite })
                  .strict(),
                z.object({ kind: z.literal('no-history'), note: z.string() }).strict(),
              ])
              .optional(),
          })
          .strict()
          .nullable()
          .optional(),
        /** the corrected model's latency at the load carried, beside the observed (how far it is off) */
        latency: z
          .object({
            predictedTtftMs: finite,
            predictedItlMs: finite,
            observedTtftMs: finite.nullable(),
            observedItlMs: finite.nullable(),
          })
          .strict()
          .nullable()
          .optional(),
        /** the burst sizing (policy.burstSizing): the recent past's steps replayed against the fleet */
        bursts: stepSizing
          .extend({
            perReplicaRate: finite,
            budgetMs: finite,
            /**
             * the share of requests whose own prefill takes longer than the TTFT target, and the
             * prompt tokens at which it does (policy.burstSizing.promptSpread)
             */
            inherentLateShare: finite.optional(),
            prefillLimitTokens: finite.optional(),
            /** the part of each step its arrivals were taken to come in (policy.burstSizing.concentration) */
            concentration: finite.optional(),
            /**
             * the learnt headroom on the look-back's busiest step (policy.burstSizing.headroom):
             * its factor, the samples it rests on, the quantile taken (absent: no burst history yet)
             */
            headroom: z
              .object({
                factor: finite,
                samples: count,
                minSamples: count,
                confidence: finite.optional(),
                peakShare: finite.optional(),
                lookbackPeakRate: finite,
                dropped: z.boolean().optional(),
              })
              .strict()
              .optional(),
          })
          .strict()
          .optional(),
        /** ITL over the steps (policy.burstSizing.itl): each step's rate through the ITL cap's model */
        itlSteps: stepSizing.strict().optional(),
        /**
         * one budget for TTFT and ITL (policy.burstSizing.sharedBudget): the replicas asked for so
         * that both shares together are within allowedShare, and the two sizings' count and shares
         */
        sharedBudget: z
          .object({
            allowedShare: finite,
            replicas: count,
            ttftShare: finite,
            itlShare: finite,
            sizedReplicas: count,
            sizedTtftShare: finite,
            sizedItlShare: finite,
          })
          .strict()
          .optional(),
        /** a disaggregated variant's decode role over the steps (policy.burstSizing.decode): its slots replayed */
        decodeSteps: stepSizing
          .extend({
            slotsPerReplica: finite,
            slotsBound: z.enum(['ITL', 'KV cache', 'batch']),
            holdMs: finite,
          })
          .strict()
          .optional(),
        /**
         * the factor on the chunked-ITL model's miss share (policy.itlMissCorrection) and what it
         * was learnt from: the pooled requests, misses observed and misses the model predicted at
         * the load carried, and this window's (null: nothing to learn from this time)
         */
        itlMiss: z
          .object({
            factor: finite,
            pooled: z.object({ requests: finite, misses: finite, predicted: finite }).strict().nullable(),
            window: z
              .object({ requests: finite, misses: finite, predictedShare: finite })
              .strict()
              .nullable(),
          })
          .strict()
          .optional(),
        metricTimestamps: z.record(z.string(), finite),
        stale: z.array(z.string()),
        missing: z.array(z.string()),
      })
      .strict(),
  })
  .strict();

export type DecisionRecord = z.output<typeof decisionSchema>;

export class InvalidDecisionError extends Error {
  override readonly name = 'InvalidDecisionError';
}

/** Parses a message body; the error names the first bad field. */
export function parseDecision(body: unknown): DecisionRecord {
  let doc = body;
  if (typeof body === 'string') {
    try {
      doc = JSON.parse(body);
    } catch {
      throw new InvalidDecisionError('decision is not JSON');
    }
  }
  const parsed = decisionSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    throw new InvalidDecisionError(`decision${path}: ${issue.message}`);
  }
  return parsed.data;
}

/** SQS FIFO deduplication id: the same variant and sequence is the same decision. */
export function deduplicationId(d: Pick<DecisionRecord, 'namespace' | 'variant' | 'sequence'>): string {
  return `${d.namespace}.${d.variant}.${d.sequence}`.replace(
    /[^A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g,
    '_',
  );
}

/** SQS FIFO message group: decisions of one variant are delivered in order. */
export function messageGroupId(d: Pick<DecisionRecord, 'namespace' | 'variant'>): string {
  return `${d.namespace}/${d.variant}`;
}
