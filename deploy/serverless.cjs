/**
 * Values for serverless.yml that YAML cannot compute: the functions' IAM statements, made from
 * the policy documents in this folder (see permissions.cjs) with the stage's parameters.
 *
 *   ${file(deploy/serverless.cjs):evaluateStatements}
 */
'use strict';
const { resolve } = require('node:path');
const { configNodeGroups, policyStatements } = require('./permissions.cjs');

const statementsFor =
  (fn) =>
  async ({ resolveVariable }) => {
    const [configFile, clusterName, workspaceArn, secretArn, parameter, service, stage] = await Promise.all([
      resolveVariable('param:configFile'),
      resolveVariable('param:clusterName'),
      resolveVariable('param:prometheusWorkspaceArn'),
      resolveVariable('param:prometheusCredentialsSecretArn'),
      resolveVariable('param:prometheusCredentialsParameter'),
      resolveVariable('self:service'),
      resolveVariable('sls:stage'),
    ]);
    return policyStatements(fn, {
      values: {
        Region: { Ref: 'AWS::Region' },
        AccountId: { Ref: 'AWS::AccountId' },
        QueueName: { 'Fn::GetAtt': ['DecisionQueue', 'QueueName'] },
        DeadLetterQueueName: { 'Fn::GetAtt': ['DecisionDeadLetterQueue', 'QueueName'] },
        TableName: { Ref: 'StateTable' },
        GatewayTableName: { Ref: 'GatewayTable' },
        GatewayQueueName: { 'Fn::GetAtt': ['GatewayEventQueue', 'QueueName'] },
        ClusterName: clusterName,
        EvaluateFunctionName: `${service}-${stage}-evaluate`,
        ApplyFunctionName: `${service}-${stage}-apply`,
        IngestFunctionName: `${service}-${stage}-ingest`,
      },
      nodeGroups: configNodeGroups(resolve(__dirname, '..', configFile)),
      prometheusWorkspaceArn: workspaceArn || undefined,
      prometheusCredentialsSecretArn: secretArn || undefined,
      prometheusCredentialsParameter: parameter || undefined,
      join: (parts) => ({ 'Fn::Join': ['', parts] }),
    });
  };

module.exports = {
  evaluateStatements: statementsFor('evaluate'),
  applyStatements: statementsFor('apply'),
  ingestStatements: statementsFor('ingest'),
};
