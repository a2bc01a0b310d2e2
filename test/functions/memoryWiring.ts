/** The handlers wired to the in-memory adapters, with the writes they make in one CallLog. */
import { nodeStartupSeconds } from '../../lib/config/startup.js';
import { ConfigLoadMetrics } from '../../functions/configLoadMetrics.js';
import type { ApplyWiring, EvaluateWiring } from '../../functions/wiring.js';
import {
  CallLog,
  MemoryCluster,
  MemoryDecisionQueue,
  MemoryDeadLetters,
  MemoryDecisionState,
  MemoryCapacityProvider,
  MemoryTelemetrySink,
  systemClock,
} from '../../lib/adapters/memory/index.js';
import { loadConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/schema.js';

export const CONFIG_PATH = 'events/local-config.yaml';

/** Both variants of the local config with one ready replica on L4; capacity of 2 L4 nodes, no H100. */
function memoryFleet(config: Config, log: CallLog) {
  const cluster = new MemoryCluster({
    log,
    deployments: ['chat', 'summarize'].map((name) => ({
      variant: `llm/${name}`,
      namespace: 'llm',
      deployment: name,
      accelerator: 'L4',
      desired: 1,
      ready: 1,
    })),
  });
  const ready: Record<string, number> = { 'gpu-l4': 2, 'gpu-h100': 0 };
  const capacity = new MemoryCapacityProvider({
    log,
    accelerators: config.nodeGroups.map((g) => ({
      acceleratorType: g.acceleratorType,
      devicesPerNode: g.gpusPerNode,
      readyDevices: (ready[g.name] ?? 0) * g.gpusPerNode,
      startingDevices: 0,
      addableDevices: (g.maxNodes - (ready[g.name] ?? 0)) * g.gpusPerNode,
      provisioningSeconds: nodeStartupSeconds(g),
    })),
  });
  return { cluster, capacity };
}

export function memoryApplyWiring() {
  const config = loadConfig(CONFIG_PATH);
  const log = new CallLog();
  const { cluster, capacity } = memoryFleet(config, log);
  const state = new MemoryDecisionState();
  const deadLetters = new MemoryDeadLetters();
  const wiring: ApplyWiring = {
    config,
    options: { config, maxAgeSeconds: config.policy.maxDecisionAgeSeconds },
    deadLetters,
    deps: { cluster, capacity, state, telemetry: new MemoryTelemetrySink(), clock: systemClock },
  };
  return { wiring, cluster, capacity, state, log, deadLetters };
}

export function memoryEvaluateWiring() {
  const config = loadConfig(CONFIG_PATH);
  const queue = new MemoryDecisionQueue();
  const telemetry = new MemoryTelemetrySink();
  const wiring: EvaluateWiring = {
    config,
    pool: 'default',
    deps: {
      metrics: new ConfigLoadMetrics(config),
      ...memoryFleet(config, new CallLog()),
      queue,
      state: new MemoryDecisionState(),
      telemetry,
      clock: systemClock,
    },
  };
  return { wiring, queue, telemetry };
}
