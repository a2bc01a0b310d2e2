/**
 * Decisions end to end on real servers: SQS FIFO (moto) → apply handler (middy, Powertools
 * batch and logger) → DynamoDB state, the node groups' Auto Scaling groups (moto) and
 * Deployments (kube-apiserver with the shipped RBAC). The fault cases of the issue: duplicate
 * delivery, an older decision after a newer one, a forbidden namespace, a malformed message, a
 * busy Auto Scaling group; hostile decisions outside apply's config; a partial action during a
 * move between accelerators (namespace `moving`, whose Role lets the scaler scale only the new
 * accelerator's Deployment until the test widens it). Apply judges by its own
 * config (events/local-config.yaml and two variants evaluate does not run: llm/solo, and
 * restricted/chat, whose namespace the scaler's Role does not reach).
 */
import { nodeGroupsWithStartup } from '../../../lib/config/resolved.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { SetDesiredCapacityCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { AppsV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { ClusterNodes, kubeApisFromKubeconfig } from '../../../lib/adapters/kubernetes/index.js';
import {
  AutoScalingGroups,
  ManagedNodeGroupsProvider,
} from '../../../lib/adapters/managedNodeGroups/index.js';
import { workloadsOf } from '../../../functions/capacityProviders.js';
import { capacityIntent } from '../../../lib/policy/capacityPlan.js';
import type { PoolMessage } from '../../../lib/policy/messages.js';
import { SqsDecisionQueue } from '../../../lib/adapters/sqs/index.js';
import { createApplyHandler, logger as applyLogger } from '../../../functions/apply/handler.js';
import { createEvaluateHandler, logger as evaluateLogger } from '../../../functions/evaluate/handler.js';
import { applyWiring, evaluateWiring } from '../../../functions/wiring.js';
import { lambdaContext } from '../../../lib/cli/invokeCommand.js';
import { decision } from '../../functions/decisions.js';
import { replicasOf } from '../kubernetes/kubeApiServer.js';
import { captureLogs, CLUSTER, startStack, TABLE, type Stack } from './stack.js';

jest.setTimeout(180_000);

const MAX_RECEIVES = 3;
let stack: Stack | undefined;
const s = () => stack!;

const LOCAL_CONFIG = parse(readFileSync('events/local-config.yaml', 'utf8')) as {
  variants: Record<string, unknown>[];
};
let applyEnv: Record<string, string> = {};

beforeAll(async () => {
  stack = await startStack({
    config: LOCAL_CONFIG,
    maxReceiveCount: MAX_RECEIVES,
    nodeGroups: [
      { name: 'gpu-l4', minSize: 0, maxSize: 12, desiredSize: 1 },
      { name: 'gpu-h100', minSize: 0, maxSize: 2, desiredSize: 0 },
    ],
    deployments: {
      llm: { chat: 1, summarize: 1, solo: 1 },
      restricted: { chat: 1 },
      moving: { chat: 2, 'chat-h100': 0 },
    },
  });
  // The scaler may scale only chat-h100 in `moving`, as a Role listing resourceNames would allow
  // it after an operator added the new accelerator's Deployment and forgot the old one.
  await writeRole(['chat-h100']);
  // The SDK's default credential chain reads these.
  Object.assign(process.env, s().moto.env);
  const chat = LOCAL_CONFIG.variants[0]!;
  const applyConfig = join(s().kube.dir, 'apply-config.yaml');
  writeFileSync(
    applyConfig,
    stringify({
      ...LOCAL_CONFIG,
      variants: [
        ...LOCAL_CONFIG.variants,
        { ...chat, name: 'solo' },
        { ...chat, namespace: 'restricted' },
        // moving from L4 to H100: two Deployments
        {
          ...chat,
          namespace: 'moving',
          accelerator: undefined,
          accelerators: ['L4', 'H100'],
          deployments: { L4: 'chat', H100: 'chat-h100' },
        },
      ],
    }),
  );
  applyEnv = { ...s().env, SVA_CONFIG: applyConfig };
});

afterAll(async () => {
  await stack?.stop();
});

const applyHandler = () => createApplyHandler(() => applyWiring(applyEnv, applyLogger));

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/**
 * The scaler's Role in namespace `moving`: deploy/rbac.yaml's, but it may scale only the
 * Deployments named (as a Role listing resourceNames would allow).
 */
async function writeRole(scalable: string[]): Promise<void> {
  const rbac = s().kube.admin.makeApiClient(RbacAuthorizationV1Api);
  const namespace = 'moving';
  const shipped = parseAllDocuments(readFileSync('deploy/rbac.yaml', 'utf8'))
    .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; rules?: PolicyRule[] })
    .find((d) => d.kind === 'Role' && d.metadata?.name === 'sva-scaler');
  if (!shipped?.rules) throw new Error('deploy/rbac.yaml has no Role sva-scaler');
  const rules = shipped.rules.map((r) =>
    r.resources.includes('deployments/scale') ? { ...r, resourceNames: scalable } : r,
  );
  const body = { metadata: { name: 'sva-scaler', namespace }, rules };
  const exists = await rbac.readNamespacedRole({ name: 'sva-scaler', namespace }).then(
    () => true,
    () => false,
  );
  if (exists) {
    await rbac.replaceNamespacedRole({ name: 'sva-scaler', namespace, body });
    return;
  }
  await rbac.createNamespacedRole({ namespace, body });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'sva-scaler', namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'sva-scaler' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'sva-scaler' }],
    },
  });
}

/** The API server's RBAC follows a changed Role within moments: waits for it, bounded. */
async function untilScalerMayScale(namespace: string, name: string): Promise<void> {
  const apps = s().kube.scaler.makeApiClient(AppsV1Api);
  for (let tries = 0; ; tries++) {
    try {
      await apps.readNamespacedDeploymentScale({ name, namespace });
      return;
    } catch (err) {
      if (tries >= 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const send = (...decisions: PoolMessage[]) =>
  new SqsDecisionQueue(s().moto.sqs, s().queues.queueUrl).send(decisions);
const replicas = (ns: string, name: string) => replicasOf(s().kube.admin, ns, name);
const messages = (logs: Record<string, unknown>[], text: string) =>
  logs.filter((l) => String(l.message).includes(text));

test('evaluate → queue → apply: Deployments take the decided sizes, the pool’s capacity intent the node group', async () => {
  const evaluate = createEvaluateHandler(() => evaluateWiring(s().evaluateEnv, evaluateLogger));
  const { result: summary } = await captureLogs(() =>
    evaluate(
      { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} },
      lambdaContext('sva-evaluate', 60),
    ),
  );
  expect(summary.variants.map((v) => v.variant).sort()).toEqual(['llm/chat', 'llm/summarize']);
  const { result: totals, logs } = await captureLogs(() => s().drain(applyHandler()));
  // two decisions and the pool's capacity intent
  expect(totals).toMatchObject({ received: 3, deleted: 3, failed: 0 });
  for (const v of summary.variants) {
    expect(v.targetReplicas).toBeGreaterThan(1);
    expect(await replicas('llm', v.variant.split('/')[1]!)).toBe(v.targetReplicas);
  }
  const applied = messages(logs, 'decision applied');
  expect(applied).toHaveLength(2);
  expect(applied[0]).toMatchObject({ level: 'INFO', service: 'sva-apply', status: 'applied' });
  expect(applied.map((l) => l.decisionId).sort()).toEqual(['llm/chat#1', 'llm/summarize#1']);
  const [capacity] = messages(logs, 'capacity intent applied');
  expect(capacity).toMatchObject({ messageGroupId: 'capacity/default', pool: 'default', poolSequence: 1 });
  // One L4 node for every replica, through the node group's Auto Scaling group.
  const group = await s().nodeGroup('gpu-l4');
  const total = summary.variants.reduce((n, v) => n + v.targetReplicas, 0);
  expect(group.desiredSize).toBe(total);
  expect(group.maxSize).toBe(12);
  expect(total).toBeGreaterThan(1);
});

test('the same message delivered twice applies once', async () => {
  const d = decision({ variant: 'solo', sequence: 1, current: 1, target: 3, poolSequence: 100 });
  await send(d);
  await send(d); // a retried send: SQS FIFO deduplicates it
  const handler = applyHandler();
  const first = await captureLogs(() => s().drain(handler));
  expect(first.result).toMatchObject({ received: 1, deleted: 1 });
  const apps = s().kube.admin.makeApiClient(AppsV1Api);
  const version = async () =>
    (await apps.readNamespacedDeployment({ name: 'solo', namespace: 'llm' })).metadata?.resourceVersion;
  const before = await version();
  // At-least-once delivery: the same message again (a lost delete, a visibility timeout).
  await s().moto.sqs.send(
    new SendMessageCommand({
      QueueUrl: s().queues.queueUrl,
      MessageBody: JSON.stringify(d),
      MessageGroupId: 'llm/solo',
      MessageDeduplicationId: 'llm.solo.1.redelivered',
    }),
  );
  const second = await captureLogs(() => s().drain(handler));
  expect(second.result).toMatchObject({ received: 1, deleted: 1, failed: 0 });
  expect(messages(second.logs, 'decision dropped: duplicate')).toHaveLength(1);
  expect(await replicas('llm', 'solo')).toBe(3);
  expect(await version()).toBe(before);
});

test('an older decision arriving after a newer one is dropped', async () => {
  await send(decision({ variant: 'solo', sequence: 10, current: 3, target: 2 }));
  await send(decision({ variant: 'solo', sequence: 9, current: 3, target: 7 }));
  const { result, logs } = await captureLogs(() => s().drain(applyHandler()));
  expect(result).toMatchObject({ received: 2, deleted: 2, failed: 0 });
  const dropped = messages(logs, 'decision dropped: superseded');
  expect(dropped).toHaveLength(1);
  expect(dropped[0]).toMatchObject({ decisionId: 'llm/solo#9', sequence: 9 });
  expect(await replicas('llm', 'solo')).toBe(2);
});

test('a forbidden namespace (403, permanent) goes to the DLQ at once with the reason; the group is not held', async () => {
  const d = decision({ namespace: 'restricted', variant: 'chat', sequence: 1, current: 1, target: 4 });
  const next = decision({ namespace: 'restricted', variant: 'chat', sequence: 2, current: 1, target: 3 });
  await send(d, next);
  const { result, logs } = await captureLogs(() => s().drain(applyHandler()));
  // both delivered once, neither retried: no message waits maxReceiveCount receives
  expect(result).toMatchObject({ received: 2, deleted: 2, failed: 0 });
  const aside = messages(logs, 'message set aside in the dead-letter queue');
  expect(aside).toHaveLength(2);
  expect(aside[0]).toMatchObject({
    level: 'WARN',
    decisionId: 'restricted/chat#1',
    messageGroupId: 'restricted/chat',
    receiveCount: '1',
  });
  const dead = await s().dlqMessages();
  expect(dead.map((m) => [JSON.parse(m.body).id, m.groupId])).toEqual([
    ['restricted/chat#1', 'restricted/chat'],
    ['restricted/chat#2', 'restricted/chat'],
  ]);
  expect(dead[0]!.reason).toMatch(/^failed: chat to 4 refused: deployment restricted\/chat: .*forbidden/);
  expect(await replicas('restricted', 'chat')).toBe(1);
});

test('malformed messages go to the DLQ at once with the field named, not retried', async () => {
  const bad = { ...decision({ variant: 'solo', sequence: 20 }), targetReplicas: -1 };
  for (const [body, dedup] of [
    ['{"version": 1, "id": "llm/solo#21", truncated', 'bad-1'],
    [JSON.stringify(bad), 'bad-2'],
  ]) {
    await s().moto.sqs.send(
      new SendMessageCommand({
        QueueUrl: s().queues.queueUrl,
        MessageBody: body,
        MessageGroupId: `g-${dedup}`,
        MessageDeduplicationId: dedup,
      }),
    );
  }
  const { result } = await captureLogs(() => s().drain(applyHandler()));
  expect(result).toMatchObject({ received: 2, deleted: 2, failed: 0 });
  const dead = await s().dlqMessages();
  expect(new Set(dead.map((m) => m.reason))).toEqual(
    new Set([
      'rejected: body: decision is not JSON',
      'rejected: decision.targetReplicas: Too small: expected number to be >=0',
    ]),
  );
  expect(await replicas('llm', 'solo')).toBe(2);
});

test('hostile messages end in the DLQ with their reason and change nothing; the next valid decision applies', async () => {
  const before = { chat: await replicas('llm', 'chat'), h100: (await s().nodeGroup('gpu-h100')).desiredSize };
  const seq = 40;
  const hostile: [PoolMessage, string][] = [
    [decision({ variant: 'chat', sequence: seq, target: 500 }), 'decision.deployments[0].replicas'],
    [decision({ variant: 'ghost', sequence: seq }), 'decision.variant'],
    [
      decision({ namespace: 'kube-system', variant: 'coredns', sequence: seq, target: 0 }),
      'decision.variant',
    ],
    [
      decision({ variant: 'summarize', sequence: seq, issuedAt: '2099-01-01T00:00:00.000Z' }),
      'decision.issuedAt',
    ],
    [
      capacityIntent({
        pool: 'default',
        poolSequence: seq,
        now: Date.now() / 1000,
        variants: ['llm/chat'],
        acceleratorTypes: ['H100'],
        replicas: [{ acceleratorType: 'H100', devicesPerReplica: 8, replicas: 2 }],
      }),
      'capacity.accelerators[0].devices',
    ],
  ];
  await send(...hostile.map(([m]) => m));
  // over the 64 KiB limit (SQS itself refuses more than 256 KiB)
  const large = { ...decision({ variant: 'chat', sequence: seq + 1 }), message: 'x'.repeat(200_000) };
  await s().moto.sqs.send(
    new SendMessageCommand({
      QueueUrl: s().queues.queueUrl,
      MessageBody: JSON.stringify(large),
      MessageGroupId: 'llm/chat',
      MessageDeduplicationId: 'large',
    }),
  );
  const { result } = await captureLogs(() => s().drain(applyHandler()));
  expect(result).toMatchObject({ received: hostile.length + 1, deleted: hostile.length + 1, failed: 0 });
  const dead = await s().dlqMessages();
  const fields = dead.map((m) => m.reason!.replace(/^rejected: /, '').split(': ')[0]).sort();
  expect(fields).toEqual([...hostile.map(([, f]) => f), 'body'].sort());
  expect(await replicas('llm', 'chat')).toBe(before.chat);
  expect((await s().nodeGroup('gpu-h100')).desiredSize).toBe(before.h100);

  await send(decision({ variant: 'chat', sequence: seq + 2, current: before.chat!, target: 5 }));
  const ok = await captureLogs(() => s().drain(applyHandler()));
  expect(ok.result).toMatchObject({ received: 1, deleted: 1, failed: 0 });
  expect(await replicas('llm', 'chat')).toBe(5);
});

test('a busy Auto Scaling group fails the capacity intent’s delivery, and the next delivery applies it', async () => {
  // moto never refuses: Auto Scaling's answer to a group in the middle of a scaling activity is
  // simulated, the first SetDesiredCapacity throws ScalingActivityInProgress.
  let refusals = 0;
  const busyOnce = {
    send: ((command: unknown) => {
      if (command instanceof SetDesiredCapacityCommand && refusals++ === 0) {
        return Promise.reject(
          Object.assign(new Error('Scaling activity in progress'), {
            name: 'ScalingActivityInProgress',
            $fault: 'client',
          }),
        );
      }
      return s().moto.autoScaling.send(command as SetDesiredCapacityCommand);
    }) as AutoScalingClient['send'],
  };
  const handler = createApplyHandler(async () => {
    const w = await applyWiring(applyEnv, applyLogger);
    const capacity = new ManagedNodeGroupsProvider(
      new AutoScalingGroups(s().moto.eks, busyOnce, CLUSTER),
      new ClusterNodes(kubeApisFromKubeconfig(s().env.KUBECONFIG)),
      { nodeGroups: nodeGroupsWithStartup(w.config), workloads: workloadsOf(w.config) },
    );
    return { ...w, deps: { ...w.deps, capacity } };
  });
  await send(
    capacityIntent({
      pool: 'default',
      poolSequence: 200,
      // after the evaluation of the first test: a newer generation of the policy memory
      generation: Date.now(),
      now: Date.now() / 1000,
      variants: ['llm/chat', 'llm/summarize'],
      acceleratorTypes: ['L4', 'H100'],
      replicas: [{ acceleratorType: 'L4', devicesPerReplica: 1, replicas: 11 }],
    }),
  );
  const { result, logs } = await captureLogs(() => s().drain(handler));
  expect(result).toMatchObject({ deleted: 1, failed: 1 });
  // Given back at once (visibility 0), the failed message can be received again before its
  // invocation has handed its group back; it then waits and is given back once more: an extra
  // receive, never an extra application.
  expect(result.received).toBeGreaterThanOrEqual(2);
  const failure = messages(logs, 'message not applied');
  expect(failure).toHaveLength(1);
  expect(failure[0]).toMatchObject({ errorName: 'AutoScalingError', retryable: true, receiveCount: '1' });
  expect(String(failure[0]!.reason)).toContain('retried on the next delivery');
  const applied = messages(logs, 'capacity intent applied');
  expect(applied).toHaveLength(1);
  expect(applied[0]).toMatchObject({ poolSequence: 200, receiveCount: String(result.received) });
  expect((await s().nodeGroup('gpu-l4')).desiredSize).toBe(11);
  expect(refusals).toBe(2);
  expect(await s().dlqBodies()).toEqual([]);
});

test('a partial action during a move: capacity grown, the old Deployment refused (403); reported as partial, set aside without holding the group, reconciled by the next decision', async () => {
  const move = (sequence: number) => {
    const d = decision({ namespace: 'moving', variant: 'chat', sequence, current: 2, target: 1 });
    return {
      ...d,
      accelerator: 'H100',
      action: 'migrate' as const,
      deployments: [
        { accelerator: 'H100', deployment: 'chat-h100', replicas: 1 },
        // the old accelerator's Deployment drains as the new one comes up
        { accelerator: 'L4', deployment: 'chat', replicas: 1 },
      ],
    };
  };
  const h100Before = (await s().nodeGroup('gpu-h100')).desiredSize ?? 0;
  // The evaluation's two messages, each on its own message group: the pool's capacity intent
  // asks for the H100 the move needs; the variant's decision sets both Deployments. And the
  // next decision of the variant, queued behind it in the same group.
  await send(
    capacityIntent({
      pool: 'default',
      poolSequence: 300,
      generation: Date.now(),
      now: Date.now() / 1000,
      variants: ['moving/chat'],
      acceleratorTypes: ['H100'],
      replicas: [{ acceleratorType: 'H100', devicesPerReplica: 1, replicas: 1 }],
    }),
    move(1),
    move(2),
  );
  const { result, logs } = await captureLogs(() => s().drain(applyHandler()));
  // all three delivered once and deleted: nothing waits maxReceiveCount receives
  expect(result).toMatchObject({ received: 3, deleted: 3, failed: 0 });
  // the capacity part succeeded
  expect(messages(logs, 'capacity intent applied')).toHaveLength(1);
  expect((await s().nodeGroup('gpu-h100')).desiredSize).toBe(h100Before + 1);
  // the Deployments part only in part: the new one set, the old one refused and unchanged
  expect(await replicas('moving', 'chat-h100')).toBe(1);
  expect(await replicas('moving', 'chat')).toBe(2);
  const partial = messages(logs, 'decision partly applied');
  expect(partial).toHaveLength(2);
  expect(partial[0]).toMatchObject({
    level: 'WARN',
    status: 'partial',
    decisionId: 'moving/chat#1',
    messageGroupId: 'moving/chat',
    receiveCount: '1',
    set: ['chat-h100 to 1'],
    refused: 'chat',
    detail: 'chat-h100 to 1 set; chat to 1 refused',
  });
  expect(String(partial[0]!.error)).toMatch(/^deployment moving\/chat: scale to 1: forbidden/);
  // set aside with the reason named, in the variant's group; the group went on to #2 at once
  const dead = await s().dlqMessages();
  expect(dead.map((m) => [JSON.parse(m.body).id, m.groupId])).toEqual([
    ['moving/chat#1', 'moving/chat'],
    ['moving/chat#2', 'moving/chat'],
  ]);
  expect(dead[0]!.reason).toMatch(
    /^partial: chat-h100 to 1 set; chat to 1 refused: deployment moving\/chat: scale to 1: forbidden/,
  );
  // and counted, kept in the decision state as inferno_decisions_dropped_total{reason="partial"}
  const counter = await s().moto.documents.send(
    new GetCommand({
      TableName: TABLE,
      Key: { pk: 'counter#inferno_decisions_dropped_total#reason=partial' },
    }),
  );
  expect(counter.Item?.value).toBe(2);

  // The cause gone (the Role lists the old Deployment too), the next decision applies fully.
  await writeRole(['chat-h100', 'chat']);
  await untilScalerMayScale('moving', 'chat');
  await send(move(3));
  const next = await captureLogs(() => s().drain(applyHandler()));
  expect(next.result).toMatchObject({ received: 1, deleted: 1, failed: 0 });
  expect(messages(next.logs, 'decision applied')[0]).toMatchObject({ decisionId: 'moving/chat#3' });
  expect(await replicas('moving', 'chat-h100')).toBe(1);
  expect(await replicas('moving', 'chat')).toBe(1);
  expect(await s().dlqMessages()).toEqual([]);
});
