/**
 * Deployments through the Kubernetes API (@kubernetes/client-node 1.4). Reads Deployments for
 * desired and ready replicas; scales through the `scale` subresource with a JSON merge patch
 * carrying the resourceVersion it read, so a concurrent writer's change is never overwritten
 * blind: a 409 re-reads and retries with the adapters' backoff (bounded), as does a reset of a
 * kept-alive connection (./kubeConfig.ts). 403 and 404 fail at once, naming the object.
 * Needs only get on deployments and get/patch on deployments/scale (deploy/rbac.yaml).
 */
import {
  ApiException,
  PatchStrategy,
  setHeaderOptions,
  type AppsV1Api,
  type CoreV1Api,
} from '@kubernetes/client-node';
import {
  PAUSED_ANNOTATION,
  type Cluster,
  type DeletionCost,
  type DeploymentView,
  type OtherAutoscaler,
  type SeenReplicas,
} from '../../policy/ports.js';
import { withBackoff, type BackoffPolicy } from '../backoff.js';
import { mapLimit } from '../concurrency.js';
import type { OtherAutoscalersReader } from './otherAutoscalers.js';

/** The annotation the ReplicaSet controller orders a scale-down by (Kubernetes 1.22+, beta from 1.22, alpha 1.21). */
export const DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

/** The pod call deletion costs make: a JSON patch (only `patch` on pods, no get or list). */
export type PodsApi = Pick<CoreV1Api, 'patchNamespacedPod'>;

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

/** Re-reads after a 409: tries of read-and-patch, the first included, and the delays between them. */
export const CONFLICT_BACKOFF: BackoffPolicy = { attempts: 5, baseDelayMs: 50, maxDelayMs: 800 };

/**
 * A read on a kept-alive connection the server closed meanwhile (an idle timeout, a Lambda
 * environment thawed after minutes) fails with a reset before any answer: tried again at once,
 * on another connection. Tries, the first included.
 */
export const STALE_CONNECTION_RETRY: BackoffPolicy = { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 };

/** A connection the peer had closed: nothing was answered, so the request can be sent again. */
export function isStaleConnection(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

export interface KubernetesClusterOptions {
  /** Deployments read at once */
  readonly readConcurrency?: number;
  /** when a patch meets a 409 (default CONFLICT_BACKOFF) */
  readonly conflictBackoff?: BackoffPolicy;
  /** HPAs and ScaledObjects (apply's check before acting); without it apply cannot act */
  readonly autoscalers?: OtherAutoscalersReader;
  /** pods, for deletion costs before a scale-down; without it none are set */
  readonly pods?: () => Promise<PodsApi>;
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
        const d = await withBackoff(
          () => api.readNamespacedDeployment({ name: t.deployment, namespace: t.namespace }),
          isStaleConnection,
          STALE_CONNECTION_RETRY,
        );
        const view: DeploymentView = {
          variant: t.variant,
          namespace: t.namespace,
          deployment: t.deployment,
          accelerator: t.accelerator,
          // Kubernetes defaults spec.replicas to 1
          desired: d.spec?.replicas ?? 1,
          ready: d.status?.readyReplicas ?? 0,
          ...(d.metadata?.annotations?.[PAUSED_ANNOTATION] === 'true' ? { paused: true } : {}),
          ...(d.metadata?.resourceVersion ? { resourceVersion: d.metadata.resourceVersion } : {}),
        };
        return view;
      } catch (err) {
        if (statusOf(err) === 404) return undefined; // absent: the variant has no Deployment there
        throw toKubernetesError(err, t.namespace, t.deployment, 'read deployment');
      }
    });
    return views.filter((v): v is DeploymentView => v !== undefined);
  }

  /**
   * With `seen` (apply has just read the Deployment, whose resourceVersion its scale shares), the
   * first try patches against it without reading the scale again: the same guarantee (the patch
   * carries a version the server checks) for one request less; a 409 re-reads as before.
   */
  async scale(namespace: string, deployment: string, replicas: number, seen?: SeenReplicas): Promise<void> {
    const api = await this.api();
    const policy = this.options.conflictBackoff ?? CONFLICT_BACKOFF;
    let tried = 0;
    try {
      // Someone else wrote between read and patch (409): back off, re-read, try again.
      await withBackoff(
        async (attempt) => {
          tried = attempt;
          const current =
            attempt === 1 && seen
              ? { spec: { replicas: seen.desired }, metadata: { resourceVersion: seen.resourceVersion } }
              : await api.readNamespacedDeploymentScale({ name: deployment, namespace });
          if (current.spec?.replicas === replicas) return; // already there: no write, no conflict
          const resourceVersion = current.metadata?.resourceVersion;
          await api.patchNamespacedDeploymentScale(
            {
              name: deployment,
              namespace,
              body: { metadata: resourceVersion ? { resourceVersion } : {}, spec: { replicas } },
            },
            mergePatch,
          );
        },
        // a 409, or a kept-alive connection found closed: the read-and-patch is safe to repeat
        (err) => statusOf(err) === 409 || isStaleConnection(err),
        policy,
      );
    } catch (err) {
      // A 409 reaches here only when every try met one.
      throw toKubernetesError(
        err,
        namespace,
        deployment,
        statusOf(err) === 409 ? `scale to ${replicas} (${tried} conflicts in a row)` : `scale to ${replicas}`,
      );
    }
  }

  async otherAutoscalers(namespace: string): Promise<OtherAutoscaler[]> {
    if (!this.options.autoscalers)
      throw new KubernetesError(
        `no reader of HPAs and ScaledObjects is wired: apply cannot tell whether another autoscaler scales namespace ${namespace}'s Deployments`,
        undefined,
        namespace,
        false,
      );
    return this.options.autoscalers.list(namespace);
  }

  /**
   * One JSON patch per pod: `test` operations on the Deployment's matchLabels first, so a pod
   * that is not the Deployment's is refused by the API server (422) and never written, then the
   * annotation. A pod without annotations has no map to add to: the second form creates it,
   * behind the same tests. Only `patch` on pods is needed.
   */
  async setDeletionCosts(
    namespace: string,
    deployment: string,
    costs: readonly DeletionCost[],
  ): Promise<string[]> {
    if (!this.options.pods || costs.length === 0) return [];
    const api = await this.api();
    let selector: Record<string, string> | undefined;
    try {
      const d = await api.readNamespacedDeployment({ name: deployment, namespace });
      selector = d.spec?.selector?.matchLabels;
    } catch (err) {
      if (statusOf(err) === 404) return [];
      throw toKubernetesError(err, namespace, deployment, 'read deployment');
    }
    // Without labels to test, a pod's ownership cannot be checked: none is written.
    if (!selector || Object.keys(selector).length === 0) return [];
    const tests = Object.entries(selector).map(([k, v]) => ({
      op: 'test',
      path: `/metadata/labels/${pointer(k)}`,
      value: v,
    }));
    const pods = await this.options.pods();
    const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
    const set: string[] = [];
    // A Deployment's pods are named <deployment>-<template hash>-<suffix> by its ReplicaSets:
    // others are not even tried (the tests below remain the check of ownership).
    const own = costs.filter((c) => c.pod.startsWith(`${deployment}-`));
    for (const { pod, cost } of own) {
      const value = String(cost);
      const forms = [
        [...tests, { op: 'add', path: `/metadata/annotations/${pointer(DELETION_COST_ANNOTATION)}`, value }],
        [
          ...tests,
          { op: 'add', path: '/metadata/annotations', value: { [DELETION_COST_ANNOTATION]: value } },
        ],
      ];
      for (const [i, body] of forms.entries()) {
        try {
          await pods.patchNamespacedPod({ name: pod, namespace, body }, jsonPatch);
          set.push(pod);
          break;
        } catch (err) {
          const status = statusOf(err);
          if (status === 404) break; // gone since evaluate saw it
          // 422: a test failed (not the Deployment's pod) or, on the first form, no map to add to
          if (status === 422 && i === 0) continue;
          if (status === 422) break;
          throw toKubernetesError(err, namespace, deployment, `set the deletion cost of pod ${pod}`);
        }
      }
    }
    return set;
  }
}

/** RFC 6901: `~` and `/` in a key are escaped in a JSON pointer. */
const pointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

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
