import type { TelemetryPoint, TelemetrySink } from '../../policy/ports.js';

/**
 * Keeps every published point, for tests and the simulation's report. A test can make it
 * refuse every push, as an unreachable receiver would, to check a push never fails an action.
 */
export class MemoryTelemetrySink implements TelemetrySink {
  readonly points: TelemetryPoint[] = [];
  /** publish() calls, refused ones included */
  publishes = 0;

  constructor(private readonly refusal?: () => Error) {}

  async publish(points: readonly TelemetryPoint[]): Promise<void> {
    this.publishes++;
    if (this.refusal) throw this.refusal();
    this.points.push(...points);
  }
}
