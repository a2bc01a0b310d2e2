/** The in-memory adapters: FIFO queue semantics, decision state, cluster, node groups, metrics, telemetry. */
import {
  CallLog,
  MemoryCluster,
  MemoryDecisionQueue,
  MemoryDecisionState,
  MemoryMetricsSource,
  MemoryCapacityProvider,
  MemoryTelemetrySink,
} from '../../lib/adapters/memory/index.js';
import { capacityIntent } from '../../lib/policy/capacityPlan.js';
import { deployment } from '../policy/helpers.js';
import { fixtureDecision } from './decisionFixture.js';

describe('MemoryDecisionQueue', () => {
  let now = 0;
  const clock = () => now;

  beforeEach(() => {
    now = 1000;
  });

  it('deduplicates by id within the window, and accepts the id again after it', async () => {
    const q = new MemoryDecisionQueue(clock, 300, 3);
    const d = fixtureDecision();
    await q.send([d]);
    await q.send([d]);
    q.sendRaw('{}', 'llm/chat', 'llm.chat.1');
    expect(q.depth).toBe(1);
    now += 299;
    await q.send([d]);
    expect(q.depth).toBe(1);
    now += 301;
    await q.send([d]);
    expect(q.depth).toBe(2);
    // another sequence is another message
    await q.send([fixtureDecision({ sequence: 2 })]);
    expect(q.depth).toBe(3);
  });

  it('delivers in order and removes what was handled', async () => {
    const q = new MemoryDecisionQueue(clock);
    await q.send([fixtureDecision({ sequence: 1 }), fixtureDecision({ sequence: 2 })]);
    await q.send([fixtureDecision({ variant: 'other', sequence: 1 })]);
    const seen: string[] = [];
    await q.drain(async (body) => {
      const d = JSON.parse(body) as { id: string };
      seen.push(d.id);
    });
    expect(seen).toEqual(['llm/chat#1', 'llm/chat#2', 'llm/other#1']);
    expect(q.depth).toBe(0);
  });

  it('keeps a failing message, blocking its group but not others, then dead-letters it after maxReceives', async () => {
    const q = new MemoryDecisionQueue(clock, 300, 3);
    q.sendRaw('poison', 'llm/chat', 'p');
    q.sendRaw('chat-2', 'llm/chat', 'c2');
    q.sendRaw('other-1', 'llm/other', 'o1');
    const handled: string[][] = [];
    const drain = async () => {
      const round: string[] = [];
      await q.drain(async (body) => {
        if (body === 'poison') throw new Error('bad message');
        round.push(body);
      });
      handled.push(round);
    };
    await drain();
    // chat-2 waits behind the poison message; the other group goes on
    expect(handled[0]).toEqual(['other-1']);
    expect(q.depth).toBe(2);
    expect(q.deadLetters).toEqual([]);
    await drain();
    expect(handled[1]).toEqual([]);
    expect(q.deadLetters).toEqual([]);
    await drain();
    // third receive: dead-lettered, and its group unblocked
    expect(q.deadLetters.map((m) => [m.body, m.receiveCount, m.groupId])).toEqual([
      ['poison', 3, 'llm/chat'],
    ]);
    expect(handled[2]).toEqual(['chat-2']);
    expect(q.depth).toBe(0);
  });
});

describe('MemoryDecisionState', () => {
  it('claims a sequence once applied only once, and never an older one', async () => {
    const s = new MemoryDecisionState();
    expect(await s.lastApplied('llm/chat')).toEqual({ sequence: 0, applied: false });
    expect(await s.claim('llm/chat', 3)).toEqual({ claimed: true });
    // a retry after a crash before markDone may claim it again
    expect(await s.claim('llm/chat', 3)).toEqual({ claimed: true });
    await s.markDone('llm/chat', { poolSequence: 1, appliedSequence: 3 });
    expect(await s.claim('llm/chat', 3)).toEqual({ claimed: false, last: { sequence: 3, applied: true } });
    expect(await s.claim('llm/chat', 2)).toMatchObject({ claimed: false });
    expect(await s.claim('llm/chat', 4)).toEqual({ claimed: true });
    // marking an older sequence does not mark the newer one
    await s.markDone('llm/chat', { poolSequence: 2, appliedSequence: 3 });
    expect(await s.lastApplied('llm/chat')).toEqual({ sequence: 4, applied: false });
  });

  it('takes capacity intents only from the same or newer pool evaluations, per pool', async () => {
    const s = new MemoryDecisionState();
    expect(await s.claimCapacity('default', 5)).toBe(true);
    expect(await s.claimCapacity('default', 5)).toBe(true);
    expect(await s.claimCapacity('default', 4)).toBe(false);
    expect(await s.claimCapacity('default', 6)).toBe(true);
    expect(await s.claimCapacity('batch', 1)).toBe(true);
  });

  it('keeps the highest pool sequence a variant reached', async () => {
    const s = new MemoryDecisionState();
    const reached = async () => Object.fromEntries(await s.poolsReached(['llm/chat', 'llm/other']));
    expect(await reached()).toEqual({ 'llm/chat': 0, 'llm/other': 0 });
    await s.markDone('llm/chat', { poolSequence: 5 });
    await s.markDone('llm/chat', { poolSequence: 3 });
    expect(await reached()).toEqual({ 'llm/chat': 5, 'llm/other': 0 });
  });

  it('keeps a counter per label set, whatever the key order', async () => {
    const s = new MemoryDecisionState();
    const count = async (labels: Record<string, string>) =>
      (await s.markDone('llm/chat', { poolSequence: 1, count: labels })).count;
    expect(await count({ a: '1', b: '2' })).toBe(1);
    expect(await count({ b: '2', a: '1' })).toBe(2);
    expect(await count({ a: '1', b: '3' })).toBe(1);
    expect(await s.incrementCounter('m', { a: '1' })).toBe(1);
  });

  it('hands out copies of the policy memory, never shared state', async () => {
    const s = new MemoryDecisionState();
    const m = await s.loadPolicy('p');
    expect(m).toEqual({ poolSequence: 0, variants: {} });
    m.poolSequence = 9;
    expect((await s.loadPolicy('p')).poolSequence).toBe(0);
    await s.savePolicy('p', m);
    m.poolSequence = 10;
    expect((await s.loadPolicy('p')).poolSequence).toBe(9);
  });
});

describe('MemoryCluster and MemoryCapacityProvider', () => {
  const target = (name: string) => ({
    namespace: 'llm',
    deployment: name,
    variant: `llm/${name}`,
    accelerator: 'L4',
  });
  const l4 = {
    acceleratorType: 'L4',
    devicesPerNode: 1,
    readyDevices: 2,
    startingDevices: 0,
    addableDevices: 6,
    provisioningSeconds: 60,
  };
  const intent = (devices: number) =>
    capacityIntent({
      pool: 'p',
      poolSequence: 3,
      now: 0,
      variants: [],
      acceleratorTypes: ['L4'],
      replicas: [{ acceleratorType: 'L4', devicesPerReplica: 1, replicas: devices }],
    });

  it('reads what exists, scales it ready at once, and logs writes from both in order', async () => {
    const log = new CallLog();
    const cluster = new MemoryCluster({ log, deployments: [deployment('L4', 2, 1)] });
    const capacity = new MemoryCapacityProvider({ log, accelerators: [l4] });
    const [chat] = await cluster.deployments([target('chat'), target('absent')]);
    expect(chat).toMatchObject({ namespace: 'llm', deployment: 'chat', desired: 2, ready: 1 });
    expect(log.deploymentReads).toEqual([[target('chat'), target('absent')]]);
    expect(await capacity.observe(['L4', 'A10'])).toEqual([l4]);

    await capacity.provide(intent(4), { now: 0, allowRemoval: false });
    await cluster.scale('llm', 'chat', 4);
    expect(log.lines).toEqual(['capacity p#3 L4=4 (no removal)', 'scale llm/chat 4']);
    expect((await cluster.deployments([target('chat')]))[0]).toMatchObject({ desired: 4, ready: 4 });
    expect(cluster.replicas('llm', 'chat')).toBe(4);
    expect(await capacity.observe(['L4'])).toEqual([{ ...l4, readyDevices: 4, addableDevices: 4 }]);
  });

  it('removes only when allowed, and never beyond what may be added', async () => {
    const capacity = new MemoryCapacityProvider({ accelerators: [l4] });
    const kept = await capacity.provide(intent(1), { now: 0, allowRemoval: false });
    expect(kept.changes[0]).toMatchObject({ status: 'removal-skipped', devicesAfter: 2 });
    const removed = await capacity.provide(intent(1), { now: 0, allowRemoval: true });
    expect(removed.changes[0]).toMatchObject({ status: 'shrunk', devicesAfter: 1 });
    const over = await capacity.provide(intent(20), { now: 0, allowRemoval: true });
    expect(over.changes[0]).toMatchObject({ status: 'insufficient', devicesAfter: 8 });
  });

  it('what does not exist cannot be scaled; a failure asked for is logged and thrown', async () => {
    const log = new CallLog();
    const cluster = new MemoryCluster({ log, deployments: [deployment('L4', 2)] });
    await expect(cluster.scale('llm', 'absent', 1)).rejects.toThrow('deployment llm/absent not found');
    cluster.failScaling('llm/chat', () => new Error('apiserver unavailable'));
    await expect(cluster.scale('llm', 'chat', 3)).rejects.toThrow('apiserver unavailable');
    expect(cluster.replicas('llm', 'chat')).toBe(2);
    expect(log.lines).toEqual(['scale llm/absent 1', 'scale llm/chat 3 (failed)']);
  });
});

describe('MemoryMetricsSource and MemoryTelemetrySink', () => {
  const query = { variant: 'llm/chat', namespace: 'llm', modelName: 'm', gateway: false };

  it('observes what was set, or a variant with every series missing; queries are logged', async () => {
    const log = new CallLog();
    const metrics = new MemoryMetricsSource(log);
    expect(await metrics.collect([query], 100)).toEqual([
      {
        variant: 'llm/chat',
        model: 'm',
        at: 100,
        windowSeconds: 60,
        stale: [],
        missing: ['vllm:request_success_total'],
      },
    ]);
    metrics.observations.set('llm/chat', (now) => ({
      variant: 'llm/chat',
      model: 'm',
      at: now,
      windowSeconds: 30,
      stale: [],
      missing: [],
    }));
    expect((await metrics.collect([query], 200))[0]).toMatchObject({
      at: 200,
      windowSeconds: 30,
      missing: [],
    });
    expect(log.metricsQueries).toEqual([[query], [query]]);
  });

  it('a sink keeps the points, or refuses every push when told to', async () => {
    const point = { name: 'x', labels: {}, value: 1, timestamp: 0 };
    const sink = new MemoryTelemetrySink();
    await sink.publish([point]);
    expect(sink.points).toEqual([point]);
    const refusing = new MemoryTelemetrySink(() => new Error('503'));
    await expect(refusing.publish([point])).rejects.toThrow('503');
    expect(refusing.points).toEqual([]);
    expect(refusing.publishes).toBe(1);
  });
});
