/**
 * Adapters for the handlers, from the environment (the same variables on Lambda, in `sva invoke`
 * and in tests):
 *
 *   SVA_CONFIG            config file (YAML or JSON)                                   required
 *   AWS_REGION            region of the queue, table and cluster                       required
 *   AWS_ENDPOINT_URL      a local AWS endpoint (moto)                                  optional
 *   AWS_ENDPOINT_URL_<SERVICE>  one service's, before it (SQS, DYNAMODB, EKS, AUTO_SCALING,
 *                         LAMBDA, SECRETS_MANAGER, SSM; lib/adapters/aws/clientConfig.ts) optional
 *   SVA_STATE_TABLE       DynamoDB table of the decision state (key `pk`, string)       required
 *   SVA_QUEUE_URL         SQS FIFO queue of decisions                                  evaluate
 *   SVA_DLQ_URL           its dead-letter queue: apply sends what it rejects there     apply
 *   SVA_CLUSTER_NAME      EKS cluster: its managed node groups, and its API server when no kubeconfig
 *   KUBECONFIG            kubeconfig for the Kubernetes API (local); else EKS DescribeCluster + token
 *   SVA_POOL              capacity pool evaluated by default (default "default")
 *   SVA_METRICS           gateway-events (default when SVA_GATEWAY_TABLE is set; Prometheus fills
 *                         in when SVA_PROMETHEUS_URL is set) | prometheus (default when
 *                         SVA_PROMETHEUS_URL is set) | config-load
 *   SVA_GATEWAY_TABLE     DynamoDB table of the gateway's counters (keys `pk`, `sk`)     ingest
 *   SVA_EVALUATION_TRIGGER  lambda (default) | in-process (the local stack: evaluate runs in
 *                         ingest's process, with evaluate's variables)                 ingest
 *   SVA_EVALUATE_FUNCTION the evaluate function ingest invokes on a request at zero     ingest
 *   SVA_TELEMETRY         remote-write (default when SVA_REMOTE_WRITE_URL is set) | log | none
 *   SVA_PROMETHEUS_URL    Prometheus (or Amazon Managed Prometheus workspace) query URL
 *   SVA_REMOTE_WRITE_URL  where the inferno_* metrics are pushed (…/api/v1/write)
 *   SVA_PROMETHEUS_SIGV4_REGION  sign both for Amazon Managed Prometheus (service aps) optional
 *   SVA_PROMETHEUS_CREDENTIALS_SECRET     Secrets Manager secret with their credentials optional
 *   SVA_PROMETHEUS_CREDENTIALS_PARAMETER  SSM SecureString parameter, the same         optional
 *   SVA_PROMETHEUS_BEARER_TOKEN  a plaintext token: loopback addresses only          optional
 *
 * Remote Prometheus URLs must be https with SigV4 or stored credentials (./prometheusAccess.ts),
 * checked when the function starts; the secret is read then, once.
 *
 * Metrics sources and telemetry sinks are picked by name from small registries (capacity
 * providers by the config's capacityProvider.kind, from capacityProviders.ts), so another
 * backend plugs in with one registration and the handlers never change.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EKSClient } from '@aws-sdk/client-eks';
import { SQSClient } from '@aws-sdk/client-sqs';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import { awsClientSettings } from '../lib/adapters/aws/clientConfig.js';
import {
  readStoredCredentials,
  secretStoreClients,
  type SecretStoreClients,
  type StoredCredentials,
} from '../lib/adapters/aws/secretStore.js';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDecisionState, DynamoSeasonStore } from '../lib/adapters/dynamodb/index.js';
import {
  DynamoGatewayLoad,
  GatewayMetricsSource,
  LambdaEvaluationTrigger,
} from '../lib/adapters/gatewayEvents/index.js';
import { describeClusterEndpoint, EksTokenSource } from '../lib/adapters/eks/index.js';
import {
  KubernetesCluster,
  kubeApisFromKubeconfig,
  kubeApisFromToken,
  OtherAutoscalersReader,
  type KubeApis,
} from '../lib/adapters/kubernetes/index.js';
import { InProcessEvaluationTrigger, systemClock } from '../lib/adapters/memory/index.js';
import {
  PrometheusMetricsSource,
  RemoteWriteTelemetrySink,
  type PrometheusConnection,
} from '../lib/adapters/prometheus/index.js';
import { SqsDeadLetters, SqsDecisionQueue } from '../lib/adapters/sqs/index.js';
import { loadConfig } from '../lib/config/load.js';
import { arrivalStepsAsked } from '../lib/config/resolved.js';
import type { Config } from '../lib/config/schema.js';
import type { ApplyDeps, ApplyOptions } from '../lib/loop/apply.js';
import { evaluatePool, type EvaluateDeps } from '../lib/loop/evaluate.js';
import type { IngestDeps } from '../lib/loop/ingest.js';
import type { EvaluationTrigger } from '../lib/gateway/ports.js';
import { aliasingSink } from '../lib/loop/telemetry.js';
import type { CapacityProvider } from '../lib/policy/capacity.js';
import type { Cluster, DeadLetters, MetricsSource, TelemetrySink } from '../lib/policy/ports.js';
import { capacityProvider } from './capacityProviders.js';
import { ConfigLoadMetrics } from './configLoadMetrics.js';
import { checkPrometheusAccess, credentialsFor, secretReference } from './prometheusAccess.js';

export type Env = Readonly<Record<string, string | undefined>>;

export class WiringError extends Error {
  override readonly name = 'WiringError';
}

export interface WiringContext {
  readonly env: Env;
  readonly config: Config;
  readonly logger: Logger;
  /** Prometheus credentials read from the secret store at start, when a remote URL needs them */
  readonly prometheusCredentials?: StoredCredentials;
}

type Factory<T> = (ctx: WiringContext) => T | Promise<T>;

/** The connection to a Prometheus endpoint, with the credentials the environment gives. */
function prometheusConnection(
  env: Env,
  url: string,
  stored: StoredCredentials | undefined,
): PrometheusConnection {
  return {
    url,
    ...credentialsFor(env, url, stored),
    sigv4: env.SVA_PROMETHEUS_SIGV4_REGION
      ? { region: env.SVA_PROMETHEUS_SIGV4_REGION, service: 'aps' }
      : undefined,
  };
}

const prometheusSource: Factory<MetricsSource> = ({ env, config, prometheusCredentials }) =>
  new PrometheusMetricsSource({
    connection: prometheusConnection(
      env,
      required(env, 'SVA_PROMETHEUS_URL', 'the Prometheus query URL'),
      prometheusCredentials,
    ),
    windowSeconds: config.policy.metricsWindowSeconds,
    maxAgeSeconds: config.policy.metricsMaxAgeSeconds,
    ...arrivalStepsAsked(config),
  });

const metricsSources = new Map<string, Factory<MetricsSource>>([
  ['config-load', ({ config }) => new ConfigLoadMetrics(config)],
  ['prometheus', prometheusSource],
  [
    // the gateway's counters first, Prometheus for the rest when it is configured
    'gateway-events',
    async (ctx) =>
      new GatewayMetricsSource({
        store: gatewayLoadFromEnv(ctx.env),
        fallback: ctx.env.SVA_PROMETHEUS_URL ? await prometheusSource(ctx) : undefined,
        windowSeconds: ctx.config.policy.metricsWindowSeconds,
        maxAgeSeconds: ctx.config.policy.metricsMaxAgeSeconds,
        settings: ctx.config.gatewayEvents,
      }),
  ],
]);

const telemetrySinks = new Map<string, Factory<TelemetrySink>>([
  ['none', () => ({ publish: async () => {} })],
  [
    'remote-write',
    ({ env, prometheusCredentials }) =>
      new RemoteWriteTelemetrySink({
        connection: prometheusConnection(
          env,
          required(env, 'SVA_REMOTE_WRITE_URL', 'the remote-write URL'),
          prometheusCredentials,
        ),
      }),
  ],
  [
    'log',
    ({ logger }) => ({
      publish: async (points) =>
        logger.debug('telemetry', { points: points.length, sample: points.slice(0, 4) }),
    }),
  ],
]);

/** Another metrics backend joins with one call. */
export function registerMetricsSource(name: string, factory: Factory<MetricsSource>): void {
  metricsSources.set(name, factory);
}

function pick<T>(registry: Map<string, Factory<T>>, name: string, what: string, ctx: WiringContext) {
  const factory = registry.get(name);
  if (!factory) {
    throw new WiringError(
      `${what} "${name}" is not available in this build (known: ${[...registry.keys()].join(', ')})`,
    );
  }
  return factory(ctx);
}

function required(env: Env, name: string, why: string): string {
  const value = env[name];
  if (!value) throw new WiringError(`${name} is not set (${why})`);
  return value;
}

export function configFromEnv(env: Env): Config {
  return loadConfig(required(env, 'SVA_CONFIG', 'the config file'));
}

function stateFromEnv(env: Env): DynamoDecisionState {
  const table = required(env, 'SVA_STATE_TABLE', 'the DynamoDB table of the decision state');
  const client = new DynamoDBClient(awsClientSettings(env, 'DYNAMODB'));
  return new DynamoDecisionState(DynamoDBDocumentClient.from(client), table);
}

/** The variants' learnt seasons, one item each in the same table (policy.forecast.seasonal). */
function seasonsFromEnv(env: Env, logger: Logger): DynamoSeasonStore {
  const table = required(env, 'SVA_STATE_TABLE', 'the DynamoDB table of the decision state');
  const client = new DynamoDBClient(awsClientSettings(env, 'DYNAMODB'));
  return new DynamoSeasonStore(DynamoDBDocumentClient.from(client), table, (m) => logger.warn(m));
}

function gatewayLoadFromEnv(env: Env): DynamoGatewayLoad {
  const table = required(env, 'SVA_GATEWAY_TABLE', "the DynamoDB table of the gateway's counters");
  return new DynamoGatewayLoad(
    DynamoDBDocumentClient.from(new DynamoDBClient(awsClientSettings(env, 'DYNAMODB'))),
    table,
  );
}

const eksClient = (env: Env) => new EKSClient(awsClientSettings(env, 'EKS'));

/** The pool's capacity provider, as its config chooses (functions/capacityProviders.ts). */
function capacityFromEnv(env: Env, config: Config): CapacityProvider {
  try {
    return capacityProvider({
      env,
      config,
      kube: kubeApisFromEnv(env),
      eks: () => eksClient(env),
      clusterName: env.SVA_CLUSTER_NAME || undefined,
    });
  } catch (err) {
    throw new WiringError(err instanceof Error ? err.message : String(err));
  }
}

/** The Kubernetes API clients of the capacity providers: from KUBECONFIG, or EKS and a token, built on first use. */
function kubeApisFromEnv(env: Env): () => Promise<KubeApis> {
  if (env.KUBECONFIG) {
    const path = env.KUBECONFIG;
    let apis: (() => Promise<KubeApis>) | undefined;
    return () => (apis ??= kubeApisFromKubeconfig(path))();
  }
  let source: (() => Promise<KubeApis>) | undefined;
  return async () => {
    const clusterName = env.SVA_CLUSTER_NAME;
    if (!clusterName)
      throw new WiringError('neither KUBECONFIG nor SVA_CLUSTER_NAME is set (the Kubernetes API)');
    if (!source) {
      const { region } = awsClientSettings(env, 'EKS');
      const tokens = new EksTokenSource({ clusterName, region, credentials: fromNodeProviderChain() });
      source = kubeApisFromToken({
        ...(await describeClusterEndpoint(eksClient(env), clusterName)),
        token: () => tokens.token(),
      });
    }
    return source();
  };
}

/**
 * The Deployments (evaluate reads them, apply scales them), the other autoscalers of their
 * namespaces and their pods' deletion costs (apply), through the same API clients.
 */
function clusterFromEnv(env: Env): Cluster {
  if (!env.KUBECONFIG && !env.SVA_CLUSTER_NAME)
    throw new WiringError('neither KUBECONFIG nor SVA_CLUSTER_NAME is set (the Kubernetes API)');
  const kube = kubeApisFromEnv(env);
  return new KubernetesCluster(async () => (await kube()).apps, {
    autoscalers: new OtherAutoscalersReader(kube),
    pods: async () => (await kube()).core,
  });
}

export interface EvaluateWiring {
  readonly deps: EvaluateDeps;
  readonly config: Config;
  readonly pool: string;
}

/**
 * Checks the Prometheus URLs (fatal: a plaintext token or an http URL to a remote host is a
 * deployment mistake, not an outage) and reads their credentials from the secret store.
 */
export async function prometheusCredentialsFromEnv(
  env: Env,
  clients: (env: Env) => SecretStoreClients = (e) =>
    secretStoreClients((service) => awsClientSettings(e, service)),
): Promise<StoredCredentials | undefined> {
  let reference;
  try {
    if (!checkPrometheusAccess(env).readStoredCredentials) return undefined;
    reference = secretReference(env)!;
  } catch (err) {
    throw new WiringError((err as Error).message);
  }
  return readStoredCredentials(reference, clients(env));
}

export async function evaluateWiring(env: Env, logger: Logger): Promise<EvaluateWiring> {
  const config = configFromEnv(env);
  const prometheusCredentials = await prometheusCredentialsFromEnv(env);
  const ctx = { env, config, logger, prometheusCredentials };
  const metricsKind =
    env.SVA_METRICS ??
    (env.SVA_GATEWAY_TABLE ? 'gateway-events' : env.SVA_PROMETHEUS_URL ? 'prometheus' : undefined);
  if (!metricsKind)
    throw new WiringError(
      'set SVA_PROMETHEUS_URL or SVA_GATEWAY_TABLE (or SVA_METRICS=config-load for fixed loads)',
    );
  const queueUrl = required(env, 'SVA_QUEUE_URL', 'the SQS FIFO queue of decisions');
  return {
    config,
    pool: env.SVA_POOL || 'default',
    deps: {
      metrics: await pick(metricsSources, metricsKind, 'metrics source', ctx),
      cluster: clusterFromEnv(env),
      capacity: capacityFromEnv(env, config),
      queue: new SqsDecisionQueue(new SQSClient(awsClientSettings(env, 'SQS')), queueUrl),
      state: stateFromEnv(env),
      ...(config.policy.forecast.seasonal.enabled ? { seasons: seasonsFromEnv(env, logger) } : {}),
      telemetry: await telemetryFromEnv(ctx),
      clock: systemClock,
    },
  };
}

export interface IngestWiring {
  readonly deps: IngestDeps;
  readonly config: Config;
  readonly pool: string;
}

const evaluationTriggers = new Map<string, (env: Env, logger: Logger) => EvaluationTrigger>([
  [
    'lambda',
    (env) =>
      new LambdaEvaluationTrigger(
        new LambdaClient(awsClientSettings(env, 'LAMBDA')),
        required(env, 'SVA_EVALUATE_FUNCTION', 'the evaluate function to invoke'),
      ),
  ],
  [
    // The local stack: the evaluation runs in this process, wired from the same variables.
    'in-process',
    (env, logger) => {
      const wiring = cached(() => evaluateWiring(env, logger));
      return new InProcessEvaluationTrigger(
        async (pool) => {
          const { deps, config } = await wiring();
          return evaluatePool(deps, config, pool);
        },
        (err) => logger.error('triggered evaluation failed', { error: String(err) }),
      );
    },
  ],
]);

export async function ingestWiring(env: Env, logger: Logger): Promise<IngestWiring> {
  const config = configFromEnv(env);
  const kind = env.SVA_EVALUATION_TRIGGER || 'lambda';
  const trigger = evaluationTriggers.get(kind);
  if (!trigger)
    throw new WiringError(
      `evaluation trigger "${kind}" is not available (known: ${[...evaluationTriggers.keys()].join(', ')})`,
    );
  return {
    config,
    pool: env.SVA_POOL || 'default',
    deps: { store: gatewayLoadFromEnv(env), trigger: trigger(env, logger), clock: systemClock },
  };
}

export interface ApplyWiring {
  readonly deps: ApplyDeps;
  /** where rejected and permanently failed messages go at once; absent: left to SQS redrive */
  readonly deadLetters?: DeadLetters;
  readonly options: ApplyOptions;
  readonly config: Config;
}

export async function applyWiring(env: Env, logger: Logger): Promise<ApplyWiring> {
  const config = configFromEnv(env);
  const prometheusCredentials = await prometheusCredentialsFromEnv(env);
  return {
    config,
    ...(env.SVA_DLQ_URL
      ? { deadLetters: new SqsDeadLetters(new SQSClient(awsClientSettings(env, 'SQS')), env.SVA_DLQ_URL) }
      : {}),
    options: {
      config,
      pool: env.SVA_POOL || 'default',
      maxAgeSeconds: config.policy.maxDecisionAgeSeconds,
      acceleratorTypes: new Map(config.accelerators.map((a) => [a.name, a.type ?? a.name])),
    },
    deps: {
      cluster: clusterFromEnv(env),
      capacity: capacityFromEnv(env, config),
      state: stateFromEnv(env),
      telemetry: await telemetryFromEnv({ env, config, logger, prometheusCredentials }),
      clock: systemClock,
    },
  };
}

const telemetryKind = (env: Env) => env.SVA_TELEMETRY ?? (env.SVA_REMOTE_WRITE_URL ? 'remote-write' : 'log');

/**
 * The telemetry sink, never fatal: scaling must go on without its metrics. A sink that is not
 * available reports so on every publish, which the use cases log as a telemetry error.
 */
async function telemetryFromEnv(ctx: WiringContext): Promise<TelemetrySink> {
  const kind = telemetryKind(ctx.env);
  try {
    // the config may ask for other autoscalers' names of the same gauges (wva_*) as well
    return aliasingSink(
      await pick(telemetrySinks, kind, 'telemetry sink', ctx),
      ctx.config.telemetry?.aliases ?? [],
    );
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    ctx.logger.warn('telemetry sink unavailable: metrics are not published', { reason });
    return {
      publish: async () => {
        throw new WiringError(reason);
      },
    };
  }
}

/** Builds once per process (a Lambda cold start); a failed build is tried again on the next call. */
export function cached<T>(build: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= build().catch((err: unknown) => {
      value = undefined;
      throw err;
    });
    return value;
  };
}
