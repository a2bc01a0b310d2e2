/**
 * The EKS bearer token, compared byte for byte with the AWS CLI's own (`aws eks get-token`'s
 * TokenGenerator, run through python3 with the same credentials and signing time), and its
 * cache: reused until near expiry, renewed after, never past the credentials' expiry.
 */
import { spawnSync } from 'node:child_process';
import { EKS_TOKEN_PREFIX, EksTokenSource, makeEksToken } from '../../../lib/adapters/eks/index.js';

const AWSCLI_TOKEN = `
import json, sys, datetime, botocore.session, botocore.auth
from awscli.customizations.eks.get_token import STSClientFactory, TokenGenerator
a = json.loads(sys.argv[1])
fixed = datetime.datetime.strptime(a['date'], '%Y%m%dT%H%M%SZ')
botocore.auth.get_current_datetime = lambda remove_tzinfo=True: fixed
session = botocore.session.get_session()
session.set_credentials(a['accessKeyId'], a['secretAccessKey'], a.get('sessionToken'))
sts = STSClientFactory(session).get_sts_client(region_name=a['region'])
print(TokenGenerator(sts).get_token(a['cluster']))
`;

function awsCliToken(args: Record<string, string | undefined>): string {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_STS_REGIONAL_ENDPOINTS: 'regional',
  };
  const r = spawnSync('python3', ['-c', AWSCLI_TOKEN, JSON.stringify(args)], {
    encoding: 'utf8',
    env,
    timeout: 30_000,
  });
  if (r.status !== 0) {
    throw new Error(
      `the AWS CLI reference is not available: install it with: pip install awscli==1.45.11\n${r.stderr}`,
    );
  }
  return r.stdout.trim();
}

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const signedAt = new Date(Date.UTC(2026, 4, 17, 9, 30, 5));
const amzDate = '20260517T093005Z';

const decodeUrl = (token: string) =>
  new URL(Buffer.from(token.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString('utf8'));

test('matches `aws eks get-token` byte for byte', async () => {
  const { token } = await makeEksToken('gpu-cluster', 'eu-west-1', credentials, signedAt);
  expect(token).toBe(
    awsCliToken({ ...credentials, region: 'eu-west-1', cluster: 'gpu-cluster', date: amzDate }),
  );
});

test('matches with session credentials too (X-Amz-Security-Token)', async () => {
  const session = { ...credentials, sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE/+==' };
  const { token } = await makeEksToken('prod', 'us-east-1', session, signedAt);
  expect(token).toBe(awsCliToken({ ...session, region: 'us-east-1', cluster: 'prod', date: amzDate }));
  expect(decodeUrl(token).searchParams.get('X-Amz-Security-Token')).toBe(session.sessionToken);
});

test('is a presigned GetCallerIdentity for 60 s, signing the cluster header', async () => {
  const { token, expiresAt } = await makeEksToken('gpu-cluster', 'eu-west-1', credentials, signedAt);
  expect(token.startsWith('k8s-aws-v1.')).toBe(true);
  expect(token).not.toMatch(/=$/);
  const url = decodeUrl(token);
  expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
  expect(Object.fromEntries(url.searchParams)).toMatchObject({
    Action: 'GetCallerIdentity',
    Version: '2011-06-15',
    'X-Amz-Expires': '60',
    'X-Amz-Date': amzDate,
    'X-Amz-SignedHeaders': 'host;x-k8s-aws-id',
  });
  // Counted valid for 14 minutes, as the CLI reports it (EKS accepts 15).
  expect(expiresAt - signedAt.getTime()).toBe(14 * 60_000);
});

test('is cached until a minute before expiry, then renewed; never outlives its credentials', async () => {
  let now = signedAt.getTime();
  let fetched = 0;
  const source = new EksTokenSource({
    clusterName: 'c',
    region: 'us-east-1',
    now: () => now,
    credentials: async () => {
      fetched++;
      return { ...credentials, expiration: new Date(signedAt.getTime() + 30 * 60_000) };
    },
  });
  const first = await source.token();
  const [a, b] = await Promise.all([source.token(), source.token()]);
  expect([a, b]).toEqual([first, first]);
  now += 12 * 60_000;
  expect(await source.token()).toBe(first);
  now += 60_000 + 1; // within the last minute of its 14
  const second = await source.token();
  expect(second).not.toBe(first);
  expect(fetched).toBe(2);

  const shortLived = new EksTokenSource({
    clusterName: 'c',
    region: 'us-east-1',
    now: () => now,
    credentials: async () => ({ ...credentials, expiration: new Date(now + 3 * 60_000) }),
  });
  const t1 = await shortLived.token();
  now += 2 * 60_000 + 1; // the credentials expire in under a minute: a new token on new credentials
  expect(await shortLived.token()).not.toBe(t1);
});
