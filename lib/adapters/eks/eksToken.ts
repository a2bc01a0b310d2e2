/**
 * The bearer token EKS accepts from IAM principals, as `aws eks get-token` makes it:
 * `k8s-aws-v1.` + base64url (unpadded) of a presigned STS GetCallerIdentity URL whose signed
 * headers include `x-k8s-aws-id: <cluster name>`, presigned for 60 s. EKS accepts such a token
 * for 15 minutes from its signing time; like the CLI, we count it valid for 14, and never past
 * the expiry of the credentials that signed it. The token is a credential: never log it.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
const PRESIGN_SECONDS = 60;
const TOKEN_LIFETIME_SECONDS = 14 * 60;

export interface EksToken {
  readonly token: string;
  /** epoch milliseconds after which it must not be used */
  readonly expiresAt: number;
}

export function stsHost(region: string): string {
  return `sts.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

/** One token, signed at `signingDate`. */
export async function makeEksToken(
  clusterName: string,
  region: string,
  credentials: AwsCredentialIdentity,
  signingDate: Date = new Date(),
): Promise<EksToken> {
  const hostname = stsHost(region);
  const signer = new SignatureV4({
    credentials,
    region,
    service: 'sts',
    sha256: Sha256,
    applyChecksum: false,
  });
  const presigned = await signer.presign(
    new HttpRequest({
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      headers: { host: hostname, 'x-k8s-aws-id': clusterName },
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    }),
    { expiresIn: PRESIGN_SECONDS, signingDate },
  );
  const query = Object.entries(presigned.query ?? {})
    .sort(([a], [b]) => QUERY_ORDER.indexOf(a) - QUERY_ORDER.indexOf(b))
    .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : v === null ? [] : [[k, v]]))
    .map(([k, v]) => `${encode(k!)}=${encode(v!)}`)
    .join('&');
  const url = `https://${hostname}/?${query}`;
  const lifetimeEnd = signingDate.getTime() + TOKEN_LIFETIME_SECONDS * 1000;
  const credentialsEnd = credentials.expiration?.getTime() ?? Infinity;
  return {
    token: EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url'),
    expiresAt: Math.min(lifetimeEnd, credentialsEnd),
  };
}

/** The CLI's (botocore's) parameter order, so tokens match it byte for byte; the request's own parameters first. */
const QUERY_ORDER = [
  'Action',
  'Version',
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Security-Token',
  'X-Amz-Signature',
];

/** RFC 3986 percent-encoding, as SigV4 canonicalises it. */
function encode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface EksTokenSourceOptions {
  readonly clusterName: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentityProvider;
  /** renew this long before expiry, seconds */
  readonly refreshMarginSeconds?: number;
  /** epoch milliseconds; injectable for tests */
  readonly now?: () => number;
}

/** Tokens for one cluster, cached until near expiry; concurrent callers share one signing. */
export class EksTokenSource {
  private current?: EksToken;
  private pending?: Promise<EksToken>;

  constructor(private readonly options: EksTokenSourceOptions) {}

  async token(): Promise<string> {
    const now = (this.options.now ?? Date.now)();
    const margin = (this.options.refreshMarginSeconds ?? 60) * 1000;
    if (this.current && this.current.expiresAt - margin > now) return this.current.token;
    this.pending ??= (async () => {
      try {
        const credentials = await this.options.credentials();
        this.current = await makeEksToken(
          this.options.clusterName,
          this.options.region,
          credentials,
          new Date(now),
        );
        return this.current;
      } finally {
        this.pending = undefined;
      }
    })();
    return (await this.pending).token;
  }
}
