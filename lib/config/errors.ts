import type { z } from 'zod';

/** A user error in an input file: one line that names the source and the field. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** `servers[3].currentAlloc.load.avgInTokens` from a zod issue path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** The first issue of a failed parse as one line, with the count of the others. */
export function zodToInputError(source: string, error: z.ZodError): InputError {
  const [first, ...rest] = error.issues;
  if (!first) return new InputError(`${source}: invalid input`);
  const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
  // A misspelt key is named itself, not its parent object.
  if (first.code === 'unrecognized_keys') {
    const [key, ...others] = first.keys;
    const also = others.length > 0 ? ` (also ${others.join(', ')})` : '';
    return new InputError(`${source}: ${formatPath([...first.path, key!])}: unknown field${also}${more}`);
  }
  const where = formatPath(first.path) || '(top level)';
  return new InputError(`${source}: ${where}: ${first.message}${more}`);
}
