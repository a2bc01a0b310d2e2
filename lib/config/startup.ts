/**
 * How long new capacity takes to serve, phase by phase, from the config. One pure function for
 * everyone who needs it: the policy's lead time and stabilisation window, the simulated fleet's
 * delays, and the benchmark's oracle all read the same arithmetic.
 *
 * A new GPU node: instance provisioning, then node initialisation (driver, device plugin, Ready).
 * A new replica on a ready node: image pull (skipped on a node that already pulled the image,
 * i.e. one that ran this model before), framework start, weights load (weights ÷ load bandwidth),
 * engine initialisation (CUDA graphs, compile, warm-up).
 *
 * Defaults are one published cold start measured end to end (kaito-project/kaito issue 2325:
 * a 27B model, 52 GiB of weights, on a new single-A100 node, 966 s in all): 284 s provisioning,
 * 126 s node initialisation with driver and device plugin, 101 s image pull, 74 s framework
 * start, 62 s weights load (52 GiB, so 0.84 GiB/s), 195 s engine initialisation, compile and
 * warm-up. These phases add up to 842 s; the other 124 s of the 966 s the issue measured are not
 * attributed to a phase there, so they are left out rather than guessed. See
 * data/README.md.
 */
import type { Config, NodeGroupConfig, VariantConfig } from './schema.js';

/** kaito-project/kaito issue 2325, phase by phase (seconds; weights in GiB) */
export const FIELD_STARTUP = Object.freeze({
  provisioningSeconds: 284,
  nodeInitSeconds: 126,
  imagePullSeconds: 101,
  frameworkStartSeconds: 74,
  weightsLoadSeconds: 62,
  weightsGiB: 52,
  engineInitSeconds: 195,
});
/** 52 GiB in 62 s */
export const FIELD_WEIGHTS_LOAD_GIB_PER_SECOND = FIELD_STARTUP.weightsGiB / FIELD_STARTUP.weightsLoadSeconds;

export interface NodeStartup {
  readonly provisioningSeconds: number;
  readonly nodeInitSeconds: number;
}

export interface ReplicaStartup {
  /** 0 on a node that already pulled the image */
  readonly imagePullSeconds: number;
  readonly frameworkStartSeconds: number;
  readonly weightsLoadSeconds: number;
  readonly engineInitSeconds: number;
}

/** A node group's phases; the legacy `provisioningSeconds` shorthand is the whole time in one phase. */
export function nodeStartup(group: Pick<NodeGroupConfig, 'provisioningSeconds' | 'startup'>): NodeStartup {
  if (group.startup === undefined && group.provisioningSeconds !== undefined) {
    return { provisioningSeconds: group.provisioningSeconds, nodeInitSeconds: 0 };
  }
  return {
    provisioningSeconds: group.startup?.provisioningSeconds ?? FIELD_STARTUP.provisioningSeconds,
    nodeInitSeconds: group.startup?.nodeInitSeconds ?? FIELD_STARTUP.nodeInitSeconds,
  };
}

export const nodeStartupSeconds = (group: Pick<NodeGroupConfig, 'provisioningSeconds' | 'startup'>) => {
  const s = nodeStartup(group);
  return s.provisioningSeconds + s.nodeInitSeconds;
};

/**
 * A variant's replica phases, image not yet on the node. The legacy `startupSeconds` shorthand is
 * the whole time in one phase (reported as engine initialisation, and never shortened by a cached
 * image).
 */
export function replicaStartup(config: Pick<Config, 'models'>, v: VariantConfig): ReplicaStartup {
  if (v.startup === undefined && v.startupSeconds !== undefined) {
    return {
      imagePullSeconds: 0,
      frameworkStartSeconds: 0,
      weightsLoadSeconds: 0,
      engineInitSeconds: v.startupSeconds,
    };
  }
  const s = v.startup;
  const weightsGiB = config.models.find((m) => m.name === v.model)?.weightsGiB;
  const bandwidth = s?.weightsLoadGiBPerSecond ?? FIELD_WEIGHTS_LOAD_GIB_PER_SECOND;
  return {
    imagePullSeconds: s?.imagePullSeconds ?? FIELD_STARTUP.imagePullSeconds,
    frameworkStartSeconds: s?.frameworkStartSeconds ?? FIELD_STARTUP.frameworkStartSeconds,
    // without the model's size, the measured load time stands
    weightsLoadSeconds: weightsGiB === undefined ? FIELD_STARTUP.weightsLoadSeconds : weightsGiB / bandwidth,
    engineInitSeconds: s?.engineInitSeconds ?? FIELD_STARTUP.engineInitSeconds,
  };
}

export interface StartupCase {
  /** a node must be launched first (else a ready node has room) */
  readonly newNode: boolean;
  /** the node already holds the model's image (never true on a new node) */
  readonly imageCached: boolean;
}

type NodeSources = Pick<Config, 'nodeGroups' | 'accelerators' | 'capacityProvider'>;

/**
 * Seconds to a new Ready node of an accelerator's type: the slowest of its node groups and, when
 * the pool's capacity comes from Karpenter, of its NodePools (0 with neither).
 */
export function newNodeSeconds(config: NodeSources, accelerator: string): number {
  const acc = config.accelerators.find((a) => a.name === accelerator);
  const type = acc?.type ?? acc?.name ?? accelerator;
  const groups = config.nodeGroups
    .filter((g) => g.acceleratorType === type)
    .reduce((m, g) => Math.max(m, nodeStartupSeconds(g)), 0);
  const provider = config.capacityProvider;
  const pools = provider?.kind === 'karpenter' ? (provider.nodePools ?? []) : [];
  return pools
    .filter((p) => p.acceleratorType === type)
    .reduce((m, p) => Math.max(m, p.provisioningSeconds), groups);
}

/**
 * Expected seconds from the decision to a serving replica of `v` on `accelerator`: a new node of
 * the accelerator's type when one is needed, then the replica's phases.
 */
export function expectedStartupSeconds(
  config: Pick<Config, 'models'> & NodeSources,
  v: VariantConfig,
  accelerator: string,
  when: StartupCase,
): number {
  const r = replicaStartup(config, v);
  const pull = when.imageCached && !when.newNode ? 0 : r.imagePullSeconds;
  const replica = pull + r.frameworkStartSeconds + r.weightsLoadSeconds + r.engineInitSeconds;
  return when.newNode ? newNodeSeconds(config, accelerator) + replica : replica;
}
