import { UsageError } from './errors.js';

/** A command-line number that must be positive; undefined when the flag was not given. */
export function positiveNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (!Number.isFinite(x) || x <= 0) throw new UsageError(`${flag} needs a positive number, got "${value}"`);
  return x;
}
