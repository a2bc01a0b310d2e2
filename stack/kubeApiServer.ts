/**
 * etcd and a real kube-apiserver 1.20 (built by .ci/build-kube-apiserver.sh) on loopback, with
 * RBAC on and static tokens: an admin (system:masters), apply's scaler (group sva-scaler) and
 * evaluate's reader (group sva-reader), the subjects of deploy/rbac*.yaml. No controller manager runs: Deployments keep the replicas they
 * are given and get no pods; tests write status themselves where ready replicas matter.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { kubeConfigFor } from '../lib/adapters/kubernetes/index.js';
import { freePort, requireCommand, ServerProcess, stopAll } from './processes.js';

export const KUBE_VERSION = '1.20.5+really1.20.2';
/** the build of it (.ci/build-kube-apiserver.sh BUILD): r2 serves custom resources without crashing */
export const KUBE_BUILD = 'r2';
export const BUILD_COMMAND = 'bash .ci/build-kube-apiserver.sh';
export const ADMIN_TOKEN = 'admin-token-0123456789';
export const SCALER_TOKEN = 'scaler-token-0123456789';
export const SCALER_USER = 'sva-apply';
/** evaluate's token: group sva-reader of deploy/rbac*.yaml */
export const READER_TOKEN = 'reader-token-0123456789';
export const READER_USER = 'sva-evaluate';

export function kubeApiServerBinary(): string {
  const path =
    process.env.SVA_KUBE_APISERVER ||
    join(
      process.env.XDG_CACHE_HOME || join(homedir(), '.cache'),
      'sva',
      `kube-apiserver-${KUBE_VERSION}-${KUBE_BUILD}`,
      'kube-apiserver',
    );
  if (!existsSync(path))
    throw new Error(`kube-apiserver not found at ${path}: build it with: ${BUILD_COMMAND}`);
  return path;
}

export interface KubeServer {
  readonly server: string;
  readonly caData: string;
  readonly dir: string;
  readonly admin: KubeConfig;
  readonly scaler: KubeConfig;
  readonly reader: KubeConfig;
  /** etcd's and kube-apiserver's process ids */
  readonly pids: number[];
  kubeConfig(token: string): KubeConfig;
  /** a kubeconfig file for `token`, for code that reads KUBECONFIG */
  writeKubeconfig(token: string): string;
  stop(): Promise<void>;
}

function get(url: string, ca: string | undefined, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca,
        rejectUnauthorized: ca !== undefined,
        headers: { authorization: `Bearer ${token}` },
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

export async function startKubeApiServer(): Promise<KubeServer> {
  const binary = kubeApiServerBinary();
  requireCommand('etcd', ['--version'], 'bash .ci/install-etcd.sh  (apt-get install -y etcd-server)');
  const dir = mkdtempSync(join(tmpdir(), 'sva-kube-'));
  const [etcdClient, etcdPeer, securePort] = [await freePort(), await freePort(), await freePort()];
  const started: ServerProcess[] = [];
  try {
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    const etcd = new ServerProcess('etcd', 'etcd', [
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      etcdUrl,
      '--advertise-client-urls',
      etcdUrl,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `default=${peerUrl}`,
      '--name',
      'default',
    ]);
    started.push(etcd);
    await etcd.waitUntil(
      async () => (await (await fetch(`${etcdUrl}/health`)).json()).health === 'true',
      20_000,
    );

    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    writeFileSync(join(dir, 'sa.pub'), publicKey);
    writeFileSync(join(dir, 'sa.key'), privateKey);
    writeFileSync(
      join(dir, 'tokens.csv'),
      [
        `${ADMIN_TOKEN},admin,uid-admin,"system:masters"`,
        `${SCALER_TOKEN},${SCALER_USER},uid-scaler,"sva-scaler"`,
        `${READER_TOKEN},${READER_USER},uid-reader,"sva-reader"`,
        '',
      ].join('\n'),
    );
    const certDir = join(dir, 'certs');
    const apiserver = new ServerProcess('kube-apiserver', binary, [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${securePort}`,
      '--insecure-port=0',
      `--cert-dir=${certDir}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      '--api-audiences=https://kubernetes.default.svc',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--endpoint-reconciler-type=none',
      '--disable-admission-plugins=ServiceAccount',
    ]);
    started.push(apiserver);
    const server = `https://127.0.0.1:${securePort}`;
    const certFile = join(certDir, 'apiserver.crt');
    let ca: string | undefined;
    await apiserver.waitUntil(async () => {
      if (!existsSync(certFile)) return false;
      ca ??= readFileSync(certFile, 'utf8');
      return (await get(`${server}/readyz`, ca, ADMIN_TOKEN)) === 200;
    }, 60_000);
    const caData = Buffer.from(ca!, 'utf8').toString('base64');
    const endpoint = { name: 'local', server, caData };
    const kubeConfig = (token: string) => kubeConfigFor(endpoint, token);
    let files = 0;
    return {
      server,
      caData,
      dir,
      admin: kubeConfig(ADMIN_TOKEN),
      scaler: kubeConfig(SCALER_TOKEN),
      reader: kubeConfig(READER_TOKEN),
      pids: started.flatMap((s) => (s.pid === undefined ? [] : [s.pid])),
      kubeConfig,
      writeKubeconfig(token: string) {
        const path = join(dir, `kubeconfig-${++files}.yaml`);
        writeFileSync(path, kubeConfig(token).exportConfig(), { mode: 0o600 });
        return path;
      },
      async stop() {
        await stopAll([...started].reverse());
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopAll([...started].reverse());
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Creates every object of a multi-document YAML file (deploy/rbac.yaml) as the admin. */
export async function applyManifest(admin: KubeConfig, path: string): Promise<KubernetesObject[]> {
  const api = KubernetesObjectApi.makeApiClient(admin);
  const created: KubernetesObject[] = [];
  for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
    const obj = doc.toJSON() as KubernetesObject | null;
    if (obj?.kind) created.push(await api.create(obj));
  }
  return created;
}

export async function createNamespace(admin: KubeConfig, name: string): Promise<void> {
  await admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
}

/** A vLLM-like Deployment (never runs here: no controllers, no nodes). */
export async function createDeployment(
  admin: KubeConfig,
  namespace: string,
  name: string,
  replicas: number,
): Promise<void> {
  const labels = { app: name };
  await admin.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name, labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [{ name: 'vllm', image: 'vllm/vllm-openai:v0.11.0', args: ['--model', name] }],
          },
        },
      },
    },
  });
}

/** What a Deployment controller would report: `ready` replicas ready. */
export async function setReadyReplicas(
  admin: KubeConfig,
  namespace: string,
  name: string,
  ready: number,
): Promise<void> {
  await admin.makeApiClient(AppsV1Api).patchNamespacedDeploymentStatus(
    {
      name,
      namespace,
      body: { status: { replicas: ready, readyReplicas: ready, availableReplicas: ready } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

export async function replicasOf(
  admin: KubeConfig,
  namespace: string,
  name: string,
): Promise<number | undefined> {
  const d = await admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ name, namespace });
  return d.spec?.replicas;
}
