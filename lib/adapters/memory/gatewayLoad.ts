/**
 * The gateway's counters in memory, with the semantics of DynamoGatewayLoad
 * (lib/adapters/gatewayEvents): for unit tests and the simulation.
 */
import type { BatchAggregate, BucketCounts } from '../../gateway/aggregate.js';
import type { EngineCounters, GatewayLoad, SlotCounts } from '../../gateway/load.js';
import type { EvaluationTrigger, GatewayLoadStore, StoredBatch } from '../../gateway/ports.js';

interface Stored<T> {
  value: T;
  lastBatch: string;
  expiresAt: number;
}

const addCounts = (a: BucketCounts, b: BucketCounts): BucketCounts => ({
  arrivals: a.arrivals + b.arrivals,
  inputTokens: a.inputTokens + b.inputTokens,
  completions: a.completions + b.completions,
  outputTokens: a.outputTokens + b.outputTokens,
});

export class MemoryGatewayLoad implements GatewayLoadStore {
  private readonly engines = new Map<string, Map<string, Stored<EngineCounters>>>();
  private readonly slots = new Map<string, Map<number, Stored<SlotCounts>>>();
  private readonly triggers = new Map<string, number>();
  /** writes made, for tests: one per engine and one per slot per batch */
  writes = 0;

  async apply(batch: BatchAggregate, retentionSeconds: number): Promise<StoredBatch> {
    let writes = 0;
    let alreadyApplied = 0;
    for (const e of batch.engines) {
      const of = this.engines.get(e.variant) ?? new Map<string, Stored<EngineCounters>>();
      this.engines.set(e.variant, of);
      const key = e.eventKeys.join('\n');
      const old = of.get(e.engine);
      if (old?.lastBatch === key) {
        alreadyApplied++;
        continue;
      }
      const v = old?.value ?? {
        engine: e.engine,
        inFlight: 0,
        inPrefill: 0,
        promptTokensInPrefill: 0,
        updatedAt: 0,
      };
      of.set(e.engine, {
        value: {
          engine: e.engine,
          inFlight: v.inFlight + e.inFlight,
          inPrefill: v.inPrefill + e.inPrefill,
          promptTokensInPrefill: v.promptTokensInPrefill + e.promptTokensInPrefill,
          updatedAt: e.lastEventAt,
        },
        lastBatch: key,
        expiresAt: e.lastEventAt + retentionSeconds,
      });
      writes++;
    }
    for (const s of batch.slots) {
      const of = this.slots.get(s.variant) ?? new Map<number, Stored<SlotCounts>>();
      this.slots.set(s.variant, of);
      const key = s.eventKeys.join('\n');
      const old = of.get(s.slotStart);
      if (old?.lastBatch === key) {
        alreadyApplied++;
        continue;
      }
      const buckets = new Map(old?.value.buckets ?? []);
      for (const [b, c] of s.buckets) {
        const prev = buckets.get(b);
        buckets.set(b, prev ? addCounts(prev, c) : c);
      }
      of.set(s.slotStart, {
        value: { slotStart: s.slotStart, buckets, updatedAt: s.lastEventAt },
        lastBatch: key,
        expiresAt: s.slotStart + retentionSeconds,
      });
      writes++;
    }
    this.writes += writes;
    return { writes, alreadyApplied };
  }

  async load(variants: readonly string[], slotsFrom: number): Promise<GatewayLoad[]> {
    return variants.map((variant) => ({
      variant,
      engines: [...(this.engines.get(variant)?.values() ?? [])].map((s) => s.value),
      slots: [...(this.slots.get(variant)?.values() ?? [])]
        .map((s) => s.value)
        .filter((s) => s.slotStart >= slotsFrom)
        .sort((a, b) => a.slotStart - b.slotStart),
    }));
  }

  async resetEngines(
    variant: string,
    engines: readonly { engine: string; updatedAt: number }[],
  ): Promise<number> {
    let reset = 0;
    for (const e of engines) {
      const stored = this.engines.get(variant)?.get(e.engine);
      if (!stored || stored.value.updatedAt !== e.updatedAt) continue;
      stored.value = { ...stored.value, inFlight: 0, inPrefill: 0, promptTokensInPrefill: 0 };
      reset++;
    }
    return reset;
  }

  async claimTrigger(pool: string, now: number, debounceSeconds: number): Promise<boolean> {
    const until = this.triggers.get(pool);
    if (until !== undefined && until > now) return false;
    this.triggers.set(pool, now + debounceSeconds);
    return true;
  }

  /** Drops what expired by `now` (DynamoDB's TTL, without its delay). */
  expire(now: number): void {
    for (const of of [...this.engines.values(), ...this.slots.values()])
      for (const [k, s] of of) if (s.expiresAt <= now) of.delete(k as never);
  }
}

/** An EvaluationTrigger that runs a function in-process (the simulation, the local stack, tests). */
export class InProcessEvaluationTrigger implements EvaluationTrigger {
  readonly triggered: { pool: string; reason: string }[] = [];
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly run: (pool: string) => Promise<unknown>,
    /** where a failed evaluation is reported (Lambda would log it in evaluate's log group) */
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  async trigger(pool: string, reason: string): Promise<void> {
    this.triggered.push({ pool, reason });
    // Asynchronous, as Lambda's Event invocation: the caller does not wait for the evaluation.
    const p = this.run(pool).then(
      () => undefined,
      (err: unknown) => this.onError(err),
    );
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  /** Waits for the evaluations triggered so far. */
  async settled(): Promise<void> {
    await Promise.all([...this.running]);
  }
}
