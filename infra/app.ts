/**
 * The CDK app: `npx cdk synth` (offline) writes the CloudFormation template to cdk.out/;
 * `npx cdk deploy -c stage=prod -c clusterName=my-cluster -c prometheusUrl=https://...` deploys.
 * Parameters: infra/settings.ts.
 */
import { App } from 'aws-cdk-lib';
import { settingsFrom } from './settings.js';
import { SvaStack } from './svaStack.js';

const app = new App();
const settings = settingsFrom((key) => app.node.tryGetContext(key));
new SvaStack(app, `sva-${settings.stage}`, {
  settings,
  description: 'Serverless Variant Autoscaler: evaluate on a schedule, apply from an SQS FIFO queue',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
