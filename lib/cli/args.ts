import type { DequantiseOptions } from '../fleetSimulator/traces.js';
import { UsageError } from './errors.js';

/** A command-line number that must be positive; undefined when the flag was not given. */
export function positiveNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (!Number.isFinite(x) || x <= 0) throw new UsageError(`${flag} needs a positive number, got "${value}"`);
  return x;
}

/**
 * A command line's de-quantise option (lib/fleetSimulator/traces.ts, dequantise): `auto` for the
 * grid detected from the trace, or the grid's step in seconds; undefined when the flag was not given.
 */
export function dequantiseFlag(value: string | undefined, flag: string): DequantiseOptions | undefined {
  if (value === undefined) return undefined;
  if (value === 'auto') return {};
  const step = Number(value);
  if (!Number.isFinite(step) || step <= 0)
    throw new UsageError(`${flag} needs "auto" or a grid step in seconds, got "${value}"`);
  return { step };
}
