/**
 * Adapters that put the simulated fleet behind the same ports as a real cluster: the in-memory
 * adapters with their state kept in the simulator instead (Deployments read from and written
 * to it; the node groups' capacity is simCapacity.ts), and metrics scraped into a SampleStore and estimated by the
 * production estimation code.
 */
import type { Config } from '../config/schema.js';
import { variantKey } from '../config/toSystem.js';
import type { VariantObservation } from '../metrics/observation.js';
import { SampleStore, type Sample } from '../metrics/sampleStore.js';
import { estimateObservation } from '../metrics/signals.js';
import { MemoryCluster, MemoryMetricsSource, type DeploymentName } from '../adapters/memory/index.js';
import type { DeploymentView, MetricsQuery } from '../policy/ports.js';
import { acceleratorType, allowedAccelerators, deploymentName } from '../config/resolved.js';
import type { FleetSim } from '../fleetSimulator/index.js';
import { GATEWAY_REQUESTS } from '../metrics/vllmNaming.js';
import {
  disaggregatedVariants,
  roleAccelerators,
  roleDeployment,
  ROLES,
  simRoleVariant,
} from '../config/roles.js';

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
  for (const v of disaggregatedVariants(config)) {
    for (const role of ROLES) {
      for (const accelerator of roleAccelerators(config, v, role)) {
        index.set(`${v.namespace}/${roleDeployment(config, v, role, accelerator)}`, {
          variant: variantKey(v),
          simVariant: simRoleVariant(v, role),
          accelerator,
          simAccelerator: acceleratorType(config, accelerator)!,
        });
      }
    }
  }
  return index;
}

export class SimCluster extends MemoryCluster {
  private readonly index: Map<string, DeploymentRef>;

  constructor(
    private readonly sim: FleetSim,
    config: Config,
  ) {
    super();
    this.index = deploymentIndex(config);
  }

  /** One snapshot of the fleet for all targets. */
  protected override views(targets: readonly DeploymentName[]): DeploymentView[] {
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

  protected override resize(namespace: string, deployment: string, replicas: number): void {
    const ref = this.index.get(`${namespace}/${deployment}`);
    if (!ref) throw new Error(`deployment ${namespace}/${deployment} not found`);
    this.sim.setReplicas(ref.simVariant, ref.simAccelerator, replicas);
  }
}

export interface SimMetricsOptions {
  readonly windowSeconds: number;
  readonly maxAgeSeconds: number;
  /** arrivals per step over a look-back as well (policy.burstSizing); default: not read */
  readonly arrivalSteps?: { readonly stepSeconds: number; readonly lookbackSeconds: number };
}

/**
 * Metrics as Prometheus would hold them: each scrape of the fleet (and of the gateway's request
 * counter) goes into a SampleStore; collect() estimates from it exactly as from Prometheus.
 */
export class SimMetricsSource extends MemoryMetricsSource {
  readonly store = new SampleStore(3600, 0);

  constructor(private readonly options: SimMetricsOptions) {
    super();
  }

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

  protected override observe(q: MetricsQuery, now: number): VariantObservation {
    const selector = {
      variant: q.variant,
      model: q.modelName,
      namespace: q.namespace,
      podPattern: q.podPattern !== undefined ? new RegExp(q.podPattern) : undefined,
      labels: q.labels,
    };
    const raw = this.store.rawSignals(selector, now, this.options.windowSeconds);
    // Without a gateway in the config, its counter is not demand even if present.
    const signals = q.gateway ? raw : { ...raw, gatewayRequests: undefined };
    const stepsAsked = this.options.arrivalSteps;
    // the per-step arrivals from the counter the arrival rate comes from
    const arrivalSteps =
      stepsAsked &&
      this.store.arrivalSteps(selector, now, {
        ...stepsAsked,
        gateway: signals.gatewayRequests !== undefined,
      });
    return estimateObservation(arrivalSteps ? { ...signals, arrivalSteps } : signals, {
      now,
      maxAgeSeconds: this.options.maxAgeSeconds,
    });
  }
}
