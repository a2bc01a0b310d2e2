/**
 * In-memory fakes of the outside world for the evaluate and apply use cases: a cluster, node
 * groups and a metrics source that record every call, in order, in one shared log.
 */
import { readFileSync } from 'node:fs';
import type { VariantObservation } from '../../lib/metrics/observation.js';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';
import type {
  Cluster,
  DeploymentView,
  MetricsQuery,
  MetricsSource,
  NodeGroups,
  NodeGroupView,
  TelemetryPoint,
  TelemetrySink,
} from '../../lib/policy/ports.js';

export type Call =
  | {
      readonly kind: 'scale';
      readonly namespace: string;
      readonly deployment: string;
      readonly replicas: number;
    }
  | { readonly kind: 'setDesiredSize'; readonly name: string; readonly size: number };

export class CallLog {
  readonly calls: Call[] = [];

  /** Calls as short strings: `scale llm/chat 4`, `nodes gpu-l4 4`. */
  get lines(): string[] {
    return this.calls.map((c) =>
      c.kind === 'scale' ? `scale ${c.namespace}/${c.deployment} ${c.replicas}` : `nodes ${c.name} ${c.size}`,
    );
  }
}

/** Deployments keyed by `namespace/deployment`; scaling makes the new replicas ready at once. */
export class FakeCluster implements Cluster {
  readonly byName = new Map<string, DeploymentView>();
  readonly requested: { namespace: string; deployment: string; variant: string; accelerator: string }[][] =
    [];

  constructor(
    private readonly log: CallLog,
    views: readonly DeploymentView[] = [],
  ) {
    for (const v of views) this.byName.set(`${v.namespace}/${v.deployment}`, v);
  }

  async deployments(
    targets: readonly { namespace: string; deployment: string; variant: string; accelerator: string }[],
  ): Promise<DeploymentView[]> {
    this.requested.push(targets.map((t) => ({ ...t })));
    return targets.flatMap((t) => {
      const v = this.byName.get(`${t.namespace}/${t.deployment}`);
      return v ? [{ ...v }] : [];
    });
  }

  async scale(namespace: string, deployment: string, replicas: number): Promise<void> {
    this.log.calls.push({ kind: 'scale', namespace, deployment, replicas });
    const key = `${namespace}/${deployment}`;
    const v = this.byName.get(key);
    if (!v) throw new Error(`deployment ${key} not found`);
    this.byName.set(key, { ...v, desired: replicas, ready: replicas });
  }

  replicas(namespace: string, deployment: string): number | undefined {
    return this.byName.get(`${namespace}/${deployment}`)?.desired;
  }
}

export class FakeNodeGroups implements NodeGroups {
  readonly groups = new Map<string, NodeGroupView>();

  constructor(
    private readonly log: CallLog,
    groups: readonly NodeGroupView[] = [],
  ) {
    for (const g of groups) this.groups.set(g.name, g);
  }

  async describe(names: readonly string[]): Promise<NodeGroupView[]> {
    return names.flatMap((n) => {
      const g = this.groups.get(n);
      return g ? [{ ...g }] : [];
    });
  }

  async setDesiredSize(name: string, desiredSize: number): Promise<void> {
    this.log.calls.push({ kind: 'setDesiredSize', name, size: desiredSize });
    const g = this.groups.get(name);
    if (!g) throw new Error(`node group ${name} not found`);
    this.groups.set(name, { ...g, desiredSize, readyNodes: desiredSize });
  }

  size(name: string): number | undefined {
    return this.groups.get(name)?.desiredSize;
  }
}

/** Returns the observation set for each queried variant, or one with every series missing. */
export class FakeMetrics implements MetricsSource {
  readonly observations = new Map<string, (now: number) => VariantObservation>();
  readonly queries: (readonly MetricsQuery[])[] = [];

  async collect(queries: readonly MetricsQuery[], now: number): Promise<VariantObservation[]> {
    this.queries.push(queries);
    return queries.map(
      (q) =>
        this.observations.get(q.variant)?.(now) ?? {
          variant: q.variant,
          model: q.modelName,
          at: now,
          windowSeconds: 60,
          stale: [],
          missing: ['vllm:request_success_total'],
        },
    );
  }
}

export class FailingSink implements TelemetrySink {
  attempts = 0;

  async publish(_points: readonly TelemetryPoint[]): Promise<void> {
    this.attempts++;
    throw new Error('remote write refused: 503');
  }
}

/** The decision fixture: chat on L4 from 2 to 4 replicas, issued 2026-01-01T00:00:00Z. */
export const ISSUED_AT = Date.parse('2026-01-01T00:00:00.000Z') / 1000;

export function fixtureDecision(over: Partial<DecisionRecord> = {}): DecisionRecord {
  const base = JSON.parse(readFileSync('test/fixtures/policy/decision-v1.json', 'utf8')) as DecisionRecord;
  const d = { ...base, ...over };
  return { ...d, id: `${d.namespace}/${d.variant}#${d.sequence}` };
}
