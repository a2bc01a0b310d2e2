/**
 * The history the shadow report compares (lib/shadow/shadowReport.ts), from Prometheus range
 * queries on one grid: what sva would have run (`inferno_desired_replicas`, which evaluate
 * publishes in every mode), what ran (kube-state-metrics' `kube_deployment_spec_replicas` of
 * the Deployments the config names), and the demand vLLM measured (completions per second and
 * mean tokens per request, over 5 minutes). Range queries return at most 11,000 points per
 * series, so a long span is read in chunks.
 */
import type { QueryResult } from 'prometheus-query';
import { acceleratorType, allowedAccelerators, deploymentName } from '../../config/resolved.js';
import type { Config } from '../../config/schema.js';
import { variantKey } from '../../config/variantKey.js';
import { VLLM } from '../../metrics/vllmNaming.js';
import type { DemandPoint, ReplicaSeries } from '../../shadow/shadowReport.js';
import { anyOf, selector } from './promql.js';
import type { PrometheusClient } from './prometheusClient.js';

export interface ShadowHistory {
  readonly sva: ReplicaSeries[];
  readonly ran: ReplicaSeries[];
  readonly demand: Map<string, Map<number, DemandPoint>>;
}

/** Prometheus refuses ranges of more than 11,000 points per series. */
const MAX_POINTS = 10_000;

type Row = { labels: Record<string, string>; points: Map<number, number> };

async function rangeRows(
  client: PrometheusClient,
  query: string,
  from: number,
  to: number,
  step: number,
): Promise<Row[]> {
  const rows = new Map<string, Row>();
  for (let start = from; start < to; start += MAX_POINTS * step) {
    const end = Math.min(to - step, start + (MAX_POINTS - 1) * step);
    if (end < start) break;
    const result: QueryResult = await client.range(query, start, end, step);
    for (const r of result.result as {
      metric: { labels: Record<string, string> };
      values: { time: Date; value: number }[];
    }[]) {
      const labels = r.metric.labels;
      const id = JSON.stringify(Object.entries(labels).sort());
      let row = rows.get(id);
      if (!row) rows.set(id, (row = { labels, points: new Map() }));
      for (const v of r.values)
        if (Number.isFinite(v.value)) row.points.set(Math.round(v.time.getTime() / 1000), v.value);
    }
  }
  return [...rows.values()];
}

export async function readShadowHistory(
  client: PrometheusClient,
  config: Config,
  span: { from: number; to: number; stepSeconds: number },
): Promise<ShadowHistory> {
  const { from, to, stepSeconds: step } = span;
  const namespaces = anyOf(config.variants.map((v) => v.namespace));
  const names = anyOf(config.variants.map((v) => v.name));
  const models = anyOf(config.variants.map((v) => v.metrics.modelName ?? v.model));
  const scope = (name: string) =>
    selector(name, [
      ['namespace', '=~', namespaces],
      ['model_name', '=~', models],
    ]);
  const rate = (name: string) => `sum by (namespace, model_name) (rate(${scope(name)}[5m]))`;
  const [desired, spec, completions, inTokens, outTokens] = await Promise.all([
    rangeRows(
      client,
      `max by (namespace, variant_name, accelerator_type) (${selector('inferno_desired_replicas', [
        ['namespace', '=~', namespaces],
        ['variant_name', '=~', names],
      ])})`,
      from,
      to,
      step,
    ),
    rangeRows(
      client,
      `max by (namespace, deployment) (${selector('kube_deployment_spec_replicas', [['namespace', '=~', namespaces]])})`,
      from,
      to,
      step,
    ),
    rangeRows(client, rate(VLLM.success), from, to, step),
    rangeRows(
      client,
      `${rate(`${VLLM.promptTokens}_sum`)} / ${rate(`${VLLM.promptTokens}_count`)}`,
      from,
      to,
      step,
    ),
    rangeRows(
      client,
      `${rate(`${VLLM.generationTokens}_sum`)} / ${rate(`${VLLM.generationTokens}_count`)}`,
      from,
      to,
      step,
    ),
  ]);

  const sva: ReplicaSeries[] = [];
  const ran: ReplicaSeries[] = [];
  const demand = new Map<string, Map<number, DemandPoint>>();
  for (const v of config.variants) {
    const key = variantKey(v);
    const allowed = allowedAccelerators(config, v);
    for (const r of desired) {
      if (r.labels.namespace !== v.namespace || r.labels.variant_name !== v.name) continue;
      // the series carries the device type: the variant's first allowed accelerator of that type
      const accelerator = allowed.find((a) => acceleratorType(config, a) === r.labels.accelerator_type);
      if (accelerator) sva.push({ variant: key, accelerator, points: r.points });
    }
    for (const accelerator of allowed) {
      const name = deploymentName(config, v, accelerator);
      const r = spec.find((s) => s.labels.namespace === v.namespace && s.labels.deployment === name);
      if (r) ran.push({ variant: key, accelerator, points: r.points });
    }
    const model = v.metrics.modelName ?? v.model;
    const of = (rows: Row[]) =>
      rows.find((r) => r.labels.namespace === v.namespace && r.labels.model_name === model)?.points;
    const [rates, ins, outs] = [of(completions), of(inTokens), of(outTokens)];
    if (!rates) continue;
    const points = new Map<number, DemandPoint>();
    for (const [t, value] of rates) {
      const inputTokens = ins?.get(t) ?? v.load?.avgInputTokens;
      const outputTokens = outs?.get(t) ?? v.load?.avgOutputTokens;
      if (inputTokens !== undefined && outputTokens !== undefined)
        points.set(t, { rate: value, inputTokens, outputTokens });
    }
    demand.set(key, points);
  }
  return { sva, ran, demand };
}
