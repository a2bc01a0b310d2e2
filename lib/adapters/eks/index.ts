export { EksTokenSource, EKS_TOKEN_PREFIX, makeEksToken, stsHost, type EksToken } from './eksToken.js';
export { describeClusterEndpoint, type ClusterEndpoint, type EksApi } from './eksClusterAccess.js';
