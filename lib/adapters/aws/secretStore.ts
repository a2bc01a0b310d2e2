/**
 * Credentials kept in a secret store, read once when a function starts: a Secrets Manager
 * secret or an SSM SecureString parameter. Their value is a bearer token, or JSON
 * `{"bearerToken": "..."}` or `{"username": "...", "password": "..."}`.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

export type StoredCredentials =
  | { readonly bearerToken: string }
  | { readonly basicAuth: { readonly username: string; readonly password: string } };

export type SecretReference =
  | { readonly store: 'secretsmanager'; readonly id: string }
  | { readonly store: 'ssm'; readonly name: string };

export class SecretStoreError extends Error {
  override readonly name = 'SecretStoreError';
}

type Sender<C> = { send(command: C): Promise<unknown> };

export interface SecretStoreClients {
  readonly secretsManager: () => Sender<GetSecretValueCommand>;
  readonly ssm: () => Sender<GetParameterCommand>;
}

/** The two stores' clients, each with its service's settings (./clientConfig.ts). */
export function secretStoreClients(
  settings: (service: 'SECRETS_MANAGER' | 'SSM') => { region?: string; endpoint?: string },
): SecretStoreClients {
  return {
    secretsManager: () => new SecretsManagerClient(settings('SECRETS_MANAGER')),
    ssm: () => new SSMClient(settings('SSM')),
  };
}

const describe = (ref: SecretReference) =>
  ref.store === 'secretsmanager' ? `Secrets Manager secret ${ref.id}` : `SSM parameter ${ref.name}`;

/** The credentials a secret holds; the error names the secret, never its value. */
export async function readStoredCredentials(
  ref: SecretReference,
  clients: SecretStoreClients,
): Promise<StoredCredentials> {
  let value: string | undefined;
  try {
    if (ref.store === 'secretsmanager') {
      const out = (await clients.secretsManager().send(new GetSecretValueCommand({ SecretId: ref.id }))) as {
        SecretString?: string;
      };
      value = out.SecretString;
    } else {
      const out = (await clients
        .ssm()
        .send(new GetParameterCommand({ Name: ref.name, WithDecryption: true }))) as {
        Parameter?: { Value?: string };
      };
      value = out.Parameter?.Value;
    }
  } catch (err) {
    const reason = err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err);
    throw new SecretStoreError(`${describe(ref)}: cannot be read (${reason})`);
  }
  if (!value) throw new SecretStoreError(`${describe(ref)}: holds no string value`);
  return parseCredentials(value, describe(ref));
}

export function parseCredentials(value: string, what: string): StoredCredentials {
  const text = value.trim();
  if (!text.startsWith('{')) return { bearerToken: text };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new SecretStoreError(`${what}: starts with "{" but is not JSON`);
  }
  const d = doc as Record<string, unknown>;
  if (typeof d.bearerToken === 'string' && d.bearerToken) return { bearerToken: d.bearerToken };
  if (typeof d.username === 'string' && typeof d.password === 'string')
    return { basicAuth: { username: d.username, password: d.password } };
  throw new SecretStoreError(
    `${what}: JSON must hold "bearerToken", or "username" and "password" (found: ${Object.keys(d).join(', ') || 'nothing'})`,
  );
}
