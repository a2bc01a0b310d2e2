/**
 * The API clients capacity providers use (core, apps, custom objects), from a kubeconfig or
 * from an endpoint and a token renewed on use (EKS), rebuilt whenever the token changes.
 */
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { KeepAliveKubeConfig, kubeConfigFor, type TokenEndpoint } from './kubeConfig.js';

export interface KubeApis {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly custom: CustomObjectsApi;
}

export function kubeApis(kc: KubeConfig): KubeApis {
  return {
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
  };
}

export function kubeApisFromKubeconfig(path?: string): () => Promise<KubeApis> {
  const kc = new KeepAliveKubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${path ?? '(default)'} has no current cluster`);
  const apis = kubeApis(kc);
  return async () => apis;
}

export function kubeApisFromToken(endpoint: TokenEndpoint): () => Promise<KubeApis> {
  let cached: { token: string; apis: KubeApis } | undefined;
  return async () => {
    const token = await endpoint.token();
    if (cached?.token !== token) cached = { token, apis: kubeApis(kubeConfigFor(endpoint, token)) };
    return cached.apis;
  };
}
