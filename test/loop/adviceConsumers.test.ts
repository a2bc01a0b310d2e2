/**
 * Whose advice an HPA's External metric or a ScaledObject's query reads (lib/loop/adviceConsumers.ts):
 * this variant's alone, another variant's, several variants', or not known; apply's outcome and
 * gauge for each: test/loop/adoption.test.ts.
 */
import { adviceNames, adviceOf, selects, type AdvisedVariant } from '../../lib/loop/adviceConsumers.js';
import type { LabelMatcher, ScaledOn } from '../../lib/policy/ports.js';

const chat8b: AdvisedVariant = { namespace: 'llm', variant: 'chat-8b' };
const m = (label: string, op: LabelMatcher['op'], ...values: string[]): LabelMatcher => ({
  label,
  op,
  values,
});
const inLlm = m('namespace', '=', 'llm');

describe('which advice a selector reads', () => {
  it.each<[string, LabelMatcher]>([
    ['=', m('variant_name', '=', 'chat-8b')],
    ['In with the one value', m('variant_name', 'In', 'chat-8b')],
    ['a regular expression without metacharacters', m('variant_name', '=~', 'chat-8b')],
    ['a regular expression with escaped ones only', m('variant_name', '=~', 'chat\\-8b')],
  ])('pinned to this variant by %s: this', (_, variant) => {
    expect(selects([variant, inLlm], chat8b)).toEqual({ is: 'this' });
  });

  it.each<[string, LabelMatcher]>([
    ['= another', m('variant_name', '=', 'chat-70b')],
    ['In without it', m('variant_name', 'In', 'chat-70b', 'chat-1b')],
    ['NotIn with it', m('variant_name', 'NotIn', 'chat-8b')],
    ['!= it', m('variant_name', '!=', 'chat-8b')],
    ['DoesNotExist', m('variant_name', 'DoesNotExist')],
    // anchored as Prometheus anchors it: "chat" does not match chat-8b
    ['a regular expression matching part of it', m('variant_name', '=~', 'chat')],
    ['!~ matching it', m('variant_name', '!~', 'chat-.*')],
  ])('%s: another variant, the matcher and this value named', (_, variant) => {
    expect(selects([variant, inLlm], chat8b)).toEqual({ is: 'another', matcher: variant, value: 'chat-8b' });
  });

  it('another namespace: another variant, even with the variant pinned', () => {
    const other = m('namespace', '=', 'prod');
    expect(selects([m('variant_name', '=', 'chat-8b'), other], chat8b)).toEqual({
      is: 'another',
      matcher: other,
      value: 'llm',
    });
  });

  it.each<[string, LabelMatcher[], string[]]>([
    ['no matcher at all', [], ['variant_name', 'namespace']],
    ['no variant_name', [inLlm], ['variant_name']],
    ['In with two values', [m('variant_name', 'In', 'chat-8b', 'chat-70b'), inLlm], ['variant_name']],
    ['a regular expression of several', [m('variant_name', '=~', 'chat-.*'), inLlm], ['variant_name']],
    ['only != another', [m('variant_name', '!=', 'chat-70b'), inLlm], ['variant_name']],
    ['Exists', [m('variant_name', 'Exists'), inLlm], ['variant_name']],
    ['the variant but no namespace', [m('variant_name', '=', 'chat-8b')], ['namespace']],
  ])('%s: several variants, the labels not pinned named', (_, matchers, labels) => {
    expect(selects(matchers, chat8b)).toEqual({ is: 'several', labels });
  });

  it('a namespace its reader pins (prometheus-adapter, for an HPA) need not be in the selector', () => {
    expect(selects([m('variant_name', '=', 'chat-8b')], chat8b, ['namespace'])).toEqual({ is: 'this' });
    // a namespace the selector does name is still checked
    const other = m('namespace', '=', 'prod');
    expect(selects([m('variant_name', '=', 'chat-8b'), other], chat8b, ['namespace']).is).toBe('another');
  });

  it('a regular expression JavaScript cannot compile (RE2 flags): not known, said so', () => {
    expect(selects([m('variant_name', '=~', '(?i)CHAT-8B'), inLlm], chat8b)).toEqual({
      is: 'unknown',
      why: 'its regular expression variant_name=~"(?i)CHAT-8B" is not one sva reads',
    });
  });

  it('matchers on other labels (accelerator_type, job) are left alone', () => {
    const others = [m('accelerator_type', '=', 'H100'), m('job', '!=', 'sva')];
    expect(selects([...others, m('variant_name', '=', 'chat-8b'), inLlm], chat8b)).toEqual({ is: 'this' });
  });
});

describe('which advice a metric or a trigger reads', () => {
  const external = (selector: LabelMatcher[], name = 'inferno_desired_replicas'): ScaledOn => ({
    source: 'metric',
    type: 'External',
    name,
    selector,
  });
  const prometheus = (over: Partial<ScaledOn>): ScaledOn => ({
    source: 'trigger',
    type: 'prometheus',
    query: 'q',
    ...over,
  });

  it("an External metric: its selector, the namespace left to prometheus-adapter's rule", () => {
    expect(adviceOf(external([m('variant_name', '=', 'chat-8b')]), chat8b)).toEqual({ is: 'this' });
    expect(adviceOf(external([]), chat8b)).toEqual({ is: 'several', labels: ['variant_name'] });
    expect(adviceOf(external([m('variant_name', '=', 'chat-8b')], 'queue_depth'), chat8b)).toBeUndefined();
  });

  it('a query: every selector of the series must be this variant; the worst one wins', () => {
    const series = (...variants: string[]) =>
      variants.map((v) => ({
        name: 'inferno_desired_replicas',
        matchers: [inLlm, m('variant_name', '=', v)],
      }));
    expect(adviceOf(prometheus({ series: series('chat-8b') }), chat8b)).toEqual({ is: 'this' });
    expect(adviceOf(prometheus({ series: series('chat-8b', 'chat-8b') }), chat8b)).toEqual({ is: 'this' });
    expect(adviceOf(prometheus({ series: series('chat-8b', 'chat-70b') }), chat8b)?.is).toBe('another');
    const loose = [...series('chat-8b'), { name: 'inferno_desired_replicas', matchers: [inLlm] }];
    expect(adviceOf(prometheus({ series: loose }), chat8b)?.is).toBe('several');
    // other series of the query do not matter; none of the advice: not on the advice
    const up = { name: 'up', matchers: [] };
    expect(adviceOf(prometheus({ series: [up, ...series('chat-8b')] }), chat8b)).toEqual({ is: 'this' });
    expect(adviceOf(prometheus({ series: [up] }), chat8b)).toBeUndefined();
  });

  it('a query that could not be read: not known when it names the series, else not on the advice', () => {
    const unread = (query: string) =>
      prometheus({ query, queryUnread: 'PromQL syntax error at character 9' });
    expect(adviceOf(unread('sum(inferno_desired_replicas{'), chat8b)).toEqual({
      is: 'unknown',
      why: 'its query could not be read (PromQL syntax error at character 9)',
    });
    expect(adviceOf(unread('sum(inferno_desired_replicas_total{'), chat8b)).toBeUndefined();
  });

  it("under wva's name only when sva publishes the alias (telemetry.aliases: [wva])", () => {
    expect(adviceNames()).toEqual(['inferno_desired_replicas']);
    expect(adviceNames(['wva'])).toEqual(['inferno_desired_replicas', 'wva_desired_replicas']);
    const pinned = [m('variant_name', '=', 'chat-8b')];
    const withAlias = { ...chat8b, names: adviceNames(['wva']) };
    // an HPA kept from llm-d's Workload Variant Autoscaler
    expect(adviceOf(external(pinned, 'wva_desired_replicas'), withAlias)).toEqual({ is: 'this' });
    expect(adviceOf(external(pinned, 'wva_desired_replicas'), chat8b)).toBeUndefined();
    const query = 'max(wva_desired_replicas{namespace="llm",variant_name="chat-70b"})';
    const series = [{ name: 'wva_desired_replicas', matchers: [inLlm, m('variant_name', '=', 'chat-70b')] }];
    expect(adviceOf(prometheus({ query, series }), withAlias)?.is).toBe('another');
    expect(adviceOf(prometheus({ query, series }), chat8b)).toBeUndefined();
    // a query not read that names the alias: not known, but only where the alias is published
    const unread = prometheus({ query: 'sum(wva_desired_replicas{', queryUnread: 'syntax' });
    expect(adviceOf(unread, withAlias)?.is).toBe('unknown');
    expect(adviceOf(unread, chat8b)).toBeUndefined();
  });

  it('other triggers and metrics do not read it', () => {
    expect(adviceOf({ source: 'trigger', type: 'cpu' }, chat8b)).toBeUndefined();
    expect(adviceOf({ source: 'metric', type: 'Resource', name: 'cpu' }, chat8b)).toBeUndefined();
  });
});
