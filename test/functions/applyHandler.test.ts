/**
 * The apply handler (middy + Powertools batch and logger) on the events/ fixtures and on
 * hand-made batches, with in-memory adapters: what it applies, in what order, what it reports
 * as batch item failures, and what it logs.
 */
import { ApiException } from '@kubernetes/client-node';
import { createApplyHandler } from '../../functions/apply/handler.js';
import { scaledObjectScalesOn, toKubernetesError } from '../../lib/adapters/kubernetes/index.js';
import { lambdaContext, readEvent } from '../../lib/cli/invokeCommand.js';
import type { SQSEvent } from 'aws-lambda';
import { capacityIntent } from '../../lib/policy/capacityPlan.js';
import type { OtherAutoscaler } from '../../lib/policy/ports.js';
import { decision, sqsEvent, sqsRecord } from './decisions.js';
import { memoryApplyWiring } from './memoryWiring.js';
import { captureLogs } from './logs.js';

const context = lambdaContext('sva-apply', 60);

async function run(event: SQSEvent, setup = memoryApplyWiring()) {
  const handler = createApplyHandler(async () => setup.wiring);
  const { result, logs } = await captureLogs(() => handler(event, context));
  // the writes to the cluster and node groups, in order
  return { ...setup, result, logs, calls: setup.log.lines };
}

const byMessage = (logs: Record<string, unknown>[], text: string) =>
  logs.filter((l) => String(l.message).startsWith(text));

test('events/apply-one-decision.json: the Deployment scaled, the pool sequence reached', async () => {
  const { result, calls, logs, state } = await run(readEvent('events/apply-one-decision.json') as SQSEvent);
  expect(result).toEqual({ batchItemFailures: [] });
  expect(calls).toEqual(['scale llm/chat 3']);
  expect((await state.poolsReached(['llm/chat'])).get('llm/chat')).toBe(1);
  expect(await state.lastApplied('llm/chat')).toEqual({ sequence: 1, applied: true });
  const [applied] = byMessage(logs, 'decision applied');
  expect(applied).toMatchObject({
    level: 'INFO',
    service: 'sva-apply',
    decisionId: 'llm/chat#1',
    messageGroupId: 'llm/chat',
    status: 'applied',
    variant: 'llm/chat',
    sequence: 1,
    function_name: 'sva-apply',
  });
});

test('events/apply-several-decisions.json: each variant in order, Deployments only', async () => {
  const { result, calls } = await run(readEvent('events/apply-several-decisions.json') as SQSEvent);
  expect(result).toEqual({ batchItemFailures: [] });
  // the variants' message groups run concurrently; each keeps its order
  expect(calls.filter((c) => c.includes('chat'))).toEqual(['scale llm/chat 4', 'scale llm/chat 3']);
  expect(calls.filter((c) => c.includes('summarize'))).toEqual(['scale llm/summarize 2']);
});

test('a capacity intent grows at once and removes only once every variant reached its evaluation', async () => {
  const setup = memoryApplyWiring();
  const intent = (poolSequence: number, devices: number) =>
    capacityIntent({
      pool: 'default',
      poolSequence,
      now: Date.now() / 1000,
      variants: ['llm/chat', 'llm/summarize'],
      acceleratorTypes: ['L4', 'H100'],
      replicas: [{ acceleratorType: 'L4', devicesPerReplica: 1, replicas: devices }],
    });
  const grow = await run(sqsEvent(sqsRecord(intent(1, 5))), setup);
  expect(grow.result).toEqual({ batchItemFailures: [] });
  expect(setup.capacity.devices('L4')).toBe(5);
  const [applied] = byMessage(grow.logs, 'capacity intent applied');
  expect(applied).toMatchObject({
    level: 'INFO',
    messageGroupId: 'capacity/default',
    pool: 'default',
    poolSequence: 1,
    removalAllowed: false,
  });
  // the variants' decisions of evaluation 2 come after the intent: removal waits for them
  await run(sqsEvent(sqsRecord(intent(2, 1))), setup);
  expect(setup.capacity.devices('L4')).toBe(5);
  await run(
    sqsEvent(
      sqsRecord(decision({ variant: 'chat', sequence: 2, poolSequence: 2, target: 1 })),
      sqsRecord(decision({ variant: 'summarize', sequence: 2, poolSequence: 2, target: 0 })),
    ),
    setup,
  );
  const shrink = await run(sqsEvent(sqsRecord(intent(3, 1))), setup);
  expect(setup.capacity.devices('L4')).toBe(5);
  expect(byMessage(shrink.logs, 'capacity intent applied')[0]).toMatchObject({ removalAllowed: false });
  await run(sqsEvent(sqsRecord(intent(2, 1))), setup);
  // intent 2 was superseded by 3; the next evaluation's intent, once both reached it, removes
  // (message groups of one batch run concurrently, so the decisions come in a batch of their own)
  await run(
    sqsEvent(
      sqsRecord(decision({ variant: 'chat', sequence: 3, poolSequence: 3, target: 1 })),
      sqsRecord(decision({ variant: 'summarize', sequence: 3, poolSequence: 3, target: 1 })),
    ),
    setup,
  );
  await run(sqsEvent(sqsRecord(intent(3, 2))), setup);
  expect(setup.capacity.devices('L4')).toBe(2);
});

test('events/apply-malformed-decision.json: the bad message goes to the DLQ with its reason, processed; the other applies', async () => {
  const event = readEvent('events/apply-malformed-decision.json') as SQSEvent;
  const { result, calls, logs, deadLetters } = await run(event);
  expect(result).toEqual({ batchItemFailures: [] });
  expect(calls).toEqual(['scale llm/summarize 2']);
  const reason = 'rejected: decision.targetReplicas: Too small: expected number to be >=0';
  expect(deadLetters.letters).toEqual([
    {
      body: event.Records[0]!.body,
      groupId: 'llm/chat',
      deduplicationId: event.Records[0]!.messageId,
      reason,
    },
  ]);
  const [aside] = byMessage(logs, 'message set aside in the dead-letter queue');
  expect(aside).toMatchObject({
    level: 'WARN',
    decisionId: 'llm/chat#4',
    field: 'decision.targetReplicas',
    reason,
  });
});

test('events/apply-stale-decision.json: dropped as expired, logged, not a failure', async () => {
  const { result, calls, logs } = await run(readEvent('events/apply-stale-decision.json') as SQSEvent);
  expect(result).toEqual({ batchItemFailures: [] });
  expect(calls).toEqual([]);
  const [dropped] = byMessage(logs, 'decision dropped: expired');
  expect(dropped).toMatchObject({ level: 'WARN', status: 'expired', decisionId: 'llm/chat#5' });
  expect(String(dropped!.detail)).toMatch(/^issued \d+ s ago, more than 300 s: not applied$/);
});

test('a failure holds back the rest of its message group only; other groups go on', async () => {
  const setup = memoryApplyWiring();
  setup.cluster.failScaling('llm/chat', () => new Error('apiserver unavailable'));
  const chat1 = sqsRecord(decision({ variant: 'chat', sequence: 1, target: 2 }));
  const summarize = sqsRecord(decision({ variant: 'summarize', sequence: 1, target: 3 }));
  const chat2 = sqsRecord(decision({ variant: 'chat', sequence: 2, target: 4 }));
  const { result, calls, logs } = await run(sqsEvent(chat1, summarize, chat2), setup);
  expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([chat1.messageId, chat2.messageId]);
  expect(calls).toEqual(['scale llm/chat 2 (failed)', 'scale llm/summarize 3']);
  expect(byMessage(logs, 'message not applied')).toHaveLength(1);
});

test('duplicate and superseded decisions are deleted (no failure) and logged', async () => {
  const setup = memoryApplyWiring();
  const d5 = decision({ variant: 'chat', sequence: 5, target: 2 });
  const { calls, logs, result } = await run(
    sqsEvent(sqsRecord(d5), sqsRecord(d5), sqsRecord(decision({ variant: 'chat', sequence: 4, target: 7 }))),
    setup,
  );
  expect(result).toEqual({ batchItemFailures: [] });
  expect(calls).toEqual(['scale llm/chat 2']);
  expect(byMessage(logs, 'decision dropped').map((l) => l.status)).toEqual(['duplicate', 'superseded']);
});

test('logs carry no credentials: an API error is logged by its message only', async () => {
  const setup = memoryApplyWiring();
  const leaky = new ApiException(401, 'Unauthorized', undefined, {
    authorization: 'Bearer k8s-aws-v1.SECRET-TOKEN',
  });
  setup.cluster.failScaling('llm/chat', () => toKubernetesError(leaky, 'llm', 'chat', 'scale to 2'));
  const { logs } = await run(sqsEvent(sqsRecord(decision({ target: 2 }))), setup);
  const text = JSON.stringify(logs);
  expect(text).not.toContain('SECRET-TOKEN');
  expect(byMessage(logs, 'message not applied')[0]).toMatchObject({
    errorName: 'KubernetesError',
    retryable: true,
    reason: 'deployment llm/chat: scale to 2: unauthorized (credentials rejected): HTTP 401',
  });
});

test('a wiring failure fails the whole invocation, and is tried again on the next one', async () => {
  let attempts = 0;
  const setup = memoryApplyWiring();
  const handler = createApplyHandler(async () => {
    if (attempts++ === 0) throw new Error('SVA_STATE_TABLE is not set');
    return setup.wiring;
  });
  const event = sqsEvent(sqsRecord(decision({ target: 2 })));
  await expect(captureLogs(() => handler(event, context))).rejects.toThrow('SVA_STATE_TABLE is not set');
  const { result } = await captureLogs(() => handler(event, context));
  expect(result).toEqual({ batchItemFailures: [] });
});

/** A cluster whose scale calls wait until released, to see which calls are in flight at once. */
function gatedWiring() {
  const setup = memoryApplyWiring();
  const inFlight = new Set<string>();
  let most = 0;
  const gates: (() => void)[] = [];
  const scale = setup.cluster.scale.bind(setup.cluster);
  setup.cluster.scale = async (namespace: string, deployment: string, replicas: number) => {
    const key = `${namespace}/${deployment} ${replicas}`;
    inFlight.add(key);
    most = Math.max(most, inFlight.size);
    await new Promise<void>((release) => gates.push(release));
    inFlight.delete(key);
    return scale(namespace, deployment, replicas);
  };
  const releaseAll = async () => {
    // release whatever is waiting until the batch is done
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 1));
      gates.splice(0).forEach((release) => release());
    }
  };
  return { setup, inFlight, mostInFlight: () => most, releaseAll };
}

test('message groups of one batch are applied concurrently, each in its own order', async () => {
  const { setup, mostInFlight, releaseAll } = gatedWiring();
  const chat1 = sqsRecord(decision({ variant: 'chat', sequence: 1, target: 2 }));
  const summarize = sqsRecord(decision({ variant: 'summarize', sequence: 1, target: 3 }));
  const chat2 = sqsRecord(decision({ variant: 'chat', sequence: 2, target: 4 }));
  const handler = createApplyHandler(async () => setup.wiring);
  const [{ result }] = await Promise.all([
    captureLogs(() => handler(sqsEvent(chat1, summarize, chat2), context)),
    releaseAll(),
  ]);
  expect(result).toEqual({ batchItemFailures: [] });
  // chat's first decision and summarize's were both waiting on the API at once; chat's second
  // waited for its first
  expect(mostInFlight()).toBe(2);
  expect(setup.log.lines.filter((c) => c.includes('chat'))).toEqual(['scale llm/chat 2', 'scale llm/chat 4']);
  expect([setup.cluster.replicas('llm', 'chat'), setup.cluster.replicas('llm', 'summarize')]).toEqual([4, 3]);
});

test('a failed group fails the rest of its own messages only, and its logs carry its own keys', async () => {
  const setup = memoryApplyWiring();
  setup.cluster.failScaling('llm/summarize', () => new Error('apiserver unavailable'));
  const summarize1 = sqsRecord(decision({ variant: 'summarize', sequence: 1, target: 3 }));
  const chat1 = sqsRecord(decision({ variant: 'chat', sequence: 1, target: 2 }));
  const summarize2 = sqsRecord(decision({ variant: 'summarize', sequence: 2, target: 4 }));
  const chat2 = sqsRecord(decision({ variant: 'chat', sequence: 2, target: 5 }));
  const { result, calls, logs } = await run(sqsEvent(summarize1, chat1, summarize2, chat2), setup);
  expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
    summarize1.messageId,
    summarize2.messageId,
  ]);
  expect(calls).toContain('scale llm/chat 5');
  expect(calls.filter((c) => c.includes('summarize'))).toEqual(['scale llm/summarize 3 (failed)']);
  for (const line of byMessage(logs, 'decision applied'))
    expect(line).toMatchObject({ messageGroupId: 'llm/chat', variant: 'llm/chat' });
  expect(byMessage(logs, 'message not applied')).toEqual([
    expect.objectContaining({ messageGroupId: 'llm/summarize', decisionId: 'llm/summarize#1' }),
  ]);
});

test('a permanent Kubernetes error (403, 404, 422) sends the message to the DLQ and lets its group go on', async () => {
  for (const status of [403, 404, 422]) {
    const setup = memoryApplyWiring();
    const refused = new ApiException(status, 'refused', undefined, {});
    let refusals = 1;
    setup.cluster.failScaling('llm/chat', () => {
      if (refusals-- > 0) return toKubernetesError(refused, 'llm', 'chat', 'scale to 2');
      throw new Error('unreachable');
    });
    const first = sqsRecord(decision({ variant: 'chat', sequence: 1, target: 2 }));
    const { result, deadLetters, logs } = await run(sqsEvent(first), setup);
    expect(result).toEqual({ batchItemFailures: [] });
    expect(deadLetters.letters).toHaveLength(1);
    expect(deadLetters.letters[0]).toMatchObject({ body: first.body, groupId: 'llm/chat' });
    expect(deadLetters.letters[0]!.reason).toMatch(
      /^failed: chat to 2 refused: deployment llm\/chat: scale to 2: /,
    );
    expect(byMessage(logs, 'decision dropped: failed')[0]).toMatchObject({ level: 'WARN', status: 'failed' });
  }
});

test('a transient error (503, 429, 409) is a batch item failure, not the DLQ', async () => {
  const setup = memoryApplyWiring();
  setup.cluster.failScaling('llm/chat', () =>
    toKubernetesError(new ApiException(503, 'unavailable', undefined, {}), 'llm', 'chat', 'scale to 2'),
  );
  const record = sqsRecord(decision({ variant: 'chat', sequence: 1, target: 2 }));
  const { result, deadLetters } = await run(sqsEvent(record), setup);
  expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
  expect(deadLetters.letters).toEqual([]);
});

test('hostile decisions go to the DLQ with their reason, nothing scaled, and the group goes on', async () => {
  const setup = memoryApplyWiring();
  const hostile = [
    decision({ variant: 'chat', sequence: 1, target: 500 }),
    decision({ variant: 'ghost', sequence: 1 }),
    decision({ namespace: 'kube-system', variant: 'coredns', target: 0 }),
    decision({ variant: 'chat', sequence: 2, issuedAt: '2099-01-01T00:00:00.000Z' }),
    { ...decision({ variant: 'chat', sequence: 3 }), message: 'x'.repeat(1 << 20) },
  ].map((d) => sqsRecord(d));
  const valid = sqsRecord(decision({ variant: 'chat', sequence: 4, target: 3 }));
  const { result, calls, deadLetters } = await run(sqsEvent(...hostile, valid), setup);
  expect(result).toEqual({ batchItemFailures: [] });
  expect(calls).toEqual(['scale llm/chat 3']);
  expect(deadLetters.letters.map((l) => l.reason.split(':')[1]!.trim())).toEqual([
    'decision.deployments[0].replicas',
    'decision.variant',
    'decision.variant',
    'decision.issuedAt',
    'body',
  ]);
});

test('a permanent capacity provider error (retryable false) sends the intent to the DLQ; a transient one is retried', async () => {
  for (const [retryable, dead, failures] of [
    [false, 1, 0],
    [true, 0, 1],
  ] as const) {
    const setup = memoryApplyWiring();
    const refusing = {
      ...setup.wiring,
      deps: {
        ...setup.wiring.deps,
        capacity: {
          observe: async () => [],
          provide: async () => {
            throw Object.assign(new Error('AccessDenied: autoscaling:SetDesiredCapacity'), {
              name: 'AutoScalingError',
              retryable,
            });
          },
        },
      },
    };
    const record = sqsRecord(
      capacityIntent({
        pool: 'default',
        poolSequence: 1,
        now: Date.now() / 1000,
        variants: ['llm/chat', 'llm/summarize'],
        acceleratorTypes: ['L4'],
        replicas: [{ acceleratorType: 'L4', devicesPerReplica: 1, replicas: 2 }],
      }),
    );
    const { result, deadLetters } = await run(sqsEvent(record), { ...setup, wiring: refusing });
    expect(result.batchItemFailures).toHaveLength(failures);
    expect(deadLetters.letters).toHaveLength(dead);
    if (dead)
      expect(deadLetters.letters[0]).toMatchObject({
        groupId: 'capacity/default',
        reason: 'failed: AccessDenied: autoscaling:SetDesiredCapacity',
      });
  }
});

test('events/apply-hostile-decisions.json: the three outside the config to the DLQ with their field; the valid one applies', async () => {
  const event = readEvent('events/apply-hostile-decisions.json') as SQSEvent;
  const { result, calls, deadLetters } = await run(event);
  expect(result).toEqual({ batchItemFailures: [] });
  expect(calls).toEqual(['scale llm/chat 2']);
  expect(deadLetters.letters.map((l) => [l.groupId, l.reason.split(':')[1]!.trim()])).toEqual([
    ['llm/chat', 'decision.deployments[0].replicas'],
    ['kube-system/coredns', 'decision.variant'],
    ['llm/chat', 'decision.issuedAt'],
  ]);
});

/** What a ScaledObject with this prometheus query scales on, as the Kubernetes adapter reads it. */
function onQuery(query: string): OtherAutoscaler['scalesOn'] {
  const read = scaledObjectScalesOn({ triggers: [{ type: 'prometheus', metadata: { query } }] });
  if (!('scalesOn' in read)) throw new Error(read.unread);
  return read.scalesOn;
}

/** A KEDA ScaledObject on summarize's Deployment. */
const SUM_Q: OtherAutoscaler = {
  kind: 'ScaledObject',
  apiVersion: 'keda.sh/v1alpha1',
  namespace: 'llm',
  name: 'sum-q',
  deployment: 'summarize',
  scalesOn: onQuery('sum(inferno_desired_replicas{namespace="llm", variant_name="summarize"})'),
};

test('adopting sva: shadow logged at INFO, pause and conflict at WARN with what and why; none of them a failure or a dead letter', async () => {
  const setup = memoryApplyWiring();
  setup.cluster.setOtherAutoscalers([SUM_Q]);
  const { result, logs, calls, deadLetters } = await run(
    sqsEvent(
      sqsRecord({ ...decision({ variant: 'chat' }), mode: 'shadow' }),
      sqsRecord(decision({ variant: 'summarize' })),
    ),
    setup,
  );
  expect(result).toEqual({ batchItemFailures: [] });
  expect(calls).toEqual([]);
  expect(deadLetters.letters).toEqual([]);
  const [shadow] = byMessage(logs, 'decision not acted on: shadow');
  expect(shadow).toMatchObject({ level: 'INFO', variant: 'llm/chat', wouldDo: ['chat 1 → 2'] });
  const [conflict] = byMessage(logs, 'decision dropped: conflict');
  expect(conflict).toMatchObject({
    level: 'WARN',
    variant: 'llm/summarize',
    conflicts: ['ScaledObject llm/sum-q (keda.sh/v1alpha1) → summarize'],
  });
  expect(String(conflict!.detail)).toMatch(/advise/);

  const paused = memoryApplyWiring();
  const config = {
    ...paused.wiring.config,
    variants: paused.wiring.config.variants.map((v) => ({ ...v, paused: v.name === 'chat' })),
  };
  paused.wiring = { ...paused.wiring, options: { ...paused.wiring.options, config } };
  const held = await run(sqsEvent(sqsRecord(decision({ variant: 'chat' }))), paused);
  expect(held.result).toEqual({ batchItemFailures: [] });
  expect(held.calls).toEqual([]);
  const [line] = byMessage(held.logs, 'decision not acted on: paused');
  expect(line).toMatchObject({ level: 'WARN', variant: 'llm/chat' });
  expect(String(line!.detail)).toMatch(/^paused by the config/);
});

test('advise mode with nothing scaling on the advice: a WARN naming the variant, its Deployments and deploy/advise/; a failed check is a WARN, not a failure', async () => {
  const setup = memoryApplyWiring();
  setup.cluster.setOtherAutoscalers([SUM_Q]);
  const { result, logs, calls, deadLetters } = await run(
    sqsEvent(
      sqsRecord({ ...decision({ variant: 'chat' }), mode: 'advise' }),
      sqsRecord({ ...decision({ variant: 'summarize' }), mode: 'advise' }),
    ),
    setup,
  );
  expect(result).toEqual({ batchItemFailures: [] });
  expect(calls).toEqual([]);
  expect(deadLetters.letters).toEqual([]);
  const warned = byMessage(logs, 'advise mode: nothing scales on the advice');
  expect(warned).toHaveLength(1);
  expect(warned[0]).toMatchObject({ level: 'WARN', variant: 'llm/chat', deployments: ['chat'] });
  expect(String(warned[0]!.detail)).toMatch(/deploy\/advise\//);
  const [held] = byMessage(logs, 'decision not acted on: advise').filter(
    (l) => l.variant === 'llm/summarize',
  );
  expect(held).toMatchObject({
    level: 'INFO',
    advisedTo: ['ScaledObject llm/sum-q (keda.sh/v1alpha1) → summarize'],
  });

  const failing = memoryApplyWiring();
  failing.cluster.otherAutoscalers = async () => {
    throw toKubernetesError(
      new ApiException(403, 'forbidden', {}, {}),
      'llm',
      'horizontalpodautoscalers',
      'list',
    );
  };
  const skipped = await run(
    sqsEvent(sqsRecord({ ...decision({ variant: 'chat' }), mode: 'advise' })),
    failing,
  );
  expect(skipped.result).toEqual({ batchItemFailures: [] });
  expect(skipped.deadLetters.letters).toEqual([]);
  expect(byMessage(skipped.logs, 'decision not acted on: advise')).toHaveLength(1);
  const [line] = byMessage(skipped.logs, 'advise mode: check for an HPA or ScaledObject skipped');
  expect(line).toMatchObject({ level: 'WARN', variant: 'llm/chat' });
  expect(String(line!.detail)).toMatch(/403/);
  expect(byMessage(skipped.logs, 'advise mode: nothing scales on the advice')).toEqual([]);

  // A ScaledObject on the Deployment, but on CPU: the WARN names it and what it scales on.
  const onCpu = memoryApplyWiring();
  onCpu.cluster.setOtherAutoscalers([{ ...SUM_Q, scalesOn: [{ source: 'trigger', type: 'cpu' }] }]);
  const cpu = await run(
    sqsEvent(sqsRecord({ ...decision({ variant: 'summarize' }), mode: 'advise' })),
    onCpu,
  );
  expect(cpu.result).toEqual({ batchItemFailures: [] });
  const [ignored] = byMessage(cpu.logs, 'advise mode: nothing scales on the advice');
  expect(ignored).toMatchObject({ level: 'WARN', variant: 'llm/summarize', deployments: ['summarize'] });
  expect(String(ignored!.detail)).toMatch(
    /^ScaledObject llm\/sum-q scales summarize on a cpu trigger, not on inferno_desired_replicas: /,
  );

  // Its query copied from chat's: it scales summarize to chat's advice; the WARN says so.
  const copied = memoryApplyWiring();
  const query = 'sum(inferno_desired_replicas{namespace="llm", variant_name="chat"})';
  copied.cluster.setOtherAutoscalers([{ ...SUM_Q, scalesOn: onQuery(query) }]);
  const fights = await run(
    sqsEvent(sqsRecord({ ...decision({ variant: 'summarize' }), mode: 'advise' })),
    copied,
  );
  expect(fights.result).toEqual({ batchItemFailures: [] });
  const [misread] = byMessage(fights.logs, 'advise mode: nothing scales on the advice');
  expect(misread).toMatchObject({ level: 'WARN', variant: 'llm/summarize', deployments: ['summarize'] });
  expect(String(misread!.detail)).toMatch(
    /^ScaledObject llm\/sum-q scales summarize on another variant's inferno_desired_replicas: its query has variant_name="chat", and llm\/summarize's variant_name is "summarize": /,
  );
});
