/**
 * GPU node groups as EKS managed node groups. describe() reads DescribeNodegroup; setDesiredSize()
 * moves desiredSize with UpdateNodegroupConfig, within the group's min and max, raising maxSize
 * only up to the config's maxNodes. It never waits on EKS: a node group that is busy (not
 * ACTIVE, an update in progress, ResourceInUseException) is a retryable error for the message's
 * next delivery. Throttling and transient faults are retried in place by the SDK client
 * (aws/clientConfig.ts); what still fails is reported as retryable.
 */
import {
  DescribeNodegroupCommand,
  UpdateNodegroupConfigCommand,
  type EKSClient,
  type Nodegroup,
} from '@aws-sdk/client-eks';
import type { NodeGroupConfig } from '../../config/schema.js';
import type { NodeGroups, NodeGroupView } from '../../policy/ports.js';
import { describeError, isThrottling } from '../aws/errors.js';

export type EksApi = Pick<EKSClient, 'send'>;

/** Statuses in which EKS accepts a scaling change. DEGRADED groups still scale (EKS decides). */
const SCALABLE = new Set(['ACTIVE', 'DEGRADED']);

export class NodeGroupError extends Error {
  override readonly name: string = 'NodeGroupError';
  constructor(
    message: string,
    readonly nodeGroup: string,
    /** true when the same request may succeed on a later delivery */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** The node group cannot take a change now (creating, updating, deleting): try on the next delivery. */
export class NodeGroupBusyError extends NodeGroupError {
  override readonly name = 'NodeGroupBusyError';
  constructor(message: string, nodeGroup: string) {
    super(message, nodeGroup, true);
  }
}

export interface EksNodeGroupsOptions {
  readonly clusterName: string;
  /** the config's node groups: accelerator type, GPUs per node, and the ceiling for maxSize */
  readonly nodeGroups: readonly NodeGroupConfig[];
}

export class EksNodeGroups implements NodeGroups {
  private readonly configured: Map<string, NodeGroupConfig>;

  constructor(
    private readonly eks: EksApi,
    private readonly options: EksNodeGroupsOptions,
  ) {
    this.configured = new Map(options.nodeGroups.map((g) => [g.name, g]));
  }

  async describe(names: readonly string[]): Promise<NodeGroupView[]> {
    const configs = names.map((name) => this.config(name));
    return Promise.all(configs.map(async (cfg) => this.view(await this.read(cfg.name), cfg)));
  }

  async setDesiredSize(name: string, desiredSize: number): Promise<void> {
    const cfg = this.config(name);
    const group = await this.read(name);
    const status = group.status ?? 'UNKNOWN';
    const scaling = group.scalingConfig ?? {};
    const min = scaling.minSize ?? 0;
    const max = scaling.maxSize ?? 0;
    const current = scaling.desiredSize ?? 0;
    // Never below the group's minimum; above its maximum only as far as the config allows.
    const ceiling = Math.max(max, cfg.maxNodes);
    const target = Math.min(Math.max(Math.round(desiredSize), min), ceiling);
    const newMax = Math.max(max, target);
    if (target === current && newMax === max) return; // already there: nothing to ask of EKS
    if (!SCALABLE.has(status)) {
      throw new NodeGroupBusyError(
        `node group ${name} is ${status}: desired size ${target} is retried on the next delivery`,
        name,
      );
    }
    try {
      await this.eks.send(
        new UpdateNodegroupConfigCommand({
          clusterName: this.options.clusterName,
          nodegroupName: name,
          scalingConfig: { minSize: min, maxSize: newMax, desiredSize: target },
        }),
      );
    } catch (err) {
      throw this.translate(err, name, `set desired size ${target}`);
    }
  }

  private config(name: string): NodeGroupConfig {
    const cfg = this.configured.get(name);
    if (!cfg) throw new NodeGroupError(`node group ${name} is not in the config's nodeGroups`, name, false);
    return cfg;
  }

  private async read(name: string): Promise<Nodegroup> {
    try {
      const out = await this.eks.send(
        new DescribeNodegroupCommand({ clusterName: this.options.clusterName, nodegroupName: name }),
      );
      if (!out.nodegroup)
        throw new NodeGroupError(`node group ${name}: DescribeNodegroup returned nothing`, name, true);
      return out.nodegroup;
    } catch (err) {
      throw this.translate(err, name, 'describe');
    }
  }

  private view(group: Nodegroup, cfg: NodeGroupConfig): NodeGroupView {
    const scaling = group.scalingConfig ?? {};
    const max = scaling.maxSize ?? 0;
    const desired = scaling.desiredSize ?? 0;
    return {
      name: cfg.name,
      acceleratorType: cfg.acceleratorType,
      gpusPerNode: cfg.gpusPerNode,
      minSize: scaling.minSize ?? 0,
      // The planner may use what setDesiredSize may raise maxSize to.
      maxSize: Math.max(max, cfg.maxNodes),
      desiredSize: desired,
      // EKS does not count Ready nodes; an ACTIVE group is taken to have reached its desired size.
      readyNodes: group.status === 'ACTIVE' ? desired : 0,
    };
  }

  private translate(err: unknown, name: string, what: string): Error {
    if (err instanceof NodeGroupError) return err;
    const code = (err as { name?: string }).name;
    const where = `node group ${name} (cluster ${this.options.clusterName})`;
    if (code === 'ResourceInUseException') {
      return new NodeGroupBusyError(
        `${where} is busy (${describeError(err)}): ${what} is retried on the next delivery`,
        name,
      );
    }
    if (isThrottling(err)) {
      return new NodeGroupError(
        `${where}: ${what} still throttled after retries (${describeError(err)})`,
        name,
        true,
      );
    }
    if (code === 'ResourceNotFoundException')
      return new NodeGroupError(`${where} not found: ${describeError(err)}`, name, false);
    const server = (err as { $fault?: string }).$fault !== 'client';
    return new NodeGroupError(`${where}: ${what} failed: ${describeError(err)}`, name, server);
  }
}
