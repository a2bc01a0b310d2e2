/**
 * The API clients capacity providers use (core, apps, custom objects), from a kubeconfig or
 * from an endpoint and a token renewed on use (EKS), rebuilt whenever the token changes.
 */
import { ApisApi, AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { KeepAliveKubeConfig, kubeConfigFor, type TokenEndpoint } from './kubeConfig.js';

export interface KubeApis {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly custom: CustomObjectsApi;
  /** discovery: which API groups and versions the server serves */
  readonly apis: ApisApi;
}

export function kubeApis(kc: KubeConfig): KubeApis {
  return {
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    apis: kc.makeApiClient(ApisApi),
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
