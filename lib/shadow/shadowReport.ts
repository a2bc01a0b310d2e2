/**
 * The shadow report (README "Adopting sva"): what sva would have run (its desired replicas)
 * against what ran (the Deployments' replicas), per variant and UTC day: device-hours, cost, and
 * the queue model's predicted latency at each, on the demand that was measured. Pure: the series
 * come in as arguments (lib/adapters/prometheus/shadowHistory.ts reads them from Prometheus).
 *
 * Both sides are sampled on one grid; a step counts when both have a value (so the hours
 * compared are the same on each side). The prediction uses the accelerator with the most
 * replicas at that step and only its replicas (a move's other replicas are left out: the
 * prediction errs on the slow side). A step over target is one whose predicted mean TTFT or ITL
 * exceeds the service class's target, or whose demand the replicas cannot take at all.
 */
import {
  acceleratorNamed,
  devicesPerReplica,
  profileOf,
  targetsOf,
  variantByKey,
} from '../config/resolved.js';
import type { Config, VariantConfig } from '../config/schema.js';
import { predictAt } from '../policy/predict.js';

/** Replicas of a variant on one accelerator over time: epoch seconds → replicas. */
export interface ReplicaSeries {
  /** `namespace/name` */
  readonly variant: string;
  /** the config's accelerator name */
  readonly accelerator: string;
  readonly points: ReadonlyMap<number, number>;
}

export interface DemandPoint {
  /** requests per second */
  readonly rate: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface ShadowInput {
  readonly config: Config;
  /** epoch seconds: the grid is from, from + step, ... before to */
  readonly from: number;
  readonly to: number;
  readonly stepSeconds: number;
  /** what sva would have run: inferno_desired_replicas */
  readonly sva: readonly ReplicaSeries[];
  /** what ran: kube_deployment_spec_replicas */
  readonly ran: readonly ReplicaSeries[];
  /** measured demand per variant, by grid time */
  readonly demand: ReadonlyMap<string, ReadonlyMap<number, DemandPoint>>;
}

export interface ShadowSide {
  readonly meanReplicas: number;
  /** devices of the accelerators' types times hours */
  readonly deviceHours: number;
  readonly cost: number;
  /** mean over the steps with demand of the predicted mean latencies; null when none could be predicted */
  readonly ttftMs: number | null;
  readonly itlMs: number | null;
  /** share of the steps with demand predicted over a target or beyond what the replicas take */
  readonly overTargetShare: number | null;
}

export interface ShadowDay {
  readonly variant: string;
  /** YYYY-MM-DD, UTC */
  readonly day: string;
  /** hours where both sides had a value */
  readonly hours: number;
  readonly sva: ShadowSide;
  readonly ran: ShadowSide;
}

interface Accumulator {
  steps: number;
  replicaSteps: number;
  deviceHours: number;
  cost: number;
  ttft: number[];
  itl: number[];
  demandSteps: number;
  over: number;
}

const empty = (): Accumulator => ({
  steps: 0,
  replicaSteps: 0,
  deviceHours: 0,
  cost: 0,
  ttft: [],
  itl: [],
  demandSteps: 0,
  over: 0,
});

const mean = (xs: readonly number[]) => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** The variant's replicas per accelerator at `t`, or undefined when no series has a value then. */
function replicasAt(series: readonly ReplicaSeries[], t: number): Map<string, number> | undefined {
  let any = false;
  const out = new Map<string, number>();
  for (const s of series) {
    const n = s.points.get(t);
    if (n === undefined) continue;
    any = true;
    out.set(s.accelerator, (out.get(s.accelerator) ?? 0) + n);
  }
  return any ? out : undefined;
}

function accumulate(
  acc: Accumulator,
  config: Config,
  v: VariantConfig,
  replicas: ReadonlyMap<string, number>,
  demand: DemandPoint | undefined,
  hours: number,
): void {
  acc.steps++;
  let main: [string, number] | undefined;
  for (const [accelerator, n] of replicas) {
    acc.replicaSteps += n;
    acc.deviceHours += n * devicesPerReplica(config, v, accelerator) * hours;
    const units = profileOf(config, v, accelerator)?.acceleratorCount ?? 1;
    acc.cost += n * (acceleratorNamed(config, accelerator)?.costPerHour ?? 0) * units * hours;
    if (!main || n > main[1]) main = [accelerator, n];
  }
  if (!demand || !(demand.rate > 0)) return;
  acc.demandSteps++;
  const targets = targetsOf(config, v);
  const p = main ? predictAt(config, v, main[0], demand, main[1]) : null;
  if (!p) {
    acc.over++;
    return;
  }
  acc.ttft.push(p.ttftMs);
  acc.itl.push(p.itlMs);
  if ((targets.ttftMs > 0 && p.ttftMs > targets.ttftMs) || (targets.itlMs > 0 && p.itlMs > targets.itlMs))
    acc.over++;
}

function side(a: Accumulator): ShadowSide {
  return {
    meanReplicas: a.steps > 0 ? a.replicaSteps / a.steps : 0,
    deviceHours: a.deviceHours,
    cost: a.cost,
    ttftMs: mean(a.ttft),
    itlMs: mean(a.itl),
    overTargetShare: a.demandSteps > 0 ? a.over / a.demandSteps : null,
  };
}

export function shadowReport(input: ShadowInput): ShadowDay[] {
  const { config, stepSeconds } = input;
  if (!(stepSeconds > 0)) throw new RangeError('stepSeconds must be positive');
  const hours = stepSeconds / 3600;
  const days = new Map<string, { sva: Accumulator; ran: Accumulator; steps: number }>();
  const variants = [...new Set([...input.sva, ...input.ran].map((s) => s.variant))].sort();
  for (const key of variants) {
    const v = variantByKey(config, key);
    if (!v) continue;
    const sva = input.sva.filter((s) => s.variant === key);
    const ran = input.ran.filter((s) => s.variant === key);
    const demand = input.demand.get(key);
    for (let t = input.from; t < input.to; t += stepSeconds) {
      const would = replicasAt(sva, t);
      const did = replicasAt(ran, t);
      if (!would || !did) continue;
      const day = new Date(t * 1000).toISOString().slice(0, 10);
      const id = `${key}\u0000${day}`;
      let d = days.get(id);
      if (!d) days.set(id, (d = { sva: empty(), ran: empty(), steps: 0 }));
      d.steps++;
      accumulate(d.sva, config, v, would, demand?.get(t), hours);
      accumulate(d.ran, config, v, did, demand?.get(t), hours);
    }
  }
  return [...days.entries()].map(([id, d]) => {
    const [variant, day] = id.split('\u0000') as [string, string];
    return { variant, day, hours: d.steps * hours, sva: side(d.sva), ran: side(d.ran) };
  });
}

const num = (x: number | null, digits: number) => (x === null ? '-' : x.toFixed(digits));
const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(0)}%`);

/** The report as an aligned text table, one line per variant and day, with the totals. */
export function formatShadowReport(rows: readonly ShadowDay[]): string[] {
  if (rows.length === 0)
    return [
      'no day where both what sva would have run (inferno_desired_replicas) and what ran (kube_deployment_spec_replicas) have samples',
    ];
  const header = [
    'variant',
    'day',
    'hours',
    'replicas sva/ran',
    'device-h sva/ran',
    'cost sva/ran',
    'saved',
    'TTFT ms sva/ran',
    'ITL ms sva/ran',
    'over target sva/ran',
  ];
  const body = rows.map((r) => [
    r.variant,
    r.day,
    r.hours.toFixed(2),
    `${r.sva.meanReplicas.toFixed(1)}/${r.ran.meanReplicas.toFixed(1)}`,
    `${r.sva.deviceHours.toFixed(1)}/${r.ran.deviceHours.toFixed(1)}`,
    `${r.sva.cost.toFixed(2)}/${r.ran.cost.toFixed(2)}`,
    r.ran.cost > 0 ? `${((100 * (r.ran.cost - r.sva.cost)) / r.ran.cost).toFixed(0)}%` : '-',
    `${num(r.sva.ttftMs, 0)}/${num(r.ran.ttftMs, 0)}`,
    `${num(r.sva.itlMs, 1)}/${num(r.ran.itlMs, 1)}`,
    `${pct(r.sva.overTargetShare)}/${pct(r.ran.overTargetShare)}`,
  ]);
  const total = (f: (s: ShadowSide) => number, pick: 'sva' | 'ran') =>
    rows.reduce((a, r) => a + f(r[pick]), 0);
  const [svaCost, ranCost] = [total((s) => s.cost, 'sva'), total((s) => s.cost, 'ran')];
  body.push([
    'total',
    '',
    rows.reduce((a, r) => a + r.hours, 0).toFixed(2),
    '',
    `${total((s) => s.deviceHours, 'sva').toFixed(1)}/${total((s) => s.deviceHours, 'ran').toFixed(1)}`,
    `${svaCost.toFixed(2)}/${ranCost.toFixed(2)}`,
    ranCost > 0 ? `${((100 * (ranCost - svaCost)) / ranCost).toFixed(0)}%` : '-',
    '',
    '',
    '',
  ]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}
