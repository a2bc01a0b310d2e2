/**
 * Deployments in memory, keyed by `namespace/deployment`: scaling makes the new replicas ready
 * at once. Reads and writes go to the CallLog when one is given; a test can make the scaling of
 * one Deployment fail. Subclasses keep the Deployments elsewhere (the simulated fleet) by
 * overriding views() and resize().
 */
import type { Cluster, DeploymentView } from '../../policy/ports.js';
import type { CallLog, DeploymentTarget } from './callLog.js';

/** What names a Deployment; a read's targets also say which variant and accelerator they expect. */
export type DeploymentName = Pick<DeploymentTarget, 'namespace' | 'deployment'>;

export interface MemoryClusterOptions {
  readonly deployments?: readonly DeploymentView[];
  readonly log?: CallLog;
}

export class MemoryCluster implements Cluster {
  private readonly byName = new Map<string, DeploymentView>();
  private readonly failures = new Map<string, () => Error>();
  protected readonly log: CallLog | undefined;

  constructor(options: MemoryClusterOptions = {}) {
    this.log = options.log;
    for (const v of options.deployments ?? []) this.byName.set(`${v.namespace}/${v.deployment}`, v);
  }

  async deployments(targets: readonly DeploymentTarget[]): Promise<DeploymentView[]> {
    this.log?.deploymentReads.push(targets.map((t) => ({ ...t })));
    return this.views(targets);
  }

  async scale(namespace: string, deployment: string, replicas: number): Promise<void> {
    const fail = this.failures.get(`${namespace}/${deployment}`);
    this.log?.calls.push({ kind: 'scale', namespace, deployment, replicas, failed: fail !== undefined });
    if (fail) throw fail();
    this.resize(namespace, deployment, replicas);
  }

  /** Makes every scaling of `namespace/deployment` throw what `error` returns. */
  failScaling(key: string, error: () => Error): void {
    this.failures.set(key, error);
  }

  /** spec.replicas of a Deployment, undefined when it does not exist. */
  replicas(namespace: string, deployment: string): number | undefined {
    return this.views([{ namespace, deployment }])[0]?.desired;
  }

  /** The Deployments behind the targets that exist, in the targets' order. */
  protected views(targets: readonly DeploymentName[]): DeploymentView[] {
    return targets.flatMap((t) => {
      const v = this.byName.get(`${t.namespace}/${t.deployment}`);
      return v ? [{ ...v }] : [];
    });
  }

  protected resize(namespace: string, deployment: string, replicas: number): void {
    const key = `${namespace}/${deployment}`;
    const v = this.byName.get(key);
    if (!v) throw new Error(`deployment ${key} not found`);
    this.byName.set(key, { ...v, desired: replicas, ready: replicas });
  }
}
