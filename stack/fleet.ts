/**
 * The emulated vLLM fleet of the local stack: the fleet simulator replaying the config's traces
 * in wall-clock time, its replicas' /metrics served by the vLLM emulator for Prometheus to
 * scrape, and a stand-in for what a cluster's controllers would do: the Deployments' replicas
 * (kube-apiserver) and the node groups' desired sizes (EKS in moto) are carried into the
 * simulator, and the simulator's ready replicas are written back as the Deployments' status.
 */
import { DescribeNodegroupCommand, type EKSClient } from '@aws-sdk/client-eks';
import { AppsV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { simSource, VllmEmulatorServer } from '../lib/adapters/vllmEmulator/index.js';
import type { Config } from '../lib/config/schema.js';
import { createFleetSim, type FleetSim, type Trace } from '../lib/fleetSimulator/index.js';
import { buildScenario, type Scenario } from '../lib/closedLoop/scenario.js';
import { deploymentIndex } from '../lib/closedLoop/simAdapters.js';

export interface FleetDeployment {
  readonly namespace: string;
  readonly name: string;
  /** `namespace/name` of the variant */
  readonly variant: string;
  readonly accelerator: string;
  readonly simVariant: string;
  readonly simAccelerator: string;
}

export interface FleetOptions {
  readonly configPath: string;
  /** trace i drives variant i (default: the config's simulation traces) */
  readonly traceFiles?: readonly string[];
  readonly rateScale?: number;
}

export interface DeploymentStatus extends FleetDeployment {
  /** spec.replicas */
  readonly replicas: number;
  readonly ready: number;
}

export interface NodeGroupStatus {
  readonly name: string;
  /** the EKS node group's desired size */
  readonly desired: number;
  /** the simulated nodes: ready, and still provisioning */
  readonly ready: number;
  readonly provisioning: number;
}

export interface FleetStatus {
  readonly deployments: DeploymentStatus[];
  readonly nodeGroups: NodeGroupStatus[];
}

export class EmulatedFleet {
  readonly sim: FleetSim;
  readonly deployments: readonly FleetDeployment[];
  private readonly emulator: VllmEmulatorServer;
  private readonly wallStart: number;
  /** where the next replay of the traces starts (simulated seconds) */
  private nextReplay: number;
  private readonly applied = new Map<string, number>();

  private constructor(
    readonly config: Config,
    readonly scenario: Scenario,
  ) {
    this.sim = createFleetSim(scenario.fleet);
    this.wallStart = Date.now() / 1000;
    this.nextReplay = 0;
    this.replayTraces();
    this.emulator = new VllmEmulatorServer([simSource(this.sim, { startSeconds: this.wallStart })]);
    this.deployments = [...deploymentIndex(config)].map(([key, ref]) => {
      const [namespace, name] = key.split('/') as [string, string];
      return { namespace, name, ...ref };
    });
  }

  static async create(config: Config, options: FleetOptions): Promise<EmulatedFleet> {
    const scenario = await buildScenario(config, {
      configPath: options.configPath,
      traceFiles: options.traceFiles,
      rateScale: options.rateScale,
      warmupSeconds: 0,
    });
    return new EmulatedFleet(config, scenario);
  }

  /** Serves /metrics on loopback; returns the scrape target `127.0.0.1:port`. */
  start(): Promise<string> {
    return this.emulator.start();
  }

  stop(): Promise<void> {
    return this.emulator.stop();
  }

  get target(): string {
    return this.emulator.target;
  }

  /** Simulated seconds since the stack started. */
  get simSeconds(): number {
    return this.sim.now;
  }

  /** The replicas each Deployment starts with (the simulator's warm start), by `namespace/name`. */
  initialReplicas(): Map<string, number> {
    const state = this.sim.state();
    return new Map(
      this.deployments.map((d) => {
        const counts = state.variants.find((v) => v.name === d.simVariant)?.byAccelerator[d.simAccelerator];
        return [
          `${d.namespace}/${d.name}`,
          counts ? counts['pending-node'] + counts.loading + counts.ready : 0,
        ];
      }),
    );
  }

  initialNodes(): { name: string; minSize: number; maxSize: number; desiredSize: number }[] {
    return this.scenario.fleet.nodeGroups.map((g) => ({
      name: g.name,
      minSize: g.minNodes ?? 0,
      maxSize: g.maxNodes,
      desiredSize: g.initialNodes ?? 0,
    }));
  }

  /** The traces again after their end, so that the stack runs on until stopped. */
  private replayTraces(): void {
    const traces = [...this.scenario.traces] as [string, Trace][];
    const length = Math.max(60, ...traces.map(([, t]) => t.requests.at(-1)?.arrival ?? 0));
    while (this.nextReplay <= this.sim.now + 300) {
      for (const [name, trace] of traces) this.sim.addArrivals(name, trace.requests, this.nextReplay);
      this.nextReplay += Math.ceil(length) + 1;
    }
  }

  /**
   * One round of the cluster's controllers: the simulator catches up with the wall clock, takes
   * on the Deployments' replicas and the node groups' desired sizes, and reports its ready
   * replicas in the Deployments' status. Returns every Deployment's replicas and ready ones, and
   * the node groups' sizes.
   */
  async sync(admin: KubeConfig, eks: EKSClient, clusterName: string): Promise<FleetStatus> {
    const apps = admin.makeApiClient(AppsV1Api);
    this.sim.runUntil(Math.max(this.sim.now, Date.now() / 1000 - this.wallStart));
    this.replayTraces();
    const desiredNodes = new Map<string, number>();
    for (const g of this.scenario.fleet.nodeGroups) {
      const out = await eks.send(new DescribeNodegroupCommand({ clusterName, nodegroupName: g.name }));
      const desired = out.nodegroup?.scalingConfig?.desiredSize ?? 0;
      desiredNodes.set(g.name, desired);
      if (this.applied.get(`node-group/${g.name}`) !== desired) {
        this.sim.setNodeGroupSize(g.name, desired);
        this.applied.set(`node-group/${g.name}`, desired);
      }
    }
    const specs = new Map<string, number>();
    for (const d of this.deployments) {
      const deployment = await apps.readNamespacedDeployment({ name: d.name, namespace: d.namespace });
      const replicas = deployment.spec?.replicas ?? 0;
      specs.set(`${d.namespace}/${d.name}`, replicas);
      if (this.applied.get(`deployment/${d.namespace}/${d.name}`) !== replicas) {
        this.sim.setReplicas(d.simVariant, d.simAccelerator, replicas);
        this.applied.set(`deployment/${d.namespace}/${d.name}`, replicas);
      }
    }
    const state = this.sim.state();
    const out: DeploymentStatus[] = [];
    for (const d of this.deployments) {
      const counts = state.variants.find((v) => v.name === d.simVariant)?.byAccelerator[d.simAccelerator];
      const ready = counts?.ready ?? 0;
      const live = counts ? counts['pending-node'] + counts.loading + counts.ready : 0;
      await apps.patchNamespacedDeploymentStatus(
        {
          name: d.name,
          namespace: d.namespace,
          body: { status: { replicas: live, readyReplicas: ready, availableReplicas: ready } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      out.push({ ...d, replicas: specs.get(`${d.namespace}/${d.name}`) ?? 0, ready });
    }
    return {
      deployments: out,
      nodeGroups: state.nodeGroups.map((g) => ({
        name: g.name,
        desired: desiredNodes.get(g.name) ?? 0,
        ready: g.ready,
        provisioning: g.provisioning,
      })),
    };
  }
}
