/**
 * The gateway's counters in a DynamoDB table of their own (partition key `pk`, sort key `sk`,
 * both strings; TTL on `expiresAt`), written by ingest only:
 *
 *   engines#<variant>  <engine>        inFlight, inPrefill,     atomic ADD, one write per engine per
 *                                      promptTokensInPrefill,   batch; skipped when `lastBatch` is
 *                                      updatedAt, lastBatch     this batch's (a redelivery)
 *   slots#<variant>    <slot start>    a_<b>, i_<b>, c_<b>,     arrivals, their input tokens,
 *                                      o_<b>, updatedAt         completions, their output tokens per
 *                                                               log2 input bucket b; atomic ADD
 *   trigger#<pool>     trigger         until                    conditional put: one evaluation
 *                                                               per debounce period
 *
 * Items expire by TTL after `retentionSeconds` without a change; readers also ignore counters
 * older than their age limit, since TTL deletes up to days late.
 */
import { createHash } from 'node:crypto';
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { BatchAggregate, BucketCounts } from '../../gateway/aggregate.js';
import type { EngineCounters, GatewayLoad, SlotCounts } from '../../gateway/load.js';
import type { GatewayLoadStore, StoredBatch } from '../../gateway/ports.js';
import { isConditionFailure, type DocumentApi } from '../dynamodb/dynamoDecisionState.js';

/** Slot sort keys are zero-padded epoch seconds, so they sort as numbers. */
const slotKey = (slotStart: number) => String(Math.floor(slotStart)).padStart(12, '0');

/** A short digest of the events behind one write: the same events again are the same batch. */
export const batchKey = (eventKeys: readonly string[]) =>
  createHash('sha256').update(eventKeys.join('\n')).digest('base64url').slice(0, 22);

const BUCKET_FIELDS: Record<string, keyof BucketCounts> = {
  a: 'arrivals',
  i: 'inputTokens',
  c: 'completions',
  o: 'outputTokens',
};

export class DynamoGatewayLoad implements GatewayLoadStore {
  constructor(
    private readonly db: DocumentApi,
    private readonly tableName: string,
  ) {}

  async apply(batch: BatchAggregate, retentionSeconds: number): Promise<StoredBatch> {
    const writes = [
      ...batch.engines.map((e) =>
        this.guarded(`engines#${e.variant}`, e.engine, e.eventKeys, {
          add: {
            inFlight: e.inFlight,
            inPrefill: e.inPrefill,
            promptTokensInPrefill: e.promptTokensInPrefill,
          },
          updatedAt: e.lastEventAt,
          expiresAt: Math.ceil(e.lastEventAt + retentionSeconds),
        }),
      ),
      ...batch.slots.map((s) => {
        const add: Record<string, number> = {};
        for (const [b, counts] of s.buckets)
          for (const [prefix, field] of Object.entries(BUCKET_FIELDS)) add[`${prefix}_${b}`] = counts[field];
        return this.guarded(`slots#${s.variant}`, slotKey(s.slotStart), s.eventKeys, {
          add,
          updatedAt: s.lastEventAt,
          expiresAt: Math.ceil(s.slotStart + retentionSeconds),
        });
      }),
    ];
    const done = await Promise.all(writes);
    return { writes: done.filter(Boolean).length, alreadyApplied: done.filter((d) => !d).length };
  }

  /** ADDs the numbers and records the batch; false when this batch was already applied here. */
  private async guarded(
    pk: string,
    sk: string,
    eventKeys: readonly string[],
    change: { add: Record<string, number>; updatedAt: number; expiresAt: number },
  ): Promise<boolean> {
    const names: Record<string, string> = { '#u': 'updatedAt', '#x': 'expiresAt', '#b': 'lastBatch' };
    const values: Record<string, unknown> = {
      ':u': change.updatedAt,
      ':x': change.expiresAt,
      ':b': batchKey(eventKeys),
    };
    const adds = Object.entries(change.add).map(([field, value], i) => {
      names[`#f${i}`] = field;
      values[`:f${i}`] = value;
      return `#f${i} :f${i}`;
    });
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk },
          UpdateExpression: `SET #u = :u, #x = :x, #b = :b${adds.length ? ` ADD ${adds.join(', ')}` : ''}`,
          ConditionExpression: 'attribute_not_exists(#b) OR #b <> :b',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async load(variants: readonly string[], slotsFrom: number): Promise<GatewayLoad[]> {
    return Promise.all(
      variants.map(async (variant) => {
        const [engines, slots] = await Promise.all([
          this.query({ pk: `engines#${variant}` }),
          this.query({ pk: `slots#${variant}`, from: slotKey(Math.max(slotsFrom, 0)) }),
        ]);
        return { variant, engines: engines.map(engineOf), slots: slots.map(slotOf) };
      }),
    );
  }

  private async query(q: { pk: string; from?: string }): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: q.from === undefined ? 'pk = :pk' : 'pk = :pk AND sk >= :from',
          ExpressionAttributeValues: { ':pk': q.pk, ...(q.from === undefined ? {} : { ':from': q.from }) },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...((page.Items ?? []) as Record<string, unknown>[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async resetEngines(
    variant: string,
    engines: readonly { engine: string; updatedAt: number }[],
  ): Promise<number> {
    const done = await Promise.all(
      engines.map(async (e) => {
        try {
          await this.db.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { pk: `engines#${variant}`, sk: e.engine },
              UpdateExpression: 'SET inFlight = :z, inPrefill = :z, promptTokensInPrefill = :z',
              ConditionExpression: 'updatedAt = :u',
              ExpressionAttributeValues: { ':z': 0, ':u': e.updatedAt },
            }),
          );
          return true;
        } catch (err) {
          if (isConditionFailure(err)) return false;
          throw err;
        }
      }),
    );
    return done.filter(Boolean).length;
  }

  async claimTrigger(pool: string, now: number, debounceSeconds: number): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `trigger#${pool}`,
            sk: 'trigger',
            until: now + debounceSeconds,
            expiresAt: Math.ceil(now + debounceSeconds + 3600),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR #until <= :now',
          ExpressionAttributeNames: { '#until': 'until' },
          ExpressionAttributeValues: { ':now': now },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function engineOf(item: Record<string, unknown>): EngineCounters {
  return {
    engine: String(item.sk),
    inFlight: num(item.inFlight),
    inPrefill: num(item.inPrefill),
    promptTokensInPrefill: num(item.promptTokensInPrefill),
    updatedAt: num(item.updatedAt),
  };
}

function slotOf(item: Record<string, unknown>): SlotCounts {
  const buckets = new Map<number, BucketCounts>();
  for (const [name, value] of Object.entries(item)) {
    const m = /^([aico])_(\d+)$/.exec(name);
    if (!m) continue;
    const b = Number(m[2]);
    const counts = buckets.get(b) ?? { arrivals: 0, inputTokens: 0, completions: 0, outputTokens: 0 };
    buckets.set(b, { ...counts, [BUCKET_FIELDS[m[1]!]!]: num(value) });
  }
  return { slotStart: Number(item.sk), buckets, updatedAt: num(item.updatedAt) };
}
