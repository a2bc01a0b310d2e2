/**
 * Client settings shared by the AWS adapters, from the standard variables: AWS_REGION (or
 * AWS_DEFAULT_REGION) and the endpoint of a local stack such as moto: AWS_ENDPOINT_URL_<SERVICE>
 * for one service (AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_DYNAMODB, ...), else AWS_ENDPOINT_URL
 * for all, the SDK's own names and order (which the SDK only reads from the process's
 * environment, and not once an endpoint is given: so they are read here, from the environment
 * the wiring is given, and the handlers behave the same in tests). Credentials come from
 * the SDK's default chain. Every client retries whole calls with the SDK's own standard strategy
 * (what it retries: throttling, 5xx, timeouts, network errors; with its retry quota), paced by
 * the adapters' one backoff policy.
 */
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { attemptsOf, backoffDelay, type BackoffPolicy } from '../backoff.js';

/** Tries of one AWS call, the first included, and the delays between them. */
export const AWS_BACKOFF: BackoffPolicy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 2000 };

/** The services' names in AWS_ENDPOINT_URL_<SERVICE>, as the SDK spells them. */
export type AwsService = 'SQS' | 'DYNAMODB' | 'EKS' | 'AUTO_SCALING' | 'LAMBDA' | 'SECRETS_MANAGER' | 'SSM';

export interface AwsClientSettings {
  readonly region: string;
  readonly endpoint?: string;
  readonly retryStrategy: ConfiguredRetryStrategy;
}

/** The SDK's standard retry strategy with the policy's attempts and delays. */
export function awsRetryStrategy(policy: BackoffPolicy = AWS_BACKOFF): ConfiguredRetryStrategy {
  // The SDK numbers retries from 1; backoffDelay numbers them from 0.
  return new ConfiguredRetryStrategy(attemptsOf(policy), (retry) => backoffDelay(retry - 1, policy));
}

/** The settings of one service's client. */
export function awsClientSettings(
  env: Readonly<Record<string, string | undefined>>,
  service: AwsService,
  policy: BackoffPolicy = AWS_BACKOFF,
): AwsClientSettings {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new Error('AWS_REGION is not set (the region of the queue, table and cluster)');
  const endpoint = env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL || undefined;
  return { region, ...(endpoint ? { endpoint } : {}), retryStrategy: awsRetryStrategy(policy) };
}
