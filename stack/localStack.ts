/**
 * The local real stack on loopback: a real Prometheus scraping the emulated vLLM fleet (the
 * simulator replaying traces) with the alert rules of observability/ loaded, moto (the SQS FIFO
 * decision queue with its DLQ, the DynamoDB state table, the EKS cluster with the config's node
 * groups), and etcd + kube-apiserver with a Deployment per variant and accelerator and the
 * shipped RBAC. `env` holds the variables that wire the handlers to it, exactly as on Lambda.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CustomObjectsApi, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments, parseDocument } from 'yaml';
import { LocalPrometheus } from '../lib/adapters/prometheus/index.js';
import { loadConfig } from '../lib/config/load.js';
import type { AdoptionMode, Config } from '../lib/config/schema.js';
import { capacityProviderOf } from '../lib/config/capacityProvider.js';
import { EmulatedFleet, type FleetStatus } from './fleet.js';
import {
  applyManifest,
  createDeployment,
  createNamespace,
  READER_TOKEN,
  SCALER_TOKEN,
  startKubeApiServer,
  type KubeServer,
} from './kubeApiServer.js';
import {
  createCluster,
  createDecisionQueues,
  createGatewayQueue,
  createGatewayTable,
  createStateTable,
  startMoto,
  type DecisionQueues,
  type Moto,
} from './moto.js';

export const CLUSTER = 'gpu-cluster';
export const TABLE = 'sva-state';
export const QUEUE = 'sva-decisions';
export const GATEWAY_TABLE = 'sva-gateway';
export const GATEWAY_QUEUE = 'sva-gateway-events';
export const ALERT_RULES = resolve('observability/alerts.yml');

export interface LocalStackOptions {
  readonly configPath: string;
  readonly traceFiles?: readonly string[];
  readonly rateScale?: number;
  /** Prometheus scrape interval (default 2 s) */
  readonly scrapeIntervalSeconds?: number;
  /** receives before a decision goes to the DLQ (default 3) */
  readonly maxReceiveCount?: number;
  /** the pool's mode for the handlers (a copy of the config with `mode` set); default the config's */
  readonly mode?: AdoptionMode;
  readonly log?: (line: string) => void;
}

export interface StartedProcess {
  readonly name: string;
  readonly pid: number | undefined;
}

export interface LocalStack {
  readonly config: Config;
  readonly configPath: string;
  readonly fleet: EmulatedFleet;
  readonly prometheus: LocalPrometheus;
  readonly moto: Moto;
  readonly kube: KubeServer;
  readonly queues: DecisionQueues;
  /** the gateway's request events (a standard queue), ingest's event source */
  readonly gatewayQueue: { readonly queueUrl: string; readonly queueArn: string };
  /** apply's environment (Kubernetes as the scaler: deploy/rbac*.yaml's group sva-scaler) */
  readonly env: Record<string, string>;
  /** evaluate's: the same, but Kubernetes as the reader (group sva-reader), as on EKS */
  readonly evaluateEnv: Record<string, string>;
  /**
   * ingest's: the gateway's table, and evaluate's variables for the evaluation it triggers, which
   * runs in ingest's process (moto runs no Lambda functions; docs/GATEWAY.md, "Scale from zero")
   */
  readonly ingestEnv: Record<string, string>;
  readonly processes: StartedProcess[];
  sync(): Promise<FleetStatus>;
  stop(): Promise<void>;
}

/**
 * The ClusterRoles of deploy/rbac-cluster.yaml, bound in each namespace the config scales (the
 * shipped rules, whatever the namespaces are called).
 */
async function applyRbac(kube: KubeServer, namespaces: readonly string[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kube.admin);
  const docs = parseAllDocuments(readFileSync(resolve('deploy/rbac-cluster.yaml'), 'utf8'))
    .map((d) => d.toJSON() as KubernetesObject | null)
    .filter((d): d is KubernetesObject => Boolean(d?.kind));
  for (const doc of docs.filter((d) => d.kind !== 'RoleBinding')) await api.create(doc);
  // the capacity providers' cluster-wide rules (Nodes, pods, eviction, NodePools)
  await applyManifest(kube.admin, resolve('deploy/rbac-capacity.yaml'));
  const bindings = docs.filter((d) => d.kind === 'RoleBinding');
  if (bindings.length === 0) throw new Error('deploy/rbac-cluster.yaml has no RoleBinding');
  for (const namespace of namespaces)
    for (const binding of bindings)
      await api.create({ ...binding, metadata: { ...binding.metadata, namespace } } as KubernetesObject);
}

/**
 * Karpenter's CustomResourceDefinitions (the fields the autoscaler uses) and the config's
 * NodePools, each limited to its node group's GPUs (the simulated fleet plays Karpenter).
 */
async function createNodePools(kube: KubeServer, config: Config): Promise<void> {
  await applyManifest(kube.admin, resolve('stack/karpenter-crds.yaml'));
  const custom = kube.admin.makeApiClient(CustomObjectsApi);
  const base = { group: 'karpenter.sh', version: 'v1', plural: 'nodepools' };
  for (const pool of capacityProviderOf(config).nodePools ?? []) {
    const group = config.nodeGroups.find((g) => g.name === pool.name);
    const limit = group ? group.maxNodes * group.gpusPerNode : (pool.maxDevicesLimit ?? 0);
    const body = {
      apiVersion: 'karpenter.sh/v1',
      kind: 'NodePool',
      metadata: { name: pool.name },
      spec: {
        template: {
          spec: { nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'gpu' } },
        },
        disruption: { consolidationPolicy: 'WhenEmpty', consolidateAfter: pool.consolidateAfter },
        limits: { 'nvidia.com/gpu': limit },
      },
    };
    // The CRDs serve a moment after they are created.
    for (let attempt = 0; ; attempt++) {
      try {
        await custom.createClusterCustomObject({ ...base, body });
        break;
      } catch (err) {
        if (attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}

/**
 * The handlers' copy of the config with the pool's mode set (the fleet keeps reading the
 * original, whose traces are relative to it): the way an operator switches a pool to shadow.
 */
function withMode(configPath: string, mode: AdoptionMode): string {
  const doc = parseDocument(readFileSync(configPath, 'utf8'));
  doc.set('mode', mode);
  const path = join(mkdtempSync(join(tmpdir(), 'sva-stack-config-')), `config-${mode}.yaml`);
  writeFileSync(path, doc.toString());
  return path;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => {});
  const sourcePath = resolve(options.configPath);
  const configPath = options.mode ? withMode(sourcePath, options.mode) : sourcePath;
  const config = loadConfig(configPath);
  const fleet = await EmulatedFleet.create(config, {
    configPath: sourcePath,
    traceFiles: options.traceFiles,
    rateScale: options.rateScale,
  });
  let moto: Moto | undefined;
  let kube: KubeServer | undefined;
  let prometheus: LocalPrometheus | undefined;
  const stopAll = async () => {
    await Promise.all([prometheus?.stop(), moto?.stop(), kube?.stop(), fleet.stop().catch(() => undefined)]);
  };
  try {
    const target = await fleet.start();
    log(`vLLM emulator   http://${target}/metrics (${fleet.deployments.length} Deployments' replicas)`);
    [moto, kube, prometheus] = await Promise.all([
      startMoto(),
      startKubeApiServer(),
      LocalPrometheus.start({
        jobs: [{ job: 'vllm', targets: [target] }],
        scrapeIntervalSeconds: options.scrapeIntervalSeconds ?? 2,
        ruleFiles: [ALERT_RULES],
        evaluationIntervalSeconds: 5,
      }),
    ]);
    log(`Prometheus      ${prometheus.url} (pid ${prometheus.pid})`);
    for (const s of moto.servers) log(`${s.name.padEnd(15)} ${s.endpoint} (pid ${s.pid})`);
    log(`kube-apiserver  ${kube.server} (pids ${kube.pids.join(', ')}: etcd, kube-apiserver)`);

    const queues = await createDecisionQueues(moto.sqs, QUEUE, options.maxReceiveCount ?? 3);
    await createStateTable(moto.dynamo, TABLE);
    await createGatewayTable(moto.dynamo, GATEWAY_TABLE);
    const gatewayQueue = await createGatewayQueue(moto.sqs, GATEWAY_QUEUE);
    await createCluster(moto.eks, CLUSTER, fleet.initialNodes(), moto.autoScaling);
    const namespaces = [...new Set(fleet.deployments.map((d) => d.namespace))];
    for (const namespace of namespaces) await createNamespace(kube.admin, namespace);
    const initial = fleet.initialReplicas();
    for (const d of fleet.deployments)
      await createDeployment(kube.admin, d.namespace, d.name, initial.get(`${d.namespace}/${d.name}`) ?? 0);
    await applyRbac(kube, namespaces);
    if (capacityProviderOf(config).kind === 'karpenter') await createNodePools(kube, config);

    const env: Record<string, string> = {
      ...moto.env,
      SVA_CONFIG: configPath,
      SVA_STATE_TABLE: TABLE,
      SVA_QUEUE_URL: queues.queueUrl,
      SVA_CLUSTER_NAME: CLUSTER,
      KUBECONFIG: kube.writeKubeconfig(SCALER_TOKEN),
      SVA_PROMETHEUS_URL: prometheus.url,
      SVA_REMOTE_WRITE_URL: prometheus.remoteWriteUrl,
      SVA_GATEWAY_TABLE: GATEWAY_TABLE,
    };
    const evaluateEnv = { ...env, KUBECONFIG: kube.writeKubeconfig(READER_TOKEN) };
    const ingestEnv = { ...evaluateEnv, SVA_EVALUATION_TRIGGER: 'in-process' };
    const m = moto;
    const k = kube;
    const p = prometheus;
    return {
      config,
      configPath,
      fleet,
      prometheus: p,
      moto: m,
      kube: k,
      queues,
      gatewayQueue,
      env,
      evaluateEnv,
      ingestEnv,
      processes: [
        { name: 'prometheus', pid: p.pid },
        ...m.servers.map((s) => ({ name: s.name, pid: s.pid })),
        ...k.pids.map((pid, i) => ({ name: i === 0 ? 'etcd' : 'kube-apiserver', pid })),
      ],
      sync: () => fleet.sync(k.admin, m.eks, m.autoScaling, CLUSTER),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
