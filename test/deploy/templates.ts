/**
 * Reading what the two deployment paths produce: CloudFormation templates (resources by type, IAM
 * statements) and the function zips' file lists.
 */
import { readFileSync } from 'node:fs';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

export interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

export function resourcesOf(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** Every IAM statement of the template: inline role policies and AWS::IAM::Policy documents. */
export function statementsOf(template: CfnTemplate): Statement[] {
  const out: Statement[] = [];
  for (const [, r] of Object.entries(template.Resources)) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::IAM::Policy')
      out.push(...((p.PolicyDocument as { Statement: Statement[] }).Statement ?? []));
    if (r.Type === 'AWS::IAM::Role')
      for (const policy of (p.Policies as { PolicyDocument: { Statement: Statement[] } }[] | undefined) ?? [])
        out.push(...policy.PolicyDocument.Statement);
  }
  return out;
}

/** Statements whose actions take no resource-level permission, so "*" is their only Resource. */
export const DESCRIBE_ONLY_SIDS = ['ReadAutoScalingGroups'];

/** A resource that is the wildcard itself ("*"), as opposed to a named ARN. */
export function isWildcard(resource: unknown): boolean {
  return resource === '*' || (Array.isArray(resource) && resource.some(isWildcard));
}

export { zipEntries } from '../../bench/apply/zip.js';

/** The IAM actions of the policy documents in deploy/ for a function (the one place they are written). */
export function deployActions(fn: 'evaluate' | 'apply' | 'ingest'): string[] {
  const doc = JSON.parse(readFileSync(`deploy/iam-${fn}-policy.json`, 'utf8')) as { Statement: Statement[] };
  return doc.Statement.flatMap((s) => [s.Action].flat()).sort();
}

/** The environment of an offline machine: no AWS credentials, no reachable registry. */
export function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' };
  for (const k of Object.keys(env)) if (/^AWS_(ACCESS|SECRET|SESSION|PROFILE)/.test(k)) delete env[k];
  env.npm_config_registry = 'http://127.0.0.1:9';
  return env;
}
