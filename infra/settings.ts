/**
 * The deployment's parameters, from CDK context (`-c name=value` or cdk.json): the same ones as
 * serverless.yml's `params`, with the same defaults.
 */
export interface SvaSettings {
  /** deployment stage: part of every resource name */
  readonly stage: string;
  /** sva config packaged with the functions (relative to the repository root) */
  readonly configFile: string;
  readonly clusterName: string;
  readonly pool: string;
  /** minutes between evaluations (EventBridge: 1 at least) */
  readonly scheduleMinutes: number;
  readonly prometheusUrl: string;
  readonly remoteWriteUrl: string;
  readonly prometheusSigv4Region: string;
  readonly prometheusWorkspaceArn: string;
  /** Secrets Manager secret (ARN) with the credentials of a Prometheus that is not AMP */
  readonly prometheusCredentialsSecretArn: string;
  /** or an SSM SecureString parameter (name) with them */
  readonly prometheusCredentialsParameter: string;
  readonly maxReceiveCount: number;
  readonly logLevel: string;
  /** an SNS topic the alarms notify (optional) */
  readonly alarmTopicArn: string;
  /** age of the oldest queued decision that raises the alarm (default: the decisions' expiry, 300 s) */
  readonly oldestMessageAlarmSeconds: number;
}

export const DEFAULT_SETTINGS: SvaSettings = {
  stage: 'dev',
  configFile: 'config/default.yaml',
  clusterName: 'gpu-cluster',
  pool: 'default',
  scheduleMinutes: 1,
  prometheusUrl: '',
  remoteWriteUrl: '',
  prometheusSigv4Region: '',
  prometheusWorkspaceArn: '',
  prometheusCredentialsSecretArn: '',
  prometheusCredentialsParameter: '',
  maxReceiveCount: 3,
  logLevel: 'INFO',
  alarmTopicArn: '',
  oldestMessageAlarmSeconds: 300,
};

/** Settings from a context lookup (`node.tryGetContext`), numbers parsed, unknown names ignored. */
export function settingsFrom(get: (key: string) => unknown): SvaSettings {
  const out: Record<string, string | number> = { ...DEFAULT_SETTINGS };
  for (const [key, fallback] of Object.entries(DEFAULT_SETTINGS)) {
    const value = get(key);
    if (value === undefined || value === null) continue;
    if (typeof fallback === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n) || n <= 0)
        throw new Error(`context ${key} must be a positive number, got ${String(value)}`);
      out[key] = n;
    } else out[key] = String(value);
  }
  return out as unknown as SvaSettings;
}
