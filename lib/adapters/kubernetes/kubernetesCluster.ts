/**
 * Deployments through the Kubernetes API (@kubernetes/client-node 1.4). Reads Deployments for
 * desired and ready replicas; scales through the `scale` subresource with a JSON merge patch
 * carrying the resourceVersion it read, so a concurrent writer's change is never overwritten
 * blind: a 409 re-reads and retries (bounded). 403 and 404 fail at once, naming the object.
 * Needs only get on deployments and get/patch on deployments/scale (deploy/rbac.yaml).
 */
import { ApiException, PatchStrategy, setHeaderOptions, type AppsV1Api } from '@kubernetes/client-node';
import type { Cluster, DeploymentView } from '../../policy/ports.js';

/** The calls this adapter makes. */
export type DeploymentsApi = Pick<
  AppsV1Api,
  'readNamespacedDeployment' | 'readNamespacedDeploymentScale' | 'patchNamespacedDeploymentScale'
>;

/** An API client, possibly rebuilt when its credentials are renewed (EKS tokens). */
export type DeploymentsApiSource = () => Promise<DeploymentsApi>;

export class KubernetesError extends Error {
  override readonly name: string = 'KubernetesError';
  constructor(
    message: string,
    readonly status: number | undefined,
    /** namespace/deployment */
    readonly object: string,
    /** true when the same request may succeed on a later delivery */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export interface KubernetesClusterOptions {
  /** patch attempts when each one meets a 409 (>= 1) */
  readonly maxConflictAttempts?: number;
  /** Deployments read at once */
  readonly readConcurrency?: number;
  readonly conflictDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class KubernetesCluster implements Cluster {
  private readonly api: DeploymentsApiSource;

  constructor(
    api: DeploymentsApi | DeploymentsApiSource,
    private readonly options: KubernetesClusterOptions = {},
  ) {
    this.api = typeof api === 'function' ? api : async () => api;
  }

  async deployments(
    targets: readonly { namespace: string; deployment: string; variant: string; accelerator: string }[],
  ): Promise<DeploymentView[]> {
    const api = await this.api();
    const views = await mapLimit(targets, this.options.readConcurrency ?? 8, async (t) => {
      try {
        const d = await api.readNamespacedDeployment({ name: t.deployment, namespace: t.namespace });
        const view: DeploymentView = {
          variant: t.variant,
          namespace: t.namespace,
          deployment: t.deployment,
          accelerator: t.accelerator,
          // Kubernetes defaults spec.replicas to 1
          desired: d.spec?.replicas ?? 1,
          ready: d.status?.readyReplicas ?? 0,
        };
        return view;
      } catch (err) {
        if (statusOf(err) === 404) return undefined; // absent: the variant has no Deployment there
        throw toKubernetesError(err, t.namespace, t.deployment, 'read deployment');
      }
    });
    return views.filter((v): v is DeploymentView => v !== undefined);
  }

  async scale(namespace: string, deployment: string, replicas: number): Promise<void> {
    const api = await this.api();
    const attempts = Math.max(1, this.options.maxConflictAttempts ?? 5);
    for (let attempt = 1; ; attempt++) {
      let resourceVersion: string | undefined;
      try {
        const current = await api.readNamespacedDeploymentScale({ name: deployment, namespace });
        if (current.spec?.replicas === replicas) return; // already there: no write, no conflict
        resourceVersion = current.metadata?.resourceVersion;
        await api.patchNamespacedDeploymentScale(
          {
            name: deployment,
            namespace,
            body: { metadata: resourceVersion ? { resourceVersion } : {}, spec: { replicas } },
          },
          mergePatch,
        );
        return;
      } catch (err) {
        if (statusOf(err) !== 409 || attempt >= attempts) {
          throw toKubernetesError(
            err,
            namespace,
            deployment,
            statusOf(err) === 409
              ? `scale to ${replicas} (${attempt} conflicts in a row)`
              : `scale to ${replicas}`,
          );
        }
        // Someone else wrote in between: back off a little, re-read, try again.
        await (this.options.sleep ?? defaultSleep)((this.options.conflictDelayMs ?? 50) * attempt);
      }
    }
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function statusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code =
    (err as { code?: unknown; statusCode?: unknown })?.code ?? (err as { statusCode?: unknown })?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The API server's own explanation (Status.message), without headers or the request. */
function serverMessage(err: unknown): string {
  if (!(err instanceof ApiException)) return err instanceof Error ? err.message : String(err);
  let body: unknown = err.body;
  if (typeof body === 'string') {
    const text = body;
    try {
      body = JSON.parse(text);
    } catch {
      return text.slice(0, 300);
    }
  }
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : `HTTP ${err.code}`;
}

export function toKubernetesError(
  err: unknown,
  namespace: string,
  deployment: string,
  what: string,
): KubernetesError {
  if (err instanceof KubernetesError) return err;
  const object = `${namespace}/${deployment}`;
  const status = statusOf(err);
  const detail = serverMessage(err);
  switch (status) {
    case 401:
      return new KubernetesError(
        `deployment ${object}: ${what}: unauthorized (credentials rejected): ${detail}`,
        status,
        object,
        true,
      );
    case 403:
      return new KubernetesError(
        `deployment ${object}: ${what}: forbidden; the scaler's Role must allow it in namespace ${namespace}: ${detail}`,
        status,
        object,
        false,
      );
    case 404:
      return new KubernetesError(
        `deployment ${object}: ${what}: not found: ${detail}`,
        status,
        object,
        false,
      );
    case 409:
      return new KubernetesError(`deployment ${object}: ${what}: conflict: ${detail}`, status, object, true);
    case 422:
      return new KubernetesError(`deployment ${object}: ${what}: invalid: ${detail}`, status, object, false);
    default:
      return new KubernetesError(
        `deployment ${object}: ${what} failed${status ? ` (HTTP ${status})` : ''}: ${detail}`,
        status,
        object,
        true,
      );
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return out;
}
