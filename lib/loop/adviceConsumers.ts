/**
 * Whether an HPA or a KEDA ScaledObject acts on a variant's advice, or only scales the same
 * Deployment on something else (docs/ADOPTION.md "Advise mode: nobody scaling on the advice"):
 * an HPA on CPU beside an advise-mode variant looks like a consumer, and the advice is silently
 * ignored; one on another variant's series (a copied selector) scales it to that variant's advice.
 */
import type { TelemetryAliasSet } from '../config/schema.js';
import type { LabelMatcher, OtherAutoscaler, ScaledOn } from '../policy/ports.js';
import { ALIASES, INFERNO } from './telemetry.js';

/**
 * The External metric names an HPA reads the advice under: the series as sva publishes it, which
 * is also the name deploy/advise/hpa-external.yaml's prometheus-adapter rule serves it as
 * (`name.as`). An adapter rule that renames the series needs its name added here: the one place.
 */
export const ADVICE_EXTERNAL_METRICS: readonly string[] = [INFERNO.desired];

/**
 * The names the advice is published under: ours, and the aliases the config asks for
 * (`telemetry.aliases`: an HPA kept from llm-d's Workload Variant Autoscaler scales on
 * wva_desired_replicas, which sva then publishes with the same value and labels).
 */
export function adviceNames(aliases: readonly TelemetryAliasSet[] = []): string[] {
  const names = [...ADVICE_EXTERNAL_METRICS];
  for (const set of aliases) {
    const alias = ALIASES[set][INFERNO.desired];
    if (alias && !names.includes(alias)) names.push(alias);
  }
  return names;
}

/** A prometheus query that reads one of the names (not a longer name that starts with it). */
const reads = (names: readonly string[]) => new RegExp(`\\b(?:${names.join('|')})\\b`);

/** Longest query quoted in a warning: enough to recognise it. */
const QUOTED = 120;

/** Whose advice is looked for: the labels sva publishes its series with (lib/loop/telemetry.ts). */
export interface AdvisedVariant {
  readonly namespace: string;
  readonly variant: string;
  /** the names the advice is published under (adviceNames); default ours alone */
  readonly names?: readonly string[];
}

/**
 * Which of the advice's series an HPA metric or a trigger reads: this variant's alone; another
 * variant's (a matcher this variant's label fails); several variants' (a label not pinned to one
 * value: the HPA adds their values up, a query sums them or takes the highest, either way not
 * this variant's advice); or not known (a query or a regular expression that could not be read).
 */
export type AdviceSelection =
  | { readonly is: 'this' }
  | { readonly is: 'another'; readonly matcher: LabelMatcher; readonly value: string }
  | { readonly is: 'several'; readonly labels: readonly string[] }
  | { readonly is: 'unknown'; readonly why: string };

/** The worse wins: one series of another variant is enough to scale to the wrong advice. */
const RANK: Record<AdviceSelection['is'], number> = { this: 0, several: 1, unknown: 2, another: 3 };

/** The labels that tell one variant's advice from another's, and this variant's values of them. */
const identity = (v: AdvisedVariant): [label: string, value: string][] => [
  ['variant_name', v.variant],
  ['namespace', v.namespace],
];

/**
 * Which advice a selector reads. `pinned` are labels its reader pins itself: prometheus-adapter
 * adds the HPA's own namespace to an External metric's selector (deploy/advise/'s rule, by its
 * `namespace` override), so an HPA need not name it; a KEDA query reads all of Prometheus.
 */
export function selects(
  matchers: readonly LabelMatcher[],
  v: AdvisedVariant,
  pinned: readonly string[] = [],
): AdviceSelection {
  const loose: string[] = [];
  for (const [label, value] of identity(v)) {
    const on = matchers.filter((m) => m.label === label);
    for (const m of on) {
      const ok = matches(m, value);
      if (ok === undefined)
        return { is: 'unknown', why: `its regular expression ${format(m)} is not one sva reads` };
      if (!ok) return { is: 'another', matcher: m, value: value };
    }
    if (!pinned.includes(label) && !on.some((m) => pins(m, value))) loose.push(label);
  }
  return loose.length > 0 ? { is: 'several', labels: loose } : { is: 'this' };
}

/** Whether the label's value passes the matcher; undefined for a pattern JavaScript cannot compile. */
function matches(m: LabelMatcher, value: string): boolean | undefined {
  const [first = ''] = m.values;
  switch (m.op) {
    case '=':
      return value === first;
    case '!=':
      return value !== first;
    case 'In':
      return m.values.includes(value);
    case 'NotIn':
      return !m.values.includes(value);
    case 'Exists':
      return true;
    case 'DoesNotExist':
      return false;
    case '=~':
    case '!~': {
      let re: RegExp;
      try {
        // PromQL anchors its regular expressions (RE2): the whole value must match.
        re = new RegExp(`^(?:${first})$`);
      } catch {
        return undefined;
      }
      return re.test(value) === (m.op === '=~');
    }
  }
}

/** A regular expression without metacharacters (escaped ones aside): it matches one value. */
const LITERAL = /^(?:[^\\.*+?^$()[\]{}|]|\\[^a-zA-Z0-9])*$/;

/** The matcher lets only this value through (it has passed `matches`). */
function pins(m: LabelMatcher, value: string): boolean {
  if (m.op === '=' || m.op === 'In') return m.values.every((x) => x === value);
  return m.op === '=~' && LITERAL.test(m.values[0]!) && m.values[0]!.replace(/\\(.)/g, '$1') === value;
}

/** `variant_name="chat"` as PromQL writes it; `variant_name in (a, b)` as kubectl does. */
function format(m: LabelMatcher): string {
  if (m.op === 'Exists') return m.label;
  if (m.op === 'DoesNotExist') return `!${m.label}`;
  if (m.op === 'In' || m.op === 'NotIn') return `${m.label} ${m.op.toLowerCase()} (${m.values.join(', ')})`;
  return `${m.label}${m.op}${JSON.stringify(m.values[0])}`;
}

/**
 * Which advice this metric or trigger reads, or undefined when it does not read the advice at
 * all. A query is read for its selectors of the series; one that could not be read, but names
 * the series, reads it for all sva can tell, and not known whose.
 */
export function adviceOf(s: ScaledOn, v: AdvisedVariant): AdviceSelection | undefined {
  const names = v.names ?? ADVICE_EXTERNAL_METRICS;
  if (s.source === 'metric')
    return s.type === 'External' && names.includes(s.name ?? '')
      ? selects(s.selector ?? [], v, ['namespace'])
      : undefined;
  if (s.type !== 'prometheus') return undefined;
  if (s.series)
    return worst(s.series.filter((x) => names.includes(x.name)).map((x) => selects(x.matchers, v)));
  return reads(names).test(s.query ?? '')
    ? { is: 'unknown', why: `its query could not be read${s.queryUnread ? ` (${s.queryUnread})` : ''}` }
    : undefined;
}

function worst(all: readonly AdviceSelection[]): AdviceSelection | undefined {
  return all.reduce<AdviceSelection | undefined>(
    (w, s) => (!w || RANK[s.is] > RANK[w.is] ? s : w),
    undefined,
  );
}

/** What the autoscaler reads of the advice, over all its metrics or triggers (undefined: none). */
function advice(a: OtherAutoscaler, v: AdvisedVariant): AdviceSelection | undefined {
  return worst(a.scalesOn.flatMap((s) => adviceOf(s, v) ?? []));
}

/** One of its metrics or triggers reads the advice, whosever it is. */
export function readsAdvice(a: OtherAutoscaler, v: AdvisedVariant): boolean {
  return advice(a, v) !== undefined;
}

/** `inferno_desired_replicas{namespace="llm", variant_name="chat"}`: the series of the variant's advice. */
export function adviceSeries(v: AdvisedVariant): string {
  return `${INFERNO.desired}{namespace=${JSON.stringify(v.namespace)}, variant_name=${JSON.stringify(v.variant)}}`;
}

/** It scales on this variant's advice (an HPA scales to the highest of its metrics, CPU beside it or not). */
export function scalesOnAdvice(a: OtherAutoscaler, v: AdvisedVariant): boolean {
  return advice(a, v)?.is === 'this';
}

/**
 * Why it does not: `HorizontalPodAutoscaler llm/chat scales chat on cpu, not on
 * inferno_desired_replicas`; `... on another variant's inferno_desired_replicas: its selector has
 * variant_name="chat-70b", and llm/chat's variant_name is "chat"`.
 */
export function notOnAdvice(a: OtherAutoscaler, v: AdvisedVariant): string {
  const what = a.kind === 'ScaledObject' ? 'triggers' : 'metrics';
  const scales = `${a.kind} ${a.namespace}/${a.name} scales ${a.deployment}`;
  if (a.unread !== undefined)
    return `${scales}, but its ${what} could not be read (${a.unread}), so not known to scale on ${INFERNO.desired}`;
  const read = advice(a, v);
  const its = a.kind === 'ScaledObject' ? 'its query' : 'its selector';
  switch (read?.is) {
    case undefined:
    case 'this':
      return `${scales} on ${a.scalesOn.map(describe).join(', ')}, not on ${INFERNO.desired}`;
    case 'another':
      return `${scales} on another variant's ${INFERNO.desired}: ${its} has ${format(read.matcher)}, and ${v.namespace}/${v.variant}'s ${read.matcher.label} is ${JSON.stringify(read.value)}`;
    case 'several': {
      const on =
        a.kind === 'ScaledObject'
          ? 'what its query makes of them (their sum or the highest)'
          : 'their sum (an HPA adds up the series of an External metric)';
      return `${scales} on the ${INFERNO.desired} of no variant in particular: ${its} pins no ${read.labels.join(' and no ')}, so it reads several variants' series and scales on ${on}, not on ${v.namespace}/${v.variant}'s advice`;
    }
    case 'unknown':
      return `${scales} on ${INFERNO.desired}, but ${read.why}, so not known to read ${v.namespace}/${v.variant}'s advice`;
  }
}

/** `cpu`, `External metric queue_depth`, `prometheus query "sum(...)"`, `a kafka trigger` */
function describe(s: ScaledOn): string {
  if (s.source === 'metric')
    return s.type === 'Resource' || s.type === 'ContainerResource'
      ? `${s.name}`
      : `${s.type} metric ${s.name}`;
  if (s.query === undefined) return `a ${s.type} trigger`;
  const q = s.query.length > QUOTED ? `${s.query.slice(0, QUOTED)}…` : s.query;
  return `${s.type} query "${q}"`;
}
