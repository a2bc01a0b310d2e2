/** The decision fixture: chat on L4 from 2 to 4 replicas, issued 2026-01-01T00:00:00Z. */
import { readFileSync } from 'node:fs';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';

export const ISSUED_AT = Date.parse('2026-01-01T00:00:00.000Z') / 1000;

export function fixtureDecision(over: Partial<DecisionRecord> = {}): DecisionRecord {
  const base = JSON.parse(readFileSync('test/fixtures/policy/decision-v2.json', 'utf8')) as DecisionRecord;
  // a variant's sequence is never ahead of its evaluation's pool sequence
  const d = { ...base, poolSequence: Math.max(base.poolSequence, over.sequence ?? 0), ...over };
  return { ...d, id: `${d.namespace}/${d.variant}#${d.sequence}` };
}
