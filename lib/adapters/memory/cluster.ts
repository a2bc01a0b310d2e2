/**
 * Deployments in memory, keyed by `namespace/deployment`: scaling makes the new replicas ready
 * at once. Reads and writes go to the CallLog when one is given; a test can make the scaling of
 * one Deployment fail. Subclasses keep the Deployments elsewhere (the simulated fleet) by
 * overriding views() and resize().
 */
import type { Cluster, DeletionCost, DeploymentView, OtherAutoscaler } from '../../policy/ports.js';
import type { CallLog, DeploymentTarget } from './callLog.js';

/** What names a Deployment; a read's targets also say which variant and accelerator they expect. */
export type DeploymentName = Pick<DeploymentTarget, 'namespace' | 'deployment'>;

export interface MemoryClusterOptions {
  readonly deployments?: readonly DeploymentView[];
  readonly log?: CallLog;
  /** HPAs and ScaledObjects targeting Deployments */
  readonly otherAutoscalers?: readonly OtherAutoscaler[];
  /** pods per `namespace/deployment`, for deletion costs */
  readonly pods?: Readonly<Record<string, readonly string[]>>;
}

export class MemoryCluster implements Cluster {
  private readonly byName = new Map<string, DeploymentView>();
  private readonly failures = new Map<string, () => Error>();
  protected readonly log: CallLog | undefined;
  private autoscalers: OtherAutoscaler[];
  private readonly pods: Readonly<Record<string, readonly string[]>>;
  /** pod-deletion-cost per `namespace/pod`, as set */
  readonly deletionCosts = new Map<string, number>();
  /** how many times each namespace's other autoscalers were listed */
  readonly autoscalerLists = new Map<string, number>();

  constructor(options: MemoryClusterOptions = {}) {
    this.log = options.log;
    this.autoscalers = [...(options.otherAutoscalers ?? [])];
    this.pods = options.pods ?? {};
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

  async otherAutoscalers(namespace: string): Promise<OtherAutoscaler[]> {
    this.autoscalerLists.set(namespace, (this.autoscalerLists.get(namespace) ?? 0) + 1);
    return this.autoscalers.filter((a) => a.namespace === namespace);
  }

  /** Another autoscaler appears (or, with an empty list, they all go). */
  setOtherAutoscalers(list: readonly OtherAutoscaler[]): void {
    this.autoscalers = [...list];
  }

  async setDeletionCosts(
    namespace: string,
    deployment: string,
    costs: readonly DeletionCost[],
  ): Promise<string[]> {
    const mine = new Set(this.pods[`${namespace}/${deployment}`] ?? []);
    const set = costs.filter((c) => mine.has(c.pod));
    for (const c of set) this.deletionCosts.set(`${namespace}/${c.pod}`, c.cost);
    return set.map((c) => c.pod);
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
