/**
 * Node groups in memory: a new desired size is reached at once. Writes go to the CallLog when
 * one is given. Subclasses keep the groups elsewhere (the simulated fleet) by overriding
 * views() and resize().
 */
import type { NodeGroups, NodeGroupView } from '../../policy/ports.js';
import type { CallLog } from './callLog.js';

export interface MemoryNodeGroupsOptions {
  readonly groups?: readonly NodeGroupView[];
  readonly log?: CallLog;
}

export class MemoryNodeGroups implements NodeGroups {
  private readonly groups = new Map<string, NodeGroupView>();
  protected readonly log: CallLog | undefined;

  constructor(options: MemoryNodeGroupsOptions = {}) {
    this.log = options.log;
    for (const g of options.groups ?? []) this.groups.set(g.name, g);
  }

  async describe(names: readonly string[]): Promise<NodeGroupView[]> {
    return this.views(names);
  }

  async setDesiredSize(name: string, desiredSize: number): Promise<void> {
    this.log?.calls.push({ kind: 'setDesiredSize', name, size: desiredSize });
    this.resize(name, desiredSize);
  }

  /** desiredSize of a group, undefined when it does not exist. */
  size(name: string): number | undefined {
    return this.views([name])[0]?.desiredSize;
  }

  /** The groups of these names that exist. */
  protected views(names: readonly string[]): NodeGroupView[] {
    return names.flatMap((n) => {
      const g = this.groups.get(n);
      return g ? [{ ...g }] : [];
    });
  }

  protected resize(name: string, desiredSize: number): void {
    const g = this.groups.get(name);
    if (!g) throw new Error(`node group ${name} not found`);
    this.groups.set(name, { ...g, desiredSize, readyNodes: desiredSize });
  }
}
