import { InputError } from '../config/errors.js';
import { AnalyzerError } from '../analyzer/index.js';

/** Wrong command-line words: exit status 2, as most tools use for usage errors. */
export class UsageError extends Error {}

/** Whether an error is the user's to fix (reported as one line) rather than a bug (reported with its stack). */
export function isUserError(err: unknown): err is Error {
  return err instanceof InputError || err instanceof AnalyzerError || err instanceof UsageError;
}
