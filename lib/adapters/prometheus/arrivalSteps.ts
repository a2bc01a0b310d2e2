/**
 * Arrivals per short step over a look-back (policy.burstSizing), from one range query
 * (`query_range` at the step) covering every variant: per step, the increase of the counter the
 * arrival rate uses (the gateway's requests, or vLLM's completions) and the requests in flight at
 * each step's end, whose growth is added to the completions as the arrival rate does
 * (lib/metrics/signals.ts). The per-step increase is the counter's difference over the step per
 * series (no extrapolation, which `increase` over a single scrape interval would need): a drop
 * (the counter reset) counts the new value, a series born in the step counts from 0, as the
 * simulation's SampleStore counts them. The answer is validated; a variant without the series
 * gets no per-step counts, which the policy reads as "no burst information".
 */
import type { QueryResult } from 'prometheus-query';
import { z } from 'zod';
import type { ArrivalSteps } from '../../metrics/observation.js';
import { GATEWAY_REQUEST_NAMES, VLLM } from '../../metrics/vllmNaming.js';
import type { MetricsQuery } from '../../policy/ports.js';
import { anyOf, by, duration, selector, TAG, tagged, union } from './promql.js';

export interface ArrivalStepsAsked {
  readonly stepSeconds: number;
  readonly lookbackSeconds: number;
}

export interface StepScope {
  readonly models: readonly string[];
  readonly namespaces: readonly string[];
  readonly podLevel: boolean;
  readonly groupLabels: readonly string[];
  readonly gatewayModels: readonly string[];
  readonly stepSeconds: number;
}

/** The three parts of the range query, tagged. */
export const STEP_PARTS = { requests: 'requests', completed: 'completed', inFlight: 'inFlight' } as const;

/** The range query: per-step increases of the gateway's and the completions' counters, and what is in flight. */
export function arrivalStepsQuery(scope: StepScope): string {
  const group = ['model_name', 'namespace', ...(scope.podLevel ? ['pod'] : []), ...scope.groupLabels];
  const step = duration(scope.stepSeconds);
  const within = (name: string, models: readonly string[]) =>
    selector(name, [
      ['model_name', '=~', anyOf(models)],
      ['namespace', '=~', anyOf(scope.namespaces)],
    ]);
  // the step's increase per series: a reset (a negative difference) or a new series counts its value
  const perStep = (sel: string) => `((${sel} - ${sel} offset ${step}) >= 0 or ${sel})`;
  const parts = [
    tagged(
      `sum ${by(group)} (${perStep(within(VLLM.success, scope.models))})`,
      TAG.part,
      STEP_PARTS.completed,
    ),
    tagged(
      `sum ${by(group)} (${within(VLLM.running, scope.models)} + ${within(VLLM.waiting, scope.models)})`,
      TAG.part,
      STEP_PARTS.inFlight,
    ),
  ];
  if (scope.gatewayModels.length > 0) {
    const names = GATEWAY_REQUEST_NAMES.map((n) => perStep(within(n, scope.gatewayModels))).join(' or ');
    parts.push(tagged(`sum by (model_name, namespace) (${names})`, TAG.part, STEP_PARTS.requests));
  }
  return union(parts);
}

/** prometheus-query's parse of a matrix: each series' labels and its points. */
const matrixSchema = z.array(
  z.object({
    metric: z.object({ labels: z.record(z.string(), z.string()) }),
    // NaN and the infinities are numbers to Prometheus (prometheus-query parses them so); left out below
    values: z.array(z.object({ time: z.date(), value: z.union([z.number(), z.nan()]) })),
  }),
);

export interface StepRow {
  readonly labels: Readonly<Record<string, string>>;
  /** value by evaluation time, epoch seconds */
  readonly points: ReadonlyMap<number, number>;
}

/** A range answer of the wrong shape. */
export class StepsAnswerError extends Error {
  override readonly name = 'StepsAnswerError';
}

/** The rows of a range answer; an answer of another shape is an error naming what is wrong. */
export function stepRowsOf(result: QueryResult): StepRow[] {
  const type: string = result.resultType;
  if (type !== 'matrix') throw new StepsAnswerError(`arrival steps: expected a matrix, got ${type}`);
  const parsed = matrixSchema.safeParse(result.result);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    throw new StepsAnswerError(`arrival steps: result${path}: ${issue.message}`);
  }
  return parsed.data.map((r) => ({
    labels: r.metric.labels,
    points: new Map(
      r.values
        .filter((v) => Number.isFinite(v.value))
        .map((v) => [Math.round(v.time.getTime() / 1000), v.value]),
    ),
  }));
}

/**
 * The grid of a range query ending at the whole second of now: n whole steps, evaluated at start
 * + j step for j = 0..n (whole seconds, so that the answer's times match the grid's exactly).
 */
export function stepGrid(asked: ArrivalStepsAsked, now: number): { start: number; end: number; n: number } {
  const n = Math.floor(asked.lookbackSeconds / asked.stepSeconds + 1e-9);
  const end = Math.floor(now);
  return { start: end - n * asked.stepSeconds, end, n };
}

/**
 * One variant's arrivals per step from the rows: the gateway's requests when its arrival rate
 * comes from the gateway, else completions plus the growth of what is in flight; undefined when
 * the counter has no series for the variant.
 */
export function variantArrivalSteps(
  q: MetricsQuery,
  rows: readonly StepRow[],
  grid: { start: number; n: number; stepSeconds: number },
  fromGateway: boolean,
): ArrivalSteps | undefined {
  const pod = q.podPattern !== undefined ? new RegExp(q.podPattern) : undefined;
  const of = (part: string, perPod: boolean) =>
    rows.filter(
      (r) =>
        r.labels[TAG.part] === part &&
        r.labels.model_name === q.modelName &&
        r.labels.namespace === q.namespace &&
        (!perPod || !pod || pod.test(r.labels.pod ?? '')) &&
        (!perPod || Object.entries(q.labels ?? {}).every(([k, v]) => r.labels[k] === v)),
    );
  const at = (list: readonly StepRow[], j: number) =>
    list.reduce((a, r) => a + (r.points.get(Math.round(grid.start + j * grid.stepSeconds)) ?? 0), 0);
  const newest = (list: readonly StepRow[]) => {
    let t = -Infinity;
    for (const r of list) for (const time of r.points.keys()) t = Math.max(t, time);
    return t;
  };
  const counts: number[] = [];
  if (fromGateway) {
    // the gateway's counter has no pod label: it is the variant's whichever pods serve it
    const requests = of(STEP_PARTS.requests, false);
    if (requests.length === 0) return undefined;
    for (let j = 1; j <= grid.n; j++) counts.push(at(requests, j));
    return {
      stepSeconds: grid.stepSeconds,
      counts,
      source: GATEWAY_REQUEST_NAMES.join(' or '),
      timestamp: newest(requests),
    };
  }
  const completed = of(STEP_PARTS.completed, true);
  if (completed.length === 0) return undefined;
  const inFlight = of(STEP_PARTS.inFlight, true);
  for (let j = 1; j <= grid.n; j++)
    counts.push(Math.max(at(completed, j) + at(inFlight, j) - at(inFlight, j - 1), 0));
  return {
    stepSeconds: grid.stepSeconds,
    counts,
    source: `${VLLM.success} + d(${VLLM.running}+${VLLM.waiting})/dt`,
    timestamp: newest(completed),
  };
}
