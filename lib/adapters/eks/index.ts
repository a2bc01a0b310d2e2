export {
  EksNodeGroups,
  NodeGroupBusyError,
  NodeGroupError,
  type EksApi,
  type EksNodeGroupsOptions,
} from './eksNodeGroups.js';
export { EksTokenSource, EKS_TOKEN_PREFIX, makeEksToken, stsHost, type EksToken } from './eksToken.js';
export { describeClusterEndpoint, type ClusterEndpoint } from './eksClusterAccess.js';
