/**
 * The CDK stack (infra/) with aws-cdk-lib/assertions: the FIFO queue and its redrive policy, the
 * schedule, the SQS event source, the alarms, and IAM statements on named resources only (the
 * ones of deploy/iam-*.json). Bundling is skipped here (test/deploy/cdkSynth.test.ts runs the
 * real `cdk synth`), so these run in a second or two.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_SETTINGS, settingsFrom, type SvaSettings } from '../../infra/settings.js';
import { SvaStack } from '../../infra/svaStack.js';
import {
  deployActions,
  DESCRIBE_ONLY_SIDS,
  isWildcard,
  statementsOf,
  type CfnTemplate,
} from '../deploy/templates.js';

function synth(settings: Partial<SvaSettings> = {}): { template: Template; json: CfnTemplate } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SvaStack(app, 'Test', { settings: { ...DEFAULT_SETTINGS, ...settings } });
  const template = Template.fromStack(stack);
  return { template, json: template.toJSON() as CfnTemplate };
}

const { template, json } = synth();
const CONFIG_NODE_GROUPS = ['gpu-l4', 'gpu-a10g', 'gpu-l40s', 'gpu-h100', 'gpu-a100'];

test('the decision queue: FIFO, content-based deduplication, a FIFO dead-letter queue by redrive policy', () => {
  // the decision queue and its dead-letter queue, the gateway's event queue and its own
  template.resourceCountIs('AWS::SQS::Queue', 4);
  template.hasResourceProperties('AWS::SQS::Queue', {
    QueueName: 'sva-dev-decisions.fifo',
    FifoQueue: true,
    ContentBasedDeduplication: true,
    VisibilityTimeout: 180,
    RedrivePolicy: {
      deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DecisionDeadLetterQueue'), 'Arn'] },
      maxReceiveCount: 3,
    },
  });
  template.hasResourceProperties('AWS::SQS::Queue', {
    QueueName: 'sva-dev-decisions-dlq.fifo',
    FifoQueue: true,
    MessageRetentionPeriod: 1209600,
  });
  synth({ maxReceiveCount: 5 }).template.hasResourceProperties('AWS::SQS::Queue', {
    RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
  });
});

test('the schedule: evaluate every minute (per stage) with the pool as constant input', () => {
  template.hasResourceProperties('AWS::Events::Rule', {
    ScheduleExpression: 'rate(1 minute)',
    State: 'ENABLED',
    Targets: [
      Match.objectLike({
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Evaluate'), 'Arn'] },
        Input: JSON.stringify({ pool: 'default' }),
      }),
    ],
  });
  synth({ scheduleMinutes: 5, pool: 'batch' }).template.hasResourceProperties('AWS::Events::Rule', {
    ScheduleExpression: 'rate(5 minutes)',
    Targets: [Match.objectLike({ Input: JSON.stringify({ pool: 'batch' }) })],
  });
  template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
    MaximumRetryAttempts: 0,
    MaximumEventAgeInSeconds: 60,
  });
});

test("ingest: the gateway's standard queue in batches, its own table with TTL, evaluate to invoke and nothing else", () => {
  template.hasResourceProperties('AWS::SQS::Queue', {
    QueueName: 'sva-dev-gateway-events',
    VisibilityTimeout: 180,
    RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
  });
  template.hasResourceProperties('AWS::DynamoDB::Table', {
    TableName: 'sva-dev-gateway',
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
  });
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^GatewayEventQueue'), 'Arn'] },
    FunctionName: { Ref: Match.stringLikeRegexp('^Ingest') },
    BatchSize: 100,
    MaximumBatchingWindowInSeconds: 1,
  });
  template.hasResourceProperties('AWS::Lambda::Function', {
    FunctionName: 'sva-dev-ingest',
    Environment: {
      Variables: Match.objectLike({
        SVA_GATEWAY_TABLE: { Ref: Match.stringLikeRegexp('^GatewayTable') },
        SVA_EVALUATE_FUNCTION: 'sva-dev-evaluate',
      }),
    },
  });
  template.hasResourceProperties('AWS::Lambda::Function', {
    FunctionName: 'sva-dev-evaluate',
    Environment: {
      Variables: Match.objectLike({ SVA_GATEWAY_TABLE: { Ref: Match.stringLikeRegexp('^GatewayTable') } }),
    },
  });
  const ingest =
    JSON.stringify(
      Object.values(json.Resources).filter(
        (r) => r.Type === 'AWS::IAM::Policy' && (r.Properties?.PolicyName as string).startsWith('Ingest'),
      ),
    ) +
    JSON.stringify(
      Object.values(json.Resources).filter(
        (r) => r.Type === 'AWS::IAM::Policy' && r.Properties?.PolicyName === 'sva-ingest',
      ),
    );
  expect(ingest).toContain(':function:sva-dev-evaluate');
  expect(ingest).not.toMatch(/DecisionQueue|StateTable/);
});

test('apply reads the queue in batches with partial batch failures', () => {
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DecisionQueue'), 'Arn'] },
    FunctionName: { Ref: Match.stringLikeRegexp('^Apply') },
    BatchSize: 10,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
  });
});

test('both functions: nodejs22.x on arm64, the environment of functions/wiring.ts', () => {
  template.resourceCountIs('AWS::Lambda::Function', 3);
  for (const name of ['sva-dev-evaluate', 'sva-dev-apply', 'sva-dev-ingest']) {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: name,
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: Match.objectLike({
          SVA_CONFIG: 'config/default.yaml',
          SVA_STATE_TABLE: { Ref: Match.stringLikeRegexp('^StateTable') },
          SVA_CLUSTER_NAME: 'gpu-cluster',
        }),
      },
    });
  }
  template.hasResourceProperties('AWS::Lambda::Function', {
    FunctionName: 'sva-dev-evaluate',
    ReservedConcurrentExecutions: 1,
    Environment: {
      Variables: Match.objectLike({ SVA_QUEUE_URL: { Ref: Match.stringLikeRegexp('^DecisionQueue') } }),
    },
  });
  template.hasResourceProperties('AWS::Lambda::Function', {
    FunctionName: 'sva-dev-apply',
    Environment: {
      Variables: Match.objectLike({
        SVA_DLQ_URL: { Ref: Match.stringLikeRegexp('^DecisionDeadLetterQueue') },
      }),
    },
  });
  template.hasResourceProperties('AWS::DynamoDB::Table', {
    TableName: 'sva-dev-state',
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  });
});

test('alarms: dead-letter queue depth, function errors, age of the oldest decision', () => {
  template.resourceCountIs('AWS::CloudWatch::Alarm', 5);
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Namespace: 'AWS/SQS',
    Dimensions: [
      {
        Name: 'QueueName',
        Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DecisionDeadLetterQueue'), 'QueueName'] },
      },
    ],
    Threshold: 0,
    ComparisonOperator: 'GreaterThanThreshold',
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'ApproximateAgeOfOldestMessage',
    Dimensions: [
      { Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DecisionQueue'), 'QueueName'] } },
    ],
    Threshold: 300,
  });
  for (const fn of ['Evaluate', 'Apply', 'Ingest'])
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp(`^${fn}`) } }],
    });
  // with a topic, every alarm notifies it
  const withTopic = synth({ alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:oncall' }).json;
  const alarms = Object.values(withTopic.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
  for (const a of alarms)
    expect(a.Properties?.AlarmActions).toEqual(['arn:aws:sns:us-east-1:123456789012:oncall']);
});

test('IAM: no "*" resource; the statements of deploy/iam-*.json on the named queue, table, cluster and node groups', () => {
  const statements = statementsOf(json);
  expect(statements.length).toBeGreaterThan(0);
  for (const s of statements) {
    // DescribeAutoScalingGroups takes no resource-level permission: "*" is its only Resource.
    const wildcardAllowed = DESCRIBE_ONLY_SIDS.includes(s.Sid ?? '');
    expect({ sid: s.Sid, wildcard: isWildcard(s.Resource) }).toEqual({
      sid: s.Sid,
      wildcard: wildcardAllowed,
    });
    for (const a of [s.Action].flat()) expect(a).not.toContain('*');
  }
  // apply sends what it rejects to the dead-letter queue itself, and nowhere else
  const setAside = JSON.stringify(statements.filter((s) => s.Sid === 'SetAsideRejected'));
  expect(setAside).toMatch(/DecisionDeadLetterQueue/);
  expect(setAside).toContain('sqs:SendMessage');
  const policies = Object.values(json.Resources).filter((r) => r.Type === 'AWS::IAM::Policy');
  const actionsOf = (name: string) =>
    policies
      .filter((p) => p.Properties?.PolicyName === name)
      .flatMap(
        (p) => (p.Properties!.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement,
      )
      .flatMap((s) => [s.Action].flat())
      .sort();
  expect(actionsOf('sva-evaluate')).toEqual(deployActions('evaluate'));
  expect(actionsOf('sva-apply')).toEqual(deployActions('apply'));
  expect(actionsOf('sva-ingest')).toEqual(deployActions('ingest'));
  // node groups: one ARN per node group of the config, never all of the cluster's
  const nodeGroupArns = JSON.stringify(
    statements.filter((s) => s.Sid === 'ReadNodeGroups').map((s) => s.Resource),
  );
  for (const g of CONFIG_NODE_GROUPS) expect(nodeGroupArns).toContain(`:nodegroup/gpu-cluster/${g}/*`);
  expect(nodeGroupArns).not.toContain('nodegroup/gpu-cluster/*');
  const other = synth({ clusterName: 'prod-gpus', configFile: 'events/local-config.yaml' });
  const otherArns = JSON.stringify(statementsOf(other.json).filter((s) => s.Sid === 'ReadNodeGroups'));
  const asgArns = JSON.stringify(
    statements.filter((s) => s.Sid === 'ScaleNodeGroups').map((s) => s.Resource),
  );
  for (const g of CONFIG_NODE_GROUPS) expect(asgArns).toContain(`:autoScalingGroupName/eks-${g}-*`);
  expect(otherArns).toContain(':nodegroup/prod-gpus/gpu-l4/*');
  expect(otherArns).not.toContain('gpu-a10g');
});

test('Amazon Managed Prometheus: query and remote write on the named workspace, only when one is given', () => {
  expect(
    statementsOf(json)
      .flatMap((s) => [s.Action].flat())
      .filter((a) => a.startsWith('aps:')),
  ).toEqual([]);
  const arn = 'arn:aws:aps:us-east-1:123456789012:workspace/ws-0123';
  const amp = statementsOf(synth({ prometheusWorkspaceArn: arn }).json).filter((s) =>
    [s.Action].flat().some((a) => a.startsWith('aps:')),
  );
  expect(amp.map((s) => [[s.Action].flat().join(), s.Resource])).toEqual([
    ['aps:QueryMetrics', arn],
    ['aps:RemoteWrite', arn],
    ['aps:RemoteWrite', arn],
  ]);
});

test('Prometheus credentials in a secret store: each function may read that secret or parameter only, when one is given', () => {
  const reads = (j: typeof json) =>
    statementsOf(j)
      .flatMap((s) => [s.Action].flat())
      .filter((a) => a.startsWith('secretsmanager:') || a.startsWith('ssm:'));
  expect(reads(json)).toEqual([]);
  const secret = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:sva-prometheus-AbCdEf';
  const withSecret = synth({ prometheusCredentialsSecretArn: secret });
  expect(
    statementsOf(withSecret.json)
      .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
      .map((s) => s.Resource),
  ).toEqual([secret, secret]);
  withSecret.template.hasResourceProperties('AWS::Lambda::Function', {
    Environment: { Variables: Match.objectLike({ SVA_PROMETHEUS_CREDENTIALS_SECRET: secret }) },
  });
  const withParameter = synth({ prometheusCredentialsParameter: '/sva/prometheus' });
  const parameterStatements = statementsOf(withParameter.json).filter((s) =>
    [s.Action].flat().includes('ssm:GetParameter'),
  );
  expect(parameterStatements).toHaveLength(2);
  expect(JSON.stringify(parameterStatements[0]!.Resource)).toContain(':parameter/sva/prometheus');
  expect(() => synth({ prometheusCredentialsSecretArn: 'sva-prometheus' })).toThrow(/must be the secret ARN/);
});

test('settings from CDK context: defaults, numbers parsed, bad numbers refused', () => {
  expect(settingsFrom(() => undefined)).toEqual(DEFAULT_SETTINGS);
  const context: Record<string, string> = { stage: 'prod', scheduleMinutes: '2', clusterName: 'c' };
  expect(settingsFrom((k) => context[k])).toMatchObject({
    stage: 'prod',
    scheduleMinutes: 2,
    clusterName: 'c',
  });
  expect(() => settingsFrom((k) => (k === 'maxReceiveCount' ? 'many' : undefined))).toThrow(
    'context maxReceiveCount must be a positive number, got many',
  );
});

test('infra/ imports nothing of lib/ (docs/ARCHITECTURE.md): the handlers are bundled from their files', () => {
  for (const file of readdirSync('infra').filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(`infra/${file}`, 'utf8');
    const specifiers = [...text.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]!);
    for (const s of specifiers)
      expect({ file, import: s }).not.toMatchObject({
        import: expect.stringMatching(/^\.\.?\/(\.\.\/)*lib\//),
      });
  }
  expect(readFileSync('deploy/permissions.cjs', 'utf8')).not.toMatch(/require\(['"][./]*lib\//);
});

test('the decision queue accepts messages only from the evaluate role', () => {
  template.resourceCountIs('AWS::SQS::QueuePolicy', 1);
  const policy = Object.values(template.findResources('AWS::SQS::QueuePolicy'))[0] as {
    Properties: { Queues: unknown[]; PolicyDocument: { Statement: Record<string, unknown>[] } };
  };
  expect(policy.Properties.Queues).toEqual([{ Ref: expect.stringMatching(/^DecisionQueue[0-9A-F]{8}$/) }]);
  expect(policy.Properties.PolicyDocument.Statement).toEqual([
    {
      Sid: 'OnlyEvaluateSends',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'sqs:SendMessage',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DecisionQueue/), 'Arn'] },
      Condition: {
        ArnNotEquals: {
          'aws:PrincipalArn': { 'Fn::GetAtt': [expect.stringMatching(/^EvaluateRole/), 'Arn'] },
        },
      },
    },
  ]);
});
