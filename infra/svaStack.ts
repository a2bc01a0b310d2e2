/**
 * The autoscaler's AWS resources with the CDK, the same as serverless.yml's: the evaluate
 * function on an EventBridge schedule, the SQS FIFO decision queue (content-based
 * deduplication, a dead-letter queue by redrive policy) feeding the apply function with partial
 * batch failures, the DynamoDB state table, and one IAM role per function whose statements come
 * from deploy/iam-*.json (named resources only; node groups from the config). Plus CloudWatch
 * alarms on the dead-letter queue's depth, the functions' errors and the age of the oldest
 * queued decision.
 *
 * Nothing of lib/ is imported: the handlers are bundled from their sources by esbuild.
 */
import { resolve } from 'node:path';
import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { configNodeGroups, policyStatements, type FunctionName } from '../deploy/permissions.cjs';
import type { SvaSettings } from './settings.js';

export const ROOT = resolve(import.meta.dirname, '..');

const APPLY_TIMEOUT_SECONDS = 30;
const INGEST_TIMEOUT_SECONDS = 30;

export interface SvaStackProps extends StackProps {
  readonly settings: SvaSettings;
}

export class SvaStack extends Stack {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly table: dynamodb.Table;
  readonly evaluate: lambda.Function;
  readonly apply: lambda.Function;
  readonly gatewayQueue: sqs.Queue;
  readonly gatewayTable: dynamodb.Table;
  readonly ingest: lambda.Function;

  constructor(scope: Construct, id: string, props: SvaStackProps) {
    super(scope, id, props);
    const s = props.settings;
    const name = (suffix: string) => `sva-${s.stage}-${suffix}`;

    this.deadLetterQueue = new sqs.Queue(this, 'DecisionDeadLetterQueue', {
      queueName: `${name('decisions-dlq')}.fifo`,
      fifo: true,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    this.queue = new sqs.Queue(this, 'DecisionQueue', {
      queueName: `${name('decisions')}.fifo`,
      fifo: true,
      contentBasedDeduplication: true,
      // 6 x the apply timeout, as Lambda's SQS event source wants
      visibilityTimeout: Duration.seconds(6 * APPLY_TIMEOUT_SECONDS),
      // decisions expire after policy.maxDecisionAgeSeconds anyway
      retentionPeriod: Duration.hours(1),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: s.maxReceiveCount },
    });
    this.table = new dynamodb.Table(this, 'StateTable', {
      tableName: name('state'),
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // The gateway's request events (docs/GATEWAY.md): a standard queue, no order needed.
    const gatewayDeadLetters = new sqs.Queue(this, 'GatewayEventDeadLetterQueue', {
      queueName: name('gateway-events-dlq'),
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });
    this.gatewayQueue = new sqs.Queue(this, 'GatewayEventQueue', {
      queueName: name('gateway-events'),
      // 6 x the ingest timeout, as Lambda's SQS event source wants
      visibilityTimeout: Duration.seconds(6 * INGEST_TIMEOUT_SECONDS),
      // an event older than the statistics window says nothing any more
      retentionPeriod: Duration.hours(1),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      deadLetterQueue: { queue: gatewayDeadLetters, maxReceiveCount: 5 },
    });
    // Per engine, per variant and time slot, and the trigger's debounce; expired by TTL.
    this.gatewayTable = new dynamodb.Table(this, 'GatewayTable', {
      tableName: name('gateway'),
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const environment: Record<string, string> = {
      POWERTOOLS_LOG_LEVEL: s.logLevel,
      SVA_CONFIG: s.configFile,
      SVA_STATE_TABLE: this.table.tableName,
      SVA_CLUSTER_NAME: s.clusterName,
      SVA_POOL: s.pool,
      SVA_PROMETHEUS_URL: s.prometheusUrl,
      SVA_REMOTE_WRITE_URL: s.remoteWriteUrl,
      SVA_PROMETHEUS_SIGV4_REGION: s.prometheusSigv4Region,
      SVA_PROMETHEUS_CREDENTIALS_SECRET: s.prometheusCredentialsSecretArn,
      SVA_PROMETHEUS_CREDENTIALS_PARAMETER: s.prometheusCredentialsParameter,
    };
    const nodeGroups = configNodeGroups(resolve(ROOT, s.configFile));
    const fn = (id: string, which: FunctionName, timeoutSeconds: number, extra: Record<string, string>) => {
      const functionName = name(which);
      const role = new iam.Role(this, `${id}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description:
          which === 'ingest'
            ? "sva ingest: the gateway's counters; no Kubernetes access"
            : `sva ${which}: map it to the Kubernetes group ${which === 'evaluate' ? 'sva-reader' : 'sva-scaler'} (EKS access entry)`,
      });
      const statements = policyStatements(which, {
        values: {
          Region: Aws.REGION,
          AccountId: Aws.ACCOUNT_ID,
          QueueName: this.queue.queueName,
          DeadLetterQueueName: this.deadLetterQueue.queueName,
          TableName: this.table.tableName,
          GatewayTableName: this.gatewayTable.tableName,
          GatewayQueueName: this.gatewayQueue.queueName,
          ClusterName: s.clusterName,
          EvaluateFunctionName: name('evaluate'),
          ApplyFunctionName: name('apply'),
          IngestFunctionName: name('ingest'),
        },
        nodeGroups,
        prometheusWorkspaceArn: s.prometheusWorkspaceArn || undefined,
        prometheusCredentialsSecretArn: s.prometheusCredentialsSecretArn || undefined,
        prometheusCredentialsParameter: s.prometheusCredentialsParameter || undefined,
        // CDK tokens are strings: concatenating them is how CloudFormation values are joined
        join: (parts) => parts.join(''),
      });
      new iam.Policy(this, `${id}Policy`, {
        policyName: `sva-${which}`,
        roles: [role],
        statements: statements.map((st) => iam.PolicyStatement.fromJson(st)),
      });
      const logGroup = new logs.LogGroup(this, `${id}LogGroup`, {
        logGroupName: `/aws/lambda/${functionName}`,
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      return new nodejs.NodejsFunction(this, id, {
        functionName,
        entry: resolve(ROOT, `functions/${which}/handler.ts`),
        handler: 'handler',
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: 512,
        timeout: Duration.seconds(timeoutSeconds),
        role,
        logGroup,
        environment: { ...environment, ...extra },
        projectRoot: ROOT,
        depsLockFilePath: resolve(ROOT, 'package-lock.json'),
        bundling: {
          format: nodejs.OutputFormat.ESM,
          target: 'node22',
          // Cold start: minified and tree-shaken, no source map in the zip (serverless.yml alike;
          // `npm run bench:apply` measures the zips and the import time).
          minify: true,
          sourceMap: false,
          // whatwg-url is dead weight under node-fetch on Node (deploy/shims/whatwg-url.cjs)
          esbuildArgs: { '--alias:whatwg-url': resolve(ROOT, 'deploy/shims/whatwg-url.cjs') },
          // every dependency is bundled (pinned versions, not the runtime's SDK)
          bundleAwsSDK: true,
          externalModules: [],
          mainFields: ['module', 'main'],
          // CommonJS dependencies inside an ES module bundle still call require()
          banner:
            "import { createRequire as __sva_createRequire } from 'node:module'; const require = __sva_createRequire(import.meta.url);",
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            // the config the functions read (SVA_CONFIG, relative to /var/task)
            afterBundling: (inputDir: string, outputDir: string) => [
              `mkdir -p "${outputDir}/${dirOf(s.configFile)}"`,
              `cp "${inputDir}/${s.configFile}" "${outputDir}/${s.configFile}"`,
            ],
          },
        },
      });
    };

    this.evaluate = fn('Evaluate', 'evaluate', 60, {
      SVA_QUEUE_URL: this.queue.queueUrl,
      // the gateway's counters (docs/GATEWAY.md): fresh ones win over Prometheus
      SVA_GATEWAY_TABLE: this.gatewayTable.tableName,
    });
    // Only evaluate's role may send decisions: anyone else who can call SQS in the account (an
    // admin, another workload's role) is refused, so the queue carries only what evaluate decided.
    this.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyEvaluateSends',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': this.evaluate.role!.roleArn } },
      }),
    );
    // One evaluation of the pool at a time; a missed one is replaced by the next, not retried.
    (this.evaluate.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = 1;
    new lambda.EventInvokeConfig(this, 'EvaluateInvokeConfig', {
      function: this.evaluate,
      retryAttempts: 0,
      maxEventAge: Duration.seconds(60),
    });
    new events.Rule(this, 'EvaluateSchedule', {
      ruleName: name('evaluate-schedule'),
      schedule: events.Schedule.rate(Duration.minutes(s.scheduleMinutes)),
      targets: [
        new targets.LambdaFunction(this.evaluate, {
          event: events.RuleTargetInput.fromObject({ pool: s.pool }),
          retryAttempts: 0,
        }),
      ],
    });

    // Apply sends what it rejects or cannot ever apply to the DLQ itself, at once, so a bad
    // message never holds its variant's group for maxReceiveCount receives.
    this.apply = fn('Apply', 'apply', APPLY_TIMEOUT_SECONDS, { SVA_DLQ_URL: this.deadLetterQueue.queueUrl });
    this.apply.addEventSource(
      new SqsEventSource(this.queue, {
        // FIFO: batches keep each message group's order; no batching window on FIFO queues
        batchSize: 10,
        reportBatchItemFailures: true,
      }),
    );
    // The event source's permissions are in deploy/iam-apply-policy.json already; the CDK adds
    // its own statement for the queue too (same actions, the same named queue).

    // Ingest keeps the gateway's counters and, on a request at zero replicas, invokes evaluate
    // asynchronously; it never sends decisions (the decision queue's policy refuses it anyway).
    this.ingest = fn('Ingest', 'ingest', INGEST_TIMEOUT_SECONDS, {
      SVA_GATEWAY_TABLE: this.gatewayTable.tableName,
      SVA_EVALUATE_FUNCTION: name('evaluate'),
    });
    this.ingest.addEventSource(
      new SqsEventSource(this.gatewayQueue, {
        // one write per engine and per variant slot per batch: larger batches, fewer writes
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1),
      }),
    );

    const alarms = [
      new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmpty', {
        alarmName: name('decisions-dlq-not-empty'),
        alarmDescription: 'Decisions failed maxReceiveCount times and were moved to the dead-letter queue',
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'OldestDecisionTooOld', {
        alarmName: name('decisions-oldest-message-age'),
        alarmDescription: 'A decision waits longer than it stays valid: apply is failing or behind',
        metric: this.queue.metricApproximateAgeOfOldestMessage({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: s.oldestMessageAlarmSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      ...(
        [
          ['EvaluateErrors', this.evaluate, 'evaluate'],
          ['ApplyErrors', this.apply, 'apply'],
          ['IngestErrors', this.ingest, 'ingest'],
        ] as const
      ).map(
        ([id, f, which]) =>
          new cloudwatch.Alarm(this, id, {
            alarmName: name(`${which}-errors`),
            alarmDescription: `The ${which} function failed (see its log group)`,
            metric: f.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
            threshold: 0,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 1,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
      ),
    ];
    if (s.alarmTopicArn) {
      const topic = sns.Topic.fromTopicArn(this, 'AlarmTopic', s.alarmTopicArn);
      for (const a of alarms) a.addAlarmAction(new cloudwatchActions.SnsAction(topic));
    }

    new CfnOutput(this, 'DecisionQueueUrl', { value: this.queue.queueUrl });
    new CfnOutput(this, 'DecisionDeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'StateTableName', { value: this.table.tableName });
    new CfnOutput(this, 'GatewayEventQueueUrl', { value: this.gatewayQueue.queueUrl });
    new CfnOutput(this, 'GatewayTableName', { value: this.gatewayTable.tableName });
    new CfnOutput(this, 'EvaluateRoleArn', { value: this.evaluate.role!.roleArn });
    new CfnOutput(this, 'ApplyRoleArn', { value: this.apply.role!.roleArn });
  }
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '.' : path.slice(0, i);
}
