/** The evaluate handler's event and result shapes. */
import type { EvaluateResult } from '../../lib/loop/evaluate.js';

/** An EventBridge scheduled event, optionally naming the pool (constant input or detail). */
export interface EvaluateEvent {
  readonly pool?: unknown;
  readonly detail?: { readonly pool?: unknown };
  readonly [key: string]: unknown;
}

export interface EvaluateSummary {
  readonly pool: string;
  readonly poolSequence: number;
  readonly variants: {
    variant: string;
    sequence: number;
    action: string;
    currentReplicas: number;
    targetReplicas: number;
    accelerator: string;
    reason: string;
  }[];
  /** devices per accelerator type the pool's capacity intent asks for */
  readonly capacity: Readonly<Record<string, number>>;
  readonly held: string[];
  readonly telemetryError?: string;
}

export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
}

/** The pool an event names, if any; a pool that is not a non-empty string is an error, not the default. */
export function poolOf(event: EvaluateEvent | null | undefined): string | undefined {
  const pool = event?.pool ?? event?.detail?.pool;
  if (pool === undefined) return undefined;
  if (typeof pool !== 'string' || !/^[A-Za-z0-9._-]{1,100}$/.test(pool)) {
    throw new InvalidEventError(
      `event pool must be a name of letters, digits, '.', '_' or '-', got ${JSON.stringify(pool)}`,
    );
  }
  return pool;
}

export function summarize(result: EvaluateResult): EvaluateSummary {
  return {
    pool: result.pool,
    poolSequence: result.poolSequence,
    variants: result.decisions.map((d) => ({
      variant: `${d.namespace}/${d.variant}`,
      sequence: d.sequence,
      action: d.action,
      currentReplicas: d.currentReplicas,
      targetReplicas: d.targetReplicas,
      accelerator: d.accelerator,
      reason: d.reason,
    })),
    capacity: Object.fromEntries(result.capacity.accelerators.map((a) => [a.acceleratorType, a.devices])),
    held: result.held,
    ...(result.telemetryError !== undefined ? { telemetryError: result.telemetryError } : {}),
  };
}
