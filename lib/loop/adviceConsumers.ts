/**
 * Whether an HPA or a KEDA ScaledObject acts on sva's advice, or only scales the same Deployment
 * on something else (docs/ADOPTION.md "Advise mode: nobody scaling on the advice"): an HPA on
 * CPU beside an advise-mode variant looks like a consumer, and the advice is silently ignored.
 */
import type { OtherAutoscaler, ScaledOn } from '../policy/ports.js';
import { INFERNO } from './telemetry.js';

/**
 * The External metric names an HPA reads the advice under: the series as sva publishes it, which
 * is also the name deploy/advise/hpa-external.yaml's prometheus-adapter rule serves it as
 * (`name.as`). An adapter rule that renames the series needs its name added here: the one place.
 */
export const ADVICE_EXTERNAL_METRICS: readonly string[] = [INFERNO.desired];

/** A prometheus query that reads the series (not a longer name that starts with it). */
const READS_ADVICE = new RegExp(`\\b${INFERNO.desired}\\b`);

/** Longest query quoted in a warning: enough to recognise it. */
const QUOTED = 120;

export function onAdvice(s: ScaledOn): boolean {
  if (s.source === 'metric') return s.type === 'External' && ADVICE_EXTERNAL_METRICS.includes(s.name ?? '');
  return s.type === 'prometheus' && READS_ADVICE.test(s.query ?? '');
}

/** One of its metrics or triggers reads the advice (an HPA then scales to the highest of them). */
export function scalesOnAdvice(a: OtherAutoscaler): boolean {
  return a.scalesOn.some(onAdvice);
}

/** `HorizontalPodAutoscaler llm/chat scales chat on cpu, not on inferno_desired_replicas` */
export function notOnAdvice(a: OtherAutoscaler): string {
  const what = a.kind === 'ScaledObject' ? 'triggers' : 'metrics';
  const on =
    a.unread !== undefined
      ? `, but its ${what} could not be read (${a.unread}), so not known to scale`
      : ` on ${a.scalesOn.map(describe).join(', ')}, not`;
  return `${a.kind} ${a.namespace}/${a.name} scales ${a.deployment}${on} on ${INFERNO.desired}`;
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
