/**
 * Query results as plain rows (labels and a value), indexed by the labels a variant is found by,
 * and the outcome of every query of a collection (rows, or the reason it failed).
 */
import type { QueryResult } from 'prometheus-query';
import type { SignalName } from './signalQueries.js';

export interface Row {
  readonly labels: Readonly<Record<string, string>>;
  /** NaN for NaN, +Inf and -Inf alike (prometheus-query parses them so) */
  readonly value: number;
}

/** The rows of an instant vector; a scalar becomes one unlabelled row. */
export function rowsOf(result: QueryResult): Row[] {
  // prometheus-query's ResponseType enum holds the API's own strings
  const type: string = result.resultType;
  if (type === 'vector') {
    return (result.result as { metric: { labels?: Record<string, string> }; value: { value: number } }[]).map(
      (r) => ({ labels: { ...(r.metric?.labels ?? {}) }, value: r.value.value }),
    );
  }
  if (type === 'scalar') {
    const [, value] = result.result as unknown as [number, string];
    return [{ labels: {}, value: parseFloat(value) }];
  }
  return [];
}

export type QueryOutcome =
  { readonly ok: true; readonly rows: readonly Row[] } | { readonly ok: false; readonly error: string };

const key = (a: string | undefined, b: string | undefined) => `${a ?? ''}\u0000${b ?? ''}`;

/** Every query's outcome, with rows indexed by (model_name, namespace), or (name, namespace) for pools. */
export class CollectedResults {
  private readonly index = new Map<SignalName, Map<string, Row[]>>();

  constructor(private readonly outcomes: ReadonlyMap<SignalName, QueryOutcome>) {
    for (const [signal, outcome] of outcomes) {
      if (!outcome.ok) continue;
      const byKey = new Map<string, Row[]>();
      const [first, second] = signal === 'gatewayPool' ? ['name', 'namespace'] : ['model_name', 'namespace'];
      for (const row of outcome.rows) {
        const k = key(row.labels[first], row.labels[second]);
        const list = byKey.get(k);
        if (list) list.push(row);
        else byKey.set(k, [row]);
      }
      this.index.set(signal, byKey);
    }
  }

  /** Whether the query was issued at all. */
  issued(signal: SignalName): boolean {
    return this.outcomes.has(signal);
  }

  /** Why the query failed, or undefined when it succeeded or was not issued. */
  error(signal: SignalName): string | undefined {
    const outcome = this.outcomes.get(signal);
    return outcome && !outcome.ok ? outcome.error : undefined;
  }

  /**
   * Rows of one model in one namespace, restricted to pods matching `pod` when given (an
   * unanchored test, as the simulation's sample store applies it). Empty when the query failed.
   */
  rows(
    signal: SignalName,
    first: string,
    namespace: string,
    pod?: RegExp,
    labels?: Readonly<Record<string, string>>,
  ): readonly Row[] {
    const rows = this.index.get(signal)?.get(key(first, namespace)) ?? [];
    const byPod = pod ? rows.filter((r) => pod.test(r.labels.pod ?? '')) : rows;
    return labels ? byPod.filter((r) => Object.entries(labels).every(([k, v]) => r.labels[k] === v)) : byPod;
  }
}
