/**
 * `dynamo-planner`: a throughput planner in the style of NVIDIA Dynamo's SLA planner, for an
 * aggregated (not disaggregated) deployment. Every adjustment interval (180 s, Dynamo's default)
 * it observes the requests of the interval just past (count, mean input and output lengths, as
 * the frontend's metrics give them), predicts the next interval's with a constant predictor (the
 * next interval looks like the last), and sets
 *
 *   replicas = ceil(predicted rate / the per-replica throughput that meets the targets at that load)
 *
 * within the variant's min and max, at once in both directions (the planner has no stabilisation
 * window). The per-replica throughput comes from the model (the configured profile, as Dynamo's
 * comes from its pre-deployment profiling): the optimizer's sizing of the predicted load, targets
 * as they are, on one accelerator (kedaEpp.ts baselineAccelerator, as keda-epp). Not modelled: Dynamo's
 * correction factors (observed / expected latency) and its ARIMA and Prophet predictors (which of
 * its predictors is the default could not be confirmed, so the simplest is used). It scales
 * no nodes (see clusterAutoscaler.ts).
 */
import type { Config } from '../../lib/config/schema.js';
import type { Controller } from '../../lib/closedLoop/controller.js';
import { clamp, loadOf, scaleDeployment, sizeWithOptimizer, type Load } from './common.js';

export const DYNAMO_ADJUSTMENT_SECONDS = 180;

/** The constant predictor: the next interval's load is the last one's. */
export function predictNext(history: readonly Load[]): Load | undefined {
  return history.at(-1);
}

export function dynamoPlannerController(config: Config, accelerator: string): Controller {
  const history = new Map<string, Load[]>();
  return {
    name: 'dynamo-planner',
    intervalSeconds: DYNAMO_ADJUSTMENT_SECONDS,
    async step(ctx) {
      const estimatedRates: Record<string, number | null> = {};
      for (const v of config.variants) {
        const requests = ctx.scenario.traces.get(v.name)?.requests ?? [];
        const observed = loadOf(requests, ctx.t - DYNAMO_ADJUSTMENT_SECONDS, ctx.t);
        const past = history.get(v.name) ?? [];
        past.push(observed);
        history.set(v.name, past);
        const predicted = predictNext(past)!;
        estimatedRates[v.name] = predicted.rate;
        const sizing = sizeWithOptimizer(config, v, predicted, { accelerators: [accelerator] });
        const replicas = clamp(sizing.replicas, v);
        scaleDeployment(
          ctx,
          v,
          accelerator,
          replicas,
          'planner',
          `predicted ${predicted.rate.toFixed(2)} req/s, ISL ${predicted.inputTokens.toFixed(0)}, OSL ${predicted.outputTokens.toFixed(0)} -> ${replicas}`,
        );
      }
      return { estimatedRates };
    },
  };
}
