/**
 * AWS Signature Version 4 for Amazon Managed Prometheus (service `aps`): signs the query API's
 * requests and remote-write pushes. Credentials default to the SDK's provider chain (environment,
 * shared files, web identity, container and instance roles), loaded only when signing is used.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

type SignerInit = ConstructorParameters<typeof SignatureV4>[0];

export interface SigV4Options {
  readonly region: string;
  /** signing name; `aps` for Amazon Managed Prometheus */
  readonly service?: string;
  /** fixed credentials or a provider; default: the AWS SDK's default provider chain */
  readonly credentials?: SignerInit['credentials'];
}

export interface RequestToSign {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

/** Returns the headers to send with the request (its own plus the signature's), without `host`. */
export type RequestSigner = (request: RequestToSign) => Promise<Record<string, string>>;

export function sigV4Signer(options: SigV4Options): RequestSigner {
  const credentials: SignerInit['credentials'] =
    options.credentials ??
    (async () => {
      const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
      return fromNodeProviderChain()();
    });
  const signer = new SignatureV4({
    service: options.service ?? 'aps',
    region: options.region,
    credentials,
    sha256: Sha256,
  });
  return async (request) => {
    const url = new URL(request.url);
    const query: Record<string, string | string[]> = {};
    for (const key of new Set(url.searchParams.keys())) {
      const values = url.searchParams.getAll(key);
      query[key] = values.length === 1 ? values[0]! : values;
    }
    const signed = await signer.sign(
      new HttpRequest({
        method: request.method.toUpperCase(),
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname,
        query,
        headers: { ...request.headers, host: url.host },
        body: request.body,
      }),
    );
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers)) {
      if (name.toLowerCase() !== 'host') headers[name] = value;
    }
    return headers;
  };
}
