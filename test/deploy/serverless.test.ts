/**
 * `osls package` (osls 4 with serverless-esbuild) offline: the CloudFormation template has the
 * FIFO queue with its dead-letter queue, the schedule, the SQS event source with partial batch
 * failures, nodejs22.x on arm64, IAM on named resources only; the zips hold the bundled handler,
 * the config and package.json. And the template agrees with the CDK stack's resources.
 */
import { spawnSync } from 'node:child_process';
import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_SETTINGS } from '../../infra/settings.js';
import { SvaStack } from '../../infra/svaStack.js';
import {
  deployActions,
  DESCRIBE_ONLY_SIDS,
  isWildcard,
  resourcesOf,
  statementsOf,
  zipEntries,
  offlineEnv,
  type CfnTemplate,
} from './templates.js';

jest.setTimeout(120_000);

let dir: string;
let template: CfnTemplate;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sva-osls-'));
  const r = spawnSync(
    process.execPath,
    ['node_modules/osls/bin/serverless.js', 'package', '--stage', 'prod', '--package', dir],
    { encoding: 'utf8', env: offlineEnv(), timeout: 110_000 },
  );
  if (r.status !== 0) throw new Error(`osls package failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const props = (type: string, name?: string) => {
  const all = resourcesOf(template, type).filter(([id]) => name === undefined || id === name);
  expect(all.length).toBeGreaterThan(0);
  return all[0]![1].Properties!;
};

test('the queue: FIFO with content-based deduplication, redriven to a FIFO dead-letter queue', () => {
  expect(props('AWS::SQS::Queue', 'DecisionQueue')).toMatchObject({
    QueueName: 'sva-prod-decisions.fifo',
    FifoQueue: true,
    ContentBasedDeduplication: true,
    VisibilityTimeout: 180,
    RedrivePolicy: {
      deadLetterTargetArn: { 'Fn::GetAtt': ['DecisionDeadLetterQueue', 'Arn'] },
      maxReceiveCount: 3,
    },
  });
  expect(props('AWS::SQS::Queue', 'DecisionDeadLetterQueue')).toMatchObject({ FifoQueue: true });
  expect(props('AWS::DynamoDB::Table', 'StateTable')).toMatchObject({
    TableName: 'sva-prod-state',
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
  });
});

test('evaluate on the stage schedule with the pool as input; apply on the queue with partial failures', () => {
  expect(props('AWS::Events::Rule')).toMatchObject({
    ScheduleExpression: 'rate(1 minute)',
    Targets: [expect.objectContaining({ Input: JSON.stringify({ pool: 'default' }) })],
  });
  const mappings = resourcesOf(template, 'AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties);
  expect(mappings).toContainEqual(
    expect.objectContaining({
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': ['DecisionQueue', 'Arn'] },
    }),
  );
  for (const [, fn] of resourcesOf(template, 'AWS::Lambda::Function')) {
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Environment: { Variables: expect.objectContaining({ SVA_CONFIG: 'config/default.yaml' }) },
    });
  }
  expect(props('AWS::Lambda::Function', 'EvaluateLambdaFunction')).toMatchObject({
    FunctionName: 'sva-prod-evaluate',
    ReservedConcurrentExecutions: 1,
    Environment: { Variables: expect.objectContaining({ SVA_QUEUE_URL: { Ref: 'DecisionQueue' } }) },
  });
});

test('apply sets rejected messages aside itself: SVA_DLQ_URL and sqs:SendMessage on the dead-letter queue only', () => {
  expect(props('AWS::Lambda::Function', 'ApplyLambdaFunction')).toMatchObject({
    Environment: { Variables: expect.objectContaining({ SVA_DLQ_URL: { Ref: 'DecisionDeadLetterQueue' } }) },
  });
  const sends = statementsOf(template).filter((s) => [s.Action].flat().includes('sqs:SendMessage'));
  expect(JSON.stringify(sends.filter((s) => s.Sid === 'SetAsideRejected'))).toContain(
    'DecisionDeadLetterQueue',
  );
  expect(JSON.stringify(sends.filter((s) => s.Sid === 'SetAsideRejected'))).not.toContain('"DecisionQueue"');
});

test('IAM: the statements of deploy/iam-*.json, named resources only, node groups from the config', () => {
  const statements = statementsOf(template);
  for (const s of statements.filter((x) => !DESCRIBE_ONLY_SIDS.includes(x.Sid ?? '')))
    expect({ sid: s.Sid, wildcard: isWildcard(s.Resource) }).toEqual({ sid: s.Sid, wildcard: false });
  const actions = (role: string) =>
    (props('AWS::IAM::Role', role).Policies as { PolicyDocument: { Statement: { Action: string[] }[] } }[])
      .flatMap((p) => p.PolicyDocument.Statement)
      .flatMap((s) => s.Action)
      .sort();
  expect(actions('EvaluateRole')).toEqual(deployActions('evaluate'));
  expect(actions('ApplyRole')).toEqual(deployActions('apply'));
  expect(actions('IngestRole')).toEqual(deployActions('ingest'));
  const nodeGroups = JSON.stringify(statements.filter((s) => s.Sid === 'ReadNodeGroups'));
  const groups = JSON.stringify(statements.filter((s) => s.Sid === 'ScaleNodeGroups'));
  for (const g of ['gpu-l4', 'gpu-a10g', 'gpu-l40s', 'gpu-h100', 'gpu-a100']) {
    expect(nodeGroups).toContain(`:nodegroup/gpu-cluster/${g}/*`);
    expect(groups).toContain(`:autoScalingGroupName/eks-${g}-*`);
  }
});

test('each zip holds the minified handler (an ES module), the config and functions/package.json, no source map, within 1.5 MB', () => {
  for (const fn of ['evaluate', 'apply', 'ingest']) {
    expect(zipEntries(join(dir, `${fn}.zip`)).sort()).toEqual(
      [`functions/${fn}/handler.js`, 'config/default.yaml', 'functions/package.json'].sort(),
    );
    // a cold start downloads and compiles it: it was 3.2 MB with an unminified bundle and its map
    expect(statSync(join(dir, `${fn}.zip`)).size).toBeLessThanOrEqual(1.5 * 1024 * 1024);
  }
  expect(JSON.parse(readFileSync('functions/package.json', 'utf8')).type).toBe('module');
});

test('the decision queue accepts messages only from the evaluate role', () => {
  expect(resourcesOf(template, 'AWS::SQS::QueuePolicy')).toHaveLength(1);
  expect(props('AWS::SQS::QueuePolicy')).toEqual({
    Queues: [{ Ref: 'DecisionQueue' }],
    PolicyDocument: {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'OnlyEvaluateSends',
          Effect: 'Deny',
          Principal: '*',
          Action: 'sqs:SendMessage',
          Resource: { 'Fn::GetAtt': ['DecisionQueue', 'Arn'] },
          Condition: { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': ['EvaluateRole', 'Arn'] } } },
        },
      ],
    },
  });
});

test("ingest: the gateway's standard queue in batches of 100, its own table with TTL, and evaluate to invoke", () => {
  expect(props('AWS::SQS::Queue', 'GatewayEventQueue')).toMatchObject({
    QueueName: 'sva-prod-gateway-events',
    VisibilityTimeout: 180,
    RedrivePolicy: { maxReceiveCount: 5 },
  });
  expect(props('AWS::SQS::Queue', 'GatewayEventQueue').FifoQueue).toBeUndefined();
  expect(props('AWS::DynamoDB::Table', 'GatewayTable')).toMatchObject({
    TableName: 'sva-prod-gateway',
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
  });
  const mappings = resourcesOf(template, 'AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties);
  expect(mappings).toContainEqual(
    expect.objectContaining({
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      EventSourceArn: { 'Fn::GetAtt': ['GatewayEventQueue', 'Arn'] },
    }),
  );
  expect(props('AWS::Lambda::Function', 'IngestLambdaFunction')).toMatchObject({
    FunctionName: 'sva-prod-ingest',
    Environment: {
      Variables: expect.objectContaining({
        SVA_GATEWAY_TABLE: { Ref: 'GatewayTable' },
        SVA_EVALUATE_FUNCTION: 'sva-prod-evaluate',
      }),
    },
  });
  // the evaluate function only, and no decision queue
  const ingest = JSON.stringify(props('AWS::IAM::Role', 'IngestRole').Policies);
  expect(ingest).toContain(':function:sva-prod-evaluate');
  expect(ingest).not.toContain('DecisionQueue');
  expect(ingest).not.toContain('StateTable');
});

test('the same resources as the CDK stack', () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const cdk = Template.fromStack(
    new SvaStack(app, 'Same', { settings: { ...DEFAULT_SETTINGS, stage: 'prod' } }),
  ).toJSON() as CfnTemplate;
  const pick = (t: CfnTemplate, type: string, keys: string[]) =>
    resourcesOf(t, type)
      .map(([, r]) => Object.fromEntries(keys.map((k) => [k, r.Properties?.[k]])))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const queueKeys = [
    'QueueName',
    'FifoQueue',
    'ContentBasedDeduplication',
    'VisibilityTimeout',
    'MessageRetentionPeriod',
  ];
  expect(pick(cdk, 'AWS::SQS::Queue', queueKeys)).toEqual(pick(template, 'AWS::SQS::Queue', queueKeys));
  const fnKeys = [
    'FunctionName',
    'Runtime',
    'Architectures',
    'Timeout',
    'MemorySize',
    'ReservedConcurrentExecutions',
  ];
  expect(pick(cdk, 'AWS::Lambda::Function', fnKeys)).toEqual(pick(template, 'AWS::Lambda::Function', fnKeys));
  const esmKeys = ['BatchSize', 'FunctionResponseTypes', 'MaximumBatchingWindowInSeconds'];
  expect(pick(cdk, 'AWS::Lambda::EventSourceMapping', esmKeys)).toEqual(
    pick(template, 'AWS::Lambda::EventSourceMapping', esmKeys),
  );
  expect(pick(cdk, 'AWS::Events::Rule', ['ScheduleExpression'])).toEqual(
    pick(template, 'AWS::Events::Rule', ['ScheduleExpression']),
  );
  const alarmKeys = [
    'AlarmName',
    'MetricName',
    'Namespace',
    'Threshold',
    'ComparisonOperator',
    'EvaluationPeriods',
  ];
  expect(pick(cdk, 'AWS::CloudWatch::Alarm', alarmKeys)).toEqual(
    pick(template, 'AWS::CloudWatch::Alarm', alarmKeys),
  );
  const tableKeys = ['TableName', 'KeySchema', 'BillingMode', 'TimeToLiveSpecification'];
  expect(pick(cdk, 'AWS::DynamoDB::Table', tableKeys)).toEqual(
    pick(template, 'AWS::DynamoDB::Table', tableKeys),
  );
});
