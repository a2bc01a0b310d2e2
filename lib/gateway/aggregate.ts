/**
 * One batch of gateway events folded into the writes it needs: one counter change per engine
 * and one bucket change per variant and time slot, whatever the number of events (a gateway's
 * rate would make one item per event hot). Pure: the use case (lib/loop/ingest.ts) writes them.
 */
import type { GatewayEvent } from './events.js';
import { inputBucket } from './events.js';

/** What one batch changes of one engine's counters. */
export interface EngineDelta {
  /** `namespace/name` of the variant the engine serves */
  readonly variant: string;
  readonly engine: string;
  /** requests dispatched and not completed */
  readonly inFlight: number;
  /** of those, the ones with no first token yet */
  readonly inPrefill: number;
  /** their prompt tokens */
  readonly promptTokensInPrefill: number;
  /** the newest event's time, epoch seconds */
  readonly lastEventAt: number;
  /** the events behind the change (their keys, sorted): a redelivered identical batch is known by them */
  readonly eventKeys: readonly string[];
}

/** Per log2 input-length bucket, what a slot saw. */
export interface BucketCounts {
  readonly arrivals: number;
  /** prompt tokens of those arrivals */
  readonly inputTokens: number;
  readonly completions: number;
  /** output tokens of those completions */
  readonly outputTokens: number;
}

/** What one batch adds to one variant's time slot. */
export interface SlotDelta {
  readonly variant: string;
  /** the slot's start, epoch seconds (a multiple of the slot length) */
  readonly slotStart: number;
  readonly buckets: ReadonlyMap<number, BucketCounts>;
  /** the newest event's time, epoch seconds */
  readonly lastEventAt: number;
  /** the events behind the change, sorted */
  readonly eventKeys: readonly string[];
}

export interface DroppedEvent {
  readonly reason: string;
  readonly count: number;
}

export interface BatchAggregate {
  readonly engines: readonly EngineDelta[];
  readonly slots: readonly SlotDelta[];
  /** events that named no configured variant */
  readonly dropped: readonly DroppedEvent[];
  /** events seen twice in the batch (the same request and type), counted once */
  readonly duplicates: number;
  /** variants with a request and no ready replica (a `queued` event with no endpoint): they need an evaluation now */
  readonly waitingForReplicas: readonly string[];
  /** events applied */
  readonly applied: number;
}

/** Finds the variant a request is for; undefined when no configured variant serves that model. */
export type VariantResolver = (
  model: string,
  namespace: string | undefined,
  engine: string | undefined,
) => string | undefined;

/** The key duplicates are recognised by: a request has at most one event of each type. */
export const eventKey = (e: GatewayEvent) => `${e.id}:${e.type}`;

export const slotStartOf = (at: number, slotSeconds: number) => Math.floor(at / slotSeconds) * slotSeconds;

interface MutableEngine {
  variant: string;
  engine: string;
  inFlight: number;
  inPrefill: number;
  promptTokensInPrefill: number;
  lastEventAt: number;
  eventKeys: string[];
}

type MutableCounts = { -readonly [K in keyof BucketCounts]: number };

const EMPTY: BucketCounts = { arrivals: 0, inputTokens: 0, completions: 0, outputTokens: 0 };

export function aggregateBatch(
  events: readonly GatewayEvent[],
  resolve: VariantResolver,
  slotSeconds: number,
): BatchAggregate {
  const seen = new Set<string>();
  const engines = new Map<string, MutableEngine>();
  const slots = new Map<
    string,
    {
      variant: string;
      slotStart: number;
      buckets: Map<number, MutableCounts>;
      lastEventAt: number;
      eventKeys: string[];
    }
  >();
  const dropped = new Map<string, number>();
  const waiting = new Set<string>();
  let duplicates = 0;
  let applied = 0;

  const engineOf = (variant: string, engine: string): MutableEngine => {
    const key = `${variant}\n${engine}`;
    let e = engines.get(key);
    if (!e) {
      e = {
        variant,
        engine,
        inFlight: 0,
        inPrefill: 0,
        promptTokensInPrefill: 0,
        lastEventAt: 0,
        eventKeys: [],
      };
      engines.set(key, e);
    }
    return e;
  };
  const countsOf = (variant: string, event: GatewayEvent, bucket: number): MutableCounts => {
    const slotStart = slotStartOf(event.at, slotSeconds);
    const key = `${variant}\n${slotStart}`;
    let slot = slots.get(key);
    if (!slot) {
      slot = { variant, slotStart, buckets: new Map(), lastEventAt: 0, eventKeys: [] };
      slots.set(key, slot);
    }
    slot.lastEventAt = Math.max(slot.lastEventAt, event.at);
    slot.eventKeys.push(eventKey(event));
    let counts = slot.buckets.get(bucket);
    if (!counts) {
      counts = { ...EMPTY };
      slot.buckets.set(bucket, counts);
    }
    return counts;
  };

  for (const event of events) {
    const key = eventKey(event);
    if (seen.has(key)) {
      duplicates++;
      continue;
    }
    seen.add(key);
    const variant = resolve(event.model, event.namespace, event.type === 'queued' ? undefined : event.engine);
    if (variant === undefined) {
      const reason = `model ${event.model}${event.namespace ? ` in ${event.namespace}` : ''} is no configured variant's, or several's`;
      dropped.set(reason, (dropped.get(reason) ?? 0) + 1);
      continue;
    }
    applied++;
    const bucket = inputBucket(event.promptTokens);
    const arrival = () => {
      const c = countsOf(variant, event, bucket);
      c.arrivals++;
      c.inputTokens += event.promptTokens;
    };
    if (event.type === 'queued') {
      arrival();
      // Held while every replica is saturated is the scheduled evaluation's to judge.
      if ((event.endpoints ?? 0) === 0) waiting.add(variant);
      continue;
    }
    const engine = engineOf(variant, event.engine);
    engine.lastEventAt = Math.max(engine.lastEventAt, event.at);
    engine.eventKeys.push(key);
    switch (event.type) {
      case 'dispatch':
        if (!event.wasQueued) arrival();
        engine.inFlight++;
        engine.inPrefill++;
        engine.promptTokensInPrefill += event.promptTokens;
        break;
      case 'first-token':
        engine.inPrefill--;
        engine.promptTokensInPrefill -= event.promptTokens;
        break;
      case 'completion': {
        engine.inFlight--;
        if (!event.afterFirstToken) {
          engine.inPrefill--;
          engine.promptTokensInPrefill -= event.promptTokens;
        }
        const c = countsOf(variant, event, bucket);
        c.completions++;
        c.outputTokens += event.outputTokens;
        break;
      }
    }
  }
  return {
    engines: [...engines.values()].map((e) => ({ ...e, eventKeys: [...e.eventKeys].sort() })),
    slots: [...slots.values()].map((s) => ({ ...s, eventKeys: [...s.eventKeys].sort() })),
    dropped: [...dropped].map(([reason, count]) => ({ reason, count })),
    duplicates,
    waitingForReplicas: [...waiting].sort(),
    applied,
  };
}
