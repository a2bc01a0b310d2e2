/**
 * SeasonStore in the state table: one item per variant, `season#<namespace/variant>`, holding the
 * learnt season as JSON (about 5 KB: 288 indices). Read with BatchGetItem (100 keys a request,
 * unprocessed keys asked again), written with one PutItem per variant: each evaluation is the
 * only writer of its pool's variants (reserved concurrency 1), so no condition is needed.
 * A stored state that does not parse is dropped with a warning and the variant starts over:
 * a season is an optimisation, never a reason to hold an evaluation.
 */
import { BatchGetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { SeasonStore } from '../../policy/ports.js';
import { DAY_SLOTS, type SeasonState } from '../../policy/seasonal.js';
import type { DocumentApi } from './dynamoDecisionState.js';

const finite = z.number().refine(Number.isFinite, 'must be finite');

const seasonSchema = z
  .object({
    version: z.literal(2),
    level: finite,
    trend: finite,
    season: z.array(finite.nullable()).length(DAY_SLOTS),
    slot: z.number().int(),
    sum: finite,
    count: z.number().int().positive(),
    errorVariance: finite.nonnegative(),
    seen: z.number().int().nonnegative(),
  })
  .strict();

const keyOf = (variant: string) => `season#${variant}`;
const BATCH = 100;

export class DynamoSeasonStore implements SeasonStore {
  constructor(
    private readonly db: DocumentApi,
    private readonly table: string,
    private readonly warn: (message: string) => void = (m) => console.warn(m),
  ) {}

  async load(variants: readonly string[]): Promise<Map<string, SeasonState>> {
    const out = new Map<string, SeasonState>();
    for (let i = 0; i < variants.length; i += BATCH) {
      let keys: Record<string, unknown>[] = variants.slice(i, i + BATCH).map((v) => ({ pk: keyOf(v) }));
      for (let attempt = 0; keys.length > 0 && attempt < 5; attempt++) {
        const res = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of res.Responses?.[this.table] ?? []) this.read(item, out);
        keys = (res.UnprocessedKeys?.[this.table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
      }
      if (keys.length > 0)
        this.warn(`season store: ${keys.length} variants unread after retries; they start over`);
    }
    return out;
  }

  private read(item: Record<string, unknown>, out: Map<string, SeasonState>): void {
    const pk = String(item.pk);
    const variant = pk.slice('season#'.length);
    try {
      const parsed = seasonSchema.safeParse(JSON.parse(String(item.state)));
      if (parsed.success) out.set(variant, parsed.data);
      else
        this.warn(
          `season store: ${pk} dropped: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`,
        );
    } catch {
      this.warn(`season store: ${pk} dropped: not JSON`);
    }
  }

  async save(states: ReadonlyMap<string, SeasonState>): Promise<void> {
    await Promise.all(
      [...states].map(([variant, state]) =>
        this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: { pk: keyOf(variant), state: JSON.stringify(state) },
          }),
        ),
      ),
    );
  }
}
