export {
  DELETION_COST_ANNOTATION,
  KubernetesCluster,
  type PodsApi,
  KubernetesError,
  toKubernetesError,
  type DeploymentsApi,
  type DeploymentsApiSource,
  type KubernetesClusterOptions,
} from './kubernetesCluster.js';
export { appsApiFromKubeconfig, appsApiFromToken, kubeConfigFor, type TokenEndpoint } from './kubeConfig.js';
export * from './clusterNodes.js';
export * from './kubeApis.js';
export * from './otherAutoscalers.js';
export * from './scalesOn.js';
