/**
 * Bounds on numbers no real fleet reaches, and the checks of values that are each valid but
 * together describe nothing the optimizer can size. Past these bounds the optimizer's arithmetic
 * (requests per minute, tokens times milliseconds) overflows or loses every digit, and a variant
 * silently drops out of the solution instead of failing.
 */
import { z } from 'zod';

/** Requests per second for one variant: a million is beyond any LLM fleet. */
export const MAX_ARRIVAL_RATE = 1e6;
/** Tokens per request: well beyond the longest context window. */
export const MAX_TOKENS = 1e8;
/** Milliseconds for one iteration, or per token, or per request in a batch: an hour. */
export const MAX_ITERATION_MS = 3_600_000;
/** Price per hour of one accelerator unit or node. */
export const MAX_COST_PER_HOUR = 1e6;

const atMost = (max: number, what: string) =>
  z
    .number()
    .nonnegative()
    .max(max, `must be at most ${max} ${what}: larger values are beyond any real fleet`);

export const arrivalRate = atMost(MAX_ARRIVAL_RATE, 'requests per second');
export const tokens = atMost(MAX_TOKENS, 'tokens');
export const milliseconds = atMost(MAX_ITERATION_MS, 'ms');
export const costPerHour = atMost(MAX_COST_PER_HOUR, 'per hour');

interface Profile {
  readonly alpha: number;
  readonly beta: number;
}

/** A decode iteration that takes no time would serve unbounded load: no sizing can come of it. */
export function zeroServiceTimeProblem(p: Profile): string | undefined {
  return p.alpha === 0 && p.beta === 0
    ? 'alpha and beta are both 0: a decode iteration that takes no time serves unbounded load, so nothing can be sized from it'
    : undefined;
}

/** Something legitimate but likely a mistake, reported without refusing the config. */
export interface ConfigWarning {
  /** the field, as in error messages: `accelerators[2].costPerHour` */
  readonly field: string;
  readonly message: string;
}

interface Costed {
  readonly accelerators: readonly { readonly name: string; readonly costPerHour: number }[];
  readonly nodeGroups: readonly { readonly name: string; readonly costPerNodeHour?: number | undefined }[];
}

/**
 * Zero prices are legitimate (hardware already paid for), but the optimizer then cannot prefer
 * one allocation over another by cost, so it is worth saying.
 */
export function configWarnings(config: Costed): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  config.accelerators.forEach((a, i) => {
    if (a.costPerHour === 0)
      warnings.push({
        field: `accelerators[${i}].costPerHour`,
        message: `${a.name} costs 0: the optimizer cannot weigh its allocations by cost`,
      });
  });
  config.nodeGroups.forEach((g, i) => {
    if (g.costPerNodeHour === 0)
      warnings.push({
        field: `nodeGroups[${i}].costPerNodeHour`,
        message: `node group ${g.name} costs 0: the optimizer cannot weigh its nodes by cost`,
      });
  });
  return warnings;
}
