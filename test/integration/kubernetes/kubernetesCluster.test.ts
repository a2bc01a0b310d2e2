/**
 * KubernetesCluster and the shipped RBAC against a real kube-apiserver: the scaler's token can
 * read Deployments and scale them in namespaces bound to its Role and nothing else; conflicts
 * are re-read and retried (bounded); 403 and 404 fail at once, naming the object.
 */
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { resolve } from 'node:path';
import { jest } from '@jest/globals';
import { ApiException, AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  appsApiFromKubeconfig,
  appsApiFromToken,
  KubernetesCluster,
  KubernetesError,
  type DeploymentsApi,
} from '../../../lib/adapters/kubernetes/index.js';
import {
  applyManifest,
  createDeployment,
  createNamespace,
  replicasOf,
  READER_TOKEN,
  SCALER_TOKEN,
  setReadyReplicas,
  startKubeApiServer,
  type KubeServer,
} from './kubeApiServer.js';

jest.setTimeout(120_000);

let kube: KubeServer | undefined;
const k = () => kube!;

beforeAll(async () => {
  kube = await startKubeApiServer();
  for (const ns of ['llm', 'llm-batch', 'restricted']) await createNamespace(k().admin, ns);
  await applyManifest(k().admin, resolve('deploy/rbac.yaml'));
  await applyManifest(k().admin, resolve('deploy/rbac-cluster.yaml'));
  for (const [ns, name, replicas] of [
    ['llm', 'chat', 1],
    ['llm', 'code', 2],
    ['llm', 'conflict', 1],
    ['llm', 'contested', 1],
    ['llm', 'steady', 4],
    ['llm-batch', 'batch', 1],
    ['restricted', 'chat', 1],
  ] as const) {
    await createDeployment(k().admin, ns, name, replicas);
  }
  await k()
    .admin.makeApiClient(CoreV1Api)
    .createNamespacedSecret({
      namespace: 'llm',
      body: { metadata: { name: 'hf-token' }, stringData: { token: 'x' } },
    });
});

afterAll(async () => {
  await kube?.stop();
});

const statusOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 200;
  } catch (err) {
    return err instanceof ApiException ? err.code : -1;
  }
};

/** The scaler's API calls, counted, with a hook before each patch. */
function instrumented(api: DeploymentsApi, beforePatch?: (attempt: number) => Promise<void>) {
  const calls = { reads: 0, patches: 0, patchStatuses: [] as number[] };
  const wrapped: DeploymentsApi = {
    readNamespacedDeployment: (p, o) => api.readNamespacedDeployment(p, o),
    readNamespacedDeploymentScale: (p, o) => {
      calls.reads++;
      return api.readNamespacedDeploymentScale(p, o);
    },
    patchNamespacedDeploymentScale: async (p, o) => {
      calls.patches++;
      await beforePatch?.(calls.patches);
      try {
        const out = await api.patchNamespacedDeploymentScale(p, o);
        calls.patchStatuses.push(200);
        return out;
      } catch (err) {
        calls.patchStatuses.push(err instanceof ApiException ? err.code : -1);
        throw err;
      }
    },
  };
  return { wrapped, calls };
}

/** Another writer (an operator with kubectl, an HPA) changing the replicas: a new resourceVersion. */
async function concurrentWrite(namespace: string, name: string, replicas: number) {
  await k()
    .admin.makeApiClient(AppsV1Api)
    .patchNamespacedDeploymentScale(
      { name, namespace, body: { spec: { replicas } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
}

describe('the shipped Roles: apply scales (sva-scaler), evaluate reads (sva-reader)', () => {
  test('apply scales a Deployment in its namespace; evaluate reads desired and ready replicas', async () => {
    const cluster = new KubernetesCluster(k().scaler.makeApiClient(AppsV1Api));
    await cluster.scale('llm', 'chat', 3);
    expect(await replicasOf(k().admin, 'llm', 'chat')).toBe(3);
    await setReadyReplicas(k().admin, 'llm', 'chat', 2);
    const views = await new KubernetesCluster(k().reader.makeApiClient(AppsV1Api)).deployments([
      { namespace: 'llm', deployment: 'chat', variant: 'llm/chat', accelerator: 'L4' },
      { namespace: 'llm', deployment: 'absent', variant: 'llm/absent', accelerator: 'L4' },
    ]);
    expect(views).toEqual([
      {
        namespace: 'llm',
        deployment: 'chat',
        variant: 'llm/chat',
        accelerator: 'L4',
        desired: 3,
        ready: 2,
        resourceVersion: expect.stringMatching(/^\d+$/),
      },
    ]);
  });

  test('cannot delete a Deployment, change its spec, list Deployments or read a Secret', async () => {
    const apps = k().scaler.makeApiClient(AppsV1Api);
    const core = k().scaler.makeApiClient(CoreV1Api);
    expect(await statusOf(apps.deleteNamespacedDeployment({ name: 'code', namespace: 'llm' }))).toBe(403);
    expect(await statusOf(core.readNamespacedSecret({ name: 'hf-token', namespace: 'llm' }))).toBe(403);
    expect(await statusOf(core.listNamespacedSecret({ namespace: 'llm' }))).toBe(403);
    expect(await statusOf(apps.listNamespacedDeployment({ namespace: 'llm' }))).toBe(403);
    expect(
      await statusOf(
        apps.patchNamespacedDeployment(
          {
            name: 'code',
            namespace: 'llm',
            body: { spec: { template: { spec: { containers: [{ name: 'vllm', image: 'evil' }] } } } },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      ),
    ).toBe(403);
    // The Deployment is still there, unchanged, as the admin sees it.
    expect(await replicasOf(k().admin, 'llm', 'code')).toBe(2);
  });

  test('the ClusterRole variant grants exactly the namespaces bound to it', async () => {
    const cluster = new KubernetesCluster(k().scaler.makeApiClient(AppsV1Api));
    await cluster.scale('llm-batch', 'batch', 2);
    expect(await replicasOf(k().admin, 'llm-batch', 'batch')).toBe(2);
    const views = await new KubernetesCluster(k().reader.makeApiClient(AppsV1Api)).deployments([
      { namespace: 'llm-batch', deployment: 'batch', variant: 'llm-batch/batch', accelerator: 'L4' },
    ]);
    expect(views[0]?.desired).toBe(2);
  });

  test('evaluate can read Deployments but not read or patch their scale, nor change them', async () => {
    const apps = k().reader.makeApiClient(AppsV1Api);
    expect(await statusOf(apps.readNamespacedDeployment({ name: 'code', namespace: 'llm' }))).toBe(200);
    expect(
      await statusOf(
        apps.patchNamespacedDeploymentScale(
          { name: 'code', namespace: 'llm', body: { spec: { replicas: 7 } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      ),
    ).toBe(403);
    expect(await statusOf(apps.readNamespacedDeploymentScale({ name: 'code', namespace: 'llm' }))).toBe(403);
    const d = await k()
      .admin.makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: 'code', namespace: 'llm' });
    expect(
      await statusOf(apps.replaceNamespacedDeployment({ name: 'code', namespace: 'llm', body: d })),
    ).toBe(403);
    expect(await statusOf(apps.listNamespacedDeployment({ namespace: 'llm' }))).toBe(403);
    await expect(new KubernetesCluster(apps).scale('llm', 'code', 7)).rejects.toMatchObject({ status: 403 });
    expect(await replicasOf(k().admin, 'llm', 'code')).toBe(2);
  });

  test('apply can patch the scale but not update it (PUT), and read but not update the Deployment', async () => {
    const apps = k().scaler.makeApiClient(AppsV1Api);
    const scale = await apps.readNamespacedDeploymentScale({ name: 'steady', namespace: 'llm' });
    expect(
      await statusOf(
        apps.replaceNamespacedDeploymentScale({
          name: 'steady',
          namespace: 'llm',
          body: { ...scale, spec: { replicas: 6 } },
        }),
      ),
    ).toBe(403);
    const d = await k()
      .admin.makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: 'steady', namespace: 'llm' });
    expect(
      await statusOf(apps.replaceNamespacedDeployment({ name: 'steady', namespace: 'llm', body: d })),
    ).toBe(403);
    // it may read the Deployment (the capacity providers' live check), never change it
    expect(await statusOf(apps.readNamespacedDeployment({ name: 'steady', namespace: 'llm' }))).toBe(200);
    expect(await replicasOf(k().admin, 'llm', 'steady')).toBe(4);
    expect(
      await statusOf(
        apps.patchNamespacedDeploymentScale(
          { name: 'steady', namespace: 'llm', body: { spec: { replicas: 4 } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      ),
    ).toBe(200);
  });
});

describe('failures name the object and are not retried', () => {
  test('a namespace without a binding is a 403 naming namespace/deployment, tried once', async () => {
    const { wrapped, calls } = instrumented(k().scaler.makeApiClient(AppsV1Api));
    const cluster = new KubernetesCluster(wrapped);
    const err = await cluster.scale('restricted', 'chat', 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubernetesError);
    expect(err).toMatchObject({ status: 403, object: 'restricted/chat', retryable: false });
    expect((err as Error).message).toMatch(/^deployment restricted\/chat: scale to 3: forbidden/);
    expect((err as Error).message).toContain(SCALER_USER_TEXT);
    expect(calls.reads).toBe(1);
    expect(calls.patches).toBe(0);
    expect(await replicasOf(k().admin, 'restricted', 'chat')).toBe(1);
    const read = await new KubernetesCluster(k().reader.makeApiClient(AppsV1Api))
      .deployments([
        { namespace: 'restricted', deployment: 'chat', variant: 'restricted/chat', accelerator: 'L4' },
      ])
      .catch((e: unknown) => e);
    expect(read).toMatchObject({ status: 403, object: 'restricted/chat' });
  });

  test('a missing Deployment is a 404 naming it', async () => {
    const cluster = new KubernetesCluster(k().scaler.makeApiClient(AppsV1Api));
    await expect(cluster.scale('llm', 'missing', 2)).rejects.toMatchObject({
      name: 'KubernetesError',
      status: 404,
      object: 'llm/missing',
      retryable: false,
      message: expect.stringContaining('deployment llm/missing: scale to 2: not found'),
    });
  });
});

const SCALER_USER_TEXT = 'User "sva-apply" cannot get resource "deployments/scale"';

describe('optimistic concurrency on the scale subresource', () => {
  test('a concurrent writer between read and patch gives a real 409; the re-read retry wins', async () => {
    const { wrapped, calls } = instrumented(k().scaler.makeApiClient(AppsV1Api), async (attempt) => {
      if (attempt === 1) await concurrentWrite('llm', 'conflict', 7);
    });
    const cluster = new KubernetesCluster(wrapped, {
      conflictBackoff: { attempts: 5, baseDelayMs: 1, maxDelayMs: 1 },
    });
    await cluster.scale('llm', 'conflict', 3);
    expect(calls.patchStatuses).toEqual([409, 200]);
    expect(calls.reads).toBe(2);
    expect(await replicasOf(k().admin, 'llm', 'conflict')).toBe(3);
  });

  test("the version apply's read saw is the scale's: patched without a second read; once stale, a real 409 and a re-read", async () => {
    const apps = k().scaler.makeApiClient(AppsV1Api);
    const read = async () => {
      const [view] = await new KubernetesCluster(apps).deployments([
        { namespace: 'llm', deployment: 'conflict', variant: 'llm/conflict', accelerator: 'L4' },
      ]);
      return { desired: view!.desired, resourceVersion: view!.resourceVersion! };
    };
    const fresh = instrumented(apps, async () => {});
    await new KubernetesCluster(fresh.wrapped).scale('llm', 'conflict', 4, await read());
    expect(fresh.calls).toMatchObject({ reads: 0, patchStatuses: [200] });
    expect(await replicasOf(k().admin, 'llm', 'conflict')).toBe(4);

    const seen = await read();
    await concurrentWrite('llm', 'conflict', 6);
    const stale = instrumented(apps, async () => {});
    await new KubernetesCluster(stale.wrapped, {
      conflictBackoff: { attempts: 5, baseDelayMs: 1, maxDelayMs: 1 },
    }).scale('llm', 'conflict', 5, seen);
    expect(stale.calls).toMatchObject({ reads: 1, patchStatuses: [409, 200] });
    expect(await replicasOf(k().admin, 'llm', 'conflict')).toBe(5);
  });

  test('conflicts on every attempt stop after the bound with a clear error', async () => {
    let n = 10;
    const { wrapped, calls } = instrumented(k().scaler.makeApiClient(AppsV1Api), async () => {
      await concurrentWrite('llm', 'contested', n++);
    });
    const cluster = new KubernetesCluster(wrapped, {
      conflictBackoff: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
    });
    await expect(cluster.scale('llm', 'contested', 2)).rejects.toMatchObject({
      status: 409,
      object: 'llm/contested',
      retryable: true,
      message: expect.stringContaining('3 conflicts in a row'),
    });
    expect(calls.patchStatuses).toEqual([409, 409, 409]);
    expect(await replicasOf(k().admin, 'llm', 'contested')).toBe(12);
  });

  test('a Deployment already at the target is not written (no new resourceVersion)', async () => {
    const apps = k().admin.makeApiClient(AppsV1Api);
    const before = (await apps.readNamespacedDeployment({ name: 'steady', namespace: 'llm' })).metadata
      ?.resourceVersion;
    const { wrapped, calls } = instrumented(k().scaler.makeApiClient(AppsV1Api));
    await new KubernetesCluster(wrapped).scale('llm', 'steady', 4);
    expect(calls.patches).toBe(0);
    const after = (await apps.readNamespacedDeployment({ name: 'steady', namespace: 'llm' })).metadata
      ?.resourceVersion;
    expect(after).toBe(before);
  });
});

describe('credentials', () => {
  test('kubeconfig files with the scaler and reader tokens (local use)', async () => {
    const cluster = new KubernetesCluster(appsApiFromKubeconfig(k().writeKubeconfig(SCALER_TOKEN)));
    await cluster.scale('llm', 'code', 2);
    const reader = new KubernetesCluster(appsApiFromKubeconfig(k().writeKubeconfig(READER_TOKEN)));
    const views = await reader.deployments([
      { namespace: 'llm', deployment: 'code', variant: 'llm/code', accelerator: 'H100' },
    ]);
    expect(views[0]?.desired).toBe(2);
  });

  test('endpoint + CA + a renewed bearer token (the Lambda path) rebuild the client when the token changes', async () => {
    const tokens = ['expired-token', SCALER_TOKEN];
    let asked = 0;
    const source = appsApiFromToken({
      name: 'eks',
      server: k().server,
      caData: k().caData,
      token: async () => tokens[Math.min(asked++, tokens.length - 1)]!,
    });
    const cluster = new KubernetesCluster(source);
    await expect(cluster.scale('llm', 'chat', 4)).rejects.toMatchObject({ status: 401, retryable: true });
    await cluster.scale('llm', 'chat', 4);
    expect(await replicasOf(k().admin, 'llm', 'chat')).toBe(4);
    expect(asked).toBe(2);
  });

  test('requests share kept-alive TLS connections instead of one handshake each', async () => {
    const reused: boolean[] = [];
    const count = (message: unknown) =>
      void reused.push((message as { request: ClientRequest }).request.reusedSocket);
    diagnostics.subscribe('http.client.response.finish', count);
    try {
      const reader = new KubernetesCluster(appsApiFromKubeconfig(k().writeKubeconfig(READER_TOKEN)), {
        readConcurrency: 2,
      });
      const targets = Array.from({ length: 12 }, () => ({
        namespace: 'llm',
        deployment: 'code',
        variant: 'llm/code',
        accelerator: 'H100',
      }));
      expect(await reader.deployments(targets)).toHaveLength(12);
      // two reads at a time: two connections, kept for the other ten reads
      expect(reused).toHaveLength(12);
      expect(reused.filter((r) => !r).length).toBeLessThanOrEqual(2);
    } finally {
      diagnostics.unsubscribe('http.client.response.finish', count);
    }
  });
});
