/**
 * The Auto Scaling group behind each EKS managed node group, as Cluster Autoscaler uses it: EKS
 * only to find the group's name (DescribeNodegroup → resources.autoScalingGroups), then sizes,
 * instances and changes through Auto Scaling alone. The clients retry throttling and server
 * errors themselves (aws/clientConfig.ts); what still fails says whether a later delivery may
 * succeed.
 */
import {
  CreateOrUpdateTagsCommand,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';
import { DescribeNodegroupCommand, type EKSClient } from '@aws-sdk/client-eks';
import { describeError, isThrottling } from '../aws/errors.js';

export type AutoScalingApi = Pick<AutoScalingClient, 'send'>;
export type EksDescribeApi = Pick<EKSClient, 'send'>;

/** Tags on the Auto Scaling group remembering the last growth asked for, across stateless invocations. */
export const ASKED_AT_TAG = 'autoscaler.sva.io/asked-at';
export const ASKED_NODES_TAG = 'autoscaler.sva.io/asked-nodes';

export interface GroupInstance {
  readonly instanceId: string;
  /** Pending, InService, Terminating, … */
  readonly lifecycleState: string;
}

export interface AutoScalingGroupState {
  readonly name: string;
  readonly minSize: number;
  readonly maxSize: number;
  readonly desiredCapacity: number;
  readonly instances: readonly GroupInstance[];
  /** the last growth asked for: epoch seconds and node count */
  readonly asked?: { readonly at: number; readonly nodes: number };
}

export class AutoScalingError extends Error {
  override readonly name = 'AutoScalingError';
  constructor(
    message: string,
    /** true when the same request may succeed on a later delivery */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

function translate(err: unknown, what: string): AutoScalingError {
  if (err instanceof AutoScalingError) return err;
  const code = (err as { name?: string }).name;
  if (isThrottling(err))
    return new AutoScalingError(
      `${what}: still throttled after the client's retries (${describeError(err)})`,
      true,
    );
  if (code === 'ResourceInUse' || code === 'ScalingActivityInProgress' || code === 'ResourceInUseException')
    return new AutoScalingError(`${what}: busy (${describeError(err)}), retried on the next delivery`, true);
  if (code === 'ResourceNotFoundException' || code === 'ValidationError')
    return new AutoScalingError(`${what}: ${describeError(err)}`, false);
  const server = (err as { $fault?: string }).$fault !== 'client';
  return new AutoScalingError(`${what} failed: ${describeError(err)}`, server);
}

export class AutoScalingGroups {
  /** node group → Auto Scaling group; a node group's group never changes */
  private readonly names = new Map<string, string>();

  constructor(
    private readonly eks: EksDescribeApi,
    private readonly autoScaling: AutoScalingApi,
    private readonly clusterName: string,
  ) {}

  private retried<T>(fn: () => Promise<T>, what: string): Promise<T> {
    return fn().catch((err: unknown) => {
      throw translate(err, what);
    });
  }

  async groupOf(nodeGroup: string): Promise<string> {
    const known = this.names.get(nodeGroup);
    if (known) return known;
    const where = `node group ${nodeGroup} (cluster ${this.clusterName})`;
    const out = await this.retried(
      () =>
        this.eks.send(
          new DescribeNodegroupCommand({ clusterName: this.clusterName, nodegroupName: nodeGroup }),
        ),
      `describe ${where}`,
    );
    const name = out.nodegroup?.resources?.autoScalingGroups?.[0]?.name;
    if (!name) throw new AutoScalingError(`${where} has no Auto Scaling group yet`, true);
    this.names.set(nodeGroup, name);
    return name;
  }

  async read(nodeGroup: string): Promise<AutoScalingGroupState> {
    const name = await this.groupOf(nodeGroup);
    const out = await this.retried(
      () => this.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] })),
      `describe Auto Scaling group ${name}`,
    );
    const g = out.AutoScalingGroups?.[0];
    if (!g)
      throw new AutoScalingError(`Auto Scaling group ${name} of node group ${nodeGroup} not found`, false);
    const tag = (key: string) => g.Tags?.find((t) => t.Key === key)?.Value;
    const at = Number(tag(ASKED_AT_TAG));
    const nodes = Number(tag(ASKED_NODES_TAG));
    return {
      name,
      minSize: g.MinSize ?? 0,
      maxSize: g.MaxSize ?? 0,
      desiredCapacity: g.DesiredCapacity ?? 0,
      instances: (g.Instances ?? []).map((i) => ({
        instanceId: i.InstanceId ?? '',
        lifecycleState: String(i.LifecycleState ?? ''),
      })),
      asked: Number.isFinite(at) && Number.isFinite(nodes) && tag(ASKED_AT_TAG) ? { at, nodes } : undefined,
    };
  }

  /** Grows to `nodes` and remembers when, so a shortfall can be told from capacity on its way. */
  async grow(group: AutoScalingGroupState, nodes: number, now: number): Promise<void> {
    await this.retried(
      () =>
        this.autoScaling.send(
          new SetDesiredCapacityCommand({
            AutoScalingGroupName: group.name,
            DesiredCapacity: nodes,
            HonorCooldown: false,
          }),
        ),
      `set desired capacity of ${group.name} to ${nodes}`,
    );
    await this.retried(
      () =>
        this.autoScaling.send(
          new CreateOrUpdateTagsCommand({
            Tags: [
              [ASKED_AT_TAG, String(now)],
              [ASKED_NODES_TAG, String(nodes)],
            ].map(([Key, Value]) => ({
              ResourceId: group.name,
              ResourceType: 'auto-scaling-group',
              Key,
              Value,
              PropagateAtLaunch: false,
            })),
          }),
        ),
      `tag ${group.name}`,
    );
  }

  /** Terminates exactly this instance and lowers the desired capacity by one in the same call. */
  async terminate(group: AutoScalingGroupState, instanceId: string): Promise<void> {
    await this.retried(
      () =>
        this.autoScaling.send(
          new TerminateInstanceInAutoScalingGroupCommand({
            InstanceId: instanceId,
            ShouldDecrementDesiredCapacity: true,
          }),
        ),
      `terminate ${instanceId} in ${group.name}`,
    );
  }
}

/** The EC2 instance id of a Node's `spec.providerID` (aws:///us-east-1a/i-0123…). */
export function instanceIdOf(providerID: string): string | undefined {
  const m = /^aws:\/\/\/[^/]*\/(i-[0-9a-zA-Z]+)$/.exec(providerID);
  return m?.[1];
}
