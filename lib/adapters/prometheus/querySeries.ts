/**
 * The series a PromQL query reads: each vector selector's metric name and label matchers, read
 * with the Prometheus project's own grammar (@prometheus-io/lezer-promql, the parser of
 * Prometheus's query editor), so nested functions, `or vector(0)`, offsets and comments are
 * its business, not a hand-written tokenizer's. The parser recovers from errors by marking
 * them in the tree: a query with any is "not read", never half-read.
 */
import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import type { LabelMatcher, SeriesSelector } from '../../policy/ports.js';

export type QuerySeriesRead = { readonly series: SeriesSelector[] } | { readonly unread: string };

/** The metric name as a label (`{__name__="x"}` is `x`). */
const NAME_LABEL = '__name__';

const OPS: Record<string, LabelMatcher['op']> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };

/** The vector selectors of `query`, in the order written; or why it could not be read. */
export function querySeries(query: string): QuerySeriesRead {
  const tree = parser.parse(query);
  let error: number | undefined;
  tree.iterate({
    enter: (n) => {
      if (n.type.isError) error ??= n.from;
    },
  });
  if (error !== undefined) return { unread: `PromQL syntax error at character ${error + 1}` };
  const series: SeriesSelector[] = [];
  let unread: string | undefined;
  tree.iterate({
    enter: (n) => {
      if (n.name !== 'VectorSelector') return;
      const read = selector(query, n.node);
      if (typeof read === 'string') unread ??= read;
      else series.push(read);
      return false;
    },
  });
  return unread !== undefined ? { unread } : { series };
}

function selector(query: string, node: SyntaxNode): SeriesSelector | string {
  const text = (n: SyntaxNode) => query.slice(n.from, n.to);
  const identifier = node.getChild('Identifier');
  let name = identifier ? text(identifier) : '';
  const matchers: LabelMatcher[] = [];
  for (const m of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
    const label = m.getChild('LabelName');
    const op = OPS[m.getChild('MatchOp')?.firstChild?.name ?? ''];
    const value = unquote(text(m.getChild('StringLiteral')!));
    if (!label || !op || value === undefined) return `a label matcher not read: ${text(m)}`;
    if (text(label) === NAME_LABEL && op === '=') name = value;
    else matchers.push({ label: text(label), op, values: [value] });
  }
  // Prometheus 3's quoted (UTF-8) names are not sva's: said, not guessed.
  const quoted = node.getChild('LabelMatchers')?.getChild('QuotedLabelMatcher');
  const quotedName = node.getChild('LabelMatchers')?.getChild('QuotedLabelName');
  if (quoted || quotedName) return `a quoted label name not read: ${text((quoted ?? quotedName)!)}`;
  return { name, matchers };
}

/** Go's escapes as PromQL strings use them; anything rarer is not read. */
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", n: '\n', t: '\t', r: '\r' };
const QUOTED: Record<string, RegExp> = {
  '"': /^"((?:[^"\\\n]|\\.)*)"$/s,
  "'": /^'((?:[^'\\\n]|\\.)*)'$/s,
  '`': /^`([^`]*)`$/,
};

/** A string literal's value: backquoted raw, or quoted with Go's escapes. */
function unquote(literal: string): string | undefined {
  const body = QUOTED[literal[0] ?? '']?.exec(literal)?.[1];
  if (body === undefined || literal[0] === '`') return body;
  let known = true;
  const value = body.replace(/\\(.)/gs, (_, c: string) => ESCAPES[c] ?? ((known = false), ''));
  return known ? value : undefined;
}
