/**
 * The other autoscalers of a namespace that set Deployments' replicas: HorizontalPodAutoscalers
 * and KEDA ScaledObjects (keda.sh/v1alpha1, a custom resource: present only where KEDA is
 * installed). Which versions the API server serves is asked once (discovery, `/apis`) and kept
 * for a while: autoscaling/v2 from Kubernetes 1.23, autoscaling/v2beta2 before (1.12 to 1.25),
 * v1 everywhere; every one of them has spec.scaleTargetRef, and each says in its own shape what
 * it scales on (./scalesOn.ts). Both are read with the generic
 * custom-objects client, which is a plain GET of /apis/{group}/{version}/namespaces/{ns}/{plural}.
 *
 * A namespace's list is kept for `ttlSeconds` (and shared by concurrent callers), so a batch of
 * decisions of one namespace reads it once, not once per decision. Needs get/list on
 * horizontalpodautoscalers and scaledobjects in the namespace (deploy/rbac.yaml).
 */
import type { ApisApi, CustomObjectsApi } from '@kubernetes/client-node';
import { z } from 'zod';
import type { OtherAutoscaler } from '../../policy/ports.js';
import { statusOf } from './clusterNodes.js';
import { KubernetesError } from './kubernetesCluster.js';
import { hpaScalesOn, scaledObjectScalesOn } from './scalesOn.js';

export interface AutoscalersApi {
  readonly custom: Pick<CustomObjectsApi, 'listNamespacedCustomObject'>;
  readonly apis: Pick<ApisApi, 'getAPIVersions'>;
}

/** autoscaling versions in the order of preference: the newest the server serves is read. */
export const HPA_VERSIONS = ['v2', 'v2beta2', 'v2beta1', 'v1'] as const;
export const KEDA_GROUP = 'keda.sh';
export const KEDA_VERSION = 'v1alpha1';

export interface OtherAutoscalersOptions {
  /** how long a namespace's list is kept (default 10 s: a batch, not an evaluation interval) */
  readonly ttlSeconds?: number;
  /** how long discovery is kept (default 300 s: KEDA installed later is seen within it) */
  readonly discoveryTtlSeconds?: number;
  /** epoch seconds (tests) */
  readonly now?: () => number;
}

interface Served {
  /** the autoscaling version read */
  readonly hpa: string;
  readonly keda: boolean;
}

interface Cached<T> {
  readonly until: number;
  readonly value: Promise<T>;
}

/**
 * What names the Deployment an object scales, read with zod: an object whose target cannot be
 * read is not one of a Deployment's. The rest of the spec is kept for what it scales on.
 */
const listedObject = z.object({
  metadata: z.object({ name: z.string().optional() }).optional(),
  spec: z
    .object({
      scaleTargetRef: z.object({ kind: z.string().optional(), name: z.string().optional() }).optional(),
    })
    .loose()
    .optional(),
});

export class OtherAutoscalersReader {
  private served: Cached<Served> | undefined;
  private readonly lists = new Map<string, Cached<OtherAutoscaler[]>>();
  /** list requests made, by kind: what a test counts to see the cache at work */
  readonly requests = { hpa: 0, scaledObject: 0, discovery: 0 };

  constructor(
    private readonly api: () => Promise<AutoscalersApi>,
    private readonly options: OtherAutoscalersOptions = {},
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now() / 1000;
  }

  /** The HPAs and ScaledObjects of the namespace whose scaleTargetRef is a Deployment. */
  list(namespace: string): Promise<OtherAutoscaler[]> {
    const now = this.now();
    const hit = this.lists.get(namespace);
    if (hit && hit.until > now) return hit.value;
    const value = this.read(namespace);
    this.lists.set(namespace, { until: now + (this.options.ttlSeconds ?? 10), value });
    // A failure is not kept: the next decision asks again.
    value.catch(() => this.lists.delete(namespace));
    return value;
  }

  private discover(): Promise<Served> {
    const now = this.now();
    if (this.served && this.served.until > now) return this.served.value;
    const value = (async () => {
      const { apis } = await this.api();
      this.requests.discovery++;
      let groups;
      try {
        groups = (await apis.getAPIVersions()).groups ?? [];
      } catch (err) {
        throw failure(err, '', 'discover the API groups (/apis)');
      }
      const versions = (name: string) =>
        new Set((groups.find((g) => g.name === name)?.versions ?? []).map((v) => v.version));
      const autoscaling = versions('autoscaling');
      return {
        hpa: HPA_VERSIONS.find((v) => autoscaling.has(v)) ?? 'v1',
        keda: versions(KEDA_GROUP).has(KEDA_VERSION),
      };
    })();
    this.served = { until: now + (this.options.discoveryTtlSeconds ?? 300), value };
    value.catch(() => (this.served = undefined));
    return value;
  }

  private async read(namespace: string): Promise<OtherAutoscaler[]> {
    const served = await this.discover();
    const { custom } = await this.api();
    const list = async (group: string, version: string, plural: string): Promise<unknown[]> => {
      try {
        const out = (await custom.listNamespacedCustomObject({ group, version, namespace, plural })) as {
          items?: unknown[];
        };
        return out.items ?? [];
      } catch (err) {
        // A custom resource removed since discovery: none of it exists any more.
        if (group === KEDA_GROUP && statusOf(err) === 404) return [];
        if (statusOf(err) === 404) this.served = undefined; // the server changed: discover again
        throw failure(err, namespace, `list ${plural}.${group}/${version}`);
      }
    };
    this.requests.hpa++;
    const hpas = await list('autoscaling', served.hpa, 'horizontalpodautoscalers');
    let scaledObjects: unknown[] = [];
    if (served.keda) {
      this.requests.scaledObject++;
      scaledObjects = await list(KEDA_GROUP, KEDA_VERSION, 'scaledobjects');
    }
    return [
      ...targets(hpas, 'HorizontalPodAutoscaler', `autoscaling/${served.hpa}`, namespace),
      ...targets(scaledObjects, 'ScaledObject', `${KEDA_GROUP}/${KEDA_VERSION}`, namespace),
    ];
  }
}

/**
 * Those of the objects that scale a Deployment (a ScaledObject's kind defaults to Deployment),
 * with what each scales on: read with the schema of the version it was listed with.
 */
function targets(
  items: readonly unknown[],
  kind: OtherAutoscaler['kind'],
  apiVersion: string,
  namespace: string,
): OtherAutoscaler[] {
  const version = apiVersion.split('/')[1]!;
  return items.flatMap((item) => {
    const parsed = listedObject.safeParse(item);
    if (!parsed.success) return [];
    const o = parsed.data;
    const ref = o.spec?.scaleTargetRef;
    const targetKind = ref?.kind ?? (kind === 'ScaledObject' ? 'Deployment' : undefined);
    if (!ref?.name || targetKind !== 'Deployment') return [];
    const read = kind === 'ScaledObject' ? scaledObjectScalesOn(o.spec) : hpaScalesOn(version, o.spec);
    const named = { kind, apiVersion, namespace, name: o.metadata?.name ?? '', deployment: ref.name };
    return ['unread' in read ? { ...named, scalesOn: [], unread: read.unread } : { ...named, ...read }];
  });
}

function failure(err: unknown, namespace: string, what: string): KubernetesError {
  const status = statusOf(err);
  const message = err instanceof Error ? err.message : String(err);
  const hint =
    status === 403
      ? `: forbidden; apply's Role must allow get and list on horizontalpodautoscalers and scaledobjects in namespace ${namespace} (deploy/rbac.yaml)`
      : '';
  return new KubernetesError(
    `${what}${namespace ? ` in namespace ${namespace}` : ''}${status ? ` (HTTP ${status})` : ''}${hint}: ${message.slice(0, 300)}`,
    status,
    namespace,
    status === undefined || status >= 500 || status === 429 || status === 401,
  );
}
