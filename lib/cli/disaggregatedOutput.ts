/**
 * Disaggregated variants in `sva solve` and `sva analyze`: each role's accelerator and replicas,
 * and the TTFT budget part by part (prefill wait, prefill, KV transfer, decode wait, first step).
 */
import { acceleratorNamed, devicesPerReplica } from '../config/resolved.js';
import { configCapacity } from '../config/toSystem.js';
import { freeAfter, sizeDisaggregatedVariants } from '../config/toDisaggregated.js';
import type { Config, DisaggregatedVariantConfig } from '../config/schema.js';
import type { DisaggregatedPlan, DisaggregatedSizing } from '../optimizer/disaggregated.js';
import type { Solution } from '../optimizer/index.js';
import { variantKey } from '../config/variantKey.js';
import { renderTable } from './solutionTable.js';

export interface DisaggregatedJson {
  readonly variant: string;
  readonly feasible: boolean;
  readonly reason?: string;
  readonly prefill?: { accelerator: string; replicas: number; cost: number; ratePerReplica: number };
  readonly decode?: { accelerator: string; replicas: number; cost: number; ratePerReplica: number };
  readonly cost?: number;
  readonly ttftMs?: DisaggregatedPlan['ttft'];
  readonly itlMs?: number;
  readonly linkUtilisation?: number;
  readonly notes: readonly string[];
}

/** The disaggregated variants sized for their fixed loads, from the devices the aggregated solution left. */
export function solveDisaggregatedLoads(config: Config, solution: Solution | undefined): DisaggregatedJson[] {
  const used = [...config.variants].flatMap((v) => {
    const a = solution?.allocations.get(variantKey(v));
    if (!a?.accelerator) return [];
    const acc = acceleratorNamed(config, a.accelerator);
    return [
      {
        type: acc?.type ?? a.accelerator,
        devices: a.numReplicas * devicesPerReplica(config, v, a.accelerator),
      },
    ];
  });
  const sized = sizeDisaggregatedVariants(
    config,
    (v) =>
      v.load && {
        rate: v.load.arrivalRate,
        inputTokens: v.load.avgInputTokens,
        outputTokens: v.load.avgOutputTokens,
      },
    { freeDevices: freeAfter(configCapacity(config), used) },
  );
  return [...sized].map(([v, s]) => toJson(v, s));
}

function toJson(v: DisaggregatedVariantConfig, s: DisaggregatedSizing): DisaggregatedJson {
  if (!s.feasible) return { variant: variantKey(v), feasible: false, reason: s.reason, notes: s.notes };
  const role = (r: DisaggregatedPlan['prefill']) => ({
    accelerator: r.accelerator,
    replicas: r.replicas,
    cost: r.costPerHour,
    ratePerReplica: r.ratePerReplica,
  });
  const { plan } = s;
  return {
    variant: variantKey(v),
    feasible: true,
    prefill: role(plan.prefill),
    decode: role(plan.decode),
    cost: plan.costPerHour,
    ttftMs: plan.ttft,
    itlMs: plan.itlMs,
    linkUtilisation: plan.linkUtilisation,
    notes: s.notes,
  };
}

const f = (x: number | undefined, digits: number) => (x === undefined ? '-' : x.toFixed(digits));

export function formatDisaggregatedTable(rows: readonly DisaggregatedJson[]): string {
  const lines = rows.flatMap((r) =>
    (['prefill', 'decode'] as const).map((role) => {
      const p = r[role];
      return [
        `${r.variant} ${role}`,
        p?.accelerator ?? '-',
        p ? String(p.replicas) : '-',
        f(p?.cost, 2),
        f(p?.ratePerReplica, 3),
        role === 'prefill'
          ? `wait ${f(r.ttftMs?.prefillWaitMs, 0)} + prefill ${f(r.ttftMs?.prefillMs, 0)} + KV ${f(r.ttftMs?.transferMs, 0)}`
          : `wait ${f(r.ttftMs?.decodeWaitMs, 0)} + first step ${f(r.ttftMs?.firstStepMs, 0)}`,
        role === 'decode' ? f(r.itlMs, 2) : '',
      ];
    }),
  );
  const parts = [
    'disaggregated variants:',
    renderTable(
      ['variant role', 'accelerator', 'replicas', 'cost/h', 'req/s per replica', 'TTFT ms parts', 'ITL ms'],
      lines,
    ),
  ];
  for (const r of rows) {
    if (r.feasible)
      parts.push(
        `${r.variant}: cost/h ${f(r.cost, 2)}, TTFT ${f(r.ttftMs?.totalMs, 0)} ms, KV link ${f((r.linkUtilisation ?? 0) * 100, 1)}% busy`,
      );
    else parts.push(`${r.variant}: no plan: ${r.reason}`);
  }
  return parts.join('\n');
}
