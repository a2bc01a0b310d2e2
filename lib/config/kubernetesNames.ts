/**
 * Names the config hands to Kubernetes, EKS and SQS, checked as those systems check them, so a
 * bad name is a config error naming the field rather than a 422 from the API server at apply
 * time (or a message SQS refuses).
 */
import { z } from 'zod';

/** Kubernetes' IsDNS1123Label: namespaces. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL_MAX = 63;
/** Kubernetes' IsDNS1123Subdomain: Deployments (and so variants, whose name is the default Deployment). */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_SUBDOMAIN_MAX = 253;
/** EKS CreateNodegroup's nodegroupName. */
const EKS_NODEGROUP = /^[0-9A-Za-z][A-Za-z0-9_-]*$/;
const EKS_NODEGROUP_MAX = 63;

export function dnsLabelProblem(value: string): string | undefined {
  if (value.length > DNS1123_LABEL_MAX) return `must be at most ${DNS1123_LABEL_MAX} characters`;
  if (!DNS1123_LABEL.test(value))
    return "must be a DNS-1123 label: lower case letters, digits and '-', starting and ending with a letter or digit";
  return undefined;
}

export function dnsSubdomainProblem(value: string): string | undefined {
  if (value.length > DNS1123_SUBDOMAIN_MAX) return `must be at most ${DNS1123_SUBDOMAIN_MAX} characters`;
  if (!DNS1123_SUBDOMAIN.test(value))
    return "must be a DNS-1123 subdomain: lower case letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit";
  return undefined;
}

const checked = (problem: (value: string) => string | undefined) =>
  z
    .string()
    .min(1, 'must not be empty')
    .superRefine((value, ctx) => {
      const message = problem(value);
      if (message !== undefined) ctx.addIssue({ code: 'custom', message });
    });

/** A Kubernetes namespace name. */
export const namespaceName = checked(dnsLabelProblem);

/** A Kubernetes Deployment name (and a variant name, the default Deployment name). */
export const deploymentName = checked(dnsSubdomainProblem);

/** An EKS managed node group name. */
export const nodeGroupName = checked((value) => {
  if (value.length > EKS_NODEGROUP_MAX) return `must be at most ${EKS_NODEGROUP_MAX} characters`;
  if (!EKS_NODEGROUP.test(value))
    return "must be an EKS node group name: letters, digits, '-' and '_', starting with a letter or digit";
  return undefined;
});

/**
 * The variant key `namespace/name` is the SQS FIFO message group, and `namespace.name.sequence`
 * the deduplication id; SQS takes at most 128 characters for each. With a sequence of up to 16
 * digits (2^53) and two separators, namespace and name may take 110 together.
 */
export const VARIANT_KEY_MAX = 128 - 16 - 2;

/**
 * The Deployment of a variant that may run on several accelerators and names none for this one:
 * `name-accelerator`, the accelerator lower-cased and dashed (lib/config/resolved.ts uses it).
 */
export function derivedDeploymentName(variantName: string, accelerator: string): string {
  return `${variantName}-${acceleratorSuffix(accelerator)}`;
}

/** What lower-casing and dashing makes of an accelerator name in a derived Deployment name. */
function acceleratorSuffix(accelerator: string): string {
  return accelerator
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * A role's Deployment of a disaggregated variant on an accelerator: configured, or
 * `name-role` (`name-role-accelerator` when the role may run on several).
 */
export function roleDeploymentName(
  variantName: string,
  role: 'prefill' | 'decode',
  deployments: Readonly<Record<string, string>> | undefined,
  allowed: readonly string[],
  accelerator: string,
): string {
  const explicit = deployments?.[accelerator];
  if (explicit) return explicit;
  const base = `${variantName}-${role}`;
  return allowed.length === 1 ? base : derivedDeploymentName(base, accelerator);
}

interface NamedVariant {
  readonly name: string;
  readonly namespace: string;
  readonly deployments?: Readonly<Record<string, string>> | undefined;
}

/**
 * Problems with the names a variant becomes: its key (SQS ids) and the Deployment names derived
 * for accelerators it gives no explicit Deployment for (`name-accelerator` when it may run on
 * several; derivedDeploymentName).
 */
export function derivedNameProblems(
  v: NamedVariant,
  allowed: readonly string[],
): { field: (string | number)[]; message: string }[] {
  const problems: { field: (string | number)[]; message: string }[] = [];
  if (v.namespace.length + v.name.length > VARIANT_KEY_MAX) {
    problems.push({
      field: ['name'],
      message: `namespace and name take ${v.namespace.length + v.name.length} characters together, more than ${VARIANT_KEY_MAX}: they form the SQS message group and deduplication ids, which hold 128`,
    });
  }
  if (allowed.length > 1) {
    for (const accelerator of allowed) {
      if (v.deployments?.[accelerator]) continue;
      const derived = derivedDeploymentName(v.name, accelerator);
      const problem = dnsSubdomainProblem(derived);
      if (problem !== undefined)
        problems.push({
          field: ['name'],
          message: `the Deployment name derived for accelerator ${accelerator}, "${derived}", ${problem}; give it in deployments.${accelerator}`,
        });
    }
  }
  return problems;
}
