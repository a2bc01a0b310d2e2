export {
  DynamoDecisionState,
  PolicyConflictError,
  MAX_POLICY_BYTES,
  type DocumentApi,
} from './dynamoDecisionState.js';
export { DynamoSeasonStore } from './dynamoSeasonStore.js';
