/** In-process stand-ins for the cluster and node groups, recording what the handlers ask of them. */
import { ConfigLoadMetrics } from '../../functions/configLoadMetrics.js';
import type { ApplyWiring, EvaluateWiring } from '../../functions/wiring.js';
import {
  MemoryDecisionQueue,
  MemoryDecisionState,
  MemoryTelemetrySink,
  systemClock,
} from '../../lib/adapters/memory/index.js';
import { loadConfig } from '../../lib/config/load.js';
import type { Cluster, DeploymentView, NodeGroups, NodeGroupView } from '../../lib/policy/ports.js';

export const CONFIG_PATH = 'events/local-config.yaml';

export class RecordingCluster implements Cluster {
  readonly replicas = new Map<string, number>();
  readonly calls: string[];
  failFor = new Map<string, () => Error>();

  constructor(calls: string[], initial: Record<string, number> = {}) {
    this.calls = calls;
    for (const [k, v] of Object.entries(initial)) this.replicas.set(k, v);
  }

  async deployments(
    targets: readonly { namespace: string; deployment: string; variant: string; accelerator: string }[],
  ) {
    return targets.flatMap((t): DeploymentView[] => {
      const desired = this.replicas.get(`${t.namespace}/${t.deployment}`);
      return desired === undefined ? [] : [{ ...t, desired, ready: desired }];
    });
  }

  async scale(namespace: string, deployment: string, replicas: number) {
    const fail = this.failFor.get(`${namespace}/${deployment}`);
    this.calls.push(`scale ${namespace}/${deployment} ${replicas}${fail ? ' (failed)' : ''}`);
    if (fail) throw fail();
    this.replicas.set(`${namespace}/${deployment}`, replicas);
  }
}

export class RecordingNodeGroups implements NodeGroups {
  readonly sizes = new Map<string, number>([
    ['gpu-l4', 2],
    ['gpu-h100', 0],
  ]);

  constructor(readonly calls: string[]) {}

  async describe(names: readonly string[]): Promise<NodeGroupView[]> {
    return names.map((name) => ({
      name,
      acceleratorType: name === 'gpu-l4' ? 'L4' : 'H100',
      gpusPerNode: name === 'gpu-l4' ? 1 : 8,
      minSize: 0,
      maxSize: name === 'gpu-l4' ? 12 : 2,
      desiredSize: this.sizes.get(name) ?? 0,
      readyNodes: this.sizes.get(name) ?? 0,
    }));
  }

  async setDesiredSize(name: string, size: number) {
    this.calls.push(`nodes ${name} ${size}`);
    this.sizes.set(name, size);
  }
}

export function memoryApplyWiring(calls: string[] = []) {
  const config = loadConfig(CONFIG_PATH);
  const cluster = new RecordingCluster(calls, { 'llm/chat': 1, 'llm/summarize': 1 });
  const nodeGroups = new RecordingNodeGroups(calls);
  const state = new MemoryDecisionState();
  const wiring: ApplyWiring = {
    config,
    options: { maxAgeSeconds: config.policy.maxDecisionAgeSeconds },
    deps: { cluster, nodeGroups, state, telemetry: new MemoryTelemetrySink(), clock: systemClock },
  };
  return { wiring, cluster, nodeGroups, state, calls };
}

export function memoryEvaluateWiring() {
  const config = loadConfig(CONFIG_PATH);
  const calls: string[] = [];
  const queue = new MemoryDecisionQueue();
  const telemetry = new MemoryTelemetrySink();
  const wiring: EvaluateWiring = {
    config,
    pool: 'default',
    deps: {
      metrics: new ConfigLoadMetrics(config),
      cluster: new RecordingCluster(calls, { 'llm/chat': 1, 'llm/summarize': 1 }),
      nodeGroups: new RecordingNodeGroups(calls),
      queue,
      state: new MemoryDecisionState(),
      telemetry,
      clock: systemClock,
    },
  };
  return { wiring, queue, telemetry };
}
