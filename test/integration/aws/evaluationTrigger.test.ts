/**
 * LambdaEvaluationTrigger on moto's Lambda API: an asynchronous (Event) invocation of the
 * evaluate function is accepted (202), and one of a function that does not exist fails, so
 * ingest reports it. (moto accepts Event invocations without running them.)
 */
import { execFileSync } from 'node:child_process';
import { jest } from '@jest/globals';
import { CreateFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { LambdaEvaluationTrigger } from '../../../lib/adapters/gatewayEvents/index.js';
import { awsClientSettings } from '../../../lib/adapters/aws/clientConfig.js';
import { CREDENTIALS, REGION, startMoto, type Moto } from './moto.js';

jest.setTimeout(60_000);

let moto: Moto | undefined;
let lambda: LambdaClient;

beforeAll(async () => {
  moto = await startMoto();
  lambda = new LambdaClient({
    ...awsClientSettings(moto.env, 'LAMBDA'),
    credentials: CREDENTIALS,
  });
  // moto's Lambda wants a role it knows: IAM's query API, unsigned (moto reads the service from the scope)
  const created = await fetch(`${moto.endpoint}/`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `AWS4-HMAC-SHA256 Credential=${CREDENTIALS.accessKeyId}/20260101/${REGION}/iam/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({
      Action: 'CreateRole',
      Version: '2010-05-08',
      RoleName: 'sva-evaluate',
      AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
    }),
  });
  const role = /<Arn>([^<]+)<\/Arn>/.exec(await created.text())?.[1];
  if (!role) throw new Error('moto created no IAM role');
  // a zip with one file, made with the python moto runs on
  const zip = execFileSync('python3', [
    '-c',
    "import io,sys,zipfile\nb=io.BytesIO()\nz=zipfile.ZipFile(b,'w')\nz.writestr('index.js','exports.handler=async()=>1')\nz.close()\nsys.stdout.buffer.write(b.getvalue())",
  ]);
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: 'sva-test-evaluate',
      Runtime: 'nodejs22.x',
      Role: role,
      Handler: 'index.handler',
      Code: { ZipFile: zip },
    }),
  );
});

afterAll(async () => {
  await moto?.stop();
});

test('an Event invocation of evaluate is accepted', async () => {
  await expect(
    new LambdaEvaluationTrigger(lambda, 'sva-test-evaluate').trigger(
      'default',
      'requests wait for llm/chat-8b',
    ),
  ).resolves.toBeUndefined();
});

test('a function that does not exist fails the trigger', async () => {
  await expect(
    new LambdaEvaluationTrigger(lambda, 'sva-test-nothing').trigger('default', 'x'),
  ).rejects.toThrow();
});
