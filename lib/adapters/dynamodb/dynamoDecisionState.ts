/**
 * Decision state in one DynamoDB table (partition key `pk`, a string), with the semantics of
 * the in-memory MemoryDecisionState and conditional writes where consumers could race:
 *
 *   applied#<namespace/variant>  sequence, applied   claim: only if stored sequence < new, or
 *                                                     equal and not applied; markApplied: only
 *                                                     if the stored sequence is this one
 *   reached#<variant>            poolSequence         markPoolReached: only if stored < new
 *   capacity#<pool>              poolSequence         claimCapacity: only if stored <= new
 *   counter#<labels>             value, labels        atomic ADD
 *   policy#<pool>                poolSequence, memory the pool's policy memory, gzip'd JSON;
 *                                                     saved only over an older poolSequence, so two
 *                                                     overlapping evaluations cannot both issue
 *                                                     the same sequence numbers
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { emptyMemory, type PolicyMemory } from '../../policy/memory.js';
import type { AppliedMark, DecisionState } from '../../policy/ports.js';

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

function isConditionFailure(err: unknown): boolean {
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
    return { sequence: Number(item.sequence ?? 0), applied: item.applied === true };
  }

  async claim(variant: string, sequence: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `applied#${variant}` },
        UpdateExpression: 'SET #s = :s, applied = :no, claimedAt = :now',
        ConditionExpression: 'attribute_not_exists(pk) OR #s < :s OR (#s = :s AND applied = :no)',
        ExpressionAttributeNames: { '#s': 'sequence' },
        ExpressionAttributeValues: { ':s': sequence, ':no': false, ':now': new Date().toISOString() },
      }),
    );
  }

  async markApplied(variant: string, sequence: number): Promise<void> {
    // A newer claim in between wins: then this mark is not written, as in memory.
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `applied#${variant}` },
        UpdateExpression: 'SET applied = :yes, appliedAt = :now',
        ConditionExpression: '#s = :s',
        ExpressionAttributeNames: { '#s': 'sequence' },
        ExpressionAttributeValues: { ':s': sequence, ':yes': true, ':now': new Date().toISOString() },
      }),
    );
  }

  async markPoolReached(variant: string, poolSequence: number): Promise<void> {
    // Kept at the highest: a late message of an older evaluation does not move it back.
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `reached#${variant}` },
        UpdateExpression: 'SET poolSequence = :p',
        ConditionExpression: 'attribute_not_exists(pk) OR poolSequence < :p',
        ExpressionAttributeValues: { ':p': poolSequence },
      }),
    );
  }

  async poolReached(variant: string): Promise<number> {
    const item = await this.get(`reached#${variant}`);
    return Number(item?.poolSequence ?? 0);
  }

  async claimCapacity(pool: string, poolSequence: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `capacity#${pool}` },
        UpdateExpression: 'SET poolSequence = :p',
        ConditionExpression: 'attribute_not_exists(pk) OR poolSequence <= :p',
        ExpressionAttributeValues: { ':p': poolSequence },
      }),
    );
  }

  async incrementScalingCounter(labels: Readonly<Record<string, string>>): Promise<number> {
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `counter#${labelKey(labels)}` },
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
