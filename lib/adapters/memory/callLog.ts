/**
 * One log shared by the in-memory cluster, capacity provider and metrics source, so a test can check
 * the order of what the use cases asked of the outside world (Deployments scaled, capacity asked for).
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
  | {
      readonly kind: 'provide';
      readonly pool: string;
      readonly poolSequence: number;
      /** devices asked for per accelerator type */
      readonly devices: Readonly<Record<string, number>>;
      readonly allowRemoval: boolean;
    };

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

  /** Writes as short strings: `scale llm/chat 4`, `scale llm/chat 4 (failed)`, `capacity default#3 L4=4`. */
  get lines(): string[] {
    return this.calls.map((c) =>
      c.kind === 'scale'
        ? `scale ${c.namespace}/${c.deployment} ${c.replicas}${c.failed ? ' (failed)' : ''}`
        : `capacity ${c.pool}#${c.poolSequence} ${Object.entries(c.devices)
            .map(([t, n]) => `${t}=${n}`)
            .join(' ')}${c.allowRemoval ? '' : ' (no removal)'}`,
    );
  }
}
