import type { TelemetryPoint, TelemetrySink } from '../../policy/ports.js';

/** Keeps every published point, for tests and the simulation's report. */
export class MemoryTelemetrySink implements TelemetrySink {
  readonly points: TelemetryPoint[] = [];

  async publish(points: readonly TelemetryPoint[]): Promise<void> {
    this.points.push(...points);
  }
}
