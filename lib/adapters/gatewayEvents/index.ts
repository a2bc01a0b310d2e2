export { DynamoGatewayLoad, batchKey } from './dynamoGatewayLoad.js';
export {
  GatewayMetricsSource,
  type GatewayCollection,
  type GatewayMetricsOptions,
} from './gatewayMetricsSource.js';
export { LambdaEvaluationTrigger, type LambdaInvoker } from './lambdaEvaluationTrigger.js';
