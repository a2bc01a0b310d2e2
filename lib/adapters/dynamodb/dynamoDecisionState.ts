/**
 * Decision state in one DynamoDB table (partition key `pk`, a string), with the semantics of
 * the in-memory MemoryDecisionState and conditional writes where consumers could race:
 *
 *   applied#<namespace/variant>  sequence, applied,     claim: only if the stored generation is
 *                                generation              older, or the same and the stored sequence
 *                                                        < new, or equal and not applied
 *                                reachedPoolSequence,    markDone: the pool sequence only if the
 *                                reachedGeneration       stored reachedGeneration is older, or the
 *                                                        same and stored < new; applied only if
 *                                                        generation and sequence are this one
 *                                scaling#<labels>        markDone: atomic ADD
 *                                                        (inferno_replica_scaling_total)
 *   capacity#<pool>              poolSequence,           claimCapacity: only if the stored generation is
 *                                generation              older, or the same and stored <= new
 *   counter#<metric>#<labels>    value, labels           atomic ADD (other counters)
 *
 * Everything apply records of a variant is in the variant's one item, so a decision costs two
 * writes (claim before acting, markDone after) and the capacity intent reads every variant's
 * mark in one BatchGetItem. (Before, the pool mark was a `reached#<variant>` item and the
 * scaling counter a `counter#<labels>` item: after an upgrade the marks read 0 until each variant
 * has applied a decision again, which only delays a removal by an evaluation, and the counters
 * start again from 0, a counter reset as Prometheus knows it.)
 *
 * An item written before generations has no `generation`: it reads as generation 0, which is
 * what decisions without one carry.
 *   policy#<pool>                poolSequence, memory    the pool's policy memory, gzip'd JSON;
 *                                                        saved only over an older poolSequence, so two
 *                                                        overlapping evaluations cannot both issue
 *                                                        the same sequence numbers
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { retryRemaining, type BackoffPolicy } from '../backoff.js';
import { emptyMemory, type PolicyMemory } from '../../policy/memory.js';
import type {
  AppliedMark,
  CapacityMark,
  Claim,
  DecisionState,
  Done,
  DoneAnswer,
} from '../../policy/ports.js';

export type DocumentApi = Pick<DynamoDBDocumentClient, 'send'>;

/** DynamoDB's item limit is 400 KB; leave room for the key and attributes. */
export const MAX_POLICY_BYTES = 350 * 1024;

export class PolicyConflictError extends Error {
  override readonly name = 'PolicyConflictError';
}

const labelKey = (labels: Readonly<Record<string, string>>) =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');

/**
 * Conditions on the stored generation: an item without one is generation 0. Returns the
 * expressions for "stored generation is older than :g" and "is the same as :g".
 */
function generationConditions(generation: number): { older: string; same: string } {
  return generation === 0
    ? { older: '#g < :g', same: '(attribute_not_exists(#g) OR #g = :g)' }
    : { older: '(attribute_not_exists(#g) OR #g < :g)', same: '#g = :g' };
}

/** DynamoDB refused a conditional write (its condition did not hold). */
export function isConditionFailure(err: unknown): boolean {
  return (
    err instanceof ConditionalCheckFailedException ||
    (err as { name?: string })?.name === 'ConditionalCheckFailedException'
  );
}

const appliedKey = (variant: string) => `applied#${variant}`;
const REACHED = 'reachedPoolSequence';
const REACHED_GENERATION = 'reachedGeneration';
/** BatchGetItem's limit of keys per request. */
const BATCH_GET_KEYS = 100;
/** Keys a BatchGetItem left unprocessed: asked again, as the SDK retries throttled requests. */
const UNPROCESSED_BACKOFF: BackoffPolicy = { attempts: 5, baseDelayMs: 50, maxDelayMs: 1000 };

function appliedMark(item: Record<string, unknown> | undefined): AppliedMark {
  if (!item) return { sequence: 0, applied: false };
  const generation = Number(item.generation ?? 0);
  return {
    sequence: Number(item.sequence ?? 0),
    applied: item.applied === true,
    ...(generation !== 0 ? { generation } : {}),
  };
}

/**
 * The claim's fields of an item as a refused condition returns it: in DynamoDB's own typed form
 * ({ N: "3" }, { BOOL: true }), which the document client does not convert on errors.
 */
function unmarshallMark(item: Record<string, unknown>): Record<string, unknown> {
  const field = (name: string) => item[name] as { N?: string; BOOL?: boolean } | undefined;
  return {
    sequence: field('sequence')?.N,
    applied: field('applied')?.BOOL,
    generation: field('generation')?.N,
  };
}

/** A part of one UpdateItem: its SET and ADD clauses, its condition, its names and values. */
interface UpdatePart {
  readonly set?: string[];
  readonly add?: string[];
  readonly condition?: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, unknown>;
}

/** markDone's parts: the pool mark, the applied mark, the scaling counter. */
function doneParts(done: Done): UpdatePart[] {
  const generation = done.generation ?? 0;
  const parts: UpdatePart[] = [
    {
      // Kept at the highest within a generation: a late message of an older evaluation does
      // not move it back; a newer generation starts it again.
      set: ['#rp = :rp', '#rg = :rg'],
      condition: 'attribute_not_exists(#rp) OR #rg < :rg OR (#rg = :rg AND #rp < :rp)',
      names: { '#rp': REACHED, '#rg': REACHED_GENERATION },
      values: { ':rp': done.poolSequence, ':rg': generation },
    },
  ];
  if (done.appliedSequence !== undefined) {
    // A newer claim in between wins: then this mark is not written, as in memory.
    parts.push({
      set: ['applied = :yes', 'appliedAt = :now'],
      condition: `#s = :s AND ${generationConditions(generation).same}`,
      names: { '#s': 'sequence', '#g': 'generation' },
      values: {
        ':s': done.appliedSequence,
        ':g': generation,
        ':yes': true,
        ':now': new Date().toISOString(),
      },
    });
  }
  if (done.count) {
    parts.push({ add: ['#c :one'], names: { '#c': scalingAttribute(done.count) }, values: { ':one': 1 } });
  }
  return parts;
}

const scalingAttribute = (labels: Readonly<Record<string, string>>) => `scaling#${labelKey(labels)}`;

function answer(attributes: Record<string, unknown> | undefined, done: Done): DoneAnswer {
  return done.count ? { count: Number(attributes?.[scalingAttribute(done.count)] ?? 0) } : {};
}

export class DynamoDecisionState implements DecisionState {
  constructor(
    private readonly db: DocumentApi,
    private readonly tableName: string,
  ) {}

  async loadPolicy(pool: string): Promise<PolicyMemory> {
    const item = await this.get(`policy#${pool}`);
    const memory = item?.memory;
    if (!(memory instanceof Uint8Array)) return emptyMemory();
    return JSON.parse(gunzipSync(memory).toString('utf8')) as PolicyMemory;
  }

  async savePolicy(pool: string, memory: PolicyMemory): Promise<void> {
    const body = gzipSync(Buffer.from(JSON.stringify(memory), 'utf8'));
    if (body.length > MAX_POLICY_BYTES) {
      throw new Error(
        `policy memory of pool ${pool} is ${body.length} bytes compressed, more than a DynamoDB item holds; split the fleet into smaller pools`,
      );
    }
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `policy#${pool}`,
            poolSequence: memory.poolSequence,
            memory: new Uint8Array(body),
            updatedAt: new Date().toISOString(),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR poolSequence < :p',
          ExpressionAttributeValues: { ':p': memory.poolSequence },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      throw new PolicyConflictError(
        `pool ${pool}: evaluation ${memory.poolSequence} overlaps another that already saved a sequence >= ${memory.poolSequence}; its decisions are not sent`,
      );
    }
  }

  async lastApplied(variant: string): Promise<AppliedMark> {
    return appliedMark(await this.get(appliedKey(variant)));
  }

  async claim(variant: string, sequence: number, generation = 0): Promise<Claim> {
    const g = generationConditions(generation);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: appliedKey(variant) },
          UpdateExpression: 'SET #s = :s, #g = :g, applied = :no, claimedAt = :now',
          ConditionExpression: `attribute_not_exists(pk) OR ${g.older} OR (${g.same} AND (#s < :s OR (#s = :s AND applied = :no)))`,
          ExpressionAttributeNames: { '#s': 'sequence', '#g': 'generation' },
          ExpressionAttributeValues: {
            ':s': sequence,
            ':g': generation,
            ':no': false,
            ':now': new Date().toISOString(),
          },
          // The mark in the way comes back with the refusal: no read before every claim.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { claimed: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      const item = (err as { Item?: Record<string, unknown> }).Item;
      return {
        claimed: false,
        last: item ? appliedMark(unmarshallMark(item)) : await this.lastApplied(variant),
      };
    }
  }

  async markDone(variant: string, done: Done): Promise<DoneAnswer> {
    const parts = doneParts(done);
    const key = { pk: appliedKey(variant) };
    const all = await this.update(key, parts, 'all');
    if (all !== 'condition-failed') return answer(all, done);
    if (parts.length === 1) return answer(undefined, done);
    // One part's condition failed (a newer claim in between, or a mark already further): the
    // others still hold, each on its own, as separate writes would have left them.
    const each = await Promise.all([
      this.update(
        key,
        parts.filter((p) => p.condition),
        'each',
      ),
      this.update(
        key,
        parts.filter((p) => !p.condition),
        'all',
      ),
    ]);
    const counted = each.find((r): r is Record<string, unknown> => typeof r === 'object');
    return answer(counted, done);
  }

  async poolsReached(variants: readonly string[], generation = 0): Promise<Map<string, number>> {
    const items = new Map<string, Record<string, unknown>>();
    for (let i = 0; i < variants.length; i += BATCH_GET_KEYS) {
      const keys = variants.slice(i, i + BATCH_GET_KEYS).map((v) => ({ pk: appliedKey(v) }));
      // Keys DynamoDB leaves unprocessed (throttling, the 16 MB limit) are asked again.
      const left = await retryRemaining(
        keys,
        async (pending) => {
          const out = await this.db.send(
            new BatchGetCommand({
              RequestItems: {
                [this.tableName]: {
                  Keys: [...pending],
                  ConsistentRead: true,
                  ProjectionExpression: 'pk, #rp, #rg',
                  ExpressionAttributeNames: { '#rp': REACHED, '#rg': REACHED_GENERATION },
                },
              },
            }),
          );
          for (const item of out.Responses?.[this.tableName] ?? []) items.set(String(item.pk), item);
          return (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as { pk: string }[];
        },
        UNPROCESSED_BACKOFF,
      );
      if (left.length > 0)
        throw new Error(`${left.length} pool marks left unprocessed by DynamoDB after retries`);
    }
    return new Map(
      variants.map((v) => {
        const item = items.get(appliedKey(v));
        const stored = Number(item?.[REACHED_GENERATION] ?? 0);
        if (stored > generation) return [v, Infinity];
        return [v, stored === generation ? Number(item?.[REACHED] ?? 0) : 0];
      }),
    );
  }

  async claimCapacity(pool: string, poolSequence: number, generation = 0): Promise<boolean> {
    const g = generationConditions(generation);
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `capacity#${pool}` },
        UpdateExpression: 'SET poolSequence = :p, #g = :g',
        ConditionExpression: `attribute_not_exists(pk) OR ${g.older} OR (${g.same} AND poolSequence <= :p)`,
        ExpressionAttributeNames: { '#g': 'generation' },
        ExpressionAttributeValues: { ':p': poolSequence, ':g': generation },
      }),
    );
  }

  async capacityMark(pool: string): Promise<CapacityMark | undefined> {
    const item = await this.get(`capacity#${pool}`);
    if (!item) return undefined;
    return { generation: Number(item.generation ?? 0), poolSequence: Number(item.poolSequence ?? 0) };
  }

  async incrementCounter(metric: string, labels: Readonly<Record<string, string>>): Promise<number> {
    return this.add(`counter#${metric}#${labelKey(labels)}`, labels);
  }

  private async add(pk: string, labels: Readonly<Record<string, string>>): Promise<number> {
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk },
        UpdateExpression: 'ADD #v :one SET labels = :labels',
        ExpressionAttributeNames: { '#v': 'value' },
        ExpressionAttributeValues: { ':one': 1, ':labels': { ...labels } },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.value ?? 0);
  }

  /**
   * One UpdateItem of the parts given ('all': their conditions together; 'each': one write per
   * conditional part, sent together). The updated attributes, or 'condition-failed'.
   */
  private async update(
    key: Record<string, string>,
    parts: readonly UpdatePart[],
    mode: 'all' | 'each',
  ): Promise<Record<string, unknown> | 'condition-failed' | undefined> {
    if (parts.length === 0) return undefined;
    if (mode === 'each') {
      await Promise.all(parts.map((p) => this.update(key, [p], 'all')));
      return undefined;
    }
    const sets = parts.flatMap((p) => p.set ?? []);
    const adds = parts.flatMap((p) => p.add ?? []);
    const conditions = parts.flatMap((p) => (p.condition ? [`(${p.condition})`] : []));
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: [
            ...(sets.length ? [`SET ${sets.join(', ')}`] : []),
            ...(adds.length ? [`ADD ${adds.join(', ')}`] : []),
          ].join(' '),
          ...(conditions.length ? { ConditionExpression: conditions.join(' AND ') } : {}),
          ExpressionAttributeNames: Object.fromEntries(parts.flatMap((p) => Object.entries(p.names))),
          ExpressionAttributeValues: Object.fromEntries(parts.flatMap((p) => Object.entries(p.values))),
          ...(adds.length ? { ReturnValues: 'UPDATED_NEW' as const } : {}),
        }),
      );
      return out.Attributes ?? {};
    } catch (err) {
      if (isConditionFailure(err)) return 'condition-failed';
      throw err;
    }
  }

  private async get(pk: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }),
    );
    return out.Item;
  }

  /** true when written, false when the condition did not hold. */
  private async conditional(command: UpdateCommand): Promise<boolean> {
    try {
      await this.db.send(command);
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }
}
