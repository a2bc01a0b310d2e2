/**
 * The local stack of the integration tests: moto (SQS FIFO queue + DLQ, DynamoDB table, EKS
 * cluster with node groups) and etcd + kube-apiserver with the shipped RBAC, wired to the
 * handlers through the same environment variables as on Lambda.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeNodegroupCommand } from '@aws-sdk/client-eks';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { stringify } from 'yaml';
import { lambdaContext } from '../../../lib/cli/invokeCommand.js';
import { drainQueue, type SqsBatchHandler } from '../../../lib/adapters/sqs/index.js';
import {
  applyManifest,
  createDeployment,
  createNamespace,
  READER_TOKEN,
  SCALER_TOKEN,
  startKubeApiServer,
  type KubeServer,
} from '../kubernetes/kubeApiServer.js';
export { captureLogs } from '../../functions/logs.js';
import {
  createCluster,
  createDecisionQueues,
  createStateTable,
  REGION,
  startMoto,
  type DecisionQueues,
  type Moto,
} from './moto.js';

export const CLUSTER = 'gpu-cluster';
export const TABLE = 'sva-state';

export interface StackOptions {
  /** the config document (written to a file for SVA_CONFIG) */
  readonly config: unknown;
  readonly maxReceiveCount: number;
  readonly nodeGroups: readonly { name: string; minSize: number; maxSize: number; desiredSize: number }[];
  /** namespace → Deployment name → replicas */
  readonly deployments: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface Stack {
  readonly moto: Moto;
  readonly kube: KubeServer;
  readonly queues: DecisionQueues;
  /** apply's environment: Kubernetes as the scaler (group sva-scaler) */
  readonly env: Record<string, string>;
  /** evaluate's: Kubernetes as the reader (group sva-reader) */
  readonly evaluateEnv: Record<string, string>;
  drain(handler: SqsBatchHandler, maxPolls?: number): ReturnType<typeof drainQueue>;
  dlqBodies(): Promise<string[]>;
  /** what the dead-letter queue holds, with the reason apply gave (absent: moved by redrive) */
  dlqMessages(): Promise<DeadLetterMessage[]>;
  nodeGroup(name: string): Promise<{ desiredSize?: number; minSize?: number; maxSize?: number }>;
  /**
   * The variants whose decision of a pool sequence is queued (taken off the queue with every
   * decision before it), waiting up to a minute for `count` of them.
   */
  decisionsOf(poolSequence: number, count: number): Promise<string[]>;
  stop(): Promise<void>;
}

export interface DeadLetterMessage {
  readonly body: string;
  readonly reason?: string;
  readonly groupId?: string;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  let moto: Moto | undefined;
  let kube: KubeServer | undefined;
  try {
    [moto, kube] = await Promise.all([startMoto(), startKubeApiServer()]);
    const queues = await createDecisionQueues(moto.sqs, 'sva-decisions', options.maxReceiveCount);
    await createStateTable(moto.dynamo, TABLE);
    await createCluster(moto.eks, CLUSTER, options.nodeGroups, moto.autoScaling);
    for (const [namespace, deployments] of Object.entries(options.deployments)) {
      await createNamespace(kube.admin, namespace);
      for (const [name, replicas] of Object.entries(deployments))
        await createDeployment(kube.admin, namespace, name, replicas);
    }
    await applyManifest(kube.admin, resolve('deploy/rbac.yaml'));
    await applyManifest(kube.admin, resolve('deploy/rbac-capacity.yaml'));
    const configPath = join(kube.dir, 'config.yaml');
    writeFileSync(configPath, stringify(options.config));
    const env = {
      ...moto.env,
      SVA_CONFIG: configPath,
      SVA_STATE_TABLE: TABLE,
      SVA_QUEUE_URL: queues.queueUrl,
      SVA_DLQ_URL: queues.dlqUrl,
      SVA_CLUSTER_NAME: CLUSTER,
      KUBECONFIG: kube.writeKubeconfig(SCALER_TOKEN),
      SVA_METRICS: 'config-load',
      SVA_TELEMETRY: 'none',
    };
    const evaluateEnv = { ...env, KUBECONFIG: kube.writeKubeconfig(READER_TOKEN) };
    const m = moto;
    const dlqMessages = async (): Promise<DeadLetterMessage[]> => {
      const out: DeadLetterMessage[] = [];
      for (let polls = 0; polls < 20; polls++) {
        const r = await m.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queues.dlqUrl,
            MaxNumberOfMessages: 10,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['MessageGroupId'],
          }),
        );
        if (!r.Messages?.length) break;
        out.push(
          ...r.Messages.map((x) => ({
            body: x.Body ?? '',
            reason: x.MessageAttributes?.reason?.StringValue,
            groupId: x.Attributes?.MessageGroupId,
          })),
        );
      }
      return out;
    };
    return {
      moto: m,
      kube,
      queues,
      env,
      evaluateEnv,
      drain: (handler, maxPolls = 50) =>
        drainQueue(m.sqs, handler, {
          queueUrl: queues.queueUrl,
          queueArn: queues.queueArn,
          region: REGION,
          context: () => lambdaContext('sva-apply', 60),
          failedVisibilitySeconds: 0,
          maxPolls,
          emptyPolls: 2,
        }),
      async dlqBodies() {
        return (await dlqMessages()).map((x) => x.body);
      },
      dlqMessages,
      async decisionsOf(poolSequence, count) {
        const seen: string[] = [];
        for (let polls = 0; polls < 60 && seen.length < count; polls++) {
          const r = await m.sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: queues.queueUrl,
              MaxNumberOfMessages: 10,
              WaitTimeSeconds: 1,
            }),
          );
          for (const x of r.Messages ?? []) {
            const d = JSON.parse(x.Body ?? '{}') as { poolSequence?: number; variant?: string };
            if (d.poolSequence === poolSequence && d.variant) seen.push(d.variant);
            await m.sqs.send(
              new DeleteMessageCommand({ QueueUrl: queues.queueUrl, ReceiptHandle: x.ReceiptHandle! }),
            );
          }
        }
        return seen.sort();
      },
      async nodeGroup(name) {
        // Sizes live in the node group's Auto Scaling group (moto does not tie the two together).
        const out = await m.eks.send(
          new DescribeNodegroupCommand({ clusterName: CLUSTER, nodegroupName: name }),
        );
        const asg = out.nodegroup?.resources?.autoScalingGroups?.[0]?.name;
        const g = (
          await m.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asg!] }))
        ).AutoScalingGroups?.[0];
        return { desiredSize: g?.DesiredCapacity, minSize: g?.MinSize, maxSize: g?.MaxSize };
      },
      async stop() {
        await Promise.all([m.stop(), kube?.stop()]);
      },
    };
  } catch (err) {
    await Promise.all([moto?.stop(), kube?.stop()]);
    throw err;
  }
}
