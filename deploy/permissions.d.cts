/** Types of permissions.cjs, for the CDK app in infra/. */
export type FunctionName = 'evaluate' | 'apply' | 'ingest';

export interface PolicyStatementJson {
  readonly Sid: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string[];
  readonly Resource: unknown[];
}

export declare const FUNCTIONS: readonly FunctionName[];

export declare function policyStatements(
  fn: FunctionName,
  options: {
    readonly values: Record<string, unknown>;
    readonly nodeGroups: readonly string[];
    readonly prometheusWorkspaceArn?: unknown;
    readonly prometheusCredentialsSecretArn?: string;
    readonly prometheusCredentialsParameter?: string;
    readonly join: (parts: unknown[]) => unknown;
  },
): PolicyStatementJson[];

export declare function configNodeGroups(configFile: string): string[];
