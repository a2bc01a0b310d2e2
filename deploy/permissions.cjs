/**
 * The IAM statements of the functions, read from the policy documents in this folder (the one
 * place they are written) and made concrete for a deployment: each `${Placeholder}` in a
 * Resource becomes the deployment's value, and a Resource naming `${NodeGroupName}` becomes one
 * Resource per node group of the config. Used by serverless.yml (through deploy/serverless.cjs)
 * and by the CDK app in infra/, each passing its own way of joining strings with CloudFormation
 * values (Fn::Join objects, or CDK tokens).
 *
 * CommonJS on purpose: the Serverless Framework loads variable files with require().
 */
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const FUNCTIONS = ['evaluate', 'apply', 'ingest'];
/** ingest reads no Prometheus: only the others get its permissions */
const PROMETHEUS_READERS = ['evaluate', 'apply'];
const PLACEHOLDER = /\$\{([A-Za-z]+)\}/g;

function readPolicy(file) {
  return JSON.parse(readFileSync(join(__dirname, file), 'utf8'));
}

/**
 * @param {'evaluate' | 'apply' | 'ingest'} fn
 * @param {{
 *   values: Record<string, unknown>,
 *   nodeGroups: readonly string[],
 *   prometheusWorkspaceArn?: unknown,
 *   prometheusCredentialsSecretArn?: string,
 *   prometheusCredentialsParameter?: string,
 *   join: (parts: unknown[]) => unknown,
 * }} options
 */
function policyStatements(fn, options) {
  if (!FUNCTIONS.includes(fn)) throw new Error(`unknown function ${fn} (${FUNCTIONS.join(', ')})`);
  const documents = [readPolicy(`iam-${fn}-policy.json`)];
  if (!PROMETHEUS_READERS.includes(fn)) return concreteStatements(documents, options);
  // Amazon Managed Prometheus: only when a workspace is named (other stores need no IAM).
  if (options.prometheusWorkspaceArn) documents.push(readPolicy(`iam-${fn}-prometheus-policy.json`));
  // Prometheus credentials in a secret store (functions/prometheusAccess.ts): both functions
  // read them at start, so both may read that one secret or parameter, nothing else.
  if (options.prometheusCredentialsSecretArn) {
    if (!options.prometheusCredentialsSecretArn.startsWith('arn:'))
      throw new Error('prometheusCredentialsSecretArn must be the secret ARN (IAM names the secret by it)');
    documents.push(readPolicy('iam-prometheus-credentials-secret-policy.json'));
  }
  if (options.prometheusCredentialsParameter)
    documents.push(readPolicy('iam-prometheus-credentials-parameter-policy.json'));
  return concreteStatements(documents, options);
}

/** The documents' statements with the deployment's values in their Resources. */
function concreteStatements(documents, options) {
  const values = {
    ...options.values,
    PrometheusWorkspaceArn: options.prometheusWorkspaceArn,
    PrometheusCredentialsSecretArn: options.prometheusCredentialsSecretArn,
    // the ARN of parameter "/a/b" is …:parameter/a/b, of "a" …:parameter/a
    PrometheusCredentialsParameterPath: options.prometheusCredentialsParameter?.replace(/^\//, ''),
  };
  const concrete = (resource) => {
    const parts = [];
    let last = 0;
    for (const m of resource.matchAll(PLACEHOLDER)) {
      const value = values[m[1]];
      if (value === undefined || value === null || value === '')
        throw new Error(`no value for \${${m[1]}} in ${resource}`);
      if (m.index > last) parts.push(resource.slice(last, m.index));
      parts.push(value);
      last = m.index + m[0].length;
    }
    if (last < resource.length) parts.push(resource.slice(last));
    // Neighbouring strings (values given as plain text) are merged.
    const merged = parts.reduce((out, p) => {
      const prev = out[out.length - 1];
      if (typeof p === 'string' && typeof prev === 'string') out[out.length - 1] = prev + p;
      else out.push(p);
      return out;
    }, []);
    return merged.length === 1 && typeof merged[0] === 'string' ? merged[0] : options.join(merged);
  };
  return documents
    .flatMap((d) => d.Statement)
    .map((s) => {
      const resources = [s.Resource].flat().flatMap((r) => {
        if (!r.includes('${NodeGroupName}')) return [r];
        if (options.nodeGroups.length === 0) return [];
        return options.nodeGroups.map((g) => r.replaceAll('${NodeGroupName}', g));
      });
      return { ...s, Resource: resources.map(concrete) };
    })
    .filter((s) => s.Resource.length > 0);
}

/** The node group names of an sva config file (the only node groups the functions may touch). */
function configNodeGroups(configFile) {
  const doc = require('yaml').parse(readFileSync(configFile, 'utf8')) ?? {};
  return (Array.isArray(doc.nodeGroups) ? doc.nodeGroups : []).map((g) => String(g.name));
}

module.exports = { policyStatements, configNodeGroups, FUNCTIONS };
