/**
 * The one check for names given twice, shared by the config schema and the Inferno importer so
 * that both report a repeat the same way: the index of the repeat, and `duplicate <kind> <name>`.
 */

export interface Repeat {
  readonly value: string;
  /** index of an occurrence after the first */
  readonly index: number;
}

/** Every occurrence of a value after its first, in order. */
export function repeats(values: readonly string[]): Repeat[] {
  const seen = new Set<string>();
  const found: Repeat[] = [];
  values.forEach((value, index) => {
    if (seen.has(value)) found.push({ value, index });
    seen.add(value);
  });
  return found;
}

/** The message for a repeated name, e.g. `duplicate accelerator L4`. */
export function duplicateMessage(kind: string, value: string): string {
  return `duplicate ${kind} ${value}`;
}
