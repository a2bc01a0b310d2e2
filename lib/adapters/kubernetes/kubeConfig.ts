/**
 * API clients from credentials: a kubeconfig file (local use; KUBECONFIG or ~/.kube/config),
 * or an endpoint, CA and bearer token (on Lambda: EKS DescribeCluster and an EKS token), rebuilt
 * whenever the token changes.
 */
import https from 'node:https';
import { AppsV1Api, KubeConfig, type RequestContext } from '@kubernetes/client-node';
import type { DeploymentsApi, DeploymentsApiSource } from './kubernetesCluster.js';

/**
 * A KubeConfig whose API clients keep their connections open. @kubernetes/client-node 1.4 gives
 * every request a new https.Agent (kubernetes-client/javascript#2893), so every request opened
 * its own TCP connection and TLS handshake: for apply's read and patch of each Deployment and
 * evaluate's hundred reads, the handshakes were most of the CPU the functions spent (measured by
 * `npm run bench:apply -- --profile` and a CPU profile). The first agent the library builds is
 * kept, with keep-alive, for every later request of this config: its TLS settings (CA, client
 * certificate) are this config's and do not change; the bearer token is a header, set per
 * request as before (and a renewed EKS token builds a new config, ./kubeApis.ts). Proxy and
 * plain-HTTP agents are left as the library makes them.
 */
export class KeepAliveKubeConfig extends KubeConfig {
  private agent: https.Agent | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const built = context.getAgent();
    if (!built || built.constructor !== https.Agent) return;
    this.agent ??= new https.Agent({ ...built.options, keepAlive: true });
    context.setAgent(this.agent);
  }
}

export function appsApiFromKubeconfig(path?: string): DeploymentsApi {
  const kc = new KeepAliveKubeConfig();
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
  const kc = new KeepAliveKubeConfig();
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
