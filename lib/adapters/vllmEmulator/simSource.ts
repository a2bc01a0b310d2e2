/**
 * The fleet simulator behind a real /metrics endpoint: each scrape runs the simulation up to the
 * simulated time matching the wall clock (at `speed` simulated seconds per second) and exposes
 * what `sim.scrape()` returns, renamed for the emulated vLLM version.
 */
import type { FleetSim } from '../../fleetSimulator/fleetApi.js';
import type { MetricSample } from '../../fleetSimulator/prometheusText.js';
import { applyNaming, type EmulatedNaming } from './namings.js';

export interface SimSourceOptions {
  readonly naming?: EmulatedNaming;
  /** simulated seconds per wall-clock second (default 1) */
  readonly speed?: number;
  /** epoch seconds matching the simulator's current time (default: now) */
  readonly startSeconds?: number;
  /** only these models' samples (default: all) */
  readonly models?: readonly string[];
}

export function simSource(sim: FleetSim, options: SimSourceOptions = {}): (t: number) => MetricSample[] {
  const wallStart = options.startSeconds ?? Date.now() / 1000;
  const simStart = sim.now;
  const speed = options.speed ?? 1;
  const models = options.models ? new Set(options.models) : undefined;
  return (t) => {
    const simTime = Math.max(simStart + (t - wallStart) * speed, sim.now);
    const samples = sim.scrape(simTime).filter((s) => !models || models.has(s.labels.model_name ?? ''));
    return applyNaming(samples, options.naming ?? 'vllm-0.12');
  };
}
