/**
 * API clients from credentials: a kubeconfig file (local use; KUBECONFIG or ~/.kube/config),
 * or an endpoint, CA and bearer token (on Lambda: EKS DescribeCluster and an EKS token), rebuilt
 * whenever the token changes.
 */
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import type { DeploymentsApi, DeploymentsApiSource } from './kubernetesCluster.js';

export function appsApiFromKubeconfig(path?: string): DeploymentsApi {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${path ?? '(default)'} has no current cluster`);
  return kc.makeApiClient(AppsV1Api);
}

export interface TokenEndpoint {
  readonly name: string;
  readonly server: string;
  /** base64 PEM bundle */
  readonly caData: string;
  readonly token: () => Promise<string>;
}

export function kubeConfigFor(endpoint: Omit<TokenEndpoint, 'token'>, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: endpoint.name, server: endpoint.server, caData: endpoint.caData, skipTLSVerify: false },
    ],
    users: [{ name: 'sva', token }],
    contexts: [{ name: 'sva', cluster: endpoint.name, user: 'sva' }],
    currentContext: 'sva',
  });
  return kc;
}

/** A client source that asks for the token on every use and rebuilds the client when it changed. */
export function appsApiFromToken(endpoint: TokenEndpoint): DeploymentsApiSource {
  let cached: { token: string; api: DeploymentsApi } | undefined;
  return async () => {
    const token = await endpoint.token();
    if (cached?.token !== token)
      cached = { token, api: kubeConfigFor(endpoint, token).makeApiClient(AppsV1Api) };
    return cached.api;
  };
}
