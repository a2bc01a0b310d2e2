/** KubernetesCluster with a scripted API: the patch it sends, its bounded conflict retry, its errors. */
import { ApiException, type V1Scale } from '@kubernetes/client-node';
import {
  KubernetesCluster,
  KubernetesError,
  type DeploymentsApi,
} from '../../../lib/adapters/kubernetes/index.js';

const status = (code: number, message: string) =>
  new ApiException(code, 'Unknown API Status Code!', JSON.stringify({ kind: 'Status', code, message }), {
    'www-authenticate': 'Bearer realm="secret-realm"',
  });

type Patch = { name: string; namespace: string; body: unknown; contentType: string | undefined };

function fakeApi(script: { reads?: (V1Scale | Error)[]; patches?: (Error | undefined)[] }) {
  const patches: Patch[] = [];
  let reads = 0;
  const api = {
    readNamespacedDeployment: async () => {
      throw new Error('unused');
    },
    readNamespacedDeploymentScale: async () => {
      const r = script.reads?.[Math.min(reads++, (script.reads?.length ?? 1) - 1)];
      if (r instanceof Error) throw r;
      return r ?? {};
    },
    patchNamespacedDeploymentScale: async (
      p: { name: string; namespace: string; body: unknown },
      options?: { middleware?: { pre: (r: unknown) => unknown }[] },
    ) => {
      // Run the options' middleware on a stand-in request to see the content type it sets.
      let contentType: string | undefined;
      for (const m of options?.middleware ?? []) {
        m.pre({ setHeaderParam: (k: string, v: string) => void (k === 'Content-Type' && (contentType = v)) });
      }
      patches.push({ ...p, contentType });
      const fault = script.patches?.[patches.length - 1];
      if (fault) throw fault;
      return {};
    },
  } as unknown as DeploymentsApi;
  return { api, patches, reads: () => reads };
}

const scale = (replicas: number, resourceVersion: string): V1Scale => ({
  metadata: { resourceVersion },
  spec: { replicas },
});
const sleeps: number[] = [];
const conflictBackoff = (attempts: number) => ({
  attempts,
  baseDelayMs: 50,
  maxDelayMs: 120,
  random: () => 1,
  sleep: async (ms: number) => void sleeps.push(ms),
});
const noSleep = { conflictBackoff: conflictBackoff(5) };

beforeEach(() => {
  sleeps.length = 0;
});

test('patches the scale subresource with a JSON merge patch carrying the resourceVersion read', async () => {
  const { api, patches } = fakeApi({ reads: [scale(1, '41')] });
  await new KubernetesCluster(api, noSleep).scale('llm', 'chat', 3);
  expect(patches).toEqual([
    {
      name: 'chat',
      namespace: 'llm',
      body: { metadata: { resourceVersion: '41' }, spec: { replicas: 3 } },
      contentType: 'application/merge-patch+json',
    },
  ]);
});

test('on 409 it re-reads and patches with the new resourceVersion; bounded', async () => {
  const conflict = status(
    409,
    'the object has been modified; please apply your changes to the latest version',
  );
  const ok = fakeApi({ reads: [scale(1, '41'), scale(5, '42')], patches: [conflict] });
  await new KubernetesCluster(ok.api, noSleep).scale('llm', 'chat', 3);
  expect(
    ok.patches.map((p) => (p.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion),
  ).toEqual(['41', '42']);
  expect(sleeps).toEqual([50]);
  sleeps.length = 0;

  const stuck = fakeApi({ reads: [scale(1, '41')], patches: [conflict, conflict, conflict, conflict] });
  const err = await new KubernetesCluster(stuck.api, { conflictBackoff: conflictBackoff(4) })
    .scale('llm', 'chat', 3)
    .catch((e: unknown) => e);
  expect(stuck.patches).toHaveLength(4);
  expect(sleeps).toEqual([50, 100, 120]); // doubling, capped
  expect(err).toMatchObject({ status: 409, retryable: true });
  expect((err as Error).message).toBe(
    'deployment llm/chat: scale to 3 (4 conflicts in a row): conflict: the object has been modified; please apply your changes to the latest version',
  );
});

test.each([
  [403, 'forbidden', false],
  [404, 'not found', false],
  [422, 'invalid', false],
  [500, 'failed (HTTP 500)', true],
])('HTTP %i is reported once, naming the object (%s), retryable %s', async (code, words, retryable) => {
  const { api, patches, reads } = fakeApi({
    reads: [scale(1, '7')],
    patches: [status(code, 'server says no')],
  });
  const err = await new KubernetesCluster(api, noSleep).scale('team-a', 'chat', 2).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(KubernetesError);
  expect(err).toMatchObject({ status: code, object: 'team-a/chat', retryable });
  expect((err as Error).message).toContain(`deployment team-a/chat: scale to 2`);
  expect((err as Error).message).toContain(words);
  expect((err as Error).message).toContain('server says no');
  // Only the server's explanation: no headers, no credentials.
  expect((err as Error).message).not.toContain('secret-realm');
  expect(patches).toHaveLength(1);
  expect(reads()).toBe(1);
  expect(sleeps).toEqual([]);
});

test("with what apply's read just saw, the first try patches against it without reading the scale again", async () => {
  const { api, patches, reads } = fakeApi({ reads: [scale(1, '50')] });
  await new KubernetesCluster(api, noSleep).scale('llm', 'chat', 3, { desired: 1, resourceVersion: '44' });
  expect(reads()).toBe(0);
  expect(patches.map((p) => p.body)).toEqual([
    { metadata: { resourceVersion: '44' }, spec: { replicas: 3 } },
  ]);
});

test('a version seen before another writer changed the Deployment meets a 409, and the retry re-reads', async () => {
  const conflict = status(409, 'the object has been modified');
  const { api, patches, reads } = fakeApi({ reads: [scale(2, '45')], patches: [conflict] });
  await new KubernetesCluster(api, noSleep).scale('llm', 'chat', 3, { desired: 1, resourceVersion: '44' });
  expect(reads()).toBe(1);
  expect(
    patches.map((p) => (p.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion),
  ).toEqual(['44', '45']);
  // the re-read finds it already at the target: no second write
  const there = fakeApi({ reads: [scale(3, '46')], patches: [conflict] });
  await new KubernetesCluster(there.api, noSleep).scale('llm', 'chat', 3, {
    desired: 1,
    resourceVersion: '44',
  });
  expect(there.reads()).toBe(1);
  expect(there.patches).toHaveLength(1);
});

test('a Deployment already at the target is left alone', async () => {
  const { api, patches } = fakeApi({ reads: [scale(3, '9')] });
  await new KubernetesCluster(api, noSleep).scale('llm', 'chat', 3);
  expect(patches).toEqual([]);
  const seen = fakeApi({});
  await new KubernetesCluster(seen.api, noSleep).scale('llm', 'chat', 3, {
    desired: 3,
    resourceVersion: '9',
  });
  expect([seen.reads(), seen.patches.length]).toEqual([0, 0]);
});

test('a network error is retryable and names the object', async () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
  const { api } = fakeApi({ reads: [refused] });
  await expect(new KubernetesCluster(api, noSleep).scale('llm', 'chat', 3)).rejects.toMatchObject({
    retryable: true,
    object: 'llm/chat',
    message: 'deployment llm/chat: scale to 3 failed: connect ECONNREFUSED 127.0.0.1:6443',
  });
});

test('a kept-alive connection found closed (ECONNRESET) is tried again on another, for reads and patches', async () => {
  const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  const { api, patches, reads } = fakeApi({ reads: [reset(), scale(1, '41')], patches: [reset()] });
  await new KubernetesCluster(api, noSleep).scale('llm', 'chat', 3);
  expect(reads()).toBe(3); // the reset read, the read before the reset patch, the read before the one that went through
  expect(patches).toHaveLength(2);

  let tries = 0;
  const reader = {
    ...api,
    readNamespacedDeployment: async () => {
      if (tries++ === 0) throw reset();
      return { metadata: { resourceVersion: '12' }, spec: { replicas: 2 }, status: { readyReplicas: 2 } };
    },
  } as unknown as DeploymentsApi;
  const views = await new KubernetesCluster(reader).deployments([
    { namespace: 'llm', deployment: 'chat', variant: 'llm/chat', accelerator: 'L4' },
  ]);
  expect(views).toMatchObject([{ deployment: 'chat', desired: 2, resourceVersion: '12' }]);
  expect(tries).toBe(2);
});
