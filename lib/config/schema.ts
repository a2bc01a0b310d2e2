/**
 * Our configuration file (YAML or JSON). Every field is validated here, and a bad file is
 * reported with the path of the first bad field (see errors.ts).
 */
import { z } from 'zod';
import { SATURATION_POLICIES } from '../optimizer/system.js';
import { duplicateMessage, repeats } from './duplicates.js';
import {
  deploymentName,
  derivedNameProblems,
  dnsSubdomainProblem,
  namespaceName,
  nodeGroupName,
  roleDeploymentName,
} from './kubernetesNames.js';
import { arrivalRate, costPerHour, milliseconds, tokens, zeroServiceTimeProblem } from './plausible.js';
import { capacityProviderSchema } from './capacityProvider.js';

const name = z.string().min(1, 'must not be empty');
const nonNegative = z.number().nonnegative();
const positiveInt = z.number().int().positive();
const count = z.number().int().nonnegative();

export const acceleratorSchema = z
  .object({
    name: name.describe('accelerator configuration name, e.g. "L4" or "4xH100"'),
    type: name.optional().describe('device type counted against capacity and node groups; default: name'),
    multiplicity: positiveInt.default(1).describe('devices of `type` in one unit of this configuration'),
    costPerHour: costPerHour.describe('price of one unit per hour (any currency unit, used consistently)'),
  })
  .strict();

export const profileSchema = z
  .object({
    alpha: milliseconds.describe('decode iteration base time (ms)'),
    beta: milliseconds.describe('decode iteration time per request in the batch (ms)'),
    gamma: milliseconds.default(0).describe('prefill base time (ms)'),
    delta: milliseconds.default(0).describe('prefill time per input token per request in the batch (ms)'),
    maxBatchSize: positiveInt.describe('batch limit measured at `atTokens` output tokens'),
    atTokens: positiveInt.describe('output tokens at which maxBatchSize was measured'),
    acceleratorCount: positiveInt.default(1).describe('accelerator units one replica needs (e.g. 4 for TP4)'),
    kvCacheTokens: positiveInt
      .optional()
      .describe("tokens the replica's KV cache holds (used by the simulation)"),
    maxBatchedTokens: positiveInt
      .optional()
      .describe(
        'tokens per engine step, decode and prefill chunks together: vLLM max_num_batched_tokens (used by the simulation; default 2048, or max(max model length, 2048) without chunked prefill)',
      ),
    chunkedPrefill: z
      .boolean()
      .optional()
      .describe(
        'prefill long prompts in chunks across steps, as vLLM V1 does (used by the simulation; default true)',
      ),
    kvAllocation: z
      .enum(['on-demand', 'reserve'])
      .optional()
      .describe(
        "'on-demand': KV blocks taken as tokens are computed, the newest request preempted (recomputed) when they run out, as vLLM V1; 'reserve': prompt + output reserved at admission, never preempted (legacy simulation). Used by the simulation; default on-demand",
      ),
  })
  .strict()
  .superRefine((p, ctx) => {
    const problem = zeroServiceTimeProblem(p);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['alpha'], message: problem });
  });

export const modelSchema = z
  .object({
    name,
    weightsGiB: z
      .number()
      .positive()
      .optional()
      .describe(
        "size of the model's weights (GiB): its load time is this over the variant's startup.weightsLoadGiBPerSecond; default: the measured 62 s load",
      ),
    profiles: z.record(z.string(), profileSchema).describe('performance profile per accelerator name'),
    kvBytesPerToken: z
      .number()
      .positive()
      .max(1e9)
      .optional()
      .describe(
        'bytes of KV cache per token (layers x KV heads x head size x 2 x bytes per value): what a disaggregated variant moves from prefill to decode',
      ),
  })
  .strict();

export const targetSchema = z
  .object({
    ttftMs: nonNegative.default(0).describe('time to first token target (ms); 0 = none'),
    itlMs: nonNegative.default(0).describe('inter-token latency target (ms); 0 = none'),
    tps: nonNegative.default(0).describe('token throughput target (tokens/s); 0 = none'),
  })
  .strict();

export const serviceClassSchema = z
  .object({
    name,
    priority: z.number().int().min(1).max(100).describe('1 (highest) to 100'),
    targets: z.record(z.string(), targetSchema).describe('targets per model name'),
  })
  .strict();

/** Phases from a new pod on a ready node to a serving replica (defaults: lib/config/startup.ts). */
export const replicaStartupSchema = z
  .object({
    // defaults: kaito-project/kaito issue 2325 (lib/config/startup.ts)
    imagePullSeconds: nonNegative
      .default(101)
      .describe('pulling the serving image; skipped on a node that already ran this model'),
    frameworkStartSeconds: nonNegative.default(74).describe('container and serving framework start'),
    weightsLoadGiBPerSecond: z
      .number()
      .positive()
      .default(52 / 62)
      .describe("weights load bandwidth: the model's weightsGiB over this is the load time"),
    engineInitSeconds: nonNegative
      .default(195)
      .describe('engine initialisation: KV cache allocation, compile, CUDA graphs, warm-up'),
  })
  .strict()
  .describe(
    'phases from a new pod on a ready node to a serving replica; default (also when absent and no startupSeconds): a measured cold start (kaito issue 2325)',
  );

export const startupSecondsSchema = nonNegative.describe(
  'shorthand for `startup`: the whole time from a new pod on a ready node to a serving replica, in one phase',
);

/** One role of a disaggregated variant: its pods do only the prefill, or only the decode. */
export const roleSchema = z
  .object({
    accelerators: z
      .array(name)
      .min(1)
      .optional()
      .describe("accelerators this role's pods may run on; default: every profiled one"),
    minReplicas: count.default(1),
    maxReplicas: count.optional().describe('upper bound on replicas; default: no bound'),
    deployments: z
      .record(z.string(), deploymentName)
      .optional()
      .describe(
        'Deployment per accelerator; default: name-role, or name-role-accelerator when several are allowed',
      ),
    startupSeconds: startupSecondsSchema.optional(),
    startup: replicaStartupSchema.optional(),
  })
  .strict();

export const rolesSchema = z
  .object({
    prefill: roleSchema.describe('the pods that compute prompts and hand their KV cache over'),
    decode: roleSchema.describe('the pods that receive the KV cache and generate the tokens'),
    ratio: z
      .object({
        min: z.number().positive().optional().describe('least prefill replicas per decode replica'),
        max: z.number().positive().optional().describe('most prefill replicas per decode replica'),
      })
      .strict()
      .optional()
      .describe('bounds on prefill replicas / decode replicas (as AIBrix users ask for); default: none'),
  })
  .strict();

export const kvTransferSchema = z
  .object({
    bandwidthGBps: z
      .number()
      .positive()
      .max(100_000)
      .describe(
        "bytes per second (in GB/s, 1e9 bytes) one prefill pod's link moves KV at; concurrent transfers of one pod share it",
      ),
    latencyMs: milliseconds
      .default(0)
      .describe('fixed time per transfer (ms): connection, notification, descriptors'),
  })
  .strict();

export const ROLES = ['prefill', 'decode'] as const;
export type Role = (typeof ROLES)[number];

/**
 * How far apply acts for a pool or a variant (README "Adopting sva"): `act` scales the
 * Deployments; `shadow` decides and publishes but changes nothing, recording what it would have
 * done; `advise` only publishes inferno_desired_replicas for the user's HPA or KEDA to scale on.
 */
export const ADOPTION_MODES = ['act', 'shadow', 'advise'] as const;
export type AdoptionMode = (typeof ADOPTION_MODES)[number];
const adoptionMode = z.enum(ADOPTION_MODES);

export const variantSchema = z
  .object({
    name: deploymentName.describe(
      'a DNS-1123 subdomain: the default Deployment name, and with the namespace the SQS message group (110 characters together)',
    ),
    namespace: namespaceName.default('default').describe('Kubernetes namespace: a DNS-1123 label'),
    model: name,
    serviceClass: name,
    accelerators: z
      .array(name)
      .min(1)
      .optional()
      .describe('accelerators it may run on; default: every profiled one'),
    accelerator: name.optional().describe('pin to this accelerator (excludes `accelerators`)'),
    minReplicas: count.default(1),
    maxReplicas: count.optional().describe('upper bound on replicas; default: no bound'),
    maxBatchSize: count.default(0).describe("overrides the profile's batch limit when > 0"),
    keepAccelerator: z.boolean().default(false).describe('never move off the current accelerator'),
    mode: adoptionMode
      .optional()
      .describe("act | shadow | advise for this variant; default: the pool's `mode`"),
    paused: z
      .boolean()
      .default(false)
      .describe(
        'apply leaves its Deployments alone (evaluate goes on deciding and learning); the annotation sva.autoscaler/paused: "true" on a Deployment does the same without a config change',
      ),
    load: z
      .object({
        arrivalRate: arrivalRate.describe('requests per second'),
        avgInputTokens: tokens,
        avgOutputTokens: tokens,
      })
      .strict()
      .optional()
      .describe('a fixed load, for `sva solve`; the autoscaler measures it instead'),
    current: z
      .object({ accelerator: z.string().default(''), replicas: count.default(0) })
      .strict()
      .optional()
      .describe('the allocation it has now, for `sva solve`'),
    startupSeconds: startupSecondsSchema.optional(),
    startup: replicaStartupSchema.optional(),
    deployments: z
      .record(z.string(), deploymentName)
      .optional()
      .describe(
        'Deployment per accelerator; default: the variant name, or name-accelerator when several are allowed',
      ),
    metrics: z
      .object({
        modelName: name.optional().describe('the model_name label its servers report; default: model'),
        podPattern: z
          .string()
          .optional()
          .describe('regular expression on the pod label, to tell variants of one model apart'),
        gateway: z
          .boolean()
          .default(false)
          .describe(
            "demand from the gateway's request counter and flow-control queue (needed to scale from zero)",
          ),
        roleLabel: name
          .optional()
          .describe(
            "the series label telling a disaggregated variant's roles apart: llm-d's pod label llm-d.ai/role as Prometheus's Kubernetes discovery maps it; default llm_d_ai_role",
          ),
      })
      .strict()
      .default({ gateway: false }),
    roles: rolesSchema
      .optional()
      .describe(
        'serve disaggregated: prefill pods and decode pods handing the KV cache over (model kvBytesPerToken and kvTransfer required); excludes accelerator(s), deployments, startup(Seconds) and maxReplicas on the variant',
      ),
  })
  .strict();

export const nodeGroupSchema = z
  .object({
    name: nodeGroupName.describe('the EKS managed node group name'),
    acceleratorType: name.describe('device type its nodes carry'),
    gpusPerNode: positiveInt,
    minNodes: count.default(0),
    maxNodes: count,
    provisioningSeconds: nonNegative
      .optional()
      .describe('shorthand for `startup`: the whole time from a desired-size increase to a Ready GPU node'),
    startup: z
      .object({
        // defaults: kaito-project/kaito issue 2325 (lib/config/startup.ts)
        provisioningSeconds: nonNegative.default(284).describe('launching the instance'),
        nodeInitSeconds: nonNegative
          .default(126)
          .describe('node initialisation: GPU driver, device plugin, joining as Ready'),
      })
      .strict()
      .optional()
      .describe(
        'phases from a desired-size increase to a Ready GPU node; default (also when absent and no provisioningSeconds): a measured cold start (kaito issue 2325)',
      ),
    costPerNodeHour: costPerHour
      .optional()
      .describe('price of one node per hour; default: from the accelerators'),
  })
  .strict();

export const policySchema = z
  .object({
    intervalSeconds: z.number().positive().default(30).describe('time between evaluations'),
    metricsWindowSeconds: z.number().positive().default(60).describe('window for rates'),
    metricsMaxAgeSeconds: z
      .number()
      .positive()
      .default(120)
      .describe('older samples are stale: hold, never scale down blind'),
    stabilizationWindowSeconds: nonNegative
      .default(300)
      .describe('scale down only to the highest recommendation of this window'),
    adaptiveWindow: z
      .object({
        enabled: z.boolean().default(true),
        initialSeconds: nonNegative
          .default(900)
          .describe('the window of a variant not seen yet: start cautious'),
        maxSeconds: z.number().positive().default(1800),
      })
      .strict()
      .default({ enabled: true, initialSeconds: 900, maxSeconds: 1800 })
      .describe(
        'double the window (up to maxSeconds) when capacity released is needed again within it; halve it back after two quiet windows. Not for what burstSizing covers (its windowPerStartup)',
      ),
    caution: z
      .object({
        enabled: z.boolean().default(false),
        halfLifeSeconds: z
          .number()
          .positive()
          .default(3600)
          .describe('the rises seen lose half their weight over this time'),
      })
      .strict()
      .default({ enabled: false, halfLifeSeconds: 3600 })
      .describe(
        "learn per variant how far demand rises within one lead time; once a lead time's worth is seen, the window is one lead time and a scale-down keeps the replicas for the rise not exceeded with the attainment asked for (1 - itlDistribution.missShare)",
      ),
    forecastCapacity: z
      .object({
        buyAsExpected: z
          .boolean()
          .default(true)
          .describe(
            "a scale-up buys the trend's forecast only as far as the rise learnt (policy.caution's statistics) expects demand a lead time later",
          ),
        holdAsExpected: z
          .boolean()
          .default(true)
          .describe(
            "the window holds the replicas measured demand (and backlog) asked for; a forecast's replicas beyond them until the time they were forecast for (one lead time), then only as far as the demand expected within a lead time (measured rate times the learnt rise, the most of the last lead time) needs",
          ),
        regretOnMeasured: z
          .boolean()
          .default(false)
          .describe(
            'the adaptive window grows only when measured demand (not a forecast) asks again for replicas released within it',
          ),
        roles: z
          .boolean()
          .default(false)
          .describe(
            "the roles of a disaggregated variant too: the variant's rises learnt from the prefill role's arrivals, the trend's forecast bought (buyAsExpected) and each role's forecast replicas held (holdAsExpected) as for a single-Deployment variant",
          ),
      })
      .strict()
      .default({ buyAsExpected: true, holdAsExpected: true, regretOnMeasured: false, roles: false })
      .describe(
        "capacity bought for demand expected when it arrives: learns the rises as policy.caution does (its halfLifeSeconds; without its scale-down unless it is enabled too) and buys and holds the forecast's replicas by them",
      ),
    learntWindow: z
      .object({
        enabled: z.boolean().default(false),
        regretLeadTimes: z
          .number()
          .positive()
          .default(2)
          .describe(
            'what a released replica asked again after the window costs, in lead times: one paid while it starts, one its demand goes without',
          ),
        levels: z
          .enum(['arrivals', 'recommendation'])
          .default('arrivals')
          .describe(
            'what a level asked for is: the replicas the measured arrival rate needs at the rate one replica sustains (the arrivals do not depend on the capacity that ran), or the recommendation (which asks more where a backlog built up for want of capacity)',
          ),
        perLevel: z
          .boolean()
          .default(false)
          .describe(
            'a window per replica level, learnt from the releases of that level and those above it (the configured window where fewer than minReleases reach it): the top replicas of a burst keep the window their own returns ask for; not with forecastCapacity.holdAsExpected',
          ),
        minReleases: count
          .default(8)
          .describe(
            'released replicas asked again (or not within the longest window) seen before the history decides',
          ),
      })
      .strict()
      .default({ enabled: false, regretLeadTimes: 2, levels: 'arrivals', perLevel: false, minReleases: 8 })
      .describe(
        'the window of each variant learnt from its own recommendations: how long released replicas took to be recommended again; the length that would have cost least (held until asked, or bought again), within one lead time and the longest window; before minReleases, the configured window. A disaggregated variant learns one per role, from the releases of that role',
      ),
    fillNodes: z
      .object({ enabled: z.boolean().default(true) })
      .strict()
      .default({ enabled: true })
      .describe(
        "a disaggregated variant's roles take the devices their nodes leave idle: after the window, the room the roles' targets leave on the last node of a type (the variant's devices packed onto whole nodes, the type's smallest node) takes more pods of the roles there, the prefill role's first, within maxReplicas; no node is asked for, the window does not hold them (an approximation on a node group other variants share)",
      ),
    windowNoise: z
      .object({
        enabled: z.boolean().default(false),
        variation: z
          .enum(['poisson', 'measured'])
          .default('measured')
          .describe(
            "poisson: take off the whole expected largest Poisson error; measured: the window's rates vary by demand too, and the noise raises their highest only by z * (sigma_total - sigma_demand), the spread the window's rates show less the Poisson part",
          ),
      })
      .strict()
      .default({ enabled: false, variation: 'measured' })
      .describe(
        "the window holds each earlier recommendation sized on its measured arrival rate less the rate's expected largest sampling error over the window (the Poisson standard error sqrt(count) / metricsWindowSeconds, times the expected largest of as many standard normals as the window holds metrics windows): it holds peaks of demand, not the upward noise of the highest count; the recommendation of the moment is not lowered",
      ),
    windowPerStartup: nonNegative
      .default(2)
      .describe(
        'the window is at least this many times the time new capacity takes (startup + node provisioning)',
      ),
    scaleUpMaxStep: z
      .object({ replicas: count.default(4), percent: nonNegative.default(100) })
      .strict()
      .default({ replicas: 4, percent: 100 })
      .describe('most replicas added per evaluation: the larger of the two'),
    scaleDownMaxStep: z
      .object({ replicas: count.default(1), percent: nonNegative.default(50) })
      .strict()
      .default({ replicas: 1, percent: 50 })
      .describe('most replicas removed per evaluation: the larger of the two'),
    idleWindowSeconds: nonNegative
      .default(600)
      .describe('no arrivals for this long before scaling to zero (minReplicas 0 only)'),
    targetMargin: z
      .object({ ttft: z.number().gt(0).max(1).default(0.5), itl: z.number().gt(0).max(1).default(0.9) })
      .strict()
      .default({ ttft: 0.5, itl: 0.9 })
      .describe(
        'size for this fraction of each target: the model predicts means, targets are met per request',
      ),
    forecast: z
      .object({
        enabled: z.boolean().default(true),
        horizonSeconds: z.number().positive().default(180).describe('history used for the trend'),
        maxGrowth: z.number().min(1).default(1.5).describe('cap on forecast / current demand'),
        roles: z
          .boolean()
          .default(false)
          .describe(
            "the trend's forecast for a disaggregated variant's roles too; false (the default: on both disaggregated workloads the prefill role's burst sizing holds what the forecast bought, for less): they are sized for the measured rate and the backlog (the forecast's trend, three minutes extrapolated over the variant's lead time, asks for pods at single evaluations that the roles' window then holds for two lead times)",
          ),
        seasonal: z
          .object({
            enabled: z.boolean().default(false),
            level: z.number().gt(0).max(1).default(0.2).describe("Holt-Winters' alpha"),
            trend: z.number().gt(0).max(1).default(0.02).describe("Holt-Winters' beta"),
            season: z.number().gt(0).max(1).default(0.3).describe("Holt-Winters' gamma"),
            errors: z
              .number()
              .min(0)
              .default(2)
              .describe(
                "headroom: how many of the season's one-step forecast errors are added to the rate it expects",
              ),
          })
          .strict()
          .default({ enabled: false, level: 0.2, trend: 0.02, season: 0.3, errors: 2 })
          .describe(
            'learn a daily season of demand per variant (additive Holt-Winters over five-minute slots, kept in a store of its own) and size for the highest rate it expects within the lead time plus `errors` forecast errors, once a whole day has been seen',
          ),
        skill: z
          .object({
            enabled: z.boolean().default(true),
            judgedBy: z
              .enum(['highest', 'end'])
              .default('highest')
              .describe(
                "what came of a forecast: the highest rate over its lead time (replicas serve from their startup on, and the rise learnt measures the same), or the rate at the lead time's end (once every replica is up)",
              ),
          })
          .strict()
          .default({ enabled: true, judgedBy: 'highest' })
          .describe(
            "learn per variant the trend's skill: each forecast rise judged a lead time on by what came (judgedBy), the share that came (each up to its forecast) pooled with policy.caution's halfLifeSeconds; the trend's forecast is bought times that share once as many forecasts as a lead time holds evaluations have been judged (before, whole, and the decision says so). Not for a disaggregated variant's roles",
          ),
      })
      .strict()
      .default({
        enabled: true,
        horizonSeconds: 180,
        maxGrowth: 1.5,
        roles: false,
        seasonal: { enabled: false, level: 0.2, trend: 0.02, season: 0.3, errors: 2 },
        skill: { enabled: true, judgedBy: 'highest' },
      }),
    itlDistribution: z
      .object({
        enabled: z.boolean().default(true),
        missShare: z
          .number()
          .gt(0)
          .max(1)
          .default(0.01)
          .describe('share of requests allowed to miss the ITL target: 1 - the attainment asked for'),
        halfLifeSeconds: z
          .number()
          .positive()
          .default(1800)
          .describe('token histograms are remembered with counts halving over this time'),
      })
      .strict()
      .default({ enabled: true, missShare: 0.01, halfLifeSeconds: 1800 })
      .describe(
        "cap each replica's rate so that at most missShare of requests miss the ITL target, from the token histograms and the engine's chunked prefill",
      ),
    burstSizing: z
      .object({
        enabled: z.boolean().default(true),
        stepSeconds: z
          .number()
          .positive()
          .default(15)
          .describe(
            "arrivals are counted per step of this length: the scrape interval (a shorter step than the metrics' scrapes sees no more)",
          ),
        lookbackSeconds: z
          .number()
          .positive()
          .default(900)
          .describe(
            'the steps of this much of the recent past are replayed: about one lead time (a node and a replica starting), the time the capacity decided now must carry before more can arrive',
          ),
        itl: z
          .boolean()
          .default(true)
          .describe(
            "size for ITL over the same steps (on its own or with enabled): each step's rate, spread over a candidate fleet, taken as Poisson through the chunked-ITL model of itlDistribution, and the fewest replicas (at or above the normal sizing) whose miss share weighted by the steps' requests is at most itlDistribution.missShare; needs itlDistribution and trusted token histograms; missing per-step counts change nothing",
          ),
        sharedBudget: z
          .boolean()
          .default(false)
          .describe(
            'one miss budget for TTFT and ITL (with enabled and itl on): a request is served only if it meets both, so where the TTFT replay and the ITL sizing over the steps both found misses the fleet grows to the fewest replicas (at or above what the two asked for) whose TTFT-late share plus ITL-miss share is at most itlDistribution.missShare, the sum bounding the share that misses either; where one share is 0 nothing changes',
          ),
        promptSpread: z
          .boolean()
          .default(false)
          .describe(
            "by the prompts' spread, not their mean: the share of requests whose own prefill on the accelerator (the corrected profile's, a batch of one) takes longer than the TTFT target, from the trusted prompt-token histogram (interpolated within the bucket the limit falls in), is late at any replica count; the TTFT replay may leave late only itlDistribution.missShare less that share, where nothing is left the normal sizing is kept and the decision says the accelerator cannot meet the goal, and with itlDistribution on an accelerator whose share alone is over missShare is left out of the variant's choices (as one whose KV cache rejects more is); recorded as inputs.bursts.inherentLateShare",
          ),
        prefill: z
          .boolean()
          .default(true)
          .describe(
            "size a disaggregated variant's prefill role the same way: its pods' arrivals per step at a prefill pod's saturated rate, the budget the TTFT target less prefill, KV transfer and the first decode step (on by default with fillNodes and without the roles' trend forecast, which together beat the older defaults on both disaggregated workloads; bench/RESULTS.md, branch w18d)",
          ),
        decode: z
          .boolean()
          .default(true)
          .describe(
            "size a disaggregated variant's decode role for the same steps: its arrivals replayed through the decode pods' slots (each request holds one for its output tokens; a pod holds as many as meet the ITL target and fit its KV cache at the mean request), and the fewest pods (at or above the normal sizing) with at most itlDistribution.missShare of the requests finding every slot taken; its accelerator chosen at the pods the bursts ask for (on by default with concentration, since w21t: a prefill role sized for the arrivals clustered within a step no longer paces the decode pods, whose batches then come in bursts; with both on the Azure workload of bench:disaggregated attains 99.82% for $356.24, with concentration alone 84.16% (ITL 84.20%) for $361.32, with neither 90.72% for $162.78; Mooncake 99.29% for $335.33 in all three. Before, off: on the Azure workload of bench:disaggregated it raised ITL met from 96.64% to 98.4% but not the attainment for its cost: 74.95% for $224.05 with both roles' window of one lead time, 77.70% for $228.86 with the prefill role's of two, 76.87% for $244.49 with burstSizing.prefill too, against 77.45% for $206.86 off; on Mooncake 99.22% for $353.77, 99.29% for $374.87 and 99.22% for $353.77 against 99.29% for $380.83)",
          ),
        headroom: z
          .object({
            enabled: z.boolean().default(false),
            samples: z
              .number()
              .int()
              .positive()
              .max(1024)
              .default(24)
              .describe(
                'samples kept per variant, the newest: one per look-back at most, so 24 look-backs of 900 s are the last six hours or more',
              ),
            minSamples: z
              .number()
              .int()
              .positive()
              .default(4)
              .describe(
                'fewer samples than this: no headroom yet ("no burst history yet"); four lead times are an hour at the default look-back, and below four the quantile is a single lead time\'s burst',
              ),
            minPeakRequests: z
              .number()
              .positive()
              .default(10)
              .describe(
                "a look-back whose busiest step holds fewer requests is not recorded: a count of n is known to about 1/sqrt(n) (a third at 10), and a ratio to a near-idle look-back's peak says how idle it was, not how bursty the variant is",
              ),
          })
          .strict()
          .refine((h) => h.minSamples <= h.samples, {
            message: 'minSamples must be at most samples: the ring never holds more',
            path: ['minSamples'],
          })
          .default({ enabled: false, samples: 24, minSamples: 4, minPeakRequests: 10 })
          .describe(
            "raise the look-back's busiest step by a headroom learnt per variant: at evaluations at least a look-back apart the look-back's busiest step is recorded, and once a lead time has passed, the ratio of that lead time's busiest step to it; the headroom is the empirical quantile of the recent ratios (at least 1) at the confidence 1 - itlDistribution.missShare / (the lead times' busiest steps' share of their arrivals): lead times beyond it then cost at most missShare of the requests. Missing or stale steps change and learn nothing (off: it needs four look-backs and a lead time to learn, and on npm start and the suite's one-hour traces the bursts come before that: npm start went from 94.85% for $418.63 to 94.86% for $451.20, the day from $225.75 to $225.83; with npm start's traces played three times code-70b went from 94.35% to 95.86% for 5.8% more)",
          ),
        concentration: z
          .object({
            enabled: z.boolean().default(true),
            halfLifeSeconds: z
              .number()
              .positive()
              .default(1800)
              .describe('the pooled requests and late ones lose half their weight over this time'),
            smoothing: z
              .number()
              .gt(0)
              .max(1)
              .default(0.5)
              .describe(
                'share of the log gap between the allowed and the observed late share closed per step (a relaxing step: as at a gap of two)',
              ),
            minSeconds: z
              .number()
              .positive()
              .default(1)
              .describe(
                "the shortest cluster a step's arrivals are taken to come in: the concentration is at least minSeconds / stepSeconds",
              ),
          })
          .strict()
          .default({ enabled: true, halfLifeSeconds: 1800, smoothing: 0.5, minSeconds: 1 })
          .describe(
            "a disaggregated variant's prefill replay (with prefill on) takes each step's arrivals within its first c x stepSeconds, the queue draining for the rest, with c learnt per variant from the outcome: the prefill pods' TTFT histogram (vllm:time_to_first_token_seconds: their queue and prefill) read against the TTFT target less the KV transfer and first decode step, pooled with a half-life over windows where the replay at the c in force says the ready prefill pods sufficed; over itlDistribution.missShare late (ten late at least) c shrinks, under half of it (enough requests to expect ten) it relaxes towards 1; after each step the pool starts again. The decode role's slot replay (with decode on) takes the arrivals as concentrated. Recorded as inputs.bursts.concentration. On by default with decode (bench/RESULTS.md, w21t and w21c): Azure 99.82% for $380.09 against 90.72% for $162.78, and no longer falling to 76-78% when the targets' margins are loosened; Mooncake 99.26% for $335.33 (was 99.29%)",
          ),
        windowPerStartup: nonNegative
          .default(1)
          .describe(
            "the stabilisation window of what the burst sizing covers (a single-Deployment variant with enabled or itl on; a disaggregated variant's prefill role with prefill on, its decode role with decode on), in times the time new capacity takes, in place of policy.windowPerStartup, and not adapted (adaptiveWindow): its sizing already holds capacity for every burst of the look-back, so the window need only outlast the time released capacity takes to come back",
          ),
      })
      .strict()
      .default({
        enabled: true,
        stepSeconds: 15,
        lookbackSeconds: 900,
        itl: true,
        sharedBudget: false,
        promptSpread: false,
        prefill: true,
        decode: true,
        headroom: { enabled: false, samples: 24, minSamples: 4, minPeakRequests: 10 },
        concentration: { enabled: true, halfLifeSeconds: 1800, smoothing: 0.5, minSeconds: 1 },
        windowPerStartup: 1,
      })
      .describe(
        "size for the bursts the metrics window averages away: replay the look-back's arrivals per step through a fluid queue at the saturated throughput of a candidate fleet, and ask for the fewest replicas (at or above the normal sizing) with at most itlDistribution.missShare of the requests waiting beyond the TTFT target less their prefill; missing per-step counts change nothing. (for a disaggregated variant's roles: prefill, decode)",
      ),
    modelCorrection: z
      .object({
        enabled: z.boolean().default(true),
        smoothing: z
          .number()
          .gt(0)
          .max(1)
          .default(0.3)
          .describe('share of the gap between predicted and observed latency closed per evaluation'),
        min: z
          .number()
          .positive()
          .default(0.25)
          .describe('lowest factor: the model at most this many times too slow'),
        max: z
          .number()
          .positive()
          .default(4)
          .describe('highest factor: the model at most this many times too fast'),
      })
      .strict()
      .default({ enabled: true, smoothing: 0.3, min: 0.25, max: 4 })
      .describe(
        "learn per variant the engine's speed (iteration times scaled until the predicted ITL is the observed) and a factor on the predicted TTFT, from the load the replicas carry",
      ),
    itlMissCorrection: z
      .object({
        enabled: z.boolean().default(true),
        smoothing: z
          .number()
          .gt(0)
          .max(1)
          .default(0.3)
          .describe(
            'share of the (log) gap between the pooled observed and predicted miss shares closed per evaluation',
          ),
        min: z
          .number()
          .positive()
          .max(1)
          .default(0.5)
          .describe('lowest factor: the model at most this many times cautious about the misses'),
        max: z
          .number()
          .min(1)
          .default(4)
          .describe('highest factor: the model at most this many times optimistic about the misses'),
        halfLifeSeconds: z
          .number()
          .positive()
          .default(3600)
          .describe('the pooled requests and misses halve over this time'),
        against: z
          .enum(['model', 'target'])
          .default('target')
          .describe(
            "what the observed misses are compared with: 'model', the model's share at the load the replicas carried; 'target', the misses the allowed share (itlDistribution.missShare, over the factor in force) allowed the pooled requests, an integral loop holding the measured share at the allowed one (docs/SIZING.md, \"A miss budget learnt from the outcome\")",
          ),
        marginSigmas: z
          .number()
          .min(0)
          .default(2)
          .describe(
            "with against 'target': the setpoint is the allowed misses less this many Poisson standard deviations of the pool's own count, so that the pooled share exceeds the allowed one only by chance this rare",
          ),
      })
      .strict()
      .default({
        enabled: true,
        smoothing: 0.3,
        min: 0.5,
        max: 4,
        halfLifeSeconds: 3600,
        against: 'target',
        marginSigmas: 2,
      })
      .describe(
        "learn per variant a factor on the chunked-ITL model's share of requests missing the ITL target, from the share the replicas show in vllm:request_time_per_output_token_seconds (the target interpolated within its bucket) against what `against` compares it with (by default the misses the allowed share allowed: a loop on the measured share), pooled over the half-life until ten misses are expected at itlDistribution.missShare; the ITL cap and the ITL sizing over steps then hold the model's share times the factor within itlDistribution.missShare. Needs servers exposing the histogram (vLLM >= 0.13); without it the factor stays 1",
      ),
    spill: z
      .object({ enabled: z.boolean().default(false) })
      .strict()
      .default({ enabled: false })
      .describe(
        "when the chosen accelerator cannot hold what a variant's target or demand asks of it (its node groups' limit, what the other variants' targets leave, maxReplicas), run the shortfall, held over the window, on the other allowed accelerator whose added nodes cost least (free devices on nodes kept up anyway first); an abandoned move's replicas are then released once what replaces them is ready (on the chosen accelerator and the spill's); a move is not made where the accelerator moved to cannot hold the recommendation, or where what the current one holds and a spill cost less; a move under way waits acceleratorSwitchSeconds before going back",
      ),
    kvBatch: z
      .object({ enabled: z.boolean().default(true) })
      .strict()
      .default({ enabled: true })
      .describe(
        "size with the queue model's batch limit set to what the profile's kvCacheTokens holds of the requests in flight, within maxBatchSize: the cache over the mean KV of a request in flight, E[I] + E[O^2] / (2 E[O]) (the answers' second moment from the trusted token histogram, else the mean answer's), instead of the reference's maxBatchSize x atTokens / mean output; profiles without kvCacheTokens keep the reference's. The TTFT burst replay then waits for the batch's places (each held for an answer's time with the batch full) or the prefill's throughput, not for a queue at the saturated rate. on a reasoning model's long answers the reference's batch was about 30 on L40S where the cache held about 50 (lib/policy/kvBatch.ts)",
      ),
    pooledOutputMean: z
      .object({ enabled: z.boolean().default(true) })
      .strict()
      .default({ enabled: true })
      .describe(
        "size with the mean output length pooled over the newest non-overlapping metrics windows whose completions hold it within 10% (its spread read from how far the windows' means stray), remembered for itlDistribution.halfLifeSeconds; off: the last window's mean alone, which a long-tailed output mix (a reasoning model) swings several-fold from minute to minute",
      ),
    windowYields: z
      .object({ enabled: z.boolean().default(true) })
      .strict()
      .default({ enabled: true })
      .describe(
        "on an accelerator type at its limit, where a variant's recommendation on its chosen accelerator does not fit in what the other variants' deployments leave, release for it the replicas the others hold only by their stabilisation window (above their own recommendation), lowest service class priority first, never below the holder's recommendation; a variant on missing or partial data, moving, or in shadow mode or paused keeps what it holds",
      ),
    stayWithinCapacity: z
      .object({ enabled: z.boolean().default(false) })
      .strict()
      .default({ enabled: false })
      .describe(
        "a variant waiting acceleratorSwitchSeconds on its current accelerator while the optimizer prefers another is sized there within what its type holds: where the type cannot hold the replicas sized there (its node groups' limit, not-arrived capacity, what the other variants' sizing takes), it moves at once, as on insufficient capacity; otherwise the replicas that stay take their devices from those the burst sizing may raise on, and the preferred accelerator's are given back. Off: only a type the capacity provider reports insufficient moves at once, and the replicas that stay are counted on no type",
      ),
    acceleratorSwitchSeconds: nonNegative
      .default(300)
      .describe('another accelerator must be recommended this long before a variant moves to it'),
    maxDecisionAgeSeconds: z.number().positive().default(300).describe('the consumer drops older decisions'),
  })
  .strict();

export const gatewayEventsSchema = z
  .object({
    slotSeconds: z
      .number()
      .int()
      .positive()
      .max(300)
      .default(10)
      .describe('arrivals and output lengths are counted per variant in time slots of this length'),
    statsWindowSeconds: z
      .number()
      .positive()
      .default(900)
      .describe('output length per input-length bucket is learned over this window'),
    retentionSeconds: z
      .number()
      .positive()
      .default(3600)
      .describe('counters and slots expire (DynamoDB TTL) this long after their last change'),
    debounceSeconds: nonNegative
      .default(10)
      .describe(
        'a request for a variant with no ready replica triggers at most one evaluation per pool this often',
      ),
  })
  .strict();

export type GatewayEventsConfig = z.output<typeof gatewayEventsSchema>;

export const simulationSchema = z
  .object({
    seed: z.number().int().default(1),
    durationSeconds: z.number().positive().optional().describe('default: the longest trace'),
    warmupSeconds: nonNegative
      .optional()
      .describe(
        "replayed from the span's end before it, unmeasured, so the loop starts as in service (at most half the span; default: the longest time new capacity takes, a new node and a replica's cold start, plus policy.burstSizing.lookbackSeconds: capacity asked for at the warm-up's start is serving, and the burst signal is full, before the span)",
      ),
    scrapeIntervalSeconds: z.number().positive().default(15),
    drainSeconds: nonNegative
      .default(120)
      .describe('simulated time after the last arrival, for requests to finish'),
    delayJitter: z
      .number()
      .min(0)
      .max(1)
      .default(0.1)
      .describe('relative spread of node and model start-up delays'),
    removalOrder: z
      .enum(['newest', 'least-busy'])
      .optional()
      .describe(
        "which ready replicas a scale-down drains: 'newest' (default, the ReplicaSet's order without deletion costs) or 'least-busy' (as pod-deletion-cost orders them when apply sets it)",
      ),
    requestTimePerOutputToken: z
      .boolean()
      .default(true)
      .describe(
        "the simulated servers expose vllm:request_time_per_output_token_seconds as vLLM >= 0.13 does (each request's decode time over its tokens after the first: the ITL the results judge), as the servers of late 2026 do; its quantiles give the p95 ITL and its buckets the share over the ITL target. false: servers of earlier versions, without it. Either way the mean time per token is the decode time over the tokens decoded",
      ),
    variants: z
      .record(
        z.string(),
        z
          .object({
            trace: z
              .string()
              .optional()
              .describe('request trace (Azure CSV, Mooncake JSONL or plain CSV), relative to this file'),
            rateScale: z.number().positive().default(1),
            initialReplicas: count
              .optional()
              .describe('default: what the optimizer picks for the first minutes of the trace'),
          })
          .strict(),
      )
      .default({})
      .describe('per variant name'),
    nodeGroups: z
      .record(z.string(), z.object({ initialNodes: count }).strict())
      .default({})
      .describe('initial nodes per node group name; default: enough for the initial replicas'),
  })
  .strict();

export type SimulationConfig = z.output<typeof simulationSchema>;
export type PolicyConfig = z.output<typeof policySchema>;
export type NodeGroupConfig = z.output<typeof nodeGroupSchema>;
export type VariantConfig = z.output<typeof variantSchema>;

export const optimizerSchema = z
  .object({
    // An autoscaler gives a variant whose targets do not fit what does fit, rather than nothing.
    saturationPolicy: z.enum(SATURATION_POLICIES).default('PriorityExhaustive'),
    delayedBestEffort: z.boolean().default(false),
    itlModel: z
      .enum(['decode', 'interleaved'])
      .default('interleaved')
      .describe(
        "ITL prediction: 'interleaved' counts other requests' prefills between tokens; 'decode' as Inferno",
      ),
  })
  .strict();

/** Other autoscalers whose metric names the telemetry can publish too (lib/loop/telemetry.ts ALIASES). */
export const TELEMETRY_ALIAS_SETS = ['wva'] as const;
export type TelemetryAliasSet = (typeof TELEMETRY_ALIAS_SETS)[number];

export const telemetrySchema = z
  .object({
    aliases: z
      .array(z.enum(TELEMETRY_ALIAS_SETS))
      .default([])
      .describe(
        "also publish the inferno_* gauges under other autoscalers' names: 'wva' (wva_desired_replicas, wva_current_replicas, wva_desired_ratio, for dashboards built on llm-d's Workload Variant Autoscaler)",
      ),
  })
  .strict();

const configObject = z
  .object({
    accelerators: z.array(acceleratorSchema).min(1),
    models: z.array(modelSchema).min(1),
    serviceClasses: z.array(serviceClassSchema).min(1),
    variants: z.array(variantSchema).min(1, 'at least one variant: there is nothing to size without one'),
    capacity: z
      .union([z.literal('unlimited'), z.record(z.string(), count)])
      .optional()
      .describe(
        '"unlimited", or devices available per accelerator type; default: the node groups\' maximum sizes, or unlimited without node groups',
      ),
    optimizer: optimizerSchema.default(optimizerSchema.parse({})),
    nodeGroups: z
      .array(nodeGroupSchema)
      .default([])
      .describe('GPU node groups; their maximum sizes bound capacity'),
    capacityProvider: capacityProviderSchema
      .optional()
      .describe(
        'where GPU capacity comes from: managed-node-groups | karpenter | none; default: managed-node-groups with nodeGroups, else none',
      ),
    mode: adoptionMode
      .default('act')
      .describe(
        "the pool's mode: act (scale the Deployments and capacity) | shadow (decide and publish, change nothing, record what would have been done) | advise (publish inferno_desired_replicas for an HPA or KEDA to scale on); a variant's `mode` overrides it",
      ),
    policy: policySchema.default(policySchema.parse({})),
    kvTransfer: kvTransferSchema
      .optional()
      .describe('the KV transfer between prefill and decode pods in this pool (disaggregated variants)'),
    gatewayEvents: gatewayEventsSchema
      .default(gatewayEventsSchema.parse({}))
      .describe("the gateway's request events (functions/ingest): counters, buckets, scale from zero"),
    simulation: simulationSchema.optional().describe('the embedded simulation behind `sva simulate`'),
    telemetry: telemetrySchema.optional().describe('the metrics the autoscaler publishes'),
  })
  .strict();

type ConfigObject = z.output<typeof configObject>;
export type RolesConfig = z.output<typeof rolesSchema>;
export type RoleConfig = z.output<typeof roleSchema>;
export type KvTransferConfig = z.output<typeof kvTransferSchema>;
/** A variant served disaggregated: its roles are set. */
export type DisaggregatedVariantConfig = VariantConfig & { readonly roles: RolesConfig };

/**
 * The parsed config. A variant with `roles` is written among the variants but parsed into
 * `disaggregated`, so that everything sizing, observing and scaling a single Deployment per
 * accelerator (`variants`) never mistakes it for one; the code for both roles reads
 * `disaggregated` (lib/optimizer/disaggregated.ts, lib/policy/disaggregated.ts).
 */
export type Config = ConfigObject & { readonly disaggregated?: readonly DisaggregatedVariantConfig[] };

const isDisaggregated = (v: VariantConfig): v is DisaggregatedVariantConfig => v.roles !== undefined;

export const configSchema = configObject
  .superRefine((config, ctx) => checkReferences(config, ctx))
  .transform((config): Config =>
    config.variants.some(isDisaggregated)
      ? {
          ...config,
          variants: config.variants.filter((v) => !isDisaggregated(v)),
          disaggregated: config.variants.filter(isDisaggregated),
        }
      : config,
  );

type RefineContext = z.RefinementCtx<ConfigObject>;

function duplicates(
  ctx: RefineContext,
  items: readonly { name: string }[],
  field: string,
  kind: string,
): void {
  for (const { value, index } of repeats(items.map((item) => item.name))) {
    ctx.addIssue({ code: 'custom', path: [field, index, 'name'], message: duplicateMessage(kind, value) });
  }
}

const variantKey = (v: { namespace: string; name: string }) => `${v.namespace}/${v.name}`;

/** Cross-references between sections: every name used must be defined, and usable. */
function checkReferences(c: ConfigObject, ctx: RefineContext): void {
  if (c.gatewayEvents.statsWindowSeconds < c.policy.metricsWindowSeconds)
    ctx.addIssue({
      code: 'custom',
      path: ['gatewayEvents', 'statsWindowSeconds'],
      message: `must be at least policy.metricsWindowSeconds (${c.policy.metricsWindowSeconds}): output lengths are learned over a window that holds the rate window`,
    });
  duplicates(ctx, c.accelerators, 'accelerators', 'accelerator');
  duplicates(ctx, c.models, 'models', 'model');
  duplicates(ctx, c.serviceClasses, 'serviceClasses', 'service class');
  const accelerators = new Map(c.accelerators.map((a) => [a.name, a]));
  const models = new Map(c.models.map((m) => [m.name, m]));
  const classes = new Map(c.serviceClasses.map((s) => [s.name, s]));
  c.models.forEach((m, i) => {
    for (const acc of Object.keys(m.profiles)) {
      if (!accelerators.has(acc)) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', i, 'profiles', acc],
          message: `unknown accelerator ${acc}`,
        });
      }
    }
  });
  c.serviceClasses.forEach((s, i) => {
    for (const model of Object.keys(s.targets)) {
      if (!models.has(model)) {
        ctx.addIssue({
          code: 'custom',
          path: ['serviceClasses', i, 'targets', model],
          message: `unknown model ${model}`,
        });
      }
    }
  });
  const repeatedVariants = new Set(repeats(c.variants.map(variantKey)).map((r) => r.index));
  c.variants.forEach((v, i) => {
    const at = (field: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: ['variants', i, field], message });
    if (repeatedVariants.has(i)) at('name', duplicateMessage('variant', variantKey(v)));
    const model = models.get(v.model);
    if (!model) at('model', `unknown model ${v.model}`);
    const serviceClass = classes.get(v.serviceClass);
    if (!serviceClass) at('serviceClass', `unknown service class ${v.serviceClass}`);
    else if (!serviceClass.targets[v.model])
      at('serviceClass', `service class ${v.serviceClass} has no targets for model ${v.model}`);
    if (v.roles !== undefined) {
      checkRoles(c, v, i, ctx);
      return;
    }
    if (v.accelerator !== undefined && v.accelerators !== undefined)
      at('accelerator', 'give either accelerator or accelerators, not both');
    for (const acc of v.accelerator !== undefined ? [v.accelerator] : (v.accelerators ?? [])) {
      if (!accelerators.has(acc))
        at(v.accelerator !== undefined ? 'accelerator' : 'accelerators', `unknown accelerator ${acc}`);
      else if (model && !model.profiles[acc]) {
        at(
          v.accelerator !== undefined ? 'accelerator' : 'accelerators',
          `model ${v.model} has no profile on ${acc}`,
        );
      }
    }
    if (v.maxReplicas !== undefined && v.maxReplicas < v.minReplicas) {
      at('maxReplicas', `must be >= minReplicas (${v.minReplicas})`);
    }
    if (v.startupSeconds !== undefined && v.startup !== undefined)
      at('startupSeconds', 'give either startupSeconds (one phase) or startup (phases), not both');
    const allowed =
      v.accelerator !== undefined ? [v.accelerator] : (v.accelerators ?? Object.keys(model?.profiles ?? {}));
    for (const { field, message } of derivedNameProblems(v, allowed)) at(String(field[0]), message);
  });
  duplicates(ctx, c.nodeGroups, 'nodeGroups', 'node group');
  if (c.capacityProvider?.kind === 'karpenter') {
    const known = new Set(c.accelerators.map((a) => a.type ?? a.name));
    const seen = new Set<string>();
    (c.capacityProvider.nodePools ?? []).forEach((p, i) => {
      if (seen.has(p.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['capacityProvider', 'nodePools', i, 'name'],
          message: `duplicate NodePool ${p.name}`,
        });
      }
      seen.add(p.name);
      if (!known.has(p.acceleratorType)) {
        ctx.addIssue({
          code: 'custom',
          path: ['capacityProvider', 'nodePools', i, 'acceleratorType'],
          message: `unknown accelerator type ${p.acceleratorType}`,
        });
      }
    });
  }
  if (c.capacityProvider?.kind === 'managed-node-groups' && c.nodeGroups.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['capacityProvider', 'kind'],
      message: 'managed-node-groups needs at least one entry in nodeGroups',
    });
  }
  const deviceTypes = new Set(c.accelerators.map((a) => a.type ?? a.name));
  c.nodeGroups.forEach((g, i) => {
    if (!deviceTypes.has(g.acceleratorType)) {
      ctx.addIssue({
        code: 'custom',
        path: ['nodeGroups', i, 'acceleratorType'],
        message: `unknown accelerator type ${g.acceleratorType}`,
      });
    }
    if (g.provisioningSeconds !== undefined && g.startup !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['nodeGroups', i, 'provisioningSeconds'],
        message: 'give either provisioningSeconds (one phase) or startup (phases), not both',
      });
    }
    if (g.maxNodes < g.minNodes) {
      ctx.addIssue({
        code: 'custom',
        path: ['nodeGroups', i, 'maxNodes'],
        message: `must be >= minNodes (${g.minNodes})`,
      });
    }
  });
  c.variants.forEach((v, i) => {
    for (const acc of Object.keys(v.deployments ?? {})) {
      if (!accelerators.has(acc)) {
        ctx.addIssue({
          code: 'custom',
          path: ['variants', i, 'deployments', acc],
          message: `unknown accelerator ${acc}`,
        });
      }
    }
    if (v.metrics.podPattern !== undefined) {
      try {
        new RegExp(v.metrics.podPattern);
      } catch {
        ctx.addIssue({
          code: 'custom',
          path: ['variants', i, 'metrics', 'podPattern'],
          message: 'not a valid regular expression',
        });
      }
    }
  });
  if (c.capacity !== undefined && c.capacity !== 'unlimited') {
    const types = new Set(c.accelerators.map((a) => a.type ?? a.name));
    for (const type of Object.keys(c.capacity)) {
      if (!types.has(type))
        ctx.addIssue({
          code: 'custom',
          path: ['capacity', type],
          message: `unknown accelerator type ${type}`,
        });
    }
  }
}

/** The fields a disaggregated variant gives per role instead. */
const PER_ROLE_FIELDS = [
  'accelerator',
  'accelerators',
  'deployments',
  'startup',
  'startupSeconds',
  'maxReplicas',
] as const;

/** A disaggregated variant: its roles, their accelerators and Deployments, and the KV transfer. */
function checkRoles(c: ConfigObject, v: VariantConfig, i: number, ctx: RefineContext): void {
  const roles = v.roles!;
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path: ['variants', i, ...path], message });
  for (const field of PER_ROLE_FIELDS) {
    if (v[field] !== undefined)
      issue([field], 'a variant with roles gives this per role (roles.prefill, roles.decode)');
  }
  const model = c.models.find((m) => m.name === v.model);
  if (model && model.kvBytesPerToken === undefined) {
    issue(['roles'], `model ${v.model} needs kvBytesPerToken: a disaggregated variant moves its KV cache`);
  }
  if (c.kvTransfer === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['kvTransfer'],
      message: `required by the disaggregated variant ${v.name}`,
    });
  }
  for (const { field, message } of derivedNameProblems(v, [])) issue(field, message);
  const names = new Map<string, string>();
  for (const role of ROLES) {
    const r = roles[role];
    const allowed = r.accelerators ?? Object.keys(model?.profiles ?? {});
    for (const acc of r.accelerators ?? []) {
      if (!c.accelerators.some((a) => a.name === acc))
        issue(['roles', role, 'accelerators'], `unknown accelerator ${acc}`);
      else if (model && !model.profiles[acc])
        issue(['roles', role, 'accelerators'], `model ${v.model} has no profile on ${acc}`);
    }
    for (const acc of Object.keys(r.deployments ?? {})) {
      if (!allowed.includes(acc))
        issue(['roles', role, 'deployments', acc], `${acc} is not an accelerator the ${role} role may use`);
    }
    if (r.maxReplicas !== undefined && r.maxReplicas < r.minReplicas) {
      issue(['roles', role, 'maxReplicas'], `must be >= minReplicas (${r.minReplicas})`);
    }
    if (r.startupSeconds !== undefined && r.startup !== undefined) {
      issue(
        ['roles', role, 'startupSeconds'],
        'give either startupSeconds (one phase) or startup (phases), not both',
      );
    }
    for (const acc of allowed) {
      const deployment = roleDeploymentName(v.name, role, r.deployments, allowed, acc);
      const problem = dnsSubdomainProblem(deployment);
      if (problem !== undefined) issue(['roles', role, 'deployments', acc], `${deployment}: ${problem}`);
      const other = names.get(deployment);
      if (other !== undefined && other !== role) {
        issue(
          ['roles', role, 'deployments', acc],
          `Deployment ${deployment} is also the ${other} role's: each role needs its own`,
        );
      }
      names.set(deployment, role);
    }
  }
  const { min, max } = roles.ratio ?? {};
  if (min !== undefined && max !== undefined && max < min)
    issue(['roles', 'ratio', 'max'], `must be >= min (${min})`);
}
