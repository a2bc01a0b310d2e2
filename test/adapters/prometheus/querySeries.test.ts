/**
 * The series a PromQL query reads (lib/adapters/prometheus/querySeries.ts): each selector's name
 * and label matchers through the nesting KEDA queries use, and anything it cannot read said so,
 * never half-read and never thrown.
 */
import { querySeries } from '../../../lib/adapters/prometheus/querySeries.js';

const eq = (label: string, value: string) => ({ label, op: '=', values: [value] });

describe('the series a query reads', () => {
  it.each([
    [
      'the shipped ScaledObject query',
      'sum(inferno_desired_replicas{namespace="llm", variant_name="chat"})',
      [{ name: 'inferno_desired_replicas', matchers: [eq('namespace', 'llm'), eq('variant_name', 'chat')] }],
    ],
    [
      'every operator, single-quoted and raw strings, a trailing comma',
      'inferno_desired_replicas{a!=\'x\', b=~`chat|chat-\\d+`, c!~"y.*",}',
      [
        {
          name: 'inferno_desired_replicas',
          matchers: [
            { label: 'a', op: '!=', values: ['x'] },
            { label: 'b', op: '=~', values: ['chat|chat-\\d+'] },
            { label: 'c', op: '!~', values: ['y.*'] },
          ],
        },
      ],
    ],
    [
      'the name as __name__, escapes in a quoted string',
      '{__name__="inferno_desired_replicas", variant_name="a\\"b\\\\c"}',
      [{ name: 'inferno_desired_replicas', matchers: [eq('variant_name', 'a"b\\c')] }],
    ],
    [
      'nested in functions, a binary expression, an offset, a comment',
      'max(max_over_time(inferno_desired_replicas{variant_name="chat"}[5m] offset 1m)) or on() vector(0) # floor',
      [{ name: 'inferno_desired_replicas', matchers: [eq('variant_name', 'chat')] }],
    ],
    [
      'two selectors, in the order written; a name without matchers',
      'inferno_desired_replicas{variant_name="a"} / ignoring(x) up',
      [
        { name: 'inferno_desired_replicas', matchers: [eq('variant_name', 'a')] },
        { name: 'up', matchers: [] },
      ],
    ],
    ['no selector at all', 'vector(3)', []],
  ])('%s', (_, query, series) => {
    expect(querySeries(query)).toEqual({ series });
  });

  it.each([
    [
      'an unclosed brace',
      'sum(inferno_desired_replicas{variant_name="chat"',
      /^PromQL syntax error at character \d+$/,
    ],
    ['an unterminated string', 'inferno_desired_replicas{variant_name="chat}', /^PromQL syntax error/],
    ['an empty query', '', /^PromQL syntax error at character 1$/],
    ['text that is not PromQL', 'SELECT * FROM replicas', /^PromQL syntax error/],
    [
      'an escape sva does not decode',
      'x{variant_name="\\x63hat"}',
      /^a label matcher not read: variant_name="\\x63hat"$/,
    ],
    ['a quoted (UTF-8) label name', 'x{"variant.name"="chat"}', /^a quoted label name not read: /],
  ])('%s: not read, said why', (_, query, why) => {
    expect(querySeries(query)).toEqual({ unread: expect.stringMatching(why) });
  });
});
