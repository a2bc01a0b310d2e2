/** The first value that occurs twice, with the index of its second occurrence. */
export function firstDuplicate(values: readonly string[]): { value: string; index: number } | undefined {
  const seen = new Set<string>();
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    if (seen.has(value)) return { value, index };
    seen.add(value);
  }
  return undefined;
}
