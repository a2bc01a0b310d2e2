/**
 * What an HPA or a KEDA ScaledObject scales on, read from its spec (an outside input, so read
 * with zod): advise mode's check needs to tell an HPA on inferno_desired_replicas from one on CPU
 * (docs/ADOPTION.md "Advise mode: nobody scaling on the advice"). Each autoscaling version keeps
 * the metric's name somewhere else:
 * - v2 and v2beta2: `spec.metrics[]`, `external.metric.name`, `object.metric.name`,
 *   `pods.metric.name`, `resource.name`, `containerResource.name`;
 * - v2beta1: the same types with `metricName` in place of `metric.name`;
 * - v1: CPU only (`targetCPUUtilizationPercentage`).
 * An External metric's label selector (`external.metric.selector`, v2beta1's
 * `external.metricSelector`) says which of the metric's series it reads: the advice of which
 * variant. An HPA without metrics scales on CPU (the controller's default of 80%). A ScaledObject
 * has `spec.triggers[]`, each a `type` and, for `prometheus`, `metadata.query`, whose series
 * are read with ../prometheus/querySeries.ts (a query that does not read is said so, not refused).
 * A spec that does not parse is returned as the first problem's field and message, never thrown.
 */
import { z } from 'zod';
import { formatPath } from '../../config/errors.js';
import type { LabelMatcher, ScaledOn } from '../../policy/ports.js';
import { querySeries } from '../prometheus/querySeries.js';
import type { HPA_VERSIONS } from './otherAutoscalers.js';

export type ScalesOnRead = { readonly scalesOn: ScaledOn[] } | { readonly unread: string };

const name = z.string().min(1);
const metric = (type: string, n: string): ScaledOn => ({ source: 'metric', type, name: n });
/** The controller's default for an HPA without metrics. */
const CPU = [metric('Resource', 'cpu')];

/** A resource metric: the same in every v2 version. */
const resources = [
  z
    .object({ type: z.literal('Resource'), resource: z.object({ name }) })
    .transform((m) => metric(m.type, m.resource.name)),
  z
    .object({ type: z.literal('ContainerResource'), containerResource: z.object({ name }) })
    .transform((m) => metric(m.type, m.containerResource.name)),
] as const;

/** A Kubernetes label selector: `matchLabels` are `=`, `matchExpressions` keep their operator. */
const labelSelector = z
  .object({
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: z
      .array(
        z
          .object({
            key: name,
            operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
            values: z.array(z.string()).optional(),
          })
          .refine((e) => !(e.operator === 'In' || e.operator === 'NotIn') || (e.values?.length ?? 0) > 0, {
            message: 'In and NotIn need values',
            path: ['values'],
          }),
      )
      .optional(),
  })
  .optional()
  .transform((s): LabelMatcher[] => [
    ...Object.entries(s?.matchLabels ?? {}).map(([label, v]) => ({ label, op: '=' as const, values: [v] })),
    ...(s?.matchExpressions ?? []).map((e) => ({ label: e.key, op: e.operator, values: e.values ?? [] })),
  ]);

const external = (n: string, selector: LabelMatcher[]): ScaledOn => ({ ...metric('External', n), selector });

/** autoscaling/v2 and v2beta2: the metric is `{ name, selector }` */
const v2Metric = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('External'),
      external: z.object({ metric: z.object({ name, selector: labelSelector }) }),
    })
    .transform((m) => external(m.external.metric.name, m.external.metric.selector)),
  z
    .object({ type: z.literal('Object'), object: z.object({ metric: z.object({ name }) }) })
    .transform((m) => metric(m.type, m.object.metric.name)),
  z
    .object({ type: z.literal('Pods'), pods: z.object({ metric: z.object({ name }) }) })
    .transform((m) => metric(m.type, m.pods.metric.name)),
  ...resources,
]);

/** autoscaling/v2beta1: the metric is `metricName` */
const v2beta1Metric = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('External'),
      external: z.object({ metricName: name, metricSelector: labelSelector }),
    })
    .transform((m) => external(m.external.metricName, m.external.metricSelector)),
  z
    .object({ type: z.literal('Object'), object: z.object({ metricName: name }) })
    .transform((m) => metric(m.type, m.object.metricName)),
  z
    .object({ type: z.literal('Pods'), pods: z.object({ metricName: name }) })
    .transform((m) => metric(m.type, m.pods.metricName)),
  ...resources,
]);

const withMetrics = (one: typeof v2Metric | typeof v2beta1Metric) =>
  z
    .object({ metrics: z.array(one).optional() })
    .transform((s) => (s.metrics && s.metrics.length > 0 ? s.metrics : CPU));

const v1 = z
  .object({ targetCPUUtilizationPercentage: z.number().int().positive().optional() })
  .transform(() => CPU);

const trigger = z
  .object({ type: name, metadata: z.record(z.string(), z.unknown()).optional() })
  .superRefine((t, ctx) => {
    if (t.type === 'prometheus' && typeof t.metadata?.query !== 'string')
      ctx.addIssue({
        code: 'custom',
        path: ['metadata', 'query'],
        message: 'a prometheus trigger needs a query',
      });
  })
  .transform((t): ScaledOn => {
    if (t.type !== 'prometheus') return { source: 'trigger', type: t.type };
    const query = t.metadata!.query as string;
    const read = querySeries(query);
    return {
      source: 'trigger',
      type: t.type,
      query,
      ...('series' in read ? { series: read.series } : { queryUnread: read.unread }),
    };
  });

const scaledObject = z.object({ triggers: z.array(trigger).min(1) }).transform((s) => s.triggers);

/** The spec schema of each version the reader may list HPAs with: one for each, or it does not compile. */
const HPA_SPECS: Record<(typeof HPA_VERSIONS)[number], z.ZodType<ScaledOn[], unknown>> = {
  v2: withMetrics(v2Metric),
  v2beta2: withMetrics(v2Metric),
  v2beta1: withMetrics(v2beta1Metric),
  v1,
};

/** What an HPA read with autoscaling/`version` scales on. */
export function hpaScalesOn(version: string, spec: unknown): ScalesOnRead {
  const schema = (HPA_SPECS as Record<string, z.ZodType<ScaledOn[], unknown> | undefined>)[version];
  if (!schema) return { unread: `autoscaling/${version} is not a version sva reads` };
  return parse(schema, spec);
}

/** What a ScaledObject (keda.sh/v1alpha1) scales on: its triggers. */
export function scaledObjectScalesOn(spec: unknown): ScalesOnRead {
  return parse(scaledObject, spec);
}

function parse(schema: z.ZodType<ScaledOn[], unknown>, spec: unknown): ScalesOnRead {
  const parsed = schema.safeParse(spec ?? {});
  if (parsed.success) return { scalesOn: parsed.data };
  const issue = parsed.error.issues[0]!;
  const where = formatPath(issue.path);
  return { unread: `spec${where ? `.${where}` : ''}: ${issue.message}` };
}
