/** Per-variant facts the policy derives from the config: deployments, devices, targets, lead times. */
import type { Config, VariantConfig } from '../config/schema.js';
import { variantKey } from '../config/toSystem.js';
import { nodeStartupSeconds } from '../config/startup.js';
import type { MetricsQuery } from './ports.js';

/** Kubernetes names: lower case alphanumerics and '-'. */
const k8sName = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');

/** Accelerators a variant may run on: pinned, listed, or every one its model is profiled on. */
export function allowedAccelerators(config: Config, v: VariantConfig): string[] {
  if (v.accelerator !== undefined) return [v.accelerator];
  if (v.accelerators !== undefined) return [...v.accelerators];
  const model = config.models.find((m) => m.name === v.model);
  return Object.keys(model?.profiles ?? {}).sort();
}

export function deploymentName(config: Config, v: VariantConfig, accelerator: string): string {
  const explicit = v.deployments?.[accelerator];
  if (explicit) return explicit;
  return allowedAccelerators(config, v).length === 1 ? v.name : `${v.name}-${k8sName(accelerator)}`;
}

export function acceleratorType(config: Config, accelerator: string): string | undefined {
  const acc = config.accelerators.find((a) => a.name === accelerator);
  return acc ? (acc.type ?? acc.name) : undefined;
}

/** Devices of its type one replica of the variant takes on this accelerator. */
export function devicesPerReplica(config: Config, v: VariantConfig, accelerator: string): number {
  const acc = config.accelerators.find((a) => a.name === accelerator);
  const profile = config.models.find((m) => m.name === v.model)?.profiles[accelerator];
  return (acc?.multiplicity ?? 1) * (profile?.acceleratorCount ?? 1);
}

export function targetsOf(config: Config, v: VariantConfig): { ttftMs: number; itlMs: number; tps: number } {
  const cls = config.serviceClasses.find((c) => c.name === v.serviceClass);
  return cls?.targets[v.model] ?? { ttftMs: 0, itlMs: 0, tps: 0 };
}

/** Slowest node provisioning among the node groups of an accelerator's type (0 without node groups). */
export function provisioningSeconds(config: Config, accelerator: string): number {
  const type = acceleratorType(config, accelerator);
  return config.nodeGroups
    .filter((g) => g.acceleratorType === type)
    .reduce((m, g) => Math.max(m, nodeStartupSeconds(g)), 0);
}

export function metricsQuery(v: VariantConfig): MetricsQuery {
  return {
    variant: variantKey(v),
    namespace: v.namespace,
    modelName: v.metrics.modelName ?? v.model,
    podPattern: v.metrics.podPattern,
    gateway: v.metrics.gateway,
  };
}
