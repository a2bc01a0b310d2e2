/** Capturing what the handlers log (Powertools Logger writes JSON lines to stdout and stderr). */

/** Powertools Logger lines written while `fn` runs, parsed. */
export async function captureLogs<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; logs: Record<string, unknown>[] }> {
  const lines: string[] = [];
  const original = { out: process.stdout.write, err: process.stderr.write };
  const capture = (chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    const result = await fn();
    return { result, logs: parseLogLines(lines) };
  } finally {
    process.stdout.write = original.out;
    process.stderr.write = original.err;
  }
}

export function parseLogLines(lines: readonly string[]): Record<string, unknown>[] {
  return lines
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}
