/**
 * `static-peak`: a fixed fleet sized for the trace's busiest minute, as one provisions without an
 * autoscaler. The optimizer (unlimited, the variant's allowed accelerators) sizes the busiest
 * minute's load (its arrivals per second and mean tokens) with the same margins on the targets
 * as the autoscaler (policy.targetMargin), and the Deployment is set to that at the start. If
 * that is another accelerator than the one the variant starts on, the old replicas stay until the
 * new ones are ready, then go. Nothing changes after that. It scales no nodes (see
 * clusterAutoscaler.ts).
 */
import type { Config, VariantConfig } from '../../lib/config/schema.js';
import { acceleratorType, allowedAccelerators } from '../../lib/config/resolved.js';
import type { Controller } from '../../lib/closedLoop/controller.js';
import type { Trace } from '../../lib/fleetSimulator/index.js';
import { loadOf, scaleDeployment, sizeWithOptimizer, type Load, type Sizing } from './common.js';

export const STATIC_PEAK_INTERVAL_SECONDS = 15;

/** The busiest whole minute of a trace ([60 m, 60 m + 60)) and its load. */
export function peakMinute(trace: Trace): { minute: number; load: Load } {
  const counts = new Map<number, number>();
  for (const r of trace.requests) {
    const m = Math.floor(r.arrival / 60);
    counts.set(m, (counts.get(m) ?? 0) + 1);
  }
  let minute = 0;
  let most = -1;
  for (const [m, n] of counts) {
    if (n > most || (n === most && m < minute)) {
      minute = m;
      most = n;
    }
  }
  return { minute, load: loadOf(trace.requests, minute * 60, minute * 60 + 60) };
}

export function staticPeakSizing(config: Config, v: VariantConfig, trace: Trace | undefined): Sizing {
  const load = trace ? peakMinute(trace).load : { rate: 0, inputTokens: 0, outputTokens: 0 };
  return sizeWithOptimizer(config, v, load, { margin: config.policy.targetMargin });
}

export function staticPeakController(): Controller {
  const fleets = new Map<string, { sizing: Sizing; peakRate: number | null }>();
  return {
    name: 'static-peak',
    intervalSeconds: STATIC_PEAK_INTERVAL_SECONDS,
    async step(ctx) {
      const { config } = ctx;
      const state = ctx.sim.state();
      const estimatedRates: Record<string, number | null> = {};
      for (const v of config.variants) {
        let fleet = fleets.get(v.name);
        if (!fleet) {
          const trace = ctx.scenario.traces.get(v.name);
          const peakRate = trace ? peakMinute(trace).load.rate : null;
          fleet = { sizing: staticPeakSizing(config, v, trace), peakRate };
          fleets.set(v.name, fleet);
          scaleDeployment(
            ctx,
            v,
            fleet.sizing.accelerator,
            fleet.sizing.replicas,
            'static',
            `sized for the busiest minute (${(peakRate ?? 0).toFixed(2)} req/s)`,
          );
        }
        const { sizing } = fleet;
        estimatedRates[v.name] = fleet.peakRate;
        // Make before break: another accelerator's replicas go once the fleet's own are ready.
        const counts = state.variants.find((s) => s.name === v.name)?.byAccelerator ?? {};
        const ready = counts[acceleratorType(config, sizing.accelerator)!]?.ready ?? 0;
        if (ready < sizing.replicas) continue;
        for (const acc of allowedAccelerators(config, v)) {
          if (acc !== sizing.accelerator)
            scaleDeployment(ctx, v, acc, 0, 'static', `replaced by ${sizing.accelerator}`);
        }
      }
      return { estimatedRates };
    },
  };
}
