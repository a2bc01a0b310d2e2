/**
 * The gateway's request events (docs/GATEWAY.md): what the gateway (or its endpoint picker)
 * sees of each request the instant it passes, sent in batches through an SQS queue to `ingest`.
 *
 *   queued       the request waits in the gateway's flow control: no engine could take it
 *                (the variant has no ready replica). It counts as the request's arrival.
 *   dispatch     the request went to an engine (pod). Its arrival, unless it was queued first.
 *   first-token  the engine produced the first token: the request left prefill.
 *   completion   the request ended (finished, failed or cancelled), with its output tokens.
 *
 * Every event is validated here; one that does not parse is dropped with the field named,
 * never half applied.
 */
import { z } from 'zod';
import { MAX_TOKENS } from '../config/plausible.js';

const tokenCount = z.number().int().nonnegative().max(MAX_TOKENS);
/** epoch seconds (a simulation's start at 0), before 2100: a millisecond timestamp is refused, not misread */
const epochSeconds = z.number().nonnegative().max(4_102_444_800);
const label = z.string().min(1).max(253);

const base = {
  /** the request's id at the gateway; with the event's type, the key duplicates are dropped by */
  id: z.string().min(1).max(200),
  /** when the gateway saw it, epoch seconds */
  at: epochSeconds,
  /** the model the request asked for (the variant's metrics.modelName, or model) */
  model: label,
  /** the variant's namespace, when models repeat across namespaces */
  namespace: label.optional(),
  /** its prompt's length, tokens: every event carries it, so each event alone updates the counters */
  promptTokens: tokenCount,
};

export const gatewayEventSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('queued'),
      ...base,
      /** ready endpoints the variant had (0, or absent: none, so it waits for a replica; more: all saturated) */
      endpoints: z.number().int().nonnegative().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('dispatch'),
      ...base,
      engine: label,
      /** the request had been queued first (its arrival was counted then) */
      wasQueued: z.boolean().default(false),
    })
    .strict(),
  z.object({ type: z.literal('first-token'), ...base, engine: label }).strict(),
  z
    .object({
      type: z.literal('completion'),
      ...base,
      engine: label,
      outputTokens: tokenCount,
      /** whether a first token came before (else the request ends in prefill) */
      afterFirstToken: z.boolean(),
    })
    .strict(),
]);

export type GatewayEvent = z.infer<typeof gatewayEventSchema>;

/** A message body may hold an array of events (the gateway may batch). */
const eventArraySchema = z.array(gatewayEventSchema).max(1000);

export type ParsedMessage =
  | { readonly ok: true; readonly events: readonly GatewayEvent[] }
  | { readonly ok: false; readonly reason: string };

/** Parses one queue message; the reason names the field that failed. */
export function parseGatewayMessage(body: string): ParsedMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  // One event or an array: parsed by the one schema that applies, so the error names the field.
  const parsed = Array.isArray(json) ? eventArraySchema.safeParse(json) : gatewayEventSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `${issue.path.join('.') || '(body)'}: ${issue.message}` };
  }
  return { ok: true, events: Array.isArray(parsed.data) ? parsed.data : [parsed.data] };
}

/** The log2 bucket of an input length: bucket b holds lengths in [2^b, 2^(b+1)); 0 and 1 are bucket 0. */
export function inputBucket(promptTokens: number): number {
  return promptTokens <= 1 ? 0 : Math.floor(Math.log2(promptTokens));
}

/** The smallest input length of a bucket and the one past its largest. */
export function bucketRange(bucket: number): { readonly from: number; readonly to: number } {
  return { from: bucket === 0 ? 0 : 2 ** bucket, to: 2 ** (bucket + 1) };
}
