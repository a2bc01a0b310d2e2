/**
 * Adopting sva (lib/loop/adoption.ts): apply acts only on a variant in act mode, not paused, that
 * no HPA or ScaledObject scales; otherwise it changes nothing and says what it would have done,
 * in the outcome and in published metrics. Before a scale-down it marks the least busy pods to
 * go first. The same behaviours against the real kube-apiserver: test/integration/kubernetes/adoption.test.ts.
 */
import {
  CallLog,
  ManualClock,
  MemoryCapacityProvider,
  MemoryCluster,
  MemoryDecisionQueue,
  MemoryDecisionState,
  MemoryMetricsSource,
  MemoryTelemetrySink,
} from '../../lib/adapters/memory/index.js';
import { evaluatePool, type EvaluateDeps } from '../../lib/loop/evaluate.js';
import type { Config, VariantConfig } from '../../lib/config/schema.js';
import { KubernetesError } from '../../lib/adapters/kubernetes/index.js';
import { deletionCostsOf, effectiveMode } from '../../lib/loop/adoption.js';
import {
  applyCapacity,
  applyDecision,
  applyMessage,
  type ApplyDeps,
  type ApplyOutcome,
} from '../../lib/loop/apply.js';
import { capacityIntent } from '../../lib/policy/capacityPlan.js';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';
import type { LabelMatcher, OtherAutoscaler, ScaledOn } from '../../lib/policy/ports.js';
import { capacityViews, deployment, observation, poolConfig, ratePerReplica } from '../policy/helpers.js';
import { APPLY_CONFIG } from './applyConfig.js';
import { fixtureDecision, ISSUED_AT } from './decisionFixture.js';

const withVariant = (config: Config, name: string, over: Partial<VariantConfig>): Config => ({
  ...config,
  variants: config.variants.map((v) => (v.name === name ? { ...v, ...over } : v)),
});

const HPA: OtherAutoscaler = {
  kind: 'HorizontalPodAutoscaler',
  apiVersion: 'autoscaling/v2beta2',
  namespace: 'llm',
  name: 'chat-queue',
  deployment: 'chat',
  scalesOn: [
    {
      source: 'metric',
      type: 'External',
      name: 'inferno_desired_replicas',
      selector: [{ label: 'variant_name', op: '=', values: ['chat'] }],
    },
  ],
};

function world(
  config: Config = APPLY_CONFIG,
  opts: { chatPaused?: boolean; others?: OtherAutoscaler[] } = {},
) {
  const log = new CallLog();
  const cluster = new MemoryCluster({
    log,
    deployments: [
      { ...deployment('L4', 2), ...(opts.chatPaused ? { paused: true } : {}) },
      deployment('L4', 1, 1, 'llm/other'),
      deployment('H100', 0, 0, 'llm/chat', 'chat-h100'),
    ],
    otherAutoscalers: opts.others ?? [],
    pods: { 'llm/chat': ['chat-a', 'chat-b', 'chat-c', 'chat-d'], 'llm/other': ['other-a'] },
  });
  const capacity = new MemoryCapacityProvider({
    log,
    accelerators: [
      {
        acceleratorType: 'L4',
        devicesPerNode: 1,
        readyDevices: 3,
        startingDevices: 0,
        addableDevices: 17,
        provisioningSeconds: 60,
      },
    ],
  });
  const state = new MemoryDecisionState();
  const telemetry = new MemoryTelemetrySink();
  const deps: ApplyDeps = { cluster, capacity, state, telemetry, clock: new ManualClock(ISSUED_AT + 5) };
  const options = { config, maxAgeSeconds: 300 };
  const apply = async (d: DecisionRecord) =>
    (await applyDecision(deps, JSON.stringify(d), options)) as ApplyOutcome;
  const points = (name: string) => telemetry.points.filter((p) => p.name === name);
  return { log, cluster, capacity, state, telemetry, deps, options, apply, points };
}

const otherDecision = () =>
  fixtureDecision({
    variant: 'other',
    deployments: [{ accelerator: 'L4', deployment: 'other', replicas: 4 }],
  });

describe('modes', () => {
  it('shadow: nothing changes; the outcome and metrics say what acting would have set', async () => {
    const w = world({ ...APPLY_CONFIG, mode: 'shadow' });
    const out = await w.apply(fixtureDecision());
    expect(out.status).toBe('shadow');
    expect(out.wouldDo).toEqual(['chat 2 → 4']);
    expect(out.detail).toBe('shadow mode: nothing changed; acting would have set chat 2 → 4');
    expect(w.log.lines).toEqual([]);
    expect(w.cluster.replicas('llm', 'chat')).toBe(2);
    // the variant is done with its pool evaluation: capacity may follow
    expect((await w.state.poolsReached(['llm/chat'])).get('llm/chat')).toBe(fixtureDecision().poolSequence);
    expect(w.points('inferno_variant_mode').map((p) => p.labels.mode)).toEqual(['shadow']);
    expect(w.points('inferno_shadow_replicas').map((p) => p.value)).toEqual([4]);
    const scaled = w.points('inferno_shadow_scaling_total');
    expect(scaled.map((p) => [p.labels.direction, p.value])).toEqual([['up', 1]]);
    expect(w.points('inferno_replica_scaling_total')).toEqual([]);
    expect(w.points('inferno_decisions_dropped_total')).toEqual([]);
  });

  it("a variant's own mode overrides the pool's: chat in shadow, other acts", async () => {
    const w = world(withVariant(APPLY_CONFIG, 'chat', { mode: 'shadow' }));
    expect((await w.apply(fixtureDecision())).status).toBe('shadow');
    expect((await w.apply(otherDecision())).status).toBe('applied');
    expect(w.log.lines).toEqual(['scale llm/other 4']);
  });

  it('advise: nothing changes; the detail points at inferno_desired_replicas', async () => {
    const w = world(withVariant(APPLY_CONFIG, 'chat', { mode: 'advise' }), { others: [HPA] });
    const out = await w.apply(fixtureDecision());
    expect(out.status).toBe('advise');
    expect(out.detail).toMatch(/inferno_desired_replicas advises 4/);
    expect(w.log.lines).toEqual([]);
    // advise is made for an HPA on the Deployment: it is no conflict
    expect(w.points('inferno_autoscaler_conflicts')).toEqual([]);
  });

  it('a message can only make apply do less: decided in shadow, judged by an act config, held', async () => {
    const w = world();
    const out = await w.apply(fixtureDecision({ mode: 'shadow' }));
    expect(out.status).toBe('shadow');
    expect(w.log.lines).toEqual([]);
    expect(effectiveMode(fixtureDecision({ mode: 'act' }), 'shadow')).toBe('shadow');
    expect(effectiveMode(fixtureDecision({ mode: 'advise' }), 'act')).toBe('advise');
    expect(effectiveMode(fixtureDecision(), 'act')).toBe('act');
  });

  const growTo6 = capacityIntent({
    pool: 'default',
    poolSequence: 1,
    now: ISSUED_AT,
    variants: ['llm/chat', 'llm/other'],
    acceleratorTypes: ['L4'],
    replicas: [{ acceleratorType: 'L4', devicesPerReplica: 1, replicas: 6 }],
  });

  it('a pool where no variant acts leaves capacity alone, saying what it would have asked', async () => {
    for (const mode of ['shadow', 'advise'] as const) {
      const w = world({ ...APPLY_CONFIG, mode });
      const out = await applyCapacity(w.deps, growTo6, w.options);
      expect(out.status).toBe(mode);
      expect(out.detail).toBe(
        'no variant of the pool in act mode: capacity not changed (would ask for L4: 6 devices)',
      );
      expect(w.log.lines).toEqual([]);
    }
  });

  it('once one variant acts in a shadow pool, capacity follows the intent (held variants counted at what they run)', async () => {
    const w = world(withVariant({ ...APPLY_CONFIG, mode: 'shadow' }, 'other', { mode: 'act' }));
    const out = await applyCapacity(w.deps, growTo6, w.options);
    expect(out.status).toBe('applied');
    expect(w.log.lines).toEqual(['capacity default#1 L4=6 (no removal)']);
  });
});

describe('advise mode: is anything scaling on the advice?', () => {
  const advise = withVariant(APPLY_CONFIG, 'chat', { mode: 'advise' });
  const unconsumed = (w: ReturnType<typeof world>) =>
    w.points('inferno_advise_unconsumed').map((p) => [p.labels.namespace, p.labels.variant_name, p.value]);

  it('an HPA on the Deployment: named, no warning, inferno_advise_unconsumed 0, one listing', async () => {
    const w = world(advise, { others: [HPA] });
    const out = await w.apply(fixtureDecision());
    expect(out.status).toBe('advise');
    expect(out.advisedTo).toEqual(['HorizontalPodAutoscaler llm/chat-queue (autoscaling/v2beta2) → chat']);
    expect(out.unconsumed).toBeUndefined();
    expect(out.adviceCheck).toBeUndefined();
    expect(unconsumed(w)).toEqual([['llm', 'chat', 0]]);
    // the same listing act mode's conflict check makes, no more
    expect(w.cluster.autoscalerLists).toEqual(new Map([['llm', 1]]));
    expect(w.log.lines).toEqual([]);
  });

  it('none at all: a warning naming the variant, its Deployments and deploy/advise/; the gauge 1', async () => {
    const w = world(advise);
    const out = await w.apply(fixtureDecision());
    expect(out.status).toBe('advise');
    expect(out.advisedTo).toEqual([]);
    expect(out.unconsumed).toBe(
      "no HPA or ScaledObject scales chat (namespace llm): nothing acts on llm/chat's advice, and it never scales. Deploy one on inferno_desired_replicas (deploy/advise/), or set the variant's mode to act",
    );
    expect(unconsumed(w)).toEqual([['llm', 'chat', 1]]);
    expect(w.log.lines).toEqual([]);
  });

  it('a ScaledObject on another Deployment of the namespace does not count', async () => {
    const w = world(advise, { others: [{ ...HPA, kind: 'ScaledObject', deployment: 'other' }] });
    const out = await w.apply(fixtureDecision());
    expect(out.unconsumed).toMatch(/^no HPA or ScaledObject scales chat /);
    expect(unconsumed(w)).toEqual([['llm', 'chat', 1]]);
  });

  it('any of the Deployments a decision names counts (a variant on two accelerators)', async () => {
    const w = world(advise, { others: [{ ...HPA, deployment: 'chat-h100' }] });
    const out = await w.apply(
      fixtureDecision({
        deployments: [
          { accelerator: 'L4', deployment: 'chat', replicas: 4 },
          { accelerator: '4xH100', deployment: 'chat-h100', replicas: 0 },
        ],
      }),
    );
    expect(out.status).toBe('advise');
    expect(out.advisedTo).toEqual([
      'HorizontalPodAutoscaler llm/chat-queue (autoscaling/v2beta2) → chat-h100',
    ]);
    expect(unconsumed(w)).toEqual([['llm', 'chat', 0]]);
  });

  const CPU_HPA: OtherAutoscaler = {
    ...HPA,
    name: 'chat-cpu',
    scalesOn: [{ source: 'metric', type: 'Resource', name: 'cpu' }],
  };
  const KEDA: OtherAutoscaler = {
    ...HPA,
    kind: 'ScaledObject',
    apiVersion: 'keda.sh/v1alpha1',
    name: 'chat-sva',
    scalesOn: [
      {
        source: 'trigger',
        type: 'prometheus',
        query: 'sum(inferno_desired_replicas{namespace="llm", variant_name="chat"})',
        series: [
          {
            name: 'inferno_desired_replicas',
            matchers: [
              { label: 'namespace', op: '=', values: ['llm'] },
              { label: 'variant_name', op: '=', values: ['chat'] },
            ],
          },
        ],
      },
    ],
  };
  const scaleIt =
    'Scale it on inferno_desired_replicas{namespace="llm", variant_name="chat"} (deploy/advise/), or set the variant\'s mode to act';
  const ignored = `: nothing acts on llm/chat's advice, and it never scales. ${scaleIt}`;

  it('an HPA on CPU only: not a consumer; the warning names it and cpu; the gauge 1', async () => {
    const w = world(advise, { others: [CPU_HPA] });
    const out = await w.apply(fixtureDecision());
    expect(out.status).toBe('advise');
    expect(out.advisedTo).toEqual([]);
    expect(out.unconsumed).toBe(
      `HorizontalPodAutoscaler llm/chat-cpu scales chat on cpu, not on inferno_desired_replicas${ignored}`,
    );
    expect(unconsumed(w)).toEqual([['llm', 'chat', 1]]);
    expect(w.cluster.autoscalerLists).toEqual(new Map([['llm', 1]]));
  });

  it('an HPA on the advice and on CPU: it acts on the advice (the highest of its metrics wins)', async () => {
    const both = { ...CPU_HPA, scalesOn: [...CPU_HPA.scalesOn, ...HPA.scalesOn] };
    const w = world(advise, { others: [both] });
    const out = await w.apply(fixtureDecision());
    expect(out.advisedTo).toEqual(['HorizontalPodAutoscaler llm/chat-cpu (autoscaling/v2beta2) → chat']);
    expect(out.unconsumed).toBeUndefined();
    expect(unconsumed(w)).toEqual([['llm', 'chat', 0]]);
  });

  it('an External metric under another name, and a CPU HPA beside it: both named, neither counts', async () => {
    const queue = {
      ...HPA,
      name: 'chat-queue',
      scalesOn: [{ source: 'metric' as const, type: 'External', name: 'vllm_queue_depth' }],
    };
    const w = world(advise, { others: [queue, CPU_HPA] });
    const out = await w.apply(fixtureDecision());
    expect(out.unconsumed).toBe(
      'HorizontalPodAutoscaler llm/chat-queue scales chat on External metric vllm_queue_depth, not on inferno_desired_replicas; ' +
        `HorizontalPodAutoscaler llm/chat-cpu scales chat on cpu, not on inferno_desired_replicas${ignored}`,
    );
    expect(unconsumed(w)).toEqual([['llm', 'chat', 1]]);
  });

  it("an HPA kept from llm-d's WVA, on wva_desired_replicas: consumed only where sva publishes that alias", async () => {
    const wva = {
      ...HPA,
      name: 'chat-wva',
      scalesOn: [{ ...HPA.scalesOn[0]!, name: 'wva_desired_replicas' }],
    };
    const aliased = { ...advise, telemetry: { aliases: ['wva' as const] } };
    const w = world(aliased, { others: [wva] });
    expect((await w.apply(fixtureDecision())).advisedTo).toEqual([
      'HorizontalPodAutoscaler llm/chat-wva (autoscaling/v2beta2) → chat',
    ]);
    expect(unconsumed(w)).toEqual([['llm', 'chat', 0]]);
    // without the alias, wva_desired_replicas is not sva's advice: some other autoscaler's, or nobody's
    const plain = world(advise, { others: [wva] });
    expect((await plain.apply(fixtureDecision())).unconsumed).toContain(
      'HorizontalPodAutoscaler llm/chat-wva scales chat on External metric wva_desired_replicas, not on inferno_desired_replicas',
    );
    expect(unconsumed(plain)).toEqual([['llm', 'chat', 1]]);
  });

  it('a ScaledObject whose prometheus query reads inferno_desired_replicas: consumed', async () => {
    const w = world(advise, { others: [KEDA] });
    const out = await w.apply(fixtureDecision());
    expect(out.advisedTo).toEqual(['ScaledObject llm/chat-sva (keda.sh/v1alpha1) → chat']);
    expect(out.unconsumed).toBeUndefined();
    expect(unconsumed(w)).toEqual([['llm', 'chat', 0]]);
  });

  it.each([
    [[{ source: 'trigger' as const, type: 'cpu' }], 'a cpu trigger'],
    [
      [
        {
          source: 'trigger' as const,
          type: 'prometheus',
          query: 'sum(inferno_desired_replicas_total{x="y"})',
        },
      ],
      'prometheus query "sum(inferno_desired_replicas_total{x="y"})"',
    ],
  ])('a ScaledObject on %j: a warning naming what it scales on', async (scalesOn, what) => {
    const w = world(advise, { others: [{ ...KEDA, scalesOn }] });
    const out = await w.apply(fixtureDecision());
    expect(out.advisedTo).toEqual([]);
    expect(out.unconsumed).toBe(
      `ScaledObject llm/chat-sva scales chat on ${what}, not on inferno_desired_replicas${ignored}`,
    );
    expect(unconsumed(w)).toEqual([['llm', 'chat', 1]]);
  });

  const variantIs = (value: string) => [{ label: 'variant_name', op: '=' as const, values: [value] }];
  const misread = `: nothing is known to act on llm/chat's advice alone. ${scaleIt}`;
  const external = HPA.scalesOn[0]!;
  const keda = (series: ScaledOn['series']) => ({ ...KEDA, scalesOn: [{ ...KEDA.scalesOn[0]!, series }] });
  const desired = (...matchers: LabelMatcher[]) => [{ name: 'inferno_desired_replicas', matchers }];

  it.each<[string, OtherAutoscaler, string]>([
    [
      "an HPA on another variant's advice (deploy/advise/ copied unchanged): the HPA, the label and both values named",
      { ...HPA, name: 'chat-70b-sva', scalesOn: [{ ...external, selector: variantIs('chat-70b') }] },
      `HorizontalPodAutoscaler llm/chat-70b-sva scales chat on another variant's inferno_desired_replicas: its selector has variant_name="chat-70b", and llm/chat's variant_name is "chat"`,
    ],
    [
      'an HPA whose selector pins no variant: it reads every variant of the namespace and sums them',
      { ...HPA, scalesOn: [{ ...external, selector: [] }] },
      "HorizontalPodAutoscaler llm/chat-queue scales chat on the inferno_desired_replicas of no variant in particular: its selector pins no variant_name, so it reads several variants' series and scales on their sum (an HPA adds up the series of an External metric), not on llm/chat's advice",
    ],
    [
      "an HPA on its own advice and on another variant's: it would scale to the higher of the two",
      { ...HPA, scalesOn: [external, { ...external, selector: variantIs('other') }] },
      `HorizontalPodAutoscaler llm/chat-queue scales chat on another variant's inferno_desired_replicas: its selector has variant_name="other", and llm/chat's variant_name is "chat"`,
    ],
    [
      'a ScaledObject whose query reads chat of every namespace',
      keda(desired(...variantIs('chat'))),
      "ScaledObject llm/chat-sva scales chat on the inferno_desired_replicas of no variant in particular: its query pins no namespace, so it reads several variants' series and scales on what its query makes of them (their sum or the highest), not on llm/chat's advice",
    ],
    [
      'a ScaledObject whose query reads chat of another namespace',
      keda(desired(...variantIs('chat'), { label: 'namespace', op: '=', values: ['prod'] })),
      'ScaledObject llm/chat-sva scales chat on another variant\'s inferno_desired_replicas: its query has namespace="prod", and llm/chat\'s namespace is "llm"',
    ],
    [
      'a ScaledObject whose query names the series but could not be read',
      {
        ...KEDA,
        scalesOn: [
          {
            source: 'trigger',
            type: 'prometheus',
            query: 'sum(inferno_desired_replicas{variant_name="chat"',
            queryUnread: 'PromQL syntax error at character 48',
          },
        ],
      },
      "ScaledObject llm/chat-sva scales chat on inferno_desired_replicas, but its query could not be read (PromQL syntax error at character 48), so not known to read llm/chat's advice",
    ],
  ])('%s: not a consumer, the warning says why, the gauge 1', async (_, other, why) => {
    const w = world(advise, { others: [other] });
    const out = await w.apply(fixtureDecision());
    expect(out.status).toBe('advise');
    expect(out.advisedTo).toEqual([]);
    expect(out.unconsumed).toBe(why + misread);
    expect(unconsumed(w)).toEqual([['llm', 'chat', 1]]);
  });

  it('metrics that could not be read (a malformed spec): not a consumer, and the warning says they were not read', async () => {
    const unread = { ...HPA, scalesOn: [], unread: 'spec.metrics[0].external.metric.name: Invalid input' };
    const w = world(advise, { others: [unread] });
    const out = await w.apply(fixtureDecision());
    expect(out.status).toBe('advise');
    expect(out.unconsumed).toBe(
      'HorizontalPodAutoscaler llm/chat-queue scales chat, but its metrics could not be read (spec.metrics[0].external.metric.name: Invalid input), so not known to scale on inferno_desired_replicas' +
        ignored,
    );
    expect(unconsumed(w)).toEqual([['llm', 'chat', 1]]);
  });

  it.each([
    [
      'forbidden (403)',
      new KubernetesError('list horizontalpodautoscalers (HTTP 403): forbidden', 403, 'llm', false),
    ],
    ['the API server down (503)', new KubernetesError('list (HTTP 503)', 503, 'llm', true)],
  ])(
    'the listing fails, %s: the check is skipped and said so; the decision is recorded, no throw',
    async (_, error) => {
      const w = world(advise);
      w.cluster.otherAutoscalers = async () => {
        throw error;
      };
      const out = await w.apply(fixtureDecision());
      expect(out.status).toBe('advise');
      expect(out.adviceCheck).toBe(
        `not checked whether an HPA or ScaledObject scales on the advice: ${error.message}`,
      );
      expect(out.unconsumed).toBeUndefined();
      // unknown is neither 0 nor 1
      expect(unconsumed(w)).toEqual([]);
      expect(w.points('inferno_variant_mode').map((p) => p.labels.mode)).toEqual(['advise']);
      expect((await w.state.poolsReached(['llm/chat'])).get('llm/chat')).toBe(fixtureDecision().poolSequence);
      expect(await w.state.lastApplied('llm/chat')).toMatchObject({ sequence: fixtureDecision().sequence });
    },
  );

  it('act mode is unchanged: applied or refused, never the advice gauge', async () => {
    const w = world(APPLY_CONFIG, { others: [{ ...HPA, deployment: 'other' }] });
    const applied = await w.apply(fixtureDecision());
    expect(applied.status).toBe('applied');
    expect(applied.advisedTo).toBeUndefined();
    expect((await w.apply(otherDecision())).status).toBe('conflict');
    expect(w.points('inferno_advise_unconsumed')).toEqual([]);
    expect(w.log.lines).toEqual(['scale llm/chat 4']);
  });

  it('shadow mode does not look: it is not meant to be scaled on', async () => {
    const w = world({ ...APPLY_CONFIG, mode: 'shadow' });
    await w.apply(fixtureDecision());
    expect(w.cluster.autoscalerLists).toEqual(new Map());
    expect(w.points('inferno_advise_unconsumed')).toEqual([]);
  });
});

describe('pause', () => {
  it('paused in the config: nothing changes, a warning-worthy status, inferno_variant_paused 1', async () => {
    const w = world(withVariant(APPLY_CONFIG, 'chat', { paused: true }));
    const out = await w.apply(fixtureDecision());
    expect(out.status).toBe('paused');
    expect(out.detail).toMatch(/^paused by the config \(paused: true\): nothing changed/);
    expect(w.log.lines).toEqual([]);
    expect(w.points('inferno_variant_paused').map((p) => [p.labels.source, p.value])).toEqual([
      ['config', 1],
    ]);
    // another variant goes on
    expect((await w.apply(otherDecision())).status).toBe('applied');
  });

  it('paused by the annotation on its Deployment, without a config change', async () => {
    const w = world(APPLY_CONFIG, { chatPaused: true });
    const out = await w.apply(fixtureDecision());
    expect(out.status).toBe('paused');
    expect(out.detail).toMatch(/sva\.autoscaler\/paused="true" on chat/);
    expect(w.points('inferno_variant_paused').map((p) => p.labels.source)).toEqual(['annotation']);
    expect(w.log.lines).toEqual([]);
  });
});

describe('no fight with another autoscaler', () => {
  it('an HPA on the Deployment: refused, named, counted as dropped (conflict), pointing to advise', async () => {
    const w = world(APPLY_CONFIG, { others: [HPA] });
    const out = (await applyMessage(w.deps, JSON.stringify(fixtureDecision()), w.options)) as ApplyOutcome;
    expect(out.status).toBe('conflict');
    expect(out.conflicts).toEqual(['HorizontalPodAutoscaler llm/chat-queue (autoscaling/v2beta2) → chat']);
    expect(out.detail).toMatch(/set the variant's mode to advise/);
    expect(w.log.lines).toEqual([]);
    expect(w.cluster.replicas('llm', 'chat')).toBe(2);
    expect(w.points('inferno_autoscaler_conflicts').map((p) => p.value)).toEqual([1]);
    const dropped = w.points('inferno_decisions_dropped_total');
    expect(dropped.map((p) => [p.labels.reason, p.value])).toEqual([['conflict', 1]]);
  });

  it('a ScaledObject on another Deployment of the namespace is no conflict for chat', async () => {
    const keda: OtherAutoscaler = {
      ...HPA,
      kind: 'ScaledObject',
      apiVersion: 'keda.sh/v1alpha1',
      deployment: 'other',
    };
    const w = world(APPLY_CONFIG, { others: [keda] });
    expect((await w.apply(fixtureDecision())).status).toBe('applied');
    expect((await w.apply(otherDecision())).status).toBe('conflict');
    expect(w.log.lines).toEqual(['scale llm/chat 4']);
  });

  it('once the HPA is gone, the next decision acts', async () => {
    const w = world(APPLY_CONFIG, { others: [HPA] });
    expect((await w.apply(fixtureDecision())).status).toBe('conflict');
    w.cluster.setOtherAutoscalers([]);
    expect((await w.apply(fixtureDecision({ sequence: 2 }))).status).toBe('applied');
  });
});

describe('what apply cannot check it does not act on', () => {
  it('the other autoscalers cannot be read (403): failed for good, nothing scaled, the pool may go on', async () => {
    const w = world();
    w.cluster.otherAutoscalers = async () => {
      throw new KubernetesError('list horizontalpodautoscalers (HTTP 403): forbidden', 403, 'llm', false);
    };
    const out = await w.apply(fixtureDecision());
    expect(out.status).toBe('failed');
    expect(out.detail).toBe('not acted on: the other autoscalers of the namespace could not be read');
    expect(out.error).toMatch(/HTTP 403/);
    expect(w.log.lines).toEqual([]);
    expect((await w.state.poolsReached(['llm/chat'])).get('llm/chat')).toBe(fixtureDecision().poolSequence);
  });

  it('a transient failure to read them is thrown, for a retry', async () => {
    const w = world();
    w.cluster.otherAutoscalers = async () => {
      throw new KubernetesError('list (HTTP 503)', 503, 'llm', true);
    };
    await expect(w.apply(fixtureDecision())).rejects.toThrow('HTTP 503');
    expect(w.log.lines).toEqual([]);
  });
});

describe('scale-down removes the least busy replica', () => {
  const down = (podLoads: DecisionRecord['podLoads']) =>
    fixtureDecision({
      action: 'scale-down',
      reason: 'load',
      targetReplicas: 1,
      currentReplicas: 2,
      deployments: [{ accelerator: 'L4', deployment: 'chat', replicas: 1 }],
      podLoads,
    });

  it("sets pod-deletion-cost from each pod's load before lowering the replicas, only on its pods", async () => {
    const w = world();
    const out = await w.apply(
      down([
        { pod: 'chat-a', load: 7.5 },
        { pod: 'chat-b', load: 0.25 },
        { pod: 'coredns-x', load: 0 },
      ]),
    );
    expect(out.status).toBe('applied');
    expect(out.deletionCosts).toEqual(['chat-a=7500', 'chat-b=250']);
    expect(w.cluster.deletionCosts).toEqual(
      new Map([
        ['llm/chat-a', 7500],
        ['llm/chat-b', 250],
      ]),
    );
    expect(w.log.lines).toEqual(['scale llm/chat 1']);
  });

  it('no costs on a scale-up, nor without loads', async () => {
    const w = world();
    await w.apply(fixtureDecision({ podLoads: [{ pod: 'chat-a', load: 1 }] }));
    await w.apply(down(undefined));
    expect(w.cluster.deletionCosts.size).toBe(0);
  });

  it('costs are int32 and order by load', () => {
    expect(
      deletionCostsOf([
        { pod: 'a', load: 1e12 },
        { pod: 'b', load: 0.0004 },
      ]),
    ).toEqual([
      { pod: 'a', cost: 2 ** 31 - 1 },
      { pod: 'b', cost: 0 },
    ]);
  });

  it('a hostile pod load is rejected with the field named, nothing applied', async () => {
    const w = world();
    for (const podLoads of [
      [{ pod: '../kube-system/x', load: 1 }],
      [{ pod: 'chat-a', load: -1 }],
      Array.from({ length: 1001 }, (_, i) => ({ pod: `p${i}`, load: 1 })),
    ]) {
      const out = await applyMessage(w.deps, JSON.stringify(down(podLoads)), w.options);
      expect(out.status).toBe('rejected');
      expect(out.kind === 'rejected' && out.field).toMatch(/^decision\.podLoads/);
    }
    expect(w.log.lines).toEqual([]);
  });
});

describe('evaluate, for adoption', () => {
  const START = 1_767_225_600;
  const evalWorld = (config: Config, paused = false) => {
    const clock = new ManualClock(START);
    const metrics = new MemoryMetricsSource();
    const cluster = new MemoryCluster({
      deployments: [{ ...deployment('L4', 2), ...(paused ? { paused: true } : {}) }],
      pods: { 'llm/chat': ['chat-0', 'chat-1'] },
    });
    const capacity = new MemoryCapacityProvider({ accelerators: capacityViews(config, { 'gpu-l4': 3 }) });
    const state = new MemoryDecisionState();
    const queue = new MemoryDecisionQueue(() => clock.now());
    const telemetry = new MemoryTelemetrySink();
    const deps: EvaluateDeps = { metrics, cluster, capacity, queue, state, telemetry, clock };
    const drain = () =>
      queue.drain(async (body) => {
        await applyMessage({ cluster, capacity, state, telemetry, clock }, body, {
          config,
          pool: 'pool-a',
          maxAgeSeconds: 300,
        });
      });
    return { metrics, cluster, deps, drain };
  };
  const idle = poolConfig({ policy: { stabilizationWindowSeconds: 0 } });
  const r = ratePerReplica(idle);
  const loads = [
    { pod: 'chat-0', load: 3 },
    { pod: 'chat-1', load: 0 },
  ];

  it("a scale-down carries the pods' loads, and apply marks the idle pod to go first", async () => {
    const w = evalWorld(idle);
    w.metrics.observations.set('llm/chat', (now) => ({ ...observation(0.3 * r, now), podLoads: loads }));
    const out = await evaluatePool(w.deps, idle, 'pool-a');
    expect(out.decisions[0]).toMatchObject({ action: 'scale-down', targetReplicas: 1, podLoads: loads });
    await w.drain();
    expect(w.cluster.deletionCosts).toEqual(
      new Map([
        ['llm/chat-0', 3000],
        ['llm/chat-1', 0],
      ]),
    );
    expect(w.cluster.replicas('llm', 'chat')).toBe(1);
  });

  it('no loads in a decision that lowers nothing', async () => {
    const w = evalWorld(idle);
    w.metrics.observations.set('llm/chat', (now) => ({ ...observation(1.5 * r, now), podLoads: loads }));
    const out = await evaluatePool(w.deps, idle, 'pool-a');
    expect(out.decisions[0]!.targetReplicas).toBeGreaterThanOrEqual(2);
    expect(out.decisions[0]!.podLoads).toBeUndefined();
  });

  it('shadow: the decision says so; the capacity intent counts what runs, not what was decided', async () => {
    const shadow = { ...idle, mode: 'shadow' as const };
    const w = evalWorld(shadow);
    w.metrics.observations.set('llm/chat', (now) => observation(3.5 * r, now));
    const out = await evaluatePool(w.deps, shadow, 'pool-a');
    expect(out.decisions[0]).toMatchObject({ mode: 'shadow', targetReplicas: 4 });
    expect(out.capacity.accelerators.find((a) => a.acceleratorType === 'L4')?.devices).toBe(2);
    // the same evaluation in act mode asks for the 4
    const w2 = evalWorld(idle);
    w2.metrics.observations.set('llm/chat', (now) => observation(3.5 * r, now));
    const acting = await evaluatePool(w2.deps, idle, 'pool-a');
    expect(acting.decisions[0]!.mode).toBeUndefined();
    expect(acting.capacity.accelerators.find((a) => a.acceleratorType === 'L4')?.devices).toBe(4);
  });

  it('paused by the annotation: evaluate goes on deciding; capacity counts what runs', async () => {
    const w = evalWorld(idle, true);
    w.metrics.observations.set('llm/chat', (now) => observation(3.5 * r, now));
    const out = await evaluatePool(w.deps, idle, 'pool-a');
    expect(out.decisions[0]!.targetReplicas).toBe(4);
    expect(out.capacity.accelerators.find((a) => a.acceleratorType === 'L4')?.devices).toBe(2);
    await w.drain();
    expect(w.cluster.replicas('llm', 'chat')).toBe(2);
  });
});
