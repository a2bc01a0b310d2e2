/**
 * Decision state in one DynamoDB table (partition key `pk`, a string), with the semantics of
 * the in-memory MemoryDecisionState and conditional writes where consumers could race:
 *
 *   applied#<namespace/variant>  sequence, applied,  claim: only if the stored generation is
 *                                generation           older, or the same and the stored sequence
 *                                                     < new, or equal and not applied; markApplied:
 *                                                     only if generation and sequence are this one
 *   reached#<variant>            poolSequence,        markPoolReached: only if the stored
 *                                generation           generation is older, or the same and stored < new
 *   capacity#<pool>              poolSequence,        claimCapacity: only if the stored generation is
 *                                generation           older, or the same and stored <= new
 *   counter#<labels>             value, labels        atomic ADD (inferno_replica_scaling_total)
 *   counter#<metric>#<labels>    value, labels        atomic ADD (other counters)
 *
 * An item written before generations has no `generation`: it reads as generation 0, which is
 * what decisions without one carry.
 *   policy#<pool>                poolSequence, memory the pool's policy memory, gzip'd JSON;
 *                                                     saved only over an older poolSequence, so two
 *                                                     overlapping evaluations cannot both issue
 *                                                     the same sequence numbers
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { emptyMemory, type PolicyMemory } from '../../policy/memory.js';
import type { AppliedMark, CapacityMark, DecisionState } from '../../policy/ports.js';

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
    const item = await this.get(`applied#${variant}`);
    if (!item) return { sequence: 0, applied: false };
    const generation = Number(item.generation ?? 0);
    return {
      sequence: Number(item.sequence ?? 0),
      applied: item.applied === true,
      ...(generation !== 0 ? { generation } : {}),
    };
  }

  async claim(variant: string, sequence: number, generation = 0): Promise<boolean> {
    const g = generationConditions(generation);
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `applied#${variant}` },
        UpdateExpression: 'SET #s = :s, #g = :g, applied = :no, claimedAt = :now',
        ConditionExpression: `attribute_not_exists(pk) OR ${g.older} OR (${g.same} AND (#s < :s OR (#s = :s AND applied = :no)))`,
        ExpressionAttributeNames: { '#s': 'sequence', '#g': 'generation' },
        ExpressionAttributeValues: {
          ':s': sequence,
          ':g': generation,
          ':no': false,
          ':now': new Date().toISOString(),
        },
      }),
    );
  }

  async markApplied(variant: string, sequence: number, generation = 0): Promise<void> {
    // A newer claim in between wins: then this mark is not written, as in memory.
    const g = generationConditions(generation);
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `applied#${variant}` },
        UpdateExpression: 'SET applied = :yes, appliedAt = :now',
        ConditionExpression: `#s = :s AND ${g.same}`,
        ExpressionAttributeNames: { '#s': 'sequence', '#g': 'generation' },
        ExpressionAttributeValues: {
          ':s': sequence,
          ':g': generation,
          ':yes': true,
          ':now': new Date().toISOString(),
        },
      }),
    );
  }

  async markPoolReached(variant: string, poolSequence: number, generation = 0): Promise<void> {
    // Kept at the highest within a generation: a late message of an older evaluation does not
    // move it back; a newer generation starts it again.
    const g = generationConditions(generation);
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `reached#${variant}` },
        UpdateExpression: 'SET poolSequence = :p, #g = :g',
        ConditionExpression: `attribute_not_exists(pk) OR ${g.older} OR (${g.same} AND poolSequence < :p)`,
        ExpressionAttributeNames: { '#g': 'generation' },
        ExpressionAttributeValues: { ':p': poolSequence, ':g': generation },
      }),
    );
  }

  async poolReached(variant: string, generation = 0): Promise<number> {
    const item = await this.get(`reached#${variant}`);
    const stored = Number(item?.generation ?? 0);
    if (stored > generation) return Infinity;
    return stored === generation ? Number(item?.poolSequence ?? 0) : 0;
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

  async incrementScalingCounter(labels: Readonly<Record<string, string>>): Promise<number> {
    return this.add(`counter#${labelKey(labels)}`, labels);
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
