/**
 * Client settings shared by the AWS adapters, from the standard variables: AWS_REGION (or
 * AWS_DEFAULT_REGION) and AWS_ENDPOINT_URL (a local stack such as moto). Credentials come from
 * the SDK's default chain.
 */

export interface AwsClientSettings {
  readonly region: string;
  readonly endpoint?: string;
  readonly maxAttempts?: number;
}

export function awsClientSettings(
  env: Readonly<Record<string, string | undefined>>,
  overrides: { maxAttempts?: number } = {},
): AwsClientSettings {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new Error('AWS_REGION is not set (the region of the queue, table and cluster)');
  const endpoint = env.AWS_ENDPOINT_URL || undefined;
  return {
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(overrides.maxAttempts !== undefined ? { maxAttempts: overrides.maxAttempts } : {}),
  };
}
