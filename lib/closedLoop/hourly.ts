/**
 * A run hour by hour (issue 13: "the report shows the day"): demand, the capacity held per
 * accelerator, cost, SLO attainment of the requests arriving in the hour, and scaling actions.
 * Built from a run's timeline and events and its per-hour outcome counts; shared by the HTML
 * report of `npm start` and the benchmark's.
 */
import type { SimulationRun } from './closedLoop.js';

export const HOUR_SECONDS = 3600;

/** Requests arriving in an hour of the measured span and how many met both targets. */
export interface HourOutcome {
  requests: number;
  met: number;
}

export interface HourRow {
  /** hours from the start of the measured span */
  readonly hour: number;
  /** mean requests per second arriving (all variants) */
  readonly demand: number;
  /** mean replicas asked for per accelerator type over the hour */
  readonly replicas: Readonly<Record<string, number>>;
  /** $ spent on GPU nodes in the hour (ready or provisioning) */
  readonly cost: number;
  /** share of the hour's arrivals that met both targets; null without arrivals */
  readonly sloAttainment: number | null;
  readonly requests: number;
  readonly scalingActions: number;
}

export function hourlyRows(run: SimulationRun): HourRow[] {
  const span = run.summary.durationSeconds;
  const hours = Math.max(1, Math.ceil(span / HOUR_SECONDS - 1e-9));
  const rows: HourRow[] = [];
  for (let h = 0; h < hours; h++) {
    const from = h * HOUR_SECONDS;
    const to = Math.min(from + HOUR_SECONDS, span);
    let seconds = 0;
    let demand = 0;
    let cost = 0;
    const replicas: Record<string, number> = {};
    for (let i = 0; i < run.timeline.length; i++) {
      const p = run.timeline[i]!;
      if (p.t <= from || p.t > to) continue;
      // Each point stands for the interval that ends at it.
      const dt = p.t - (i > 0 ? Math.max(run.timeline[i - 1]!.t, from) : from);
      seconds += dt;
      cost += (p.costPerHour * dt) / HOUR_SECONDS;
      for (const v of Object.values(p.variants)) {
        demand += v.arrivalRate * dt;
        for (const [acc, n] of Object.entries(v.desired)) replicas[acc] = (replicas[acc] ?? 0) + n * dt;
      }
    }
    const outcome = run.hourly?.[h] ?? { requests: 0, met: 0 };
    rows.push({
      hour: h,
      demand: seconds > 0 ? demand / seconds : 0,
      replicas: Object.fromEntries(
        Object.entries(replicas).map(([acc, n]) => [acc, seconds > 0 ? n / seconds : 0]),
      ),
      cost,
      sloAttainment: outcome.requests > 0 ? outcome.met / outcome.requests : null,
      requests: outcome.requests,
      scalingActions: run.events.filter((e) => e.t > from && e.t <= to).length,
    });
  }
  return rows;
}
