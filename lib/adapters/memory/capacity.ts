/**
 * GPU capacity in memory, per accelerator type: what is asked for is there at once (growth),
 * and removal happens only when the intent allows it. Requests go to the CallLog when one is
 * given. For tests and single-process use.
 */
import type {
  AcceleratorCapacity,
  CapacityChange,
  CapacityIntent,
  CapacityProvider,
  CapacityReport,
  ProvideOptions,
} from '../../policy/capacity.js';
import type { CallLog } from './callLog.js';

export interface MemoryCapacityOptions {
  /** per type: its shape, limits and what is ready now */
  readonly accelerators?: readonly AcceleratorCapacity[];
  readonly log?: CallLog;
}

export class MemoryCapacityProvider implements CapacityProvider {
  private readonly types = new Map<string, AcceleratorCapacity>();
  private readonly log: CallLog | undefined;

  constructor(options: MemoryCapacityOptions = {}) {
    this.log = options.log;
    for (const a of options.accelerators ?? []) this.types.set(a.acceleratorType, a);
  }

  async observe(acceleratorTypes: readonly string[]): Promise<AcceleratorCapacity[]> {
    return acceleratorTypes.flatMap((t) => {
      const a = this.types.get(t);
      return a ? [{ ...a }] : [];
    });
  }

  /** Ready devices of a type, undefined when it is not provided here. */
  devices(type: string): number | undefined {
    return this.types.get(type)?.readyDevices;
  }

  async provide(intent: CapacityIntent, options: ProvideOptions): Promise<CapacityReport> {
    this.log?.calls.push({
      kind: 'provide',
      pool: intent.pool,
      poolSequence: intent.poolSequence,
      devices: Object.fromEntries(intent.accelerators.map((a) => [a.acceleratorType, a.devices])),
      allowRemoval: options.allowRemoval,
    });
    const changes: CapacityChange[] = [];
    for (const need of intent.accelerators) {
      const a = this.types.get(need.acceleratorType);
      if (!a) continue;
      const before = a.readyDevices;
      // Whole nodes of the type's shape, within what may be added.
      const wanted = Math.ceil(need.devices / a.devicesPerNode) * a.devicesPerNode;
      const ceiling = a.readyDevices + a.startingDevices + a.addableDevices;
      let after = before;
      if (wanted > before) after = Math.min(wanted, ceiling);
      else if (wanted < before && options.allowRemoval) after = wanted;
      this.types.set(a.acceleratorType, {
        ...a,
        readyDevices: after,
        addableDevices: ceiling - after - a.startingDevices,
      });
      changes.push({
        acceleratorType: a.acceleratorType,
        status:
          wanted > ceiling
            ? 'insufficient'
            : after > before
              ? 'grown'
              : after < before
                ? 'shrunk'
                : wanted < before
                  ? 'removal-skipped'
                  : 'unchanged',
        devicesBefore: before,
        devicesAfter: after,
        detail: `${before} → ${after} devices`,
      });
    }
    return { changes };
  }
}
