/**
 * The gateway-event path on moto: events sent to an SQS standard queue, received in batches as
 * Lambda's event source would and handed to the ingest handler, counters in DynamoDB. The
 * DynamoDB store gives the memory double's answers; concurrent batches of requests waiting
 * for a variant at zero trigger one evaluation; bad messages are dropped, never the batch.
 */
import { jest } from '@jest/globals';
import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { DynamoGatewayLoad, GatewayMetricsSource } from '../../../lib/adapters/gatewayEvents/index.js';
import {
  InProcessEvaluationTrigger,
  MemoryGatewayLoad,
  systemClock,
} from '../../../lib/adapters/memory/index.js';
import { drainQueue } from '../../../lib/adapters/sqs/index.js';
import { lambdaContext } from '../../../lib/cli/invokeCommand.js';
import { aggregateBatch } from '../../../lib/gateway/aggregate.js';
import type { GatewayEvent } from '../../../lib/gateway/events.js';
import type { GatewayLoadStore } from '../../../lib/gateway/ports.js';
import { variantResolver } from '../../../lib/gateway/variants.js';
import { metricsQuery } from '../../../lib/policy/ports.js';
import { createIngestHandler } from '../../../functions/ingest/handler.js';
import { ingestWiring } from '../../../functions/wiring.js';
import { CHAT, CHAT_MODEL, gatewayConfig, request } from '../../gateway/events.js';
import { captureLogs } from '../../functions/logs.js';
import { createGatewayQueue, createGatewayTable, REGION, startMoto, type Moto } from './moto.js';

jest.setTimeout(120_000);

let moto: Moto | undefined;
let tables = 0;
const config = gatewayConfig();

beforeAll(async () => {
  moto = await startMoto();
  // the SDK's default credential chain reads them from the process, as on Lambda
  Object.assign(process.env, moto.env);
});

afterAll(async () => {
  await moto?.stop();
});

async function table(): Promise<string> {
  const name = `sva-gateway-${++tables}`;
  await createGatewayTable(moto!.dynamo, name);
  return name;
}

async function send(queueUrl: string, bodies: readonly unknown[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10)
    await moto!.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(i, i + 10).map((b, j) => ({
          Id: String(j),
          MessageBody: typeof b === 'string' ? b : JSON.stringify(b),
        })),
      }),
    );
}

/** What a script of batches leaves in a store, read back. */
async function transcript(store: GatewayLoadStore, now: number) {
  const resolve = variantResolver(config);
  const batches: GatewayEvent[][] = [
    request('a', { at: now - 50, engine: 'p0', prompt: 100, output: 30 }),
    [
      ...request('b', { at: now - 40, engine: 'p1', prompt: 3000, output: 500 }).slice(0, 2),
      ...request('c', { at: now - 35, engine: 'p0', prompt: 70, output: 10 }).slice(0, 1),
    ],
  ];
  const out: unknown[] = [];
  for (const events of batches) out.push(await store.apply(aggregateBatch(events, resolve, 10), 3600));
  // the same batch again: skipped
  out.push(await store.apply(aggregateBatch(batches[1]!, resolve, 10), 3600));
  const [load] = await store.load([CHAT], now - 900);
  const engines = [...load!.engines].sort((x, y) => (x.engine < y.engine ? -1 : 1));
  out.push(
    engines,
    load!.slots.map((s) => ({ ...s, buckets: [...s.buckets].sort() })),
  );
  const p0 = engines.find((e) => e.engine === 'p0')!;
  out.push(await store.resetEngines(CHAT, [{ engine: 'p0', updatedAt: p0.updatedAt - 1 }]));
  out.push(await store.resetEngines(CHAT, [{ engine: 'p0', updatedAt: p0.updatedAt }]));
  out.push((await store.load([CHAT], now - 900))[0]!.engines.find((e) => e.engine === 'p0'));
  out.push(await store.claimTrigger('default', now, 10));
  out.push(await store.claimTrigger('default', now + 5, 10));
  out.push(await store.claimTrigger('default', now + 10, 10));
  return out;
}

describe('gateway events on DynamoDB (moto)', () => {
  it('gives the answers of the memory double', async () => {
    const now = Math.floor(Date.now() / 1000);
    const dynamo = await transcript(new DynamoGatewayLoad(moto!.documents, await table()), now);
    const memory = await transcript(new MemoryGatewayLoad(), now);
    expect(dynamo).toEqual(memory);
    expect(dynamo[2]).toEqual({ writes: 0, alreadyApplied: (dynamo[1] as { writes: number }).writes });
  });

  it('ingests batches from SQS: counters, bucket statistics, bad messages dropped with their reason', async () => {
    const name = await table();
    const queue = await createGatewayQueue(moto!.sqs, `gateway-${tables}`);
    const now = Math.floor(Date.now() / 1000);
    const events = Array.from({ length: 40 }, (_, i) =>
      request(`r${i}`, {
        at: now - 45 + i,
        engine: `p${i % 3}`,
        prompt: i % 2 ? 2000 : 100,
        output: i % 2 ? 300 : 20,
      }),
    ).flat();
    // the last 4 requests are still in prefill: no first token, no completion yet
    const inPrefill = new Set(['r36', 'r37', 'r38', 'r39']);
    const sent = events.filter((e) => !inPrefill.has(e.id) || e.type === 'dispatch');
    await send(queue.queueUrl, [...sent, '{"type":"dispatch"}', 'garbage']);

    const env = {
      ...moto!.env,
      SVA_CONFIG: 'config/default.yaml',
      SVA_GATEWAY_TABLE: name,
      SVA_EVALUATE_FUNCTION: 'unused',
    };
    const handler = createIngestHandler(() => ingestWiring(env, new Logger({ serviceName: 'test' })));
    const { logs } = await captureLogs(() =>
      drainQueue(moto!.sqs, handler, {
        ...queue,
        region: REGION,
        context: () => lambdaContext('sva-ingest', 30),
        maxPolls: 50,
        emptyPolls: 2,
      }),
    );
    const ingested = logs.filter((l) => l.message === 'gateway events ingested');
    expect(ingested.reduce((a, l) => a + (l.applied as number), 0)).toBe(sent.length);
    const dropped = logs.filter((l) => l.message === 'gateway events dropped').map((l) => l.reason);
    expect(dropped).toEqual(
      expect.arrayContaining(['invalid message: not JSON', expect.stringMatching(/^invalid message: /)]),
    );

    const source = new GatewayMetricsSource({
      store: new DynamoGatewayLoad(moto!.documents, name),
      windowSeconds: 60,
      maxAgeSeconds: 120,
      settings: config.gatewayEvents,
    });
    const [chat] = await source.collect(config.variants.map(metricsQuery), now);
    expect(chat!.waiting).toMatchObject({ value: 4, source: 'gateway-events:in_prefill' });
    expect(chat!.running).toMatchObject({ value: 0 });
    // the whole slots of the window: from the slot the window's start falls in
    const windowFrom = Math.floor((now - 60) / 10) * 10;
    expect(chat!.arrivalRate!.value).toBeCloseTo(40 / (now - windowFrom), 9);
    const buckets = chat!.outputByInputBucket!.buckets;
    // 18 completions of 20 and 18 of 300 tokens (overall 160), each mean shrunk by 20 completions of 160
    const shrunk = (mean: number) => (18 * mean + 20 * 160) / 38;
    expect(buckets.find((b) => b.bucket === 6)).toMatchObject({ completions: 18 });
    expect(buckets.find((b) => b.bucket === 6)!.meanOutputTokens).toBeCloseTo(shrunk(20), 9);
    expect(buckets.find((b) => b.bucket === 10)!.meanOutputTokens).toBeCloseTo(shrunk(300), 9);
  });

  it('triggers one evaluation for a burst of requests at zero, however the batches fall', async () => {
    const name = await table();
    const queue = await createGatewayQueue(moto!.sqs, `gateway-${tables}`);
    const now = Math.floor(Date.now() / 1000);
    await send(
      queue.queueUrl,
      Array.from({ length: 60 }, (_, i) => ({
        type: 'queued',
        id: `q${i}`,
        at: now,
        model: CHAT_MODEL,
        promptTokens: 500,
      })),
    );
    const evaluations: string[] = [];
    const trigger = new InProcessEvaluationTrigger(async (pool) => evaluations.push(pool));
    const store = new DynamoGatewayLoad(moto!.documents, name);
    const handler = createIngestHandler(async () => ({
      config,
      pool: 'default',
      deps: { store, trigger, clock: systemClock },
    }));
    const totals = await captureLogs(() =>
      drainQueue(moto!.sqs, handler, {
        ...queue,
        region: REGION,
        context: () => lambdaContext('sva-ingest', 30),
        batchSize: 5,
        concurrency: 5,
        maxPolls: 50,
        emptyPolls: 2,
      }),
    );
    await trigger.settled();
    expect(totals.result.received).toBe(60);
    expect(totals.logs.filter((l) => l.message === 'gateway events ingested').length).toBeGreaterThan(1);
    expect(evaluations).toEqual(['default']);
    // the arrivals count all the same
    const [load] = await store.load([CHAT], now - 900);
    expect([...load!.slots[0]!.buckets.values()][0]!.arrivals).toBe(60);
  });
});
