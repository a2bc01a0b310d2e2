/**
 * Who scales the simulated fleet. The autoscaler (`svaController`) runs the production
 * evaluate and apply use cases through the simulation's adapters; benchmarks plug in the
 * policies users run today behind the same interface.
 */
import {
  ManualClock,
  MemoryDecisionQueue,
  MemoryDecisionState,
  MemorySeasonStore,
  MemoryTelemetrySink,
} from '../adapters/memory/index.js';
import type { Config } from '../config/schema.js';
import { applyMessage } from '../loop/apply.js';
import { evaluatePool } from '../loop/evaluate.js';
import type { DecisionRecord } from '../policy/decisionRecord.js';
import type { FleetSim } from '../fleetSimulator/index.js';
import type { MetricsSource } from '../policy/ports.js';
import type { Scenario } from './scenario.js';
import type { SimCluster, SimMetricsSource } from './simAdapters.js';
import type { SimCapacityProvider } from './simCapacity.js';

export interface ScalingEvent {
  readonly variant: string;
  readonly action: string;
  readonly accelerator: string;
  readonly from: number;
  readonly to: number;
  readonly reason: string;
  readonly message: string;
}

export interface ControlContext {
  /** simulated seconds */
  readonly t: number;
  readonly config: Config;
  readonly scenario: Scenario;
  readonly sim: FleetSim;
  /** the fleet's metrics as Prometheus would hold them */
  readonly metrics: SimMetricsSource;
  /** those merged with the gateway's counters, when the run emits gateway events (evaluate reads these) */
  readonly gatewayMetrics?: MetricsSource;
  readonly cluster: SimCluster;
  /** the simulated node groups behind the capacity port */
  readonly capacity: SimCapacityProvider;
  /** reports a scaling action taken, for the summary and the report */
  record(event: ScalingEvent): void;
}

export interface ControlStep {
  /** the demand each variant was judged to have (req/s), null when it held on missing metrics */
  readonly estimatedRates: Readonly<Record<string, number | null>>;
  /**
   * the rate each variant was sized for (measured, backlog and the rise forecast) and the lead
   * time it looks ahead over: what the report sets against the arrivals a lead time later
   */
  readonly forecasts?: Readonly<Record<string, { rate: number; leadSeconds: number }>>;
  /** the autoscaler's decision records of this step (other controllers have none) */
  readonly decisions?: readonly DecisionRecord[];
}

export interface Controller {
  readonly name: string;
  readonly intervalSeconds: number;
  step(ctx: ControlContext): Promise<ControlStep>;
}

/**
 * The same controller, with `onStep` told of every step it takes and what came of it: how a test
 * or a benchmark keeps the decisions, or a handle on the simulated fleet, without changing a step.
 */
export function observeSteps(
  controller: Controller,
  onStep: (ctx: ControlContext, result: ControlStep) => void,
): Controller {
  return {
    name: controller.name,
    intervalSeconds: controller.intervalSeconds,
    async step(ctx) {
      const result = await controller.step(ctx);
      onStep(ctx, result);
      return result;
    },
  };
}

/** The autoscaler itself: evaluate, queue, apply, exactly as on Lambda. */
export function svaController(config: Config): Controller {
  const clock = new ManualClock(0);
  const state = new MemoryDecisionState();
  const seasons = new MemorySeasonStore();
  const telemetry = new MemoryTelemetrySink();
  const queue = new MemoryDecisionQueue(() => clock.now());
  const acceleratorTypes = new Map(config.accelerators.map((a) => [a.name, a.type ?? a.name]));
  return {
    name: 'sva',
    intervalSeconds: config.policy.intervalSeconds,
    async step(ctx) {
      clock.set(ctx.t);
      const { cluster, capacity } = ctx;
      const metrics = ctx.gatewayMetrics ?? ctx.metrics;
      const result = await evaluatePool(
        { metrics, cluster, capacity, queue, state, seasons, telemetry, clock },
        config,
      );
      // The queue keeps a message whose handler throws for a redelivery, as SQS does; a message
      // of our own that apply rejects is a bug, so the run stops on it instead.
      const rejected: string[] = [];
      await queue.drain(async (body) => {
        const outcome = await applyMessage({ cluster, capacity, state, telemetry, clock }, body, {
          config,
          maxAgeSeconds: config.policy.maxDecisionAgeSeconds,
          acceleratorTypes,
        });
        if (outcome.kind === 'rejected') {
          rejected.push(outcome.detail);
          return;
        }
        if (outcome.kind === 'capacity') return;
        const d = outcome.decision;
        if (
          outcome.status === 'applied' &&
          (d.targetReplicas !== d.currentReplicas || d.action === 'migrate')
        ) {
          ctx.record({
            variant: d.variant,
            action: d.action,
            accelerator: d.accelerator,
            from: d.currentReplicas,
            to: d.targetReplicas,
            reason: d.reason,
            message: d.message,
          });
        }
      });
      if (rejected.length > 0) throw new Error(`apply rejected the autoscaler's own message: ${rejected[0]}`);
      return {
        estimatedRates: Object.fromEntries(result.decisions.map((d) => [d.variant, d.inputs.arrivalRate])),
        forecasts: Object.fromEntries(
          result.decisions.flatMap((d) =>
            d.inputs.demandRate !== null && d.inputs.demand
              ? [[d.variant, { rate: d.inputs.demandRate, leadSeconds: d.inputs.demand.leadSeconds }]]
              : [],
          ),
        ),
        decisions: result.decisions,
      };
    },
  };
}
