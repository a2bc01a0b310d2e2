/**
 * One log shared by the in-memory cluster, node groups and metrics source, so a test can check
 * the order of what the use cases asked of the outside world (nodes before pods when growing).
 */
import type { MetricsQuery } from '../../policy/ports.js';

export type Call =
  | {
      readonly kind: 'scale';
      readonly namespace: string;
      readonly deployment: string;
      readonly replicas: number;
      /** the cluster refused (a failure the test asked for) */
      readonly failed: boolean;
    }
  | { readonly kind: 'setDesiredSize'; readonly name: string; readonly size: number };

export interface DeploymentTarget {
  readonly namespace: string;
  readonly deployment: string;
  readonly variant: string;
  readonly accelerator: string;
}

export class CallLog {
  /** writes, in the order they were asked for */
  readonly calls: Call[] = [];
  /** the targets of each Cluster.deployments read */
  readonly deploymentReads: DeploymentTarget[][] = [];
  /** the queries of each MetricsSource.collect */
  readonly metricsQueries: (readonly MetricsQuery[])[] = [];

  /** Writes as short strings: `scale llm/chat 4`, `scale llm/chat 4 (failed)`, `nodes gpu-l4 4`. */
  get lines(): string[] {
    return this.calls.map((c) =>
      c.kind === 'scale'
        ? `scale ${c.namespace}/${c.deployment} ${c.replicas}${c.failed ? ' (failed)' : ''}`
        : `nodes ${c.name} ${c.size}`,
    );
  }
}
