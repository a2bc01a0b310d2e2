/**
 * PromQL primitives: quoting, regular-expression escaping, durations, grouping clauses and the
 * `label_replace(...) or ...` idiom that tags the parts of one query so that a single request
 * returns several related vectors (both windows, sum and count) that the parser tells apart.
 */

/** Labels added by the collector's own queries to tell the parts of a result apart. */
export const TAG = {
  /** the rate window of a windowed value, in seconds */
  window: 'sva_window',
  /** which part of a composite value (sum, count, ...) */
  part: 'sva_part',
  /** the series a newest-sample timestamp belongs to */
  series: 'sva_series',
} as const;

/** A PromQL double-quoted string literal (Go escaping, which JSON's is a subset of). */
export function promString(value: string): string {
  return JSON.stringify(value);
}

/** Escapes RE2 metacharacters so that a name matches only itself inside `=~`. */
export function regexEscape(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A regular expression matching exactly one of the values (Prometheus anchors `=~`). */
export function anyOf(values: Iterable<string>): string {
  return [...new Set(values)].sort().map(regexEscape).join('|');
}

/** A PromQL duration: whole seconds as `60s`, anything finer in milliseconds. */
export function duration(seconds: number): string {
  if (!(seconds > 0) || !Number.isFinite(seconds)) throw new RangeError(`invalid duration ${seconds}`);
  const ms = Math.round(seconds * 1000);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** A label matcher: label, operator (`=`, `!=`, `=~`, `!~`), value (a regular expression for `=~`). */
export type Matcher = readonly [label: string, op: string, value: string];

/** `name{a="x",b=~"y|z"}` from label matchers. */
export function selector(name: string, matchers: readonly Matcher[]): string {
  const inner = matchers.map(([label, op, value]) => `${label}${op}${promString(value)}`).join(',');
  return inner ? `${name}{${inner}}` : name;
}

/** ` by (a, b)` over the distinct labels, in the order first given. */
export function by(...labels: readonly (readonly string[])[]): string {
  return `by (${[...new Set(labels.flat())].join(', ')})`;
}

/** Tags every element of a vector with a constant label (the `label_replace` idiom). */
export function tagged(expr: string, label: string, value: string): string {
  return `label_replace(${expr}, ${promString(label)}, ${promString(value)}, "", "")`;
}

/** The union of tagged parts; elements differ by their tag, so `or` keeps them all. */
export function union(parts: readonly string[]): string {
  if (parts.length === 0) throw new RangeError('a union needs at least one part');
  return parts.join(' or ');
}
