/**
 * moto servers (python3 -m moto.server) on loopback, and the AWS resources of the autoscaler
 * in them: the SQS FIFO decision queue with its DLQ and redrive policy, the DynamoDB state table,
 * an EKS cluster with GPU node groups, each backed by the Auto Scaling group EKS names for it
 * (moto does not create one: the capacity provider sizes node groups through Auto Scaling).
 *
 * Each service the autoscaler uses has a server of its own, as each is a service of its own on
 * AWS: one moto process answers one request at a time (Python's GIL), so with one for all an
 * evaluation's SQS sends waited behind apply's DynamoDB writes (docs/TESTING.md, "The real
 * servers"). The clients reach each through AWS_ENDPOINT_URL_<SERVICE>; every
 * other service (Lambda, IAM, Secrets Manager, SSM) shares the server at AWS_ENDPOINT_URL.
 */
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateClusterCommand,
  CreateNodegroupCommand,
  DescribeNodegroupCommand,
  EKSClient,
} from '@aws-sdk/client-eks';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsClientSettings, type AwsService } from '../lib/adapters/aws/clientConfig.js';
import { freePort, requireCommand, ServerProcess } from './processes.js';

export const MOTO_INSTALL = `pip install 'moto[server]==5.2.1'`;
export const REGION = 'us-east-1';
export const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** The services with a moto server of their own. */
export const MOTO_SERVICES = [
  'SQS',
  'DYNAMODB',
  'EKS',
  'AUTO_SCALING',
] as const satisfies readonly AwsService[];
export type MotoService = (typeof MOTO_SERVICES)[number];

export interface Moto {
  /** the shared server: every service without one of its own (Lambda, IAM, Secrets Manager, SSM) */
  readonly endpoint: string;
  /** each service's own server */
  readonly endpoints: Readonly<Record<MotoService, string>>;
  /** every server, named moto-<service> (moto for the shared one) */
  readonly servers: readonly MotoServer[];
  readonly sqs: SQSClient;
  readonly eks: EKSClient;
  readonly autoScaling: AutoScalingClient;
  readonly dynamo: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  /** variables for code that builds its own clients from the environment */
  readonly env: Record<string, string>;
  /** stops every server */
  stop(): Promise<void>;
}

export interface MotoServer {
  readonly name: string;
  readonly endpoint: string;
  readonly pid: number | undefined;
}

async function startMotoServer(name: string): Promise<{ server: ServerProcess; endpoint: string }> {
  const port = await freePort();
  const server = new ServerProcess(name, 'python3', [
    '-m',
    'moto.server',
    '-H',
    '127.0.0.1',
    '-p',
    String(port),
  ]);
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await server.waitUntil(async () => (await fetch(`${endpoint}/moto-api/`)).ok, 30_000);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { server, endpoint };
}

export async function startMoto(): Promise<Moto> {
  requireCommand('python3', ['-c', 'import moto.server'], MOTO_INSTALL);
  const names = ['moto', ...MOTO_SERVICES.map((s) => `moto-${s.toLowerCase().replace('_', '-')}`)];
  const started = await Promise.allSettled(names.map(startMotoServer));
  const processes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value.server] : []));
  const stop = async () => {
    await Promise.all(processes.map((s) => s.stop()));
  };
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const servers = started.map((r, i) => {
    const { server, endpoint } = (r as PromiseFulfilledResult<{ server: ServerProcess; endpoint: string }>)
      .value;
    return { name: names[i]!, endpoint, pid: server.pid };
  });
  const [shared, ...own] = servers.map((s) => s.endpoint);
  const endpoints = Object.fromEntries(MOTO_SERVICES.map((s, i) => [s, own[i]!])) as Record<
    MotoService,
    string
  >;
  const env: Record<string, string> = {
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL: shared!,
    ...Object.fromEntries(MOTO_SERVICES.map((s) => [`AWS_ENDPOINT_URL_${s}`, endpoints[s]])),
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  // The functions' client settings, pointed at moto: a retry strategy (and its quota) per client.
  const settings = (service: AwsService) => ({
    ...awsClientSettings(env, service),
    credentials: CREDENTIALS,
  });
  const dynamo = new DynamoDBClient(settings('DYNAMODB'));
  return {
    endpoint: shared!,
    endpoints,
    servers,
    sqs: new SQSClient(settings('SQS')),
    eks: new EKSClient(settings('EKS')),
    autoScaling: new AutoScalingClient(settings('AUTO_SCALING')),
    dynamo,
    documents: DynamoDBDocumentClient.from(dynamo),
    env,
    stop,
  };
}

export interface DecisionQueues {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
}

export async function createDecisionQueues(
  sqs: SQSClient,
  name: string,
  maxReceiveCount: number,
): Promise<DecisionQueues> {
  const dlq = await sqs.send(
    new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: { FifoQueue: 'true' } }),
  );
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl!, AttributeNames: ['QueueArn'] }))
  ).Attributes!.QueueArn!;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${name}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        VisibilityTimeout: '30',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
      },
    }),
  );
  const queueArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl!, AttributeNames: ['QueueArn'] }))
  ).Attributes!.QueueArn!;
  return { queueUrl: queue.QueueUrl!, queueArn, dlqUrl: dlq.QueueUrl! };
}

export async function createStateTable(dynamo: DynamoDBClient, name: string): Promise<void> {
  await dynamo.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/** The gateway's counters (functions/ingest): keys `pk` and `sk`, TTL on `expiresAt`. */
export async function createGatewayTable(dynamo: DynamoDBClient, name: string): Promise<void> {
  await dynamo.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await dynamo.send(
    new UpdateTimeToLiveCommand({
      TableName: name,
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    }),
  );
}

/** The gateway's event queue: a standard queue (ingest's batches need no order). */
export async function createGatewayQueue(
  sqs: SQSClient,
  name: string,
): Promise<{ readonly queueUrl: string; readonly queueArn: string }> {
  const queue = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '30' } }),
  );
  const queueArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl!, AttributeNames: ['QueueArn'] }))
  ).Attributes!.QueueArn!;
  return { queueUrl: queue.QueueUrl!, queueArn };
}

export async function createCluster(
  eks: EKSClient,
  name: string,
  nodeGroups: readonly { name: string; minSize: number; maxSize: number; desiredSize: number }[],
  autoScaling?: AutoScalingClient,
): Promise<void> {
  await eks.send(
    new CreateClusterCommand({
      name,
      roleArn: 'arn:aws:iam::123456789012:role/eks-cluster',
      resourcesVpcConfig: { subnetIds: ['subnet-0001', 'subnet-0002'] },
    }),
  );
  for (const g of nodeGroups) {
    await eks.send(
      new CreateNodegroupCommand({
        clusterName: name,
        nodegroupName: g.name,
        nodeRole: 'arn:aws:iam::123456789012:role/eks-nodes',
        subnets: ['subnet-0001'],
        scalingConfig: { minSize: g.minSize, maxSize: g.maxSize, desiredSize: g.desiredSize },
      }),
    );
    if (!autoScaling) continue;
    const asg = (await eks.send(new DescribeNodegroupCommand({ clusterName: name, nodegroupName: g.name })))
      .nodegroup?.resources?.autoScalingGroups?.[0]?.name;
    if (!asg) throw new Error(`moto gave node group ${g.name} no Auto Scaling group name`);
    await autoScaling.send(
      new CreateLaunchConfigurationCommand({
        LaunchConfigurationName: `${name}-${g.name}`,
        ImageId: 'ami-12c6146b',
        InstanceType: 'g6e.12xlarge',
      }),
    );
    await autoScaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: asg,
        LaunchConfigurationName: `${name}-${g.name}`,
        MinSize: g.minSize,
        MaxSize: g.maxSize,
        DesiredCapacity: g.desiredSize,
        AvailabilityZones: [`${REGION}a`],
      }),
    );
  }
}
