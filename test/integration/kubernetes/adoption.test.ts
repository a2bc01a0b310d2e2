/**
 * Adopting sva against a real kube-apiserver (1.20: it serves autoscaling/v2beta2, not v2) with
 * the shipped RBAC (deploy/rbac.yaml) and KEDA's ScaledObject CRD (stack/keda-crds.yaml): apply,
 * on the scaler's token, refuses a Deployment an HPA or a ScaledObject scales (in act mode), is
 * held by shadow and advise modes and by the pause annotation, in advise mode says whether an
 * HPA or ScaledObject scales on the advice, the variant's own by its selector or query (and skips
 * that check on a 403), reads each namespace's other
 * autoscalers once per batch, and sets pod-deletion-cost on the Deployment's own pods only.
 * The shipped advise examples (deploy/advise/) are created here too: the server accepts them.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { jest } from '@jest/globals';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import {
  DELETION_COST_ANNOTATION,
  kubeApis,
  KubernetesCluster,
  OtherAutoscalersReader,
} from '../../../lib/adapters/kubernetes/index.js';
import {
  ManualClock,
  MemoryCapacityProvider,
  MemoryDecisionState,
  MemoryTelemetrySink,
} from '../../../lib/adapters/memory/index.js';
import type { Config } from '../../../lib/config/schema.js';
import { applyMessage, type ApplyDeps, type ApplyOutcome } from '../../../lib/loop/apply.js';
import type { DecisionRecord } from '../../../lib/policy/decisionRecord.js';
import { APPLY_CONFIG } from '../../loop/applyConfig.js';
import { fixtureDecision, ISSUED_AT } from '../../loop/decisionFixture.js';
import {
  applyManifest,
  createDeployment,
  createNamespace,
  replicasOf,
  startKubeApiServer,
  type KubeServer,
} from './kubeApiServer.js';

jest.setTimeout(120_000);

let kube: KubeServer | undefined;
const k = () => kube!;
/** HPAs as 1.20 serves them (there is no autoscaling/v2 client for it in client-node 1.x) */
const HPA_V2BETA2 = {
  group: 'autoscaling',
  version: 'v2beta2',
  namespace: 'llm',
  plural: 'horizontalpodautoscalers',
};
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The shipped example's objects, as the admin would create them (apiVersion rewritten for 1.20 when asked). */
type Manifest = KubernetesObject & { spec: { scaleTargetRef: { name: string } } };

function manifest(path: string, over: (o: Manifest) => void): KubernetesObject[] {
  return parseAllDocuments(readFileSync(resolve(path), 'utf8'))
    .map((d) => d.toJSON() as Manifest)
    .filter((o) => o?.kind)
    .map((o) => {
      over(o);
      return o;
    });
}

beforeAll(async () => {
  kube = await startKubeApiServer();
  for (const ns of ['llm', 'monitoring']) await createNamespace(k().admin, ns);
  await applyManifest(k().admin, resolve('stack/keda-crds.yaml'));
  await applyManifest(k().admin, resolve('deploy/rbac.yaml'));
  for (const [name, replicas] of [
    ['chat', 2],
    ['chat-h100', 0],
    ['other', 1],
  ] as const)
    await createDeployment(k().admin, 'llm', name, replicas);
  // The CRD serves once established.
  const custom = k().admin.makeApiClient(CustomObjectsApi);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await custom.listNamespacedCustomObject({
        group: 'keda.sh',
        version: 'v1alpha1',
        namespace: 'llm',
        plural: 'scaledobjects',
      });
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
});

afterAll(async () => {
  await kube?.stop();
});

/** apply on the scaler's token: the shipped Role, nothing more. */
function scalerWorld(config: Config = APPLY_CONFIG, token: 'scaler' | 'reader' = 'scaler') {
  const apis = kubeApis(k()[token]);
  const autoscalers = new OtherAutoscalersReader(async () => apis);
  const cluster = new KubernetesCluster(apis.apps, { autoscalers, pods: async () => apis.core });
  const telemetry = new MemoryTelemetrySink();
  const deps: ApplyDeps = {
    cluster,
    capacity: new MemoryCapacityProvider({ accelerators: [] }),
    state: new MemoryDecisionState(),
    telemetry,
    clock: new ManualClock(ISSUED_AT + 5),
  };
  let sequence = 0;
  const apply = async (over: Partial<DecisionRecord> = {}) =>
    (await applyMessage(
      deps,
      JSON.stringify(fixtureDecision({ sequence: ++sequence, poolSequence: sequence, ...over })),
      { config, maxAgeSeconds: 300 },
    )) as ApplyOutcome;
  return { apis, autoscalers, cluster, telemetry, deps, apply };
}

/** The end of apply's warning when nothing scales chat on its advice: the series to scale on. */
const SCALE_CHAT_ON =
  'Scale it on inferno_desired_replicas{namespace="llm", variant_name="chat"} (deploy/advise/), or set the variant\'s mode to act';

/** The inferno_advise_unconsumed values a world published. */
const unconsumedGauge = (w: ReturnType<typeof scalerWorld>) =>
  w.telemetry.points.filter((p) => p.name === 'inferno_advise_unconsumed').map((p) => p.value);

/** An advise decision for chat that nothing scales on its advice: held, the gauge 1; its warning. */
async function unconsumedChat(): Promise<string | undefined> {
  const w = scalerWorld({ ...APPLY_CONFIG, mode: 'advise' });
  const out = await w.apply();
  expect(out.status).toBe('advise');
  expect(out.advisedTo).toEqual([]);
  expect(unconsumedGauge(w)).toEqual([1]);
  expect(w.autoscalers.requests).toEqual({ discovery: 1, hpa: 1, scaledObject: 1 });
  expect(await replicasOf(k().admin, 'llm', 'chat')).toBe(2);
  return out.unconsumed;
}

const otherTo = (replicas: number): Partial<DecisionRecord> => ({
  variant: 'other',
  targetReplicas: replicas,
  deployments: [{ accelerator: 'L4', deployment: 'other', replicas }],
});

async function setReplicas(name: string, replicas: number) {
  await k()
    .admin.makeApiClient(AppsV1Api)
    .patchNamespacedDeploymentScale({ name, namespace: 'llm', body: { spec: { replicas } } }, mergePatch);
}

describe('the other autoscalers of a namespace', () => {
  test('discovery picks autoscaling/v2beta2 on 1.20 (no v2 served) and sees keda.sh/v1alpha1', async () => {
    const { groups } = await kubeApis(k().admin).apis.getAPIVersions();
    const autoscaling = groups.find((g) => g.name === 'autoscaling')!.versions.map((v) => v.version);
    expect(autoscaling).toContain('v2beta2');
    expect(autoscaling).not.toContain('v2');
    const w = scalerWorld();
    expect(await w.autoscalers.list('llm')).toEqual([]);
    expect(w.autoscalers.requests).toEqual({ discovery: 1, hpa: 1, scaledObject: 1 });
  });

  test('the shipped HPA example (as v2beta2) and ScaledObject example are found, each on its Deployment', async () => {
    const api = KubernetesObjectApi.makeApiClient(k().admin);
    for (const o of manifest('deploy/advise/hpa-external.yaml', (o) => {
      if (o.kind === 'HorizontalPodAutoscaler') o.apiVersion = 'autoscaling/v2beta2';
    }))
      await api.create(o);
    // the example made other's: its name, target and the variant its query reads
    for (const o of manifest('deploy/advise/keda-scaledobject.yaml', (o) => {
      o.metadata!.name = 'other-sva';
      o.spec.scaleTargetRef.name = 'other';
      const trigger = (o.spec as unknown as { triggers: { metadata: { query: string } }[] }).triggers[0]!;
      trigger.metadata.query = trigger.metadata.query.replace('variant_name="chat"', 'variant_name="other"');
    }))
      await api.create(o);
    const w = scalerWorld();
    expect(await w.autoscalers.list('llm')).toEqual([
      {
        kind: 'HorizontalPodAutoscaler',
        apiVersion: 'autoscaling/v2beta2',
        namespace: 'llm',
        name: 'chat-sva',
        deployment: 'chat',
        // its External metric and selector, read from v2beta2's shape: what makes it act on chat's advice
        scalesOn: [
          {
            source: 'metric',
            type: 'External',
            name: 'inferno_desired_replicas',
            selector: [{ label: 'variant_name', op: '=', values: ['chat'] }],
          },
        ],
      },
      {
        kind: 'ScaledObject',
        apiVersion: 'keda.sh/v1alpha1',
        namespace: 'llm',
        name: 'other-sva',
        deployment: 'other',
        scalesOn: [
          {
            source: 'trigger',
            type: 'prometheus',
            query: 'sum(inferno_desired_replicas{namespace="llm", variant_name="other"})',
            series: [
              {
                name: 'inferno_desired_replicas',
                matchers: [
                  { label: 'namespace', op: '=', values: ['llm'] },
                  { label: 'variant_name', op: '=', values: ['other'] },
                ],
              },
            ],
          },
        ],
      },
    ]);
  });
});

describe('apply in act mode refuses a Deployment another autoscaler scales', () => {
  test('HPA on chat, ScaledObject on other: both refused, replicas untouched, a batch lists the namespace once', async () => {
    const w = scalerWorld();
    const outs = await Promise.all([w.apply(), w.apply(otherTo(3))]);
    expect(outs.map((o) => o.status)).toEqual(['conflict', 'conflict']);
    expect(outs[0]!.conflicts).toEqual(['HorizontalPodAutoscaler llm/chat-sva (autoscaling/v2beta2) → chat']);
    expect(outs[1]!.conflicts).toEqual(['ScaledObject llm/other-sva (keda.sh/v1alpha1) → other']);
    expect(outs[0]!.detail).toMatch(/mode to advise/);
    expect(await replicasOf(k().admin, 'llm', 'chat')).toBe(2);
    expect(await replicasOf(k().admin, 'llm', 'other')).toBe(1);
    expect(w.autoscalers.requests).toEqual({ discovery: 1, hpa: 1, scaledObject: 1 });
    const dropped = w.telemetry.points.filter((p) => p.name === 'inferno_decisions_dropped_total');
    expect(dropped.map((p) => p.labels.reason)).toEqual(['conflict', 'conflict']);
  });

  test('advise mode is what the HPA is for: no conflict, nothing written, the HPA stays', async () => {
    const w = scalerWorld({ ...APPLY_CONFIG, mode: 'advise' });
    const out = await w.apply();
    expect(out.status).toBe('advise');
    expect(out.advisedTo).toEqual(['HorizontalPodAutoscaler llm/chat-sva (autoscaling/v2beta2) → chat']);
    expect(out.unconsumed).toBeUndefined();
    expect(unconsumedGauge(w)).toEqual([0]);
    expect(await replicasOf(k().admin, 'llm', 'chat')).toBe(2);
    const hpa = (await k()
      .admin.makeApiClient(CustomObjectsApi)
      .getNamespacedCustomObject({ ...HPA_V2BETA2, name: 'chat-sva' })) as {
      spec: { scaleTargetRef: { name: string } };
    };
    expect(hpa.spec.scaleTargetRef.name).toBe('chat');
  });

  test('shadow mode writes nothing and says what it would have set', async () => {
    const w = scalerWorld({ ...APPLY_CONFIG, mode: 'shadow' });
    const out = await w.apply();
    expect(out.status).toBe('shadow');
    expect(out.wouldDo).toEqual(['chat 2 → 4']);
    expect(await replicasOf(k().admin, 'llm', 'chat')).toBe(2);
  });

  test('once the HPA is deleted (the hand-over), the next decision scales', async () => {
    await k()
      .admin.makeApiClient(CustomObjectsApi)
      .deleteNamespacedCustomObject({ ...HPA_V2BETA2, name: 'chat-sva' });
    const w = scalerWorld();
    expect((await w.apply()).status).toBe('applied');
    expect(await replicasOf(k().admin, 'llm', 'chat')).toBe(4);
    await setReplicas('chat', 2);
  });

  test('advise with the HPA gone: nothing scales chat on the advice (gauge 1), other has its ScaledObject; one listing for the batch', async () => {
    const w = scalerWorld({ ...APPLY_CONFIG, mode: 'advise' });
    const [chat, other] = await Promise.all([w.apply(), w.apply(otherTo(3))]);
    expect([chat!.status, other!.status]).toEqual(['advise', 'advise']);
    expect(chat!.unconsumed).toMatch(
      /^no HPA or ScaledObject scales chat \(namespace llm\).*deploy\/advise\//,
    );
    expect(other!.advisedTo).toEqual(['ScaledObject llm/other-sva (keda.sh/v1alpha1) → other']);
    const unconsumed = w.telemetry.points.filter((p) => p.name === 'inferno_advise_unconsumed');
    expect(unconsumed.map((p) => [p.labels.variant_name, p.value]).sort()).toEqual([
      ['chat', 1],
      ['other', 0],
    ]);
    expect(w.autoscalers.requests).toEqual({ discovery: 1, hpa: 1, scaledObject: 1 });
    expect(await replicasOf(k().admin, 'llm', 'chat')).toBe(2);
    expect(await replicasOf(k().admin, 'llm', 'other')).toBe(1);
  });

  test('advise with chat scaled on CPU (a v1 HPA, read as v2beta2) and by a ScaledObject that cannot be read: both named, gauge 1', async () => {
    const custom = k().admin.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      ...HPA_V2BETA2,
      version: 'v1',
      body: {
        apiVersion: 'autoscaling/v1',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'chat-cpu', namespace: 'llm' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'chat' },
          minReplicas: 1,
          maxReplicas: 4,
          targetCPUUtilizationPercentage: 70,
        },
      },
    });
    // The CRD lets a prometheus trigger without a query through; KEDA would reject it later.
    const scaledObjects = {
      group: 'keda.sh',
      version: 'v1alpha1',
      namespace: 'llm',
      plural: 'scaledobjects',
    };
    await custom.createNamespacedCustomObject({
      ...scaledObjects,
      body: {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: 'chat-broken', namespace: 'llm' },
        spec: {
          scaleTargetRef: { name: 'chat' },
          triggers: [{ type: 'prometheus', metadata: { serverAddress: 'http://prometheus:9090' } }],
        },
      },
    });
    try {
      expect(await unconsumedChat()).toBe(
        'HorizontalPodAutoscaler llm/chat-cpu scales chat on cpu, not on inferno_desired_replicas; ' +
          'ScaledObject llm/chat-broken scales chat, but its triggers could not be read (spec.triggers[0].metadata.query: a prometheus trigger needs a query), so not known to scale on inferno_desired_replicas' +
          `: nothing acts on llm/chat's advice, and it never scales. ${SCALE_CHAT_ON}`,
      );
    } finally {
      await custom.deleteNamespacedCustomObject({ ...HPA_V2BETA2, name: 'chat-cpu' });
      await custom.deleteNamespacedCustomObject({ ...scaledObjects, name: 'chat-broken' });
    }
  });

  test("advise with chat scaled by an HPA copied from another variant's (selector variant_name chat-70b): named with both values, gauge 1; once its selector is chat's, a consumer", async () => {
    type Hpa = Manifest & { spec: { metrics: { external: { metric: { selector: unknown } } }[] } };
    const [copied] = manifest('deploy/advise/hpa-external.yaml', (o) => {
      if (o.kind !== 'HorizontalPodAutoscaler') return;
      o.apiVersion = 'autoscaling/v2beta2';
      o.metadata!.name = 'chat-from-70b';
      (o as Hpa).spec.metrics[0]!.external.metric.selector = { matchLabels: { variant_name: 'chat-70b' } };
    }).filter((o) => o.kind === 'HorizontalPodAutoscaler');
    await KubernetesObjectApi.makeApiClient(k().admin).create(copied!);
    const custom = k().admin.makeApiClient(CustomObjectsApi);
    try {
      expect(await unconsumedChat()).toBe(
        `HorizontalPodAutoscaler llm/chat-from-70b scales chat on another variant's inferno_desired_replicas: its selector has variant_name="chat-70b", and llm/chat's variant_name is "chat"` +
          `: nothing is known to act on llm/chat's advice alone. ${SCALE_CHAT_ON}`,
      );
      // the fix the warning asks for, as the admin would make it: the selector's variant_name
      await custom.patchNamespacedCustomObject(
        {
          ...HPA_V2BETA2,
          name: 'chat-from-70b',
          body: [
            {
              op: 'replace',
              path: '/spec/metrics/0/external/metric/selector/matchLabels/variant_name',
              value: 'chat',
            },
          ],
        },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      const fixed = scalerWorld({ ...APPLY_CONFIG, mode: 'advise' });
      const after = await fixed.apply();
      expect(after.advisedTo).toEqual([
        'HorizontalPodAutoscaler llm/chat-from-70b (autoscaling/v2beta2) → chat',
      ]);
      expect(after.unconsumed).toBeUndefined();
      expect(unconsumedGauge(fixed)).toEqual([0]);
      expect(await replicasOf(k().admin, 'llm', 'chat')).toBe(2);
    } finally {
      await custom.deleteNamespacedCustomObject({ ...HPA_V2BETA2, name: 'chat-from-70b' });
    }
  });

  test('advise on a token that may not list them (403): the check is skipped and said so, the decision recorded', async () => {
    const w = scalerWorld({ ...APPLY_CONFIG, mode: 'advise' }, 'reader');
    const out = await w.apply();
    expect(out.status).toBe('advise');
    expect(out.adviceCheck).toMatch(/HTTP 403.*forbidden/);
    expect(unconsumedGauge(w)).toEqual([]);
  });

  test('evaluate cannot list HPAs or ScaledObjects: its Role reads Deployments only', async () => {
    const reader = new OtherAutoscalersReader(async () => kubeApis(k().reader));
    await expect(reader.list('llm')).rejects.toThrow(
      /HTTP 403.*forbidden; apply's Role must allow get and list/,
    );
  });
});

describe('pause without a redeploy', () => {
  const annotate = async (value: string | null) =>
    k()
      .admin.makeApiClient(AppsV1Api)
      .patchNamespacedDeployment(
        {
          name: 'chat',
          namespace: 'llm',
          body: { metadata: { annotations: { 'sva.autoscaler/paused': value } } },
        },
        mergePatch,
      );

  test('the annotation holds the variant; removing it lets the next decision act', async () => {
    await annotate('true');
    const w = scalerWorld();
    const out = await w.apply();
    expect(out.status).toBe('paused');
    expect(out.detail).toMatch(/sva\.autoscaler\/paused="true" on chat/);
    expect(await replicasOf(k().admin, 'llm', 'chat')).toBe(2);
    const paused = w.telemetry.points.filter((p) => p.name === 'inferno_variant_paused');
    expect(paused.map((p) => [p.labels.source, p.value])).toEqual([['annotation', 1]]);
    await annotate(null);
    expect((await w.apply()).status).toBe('applied');
    expect(await replicasOf(k().admin, 'llm', 'chat')).toBe(4);
  });
});

describe('scale-down removes the least busy replica', () => {
  const core = () => k().admin.makeApiClient(CoreV1Api);
  const pod = async (name: string, app: string, annotations?: Record<string, string>) =>
    core().createNamespacedPod({
      namespace: 'llm',
      body: {
        metadata: { name, labels: { app }, ...(annotations ? { annotations } : {}) },
        spec: { containers: [{ name: 'vllm', image: 'vllm/vllm-openai:v0.11.0' }] },
      },
    });
  const costOf = async (name: string) =>
    (await core().readNamespacedPod({ name, namespace: 'llm' })).metadata?.annotations?.[
      DELETION_COST_ANNOTATION
    ];

  test("pod-deletion-cost from each pod's load, on the Deployment's pods only, with patch alone", async () => {
    await setReplicas('chat', 3);
    await pod('chat-busy', 'chat', { 'prometheus.io/scrape': 'true' });
    await pod('chat-idle', 'chat'); // no annotations at all: the map is created
    await pod('other-x', 'other'); // another Deployment's pod, named by a hostile decision
    await pod('chat-impostor', 'other'); // named like chat's, labelled as another's
    const w = scalerWorld();
    // the scaler may patch pods but not read them (without the capacity providers' Role)
    const denied = await w.apis.core.readNamespacedPod({ name: 'chat-busy', namespace: 'llm' }).then(
      () => 200,
      (e) => (e instanceof ApiException ? e.code : -1),
    );
    expect(denied).toBe(403);
    const out = await w.apply({
      action: 'scale-down',
      targetReplicas: 2,
      currentReplicas: 3,
      deployments: [{ accelerator: 'L4', deployment: 'chat', replicas: 2 }],
      podLoads: [
        { pod: 'chat-busy', load: 12 },
        { pod: 'chat-idle', load: 0.5 },
        { pod: 'other-x', load: 0 },
        { pod: 'chat-impostor', load: 0 },
        { pod: 'chat-gone', load: 0 },
      ],
    });
    expect(out.status).toBe('applied');
    expect(out.deletionCosts).toEqual(['chat-busy=12000', 'chat-idle=500']);
    expect(await costOf('chat-busy')).toBe('12000');
    expect(await costOf('chat-idle')).toBe('500');
    expect(await costOf('other-x')).toBeUndefined();
    // the JSON patch's tests of the Deployment's labels refused it: never written
    expect(await costOf('chat-impostor')).toBeUndefined();
    // the pod's other annotations stay
    const busy = await core().readNamespacedPod({ name: 'chat-busy', namespace: 'llm' });
    expect(busy.metadata?.annotations?.['prometheus.io/scrape']).toBe('true');
    expect(await replicasOf(k().admin, 'llm', 'chat')).toBe(2);
  });
});
