/**
 * Adapters that put the simulated fleet behind the same ports as a real cluster: Deployments
 * and node groups read from and written to the simulator, metrics scraped into a SampleStore
 * and estimated by the production estimation code.
 */
import type { Config } from '../config/schema.js';
import { variantKey } from '../config/toSystem.js';
import type { VariantObservation } from '../metrics/observation.js';
import { SampleStore, type Sample } from '../metrics/sampleStore.js';
import { estimateObservation } from '../metrics/signals.js';
import type {
  Cluster,
  DeploymentView,
  MetricsQuery,
  MetricsSource,
  NodeGroups,
  NodeGroupView,
} from '../policy/ports.js';
import { acceleratorType, allowedAccelerators, deploymentName } from '../config/resolved.js';
import type { FleetSim } from '../fleetSimulator/index.js';
import { GATEWAY_REQUESTS } from '../metrics/vllmNaming.js';

/** Where a Deployment lives in the simulator: the sim knows variants by name and accelerators by type. */
interface DeploymentRef {
  readonly variant: string;
  readonly simVariant: string;
  readonly accelerator: string;
  readonly simAccelerator: string;
}

export function deploymentIndex(config: Config): Map<string, DeploymentRef> {
  const index = new Map<string, DeploymentRef>();
  for (const v of config.variants) {
    for (const accelerator of allowedAccelerators(config, v)) {
      index.set(`${v.namespace}/${deploymentName(config, v, accelerator)}`, {
        variant: variantKey(v),
        simVariant: v.name,
        accelerator,
        simAccelerator: acceleratorType(config, accelerator)!,
      });
    }
  }
  return index;
}

export class SimCluster implements Cluster {
  private readonly index: Map<string, DeploymentRef>;

  constructor(
    private readonly sim: FleetSim,
    config: Config,
  ) {
    this.index = deploymentIndex(config);
  }

  async deployments(
    targets: readonly { namespace: string; deployment: string }[],
  ): Promise<DeploymentView[]> {
    const state = this.sim.state();
    const views: DeploymentView[] = [];
    for (const t of targets) {
      const ref = this.index.get(`${t.namespace}/${t.deployment}`);
      if (!ref) continue;
      const counts = state.variants.find((v) => v.name === ref.simVariant)?.byAccelerator[ref.simAccelerator];
      views.push({
        variant: ref.variant,
        namespace: t.namespace,
        deployment: t.deployment,
        accelerator: ref.accelerator,
        // spec.replicas counts every replica not being removed, as a Deployment does
        desired: counts ? counts['pending-node'] + counts.loading + counts.ready : 0,
        ready: counts?.ready ?? 0,
      });
    }
    return views;
  }

  async scale(namespace: string, deployment: string, replicas: number): Promise<void> {
    const ref = this.index.get(`${namespace}/${deployment}`);
    if (!ref) throw new Error(`deployment ${namespace}/${deployment} not found`);
    this.sim.setReplicas(ref.simVariant, ref.simAccelerator, replicas);
  }
}

export class SimNodeGroups implements NodeGroups {
  private readonly desired = new Map<string, number>();

  constructor(private readonly sim: FleetSim) {}

  async describe(names: readonly string[]): Promise<NodeGroupView[]> {
    return this.sim
      .state()
      .nodeGroups.filter((g) => names.includes(g.name))
      .map((g) => ({
        name: g.name,
        acceleratorType: g.acceleratorType,
        gpusPerNode: g.gpusPerNode,
        minSize: g.minNodes,
        maxSize: g.maxNodes,
        desiredSize: this.desired.get(g.name) ?? g.ready + g.provisioning,
        readyNodes: g.ready,
      }));
  }

  async setDesiredSize(name: string, desiredSize: number): Promise<void> {
    this.desired.set(name, this.sim.setNodeGroupSize(name, desiredSize));
  }
}

export interface SimMetricsOptions {
  readonly windowSeconds: number;
  readonly maxAgeSeconds: number;
}

/**
 * Metrics as Prometheus would hold them: each scrape of the fleet (and of the gateway's request
 * counter) goes into a SampleStore; collect() estimates from it exactly as from Prometheus.
 */
export class SimMetricsSource implements MetricsSource {
  readonly store = new SampleStore(3600, 0);

  constructor(private readonly options: SimMetricsOptions) {}

  scrape(
    t: number,
    vllm: readonly Sample[],
    gatewayRequests: ReadonlyMap<string, { model: string; namespace: string; count: number }>,
  ): void {
    const gateway: Sample[] = [...gatewayRequests.values()].map((g) => ({
      name: GATEWAY_REQUESTS,
      labels: { model_name: g.model, namespace: g.namespace },
      value: g.count,
    }));
    this.store.ingest(t, [...vllm, ...gateway]);
  }

  async collect(queries: readonly MetricsQuery[], now: number): Promise<VariantObservation[]> {
    return queries.map((q) => {
      const raw = this.store.rawSignals(
        {
          variant: q.variant,
          model: q.modelName,
          namespace: q.namespace,
          podPattern: q.podPattern !== undefined ? new RegExp(q.podPattern) : undefined,
        },
        now,
        this.options.windowSeconds,
      );
      // Without a gateway in the config, its counter is not demand even if present.
      const signals = q.gateway ? raw : { ...raw, gatewayRequests: undefined };
      return estimateObservation(signals, { now, maxAgeSeconds: this.options.maxAgeSeconds });
    });
  }
}
