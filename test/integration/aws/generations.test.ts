/**
 * No state wedges the consumer, on DynamoDB (moto): evaluate and apply share a real state table
 * (DynamoDecisionState), the cluster and metrics in memory. The policy item deleted (a lost
 * item), an older policy item put back (a point-in-time restore), and a poisoned sequence
 * (2^53-1): after each, apply goes on acting on the next valid decisions.
 */
import { jest } from '@jest/globals';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDecisionState } from '../../../lib/adapters/dynamodb/index.js';
import {
  CallLog,
  ManualClock,
  MemoryCapacityProvider,
  MemoryCluster,
  MemoryDecisionQueue,
  MemoryMetricsSource,
  MemoryTelemetrySink,
} from '../../../lib/adapters/memory/index.js';
import { applyMessage, type MessageOutcome } from '../../../lib/loop/apply.js';
import { evaluatePool, type EvaluateDeps } from '../../../lib/loop/evaluate.js';
import { capacityViews, deployment, observation, poolConfig, ratePerReplica } from '../../policy/helpers.js';
import { fixtureDecision } from '../../loop/decisionFixture.js';
import { createStateTable, startMoto, type Moto } from './moto.js';

jest.setTimeout(60_000);

const START = 1_767_225_600;
const POOL = 'default';
let moto: Moto | undefined;
let tables = 0;

beforeAll(async () => {
  moto = await startMoto();
});

afterAll(async () => {
  await moto?.stop();
});

async function world() {
  const table = `sva-generations-${++tables}`;
  await createStateTable(moto!.dynamo, table);
  const config = poolConfig();
  const r = ratePerReplica(config);
  const log = new CallLog();
  const clock = new ManualClock(START);
  const metrics = new MemoryMetricsSource(log);
  const cluster = new MemoryCluster({ log, deployments: [deployment('L4', 2)] });
  const capacity = new MemoryCapacityProvider({ log, accelerators: capacityViews(config, { 'gpu-l4': 3 }) });
  const state = new DynamoDecisionState(moto!.documents, table);
  const telemetry = new MemoryTelemetrySink();
  const queue = new MemoryDecisionQueue(() => clock.now());
  const deps: EvaluateDeps = { metrics, cluster, capacity, queue, state, telemetry, clock };
  const outcomes: MessageOutcome[] = [];
  const apply = async (body: string) => {
    const out = await applyMessage({ cluster, capacity, state, telemetry, clock }, body, {
      config,
      maxAgeSeconds: config.policy.maxDecisionAgeSeconds,
    });
    outcomes.push(out);
    return out;
  };
  /** one evaluation a minute at `rate` replicas' worth of demand, its messages applied */
  const minute = async (i: number, replicasOfDemand: number) => {
    clock.set(START + 60 * i);
    metrics.observations.set('llm/chat', (now) => observation(replicasOfDemand * r, now));
    const result = await evaluatePool(deps, config, POOL);
    await queue.drain(async (body) => void (await apply(body)));
    return result;
  };
  const policyItem = async () =>
    (await moto!.documents.send(new GetCommand({ TableName: table, Key: { pk: `policy#${POOL}` } }))).Item;
  const dropped = () =>
    telemetry.points.filter((p) => p.name === 'inferno_decisions_dropped_total').map((p) => p.labels.reason);
  return { table, cluster, outcomes, apply, minute, policyItem, dropped };
}

const last = (outcomes: MessageOutcome[]) => outcomes.filter((o) => o.kind === 'decision').at(-1);

test('the reset: the policy item deleted, evaluation starts again at sequence 1 and apply acts on it', async () => {
  const w = await world();
  for (let i = 0; i < 5; i++) await w.minute(i, 2.5);
  expect(w.cluster.replicas('llm', 'chat')).toBe(3);
  await moto!.documents.send(new DeleteCommand({ TableName: w.table, Key: { pk: `policy#${POOL}` } }));
  const out = await w.minute(6, 5.5);
  expect(out.decisions[0]!.sequence).toBe(1);
  expect(last(w.outcomes)).toMatchObject({ status: 'applied' });
  expect(w.cluster.replicas('llm', 'chat')).toBe(6);
  expect(w.dropped()).toEqual([]);
});

test('the restore: an older policy item put back is noticed, a new generation starts, apply acts', async () => {
  const w = await world();
  await w.minute(0, 2.5);
  const old = await w.policyItem();
  for (let i = 1; i < 5; i++) await w.minute(i, 2.5);
  // a decision of the restored (older) generation arriving late is dropped with its reason
  await moto!.documents.send(new PutCommand({ TableName: w.table, Item: old! }));
  const out = await w.minute(6, 5.5);
  expect(out.generationStarted).toMatch(/is behind apply's/);
  expect(last(w.outcomes)).toMatchObject({ status: 'applied' });
  expect(w.cluster.replicas('llm', 'chat')).toBe(6);
  // and a straggler of the old generation (sent before the restore was noticed) is dropped
  const straggler = fixtureDecision({
    pool: POOL,
    generation: START * 1000 - 1,
    sequence: 2,
    issuedAt: new Date((START + 360) * 1000).toISOString(),
    targetReplicas: 9,
    deployments: [{ accelerator: 'L4', deployment: 'chat', replicas: 9 }],
  });
  expect(await w.apply(JSON.stringify(straggler))).toMatchObject({ status: 'stale-generation' });
  expect(w.cluster.replicas('llm', 'chat')).toBe(6);
  expect(w.dropped()).toEqual(['stale-generation']);
});

test('the poisoned sequence 2^53-1 is rejected; later valid decisions of the variant apply', async () => {
  const w = await world();
  await w.minute(0, 2.5);
  const poison = fixtureDecision({
    pool: POOL,
    sequence: Number.MAX_SAFE_INTEGER,
    poolSequence: Number.MAX_SAFE_INTEGER,
    issuedAt: new Date((START + 30) * 1000).toISOString(),
    targetReplicas: 1,
    deployments: [{ accelerator: 'L4', deployment: 'chat', replicas: 1 }],
  });
  expect(await w.apply(JSON.stringify(poison))).toMatchObject({
    kind: 'rejected',
    field: 'decision.sequence',
  });
  for (let i = 1; i < 4; i++) await w.minute(i, 5.5);
  expect(last(w.outcomes)).toMatchObject({ status: 'applied' });
  expect(w.cluster.replicas('llm', 'chat')).toBe(6);
  expect(w.dropped()).toEqual(['rejected']);
});
