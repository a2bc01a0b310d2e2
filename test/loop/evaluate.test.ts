/**
 * evaluatePool end to end with in-memory adapters: collect, decide, save, queue, publish; then
 * the queue drained into applyMessage (the decisions, then the pool's capacity intent), as the
 * Lambda pair and the simulation run them.
 */
import {
  CallLog,
  ManualClock,
  MemoryCluster,
  MemoryDecisionQueue,
  MemoryDecisionState,
  MemoryMetricsSource,
  MemoryCapacityProvider,
  MemoryTelemetrySink,
} from '../../lib/adapters/memory/index.js';
import type { Config } from '../../lib/config/schema.js';
import { emptyMemory } from '../../lib/policy/memory.js';
import {
  applyDecision,
  applyMessage,
  type ApplyOutcome,
  type CapacityOutcome,
} from '../../lib/loop/apply.js';
import { checkGeneration, evaluatePool, type EvaluateDeps } from '../../lib/loop/evaluate.js';
import { SVA_OPS } from '../../lib/loop/telemetry.js';
import { parsePoolMessage } from '../../lib/policy/messages.js';
import type { TelemetrySink } from '../../lib/policy/ports.js';
import {
  blindObservation,
  CHAT,
  deployment,
  capacityViews,
  observation,
  poolConfig,
  ratePerReplica,
} from '../policy/helpers.js';

const START = 1_767_225_600;

function world(config: Config, telemetry: TelemetrySink = new MemoryTelemetrySink()) {
  const log = new CallLog();
  const clock = new ManualClock(START);
  const metrics = new MemoryMetricsSource(log);
  const cluster = new MemoryCluster({
    log,
    deployments: [deployment('L4', 2), deployment('L4', 1, 1, 'llm/other')],
  });
  const capacity = new MemoryCapacityProvider({ log, accelerators: capacityViews(config, { 'gpu-l4': 3 }) });
  const state = new MemoryDecisionState();
  const queue = new MemoryDecisionQueue(() => clock.now());
  const deps: EvaluateDeps = { metrics, cluster, capacity, queue, state, telemetry, clock };
  const outcomes: ApplyOutcome[] = [];
  const capacityOutcomes: CapacityOutcome[] = [];
  const drain = () =>
    queue.drain(async (body) => {
      const out = await applyMessage({ cluster, capacity, state, telemetry, clock }, body, {
        config,
        pool: 'pool-a',
        maxAgeSeconds: config.policy.maxDecisionAgeSeconds,
        acceleratorTypes: new Map(config.accelerators.map((a) => [a.name, a.type ?? a.name])),
      });
      if (out.kind === 'rejected') throw new Error(`an evaluation's own message rejected: ${out.detail}`);
      if (out.kind === 'capacity') capacityOutcomes.push(out);
      else outcomes.push(out);
    });
  return { log, clock, metrics, cluster, capacity, state, queue, deps, outcomes, capacityOutcomes, drain };
}

describe('generations: a fresh or restored policy memory never wedges apply', () => {
  const config = poolConfig();
  const r = ratePerReplica(config);

  it('starts a generation with a fresh memory and carries it in the decisions and the intent', async () => {
    const w = world(config);
    w.metrics.observations.set('llm/chat', (now) => observation(3.5 * r, now));
    const out = await evaluatePool(w.deps, config, 'pool-a');
    expect(out.generation).toBe(START * 1000);
    expect(out.decisions[0]!.generation).toBe(START * 1000);
    expect(out.capacity.generation).toBe(START * 1000);
    expect(out.generationStarted).toBeUndefined();
  });

  it('the reset: the policy item lost, the next evaluation starts over at sequence 1 and applies', async () => {
    const w = world(config);
    w.metrics.observations.set('llm/chat', (now) => observation(3.5 * r, now));
    for (let i = 0; i < 5; i++) {
      w.clock.set(START + 60 * i);
      await evaluatePool(w.deps, config, 'pool-a');
      await w.drain();
    }
    await w.state.savePolicy('pool-a', emptyMemory()); // as a deleted item reads
    w.clock.set(START + 600);
    w.metrics.observations.set('llm/chat', (now) => observation(6.5 * r, now));
    const out = await evaluatePool(w.deps, config, 'pool-a');
    expect(out.decisions[0]!.sequence).toBe(1);
    await w.drain();
    expect(w.outcomes.at(-1)).toMatchObject({ status: 'applied' });
    expect(w.cluster.replicas('llm', 'chat')).toBe(out.decisions[0]!.targetReplicas);
  });

  it('the restore: an older policy item put back is noticed by apply’s mark; a new generation applies', async () => {
    const w = world(config);
    w.metrics.observations.set('llm/chat', (now) => observation(3.5 * r, now));
    await evaluatePool(w.deps, config, 'pool-a');
    const old = await w.state.loadPolicy('pool-a');
    await w.drain();
    for (let i = 1; i < 5; i++) {
      w.clock.set(START + 60 * i);
      await evaluatePool(w.deps, config, 'pool-a');
      await w.drain();
    }
    await w.state.savePolicy('pool-a', old); // point-in-time restore of the table
    w.clock.set(START + 600);
    w.metrics.observations.set('llm/chat', (now) => observation(6.5 * r, now));
    const out = await evaluatePool(w.deps, config, 'pool-a');
    expect(out.generationStarted).toMatch(
      /^policy memory at generation \d+, pool sequence 1 is behind apply's .*pool sequence 5/,
    );
    expect(out.generation).toBeGreaterThan(START * 1000);
    await w.drain();
    expect(w.outcomes.at(-1)).toMatchObject({ status: 'applied' });
    expect(w.cluster.replicas('llm', 'chat')).toBe(out.decisions[0]!.targetReplicas);
  });

  it('checkGeneration: behind in generation or in pool sequence starts a newer one; otherwise unchanged', () => {
    const memory = { generation: 5000, poolSequence: 7, variants: {} };
    expect(checkGeneration(memory, undefined, 10).memory).toBe(memory);
    expect(checkGeneration(memory, { generation: 5000, poolSequence: 7 }, 10).memory).toBe(memory);
    expect(checkGeneration(memory, { generation: 4000, poolSequence: 90 }, 10).memory).toBe(memory);
    expect(checkGeneration(memory, { generation: 5000, poolSequence: 8 }, 10).memory.generation).toBe(10_000);
    expect(checkGeneration(memory, { generation: 20_000, poolSequence: 1 }, 10).memory.generation).toBe(
      20_001,
    );
  });
});

describe('evaluatePool', () => {
  const config = poolConfig();
  const r = ratePerReplica(config);

  it('decides, queues, and the applied decision reaches the cluster', async () => {
    const w = world(config);
    w.metrics.observations.set('llm/chat', (now) => observation(3.5 * r, now));
    const result = await evaluatePool(w.deps, config, 'pool-a');
    expect(result.pool).toBe('pool-a');
    expect(result.poolSequence).toBe(1);
    expect(result.held).toEqual([]);
    expect(result.decisions).toHaveLength(1);
    const d = result.decisions[0]!;
    expect(d).toMatchObject({ pool: 'pool-a', sequence: 1, targetReplicas: 4, currentReplicas: 2 });
    expect(d.issuedAt).toBe(new Date(START * 1000).toISOString());
    // one decision per variant and the pool's capacity intent, on its own message group
    expect(w.queue.depth).toBe(2);
    expect(result.capacity).toMatchObject({
      kind: 'capacity',
      pool: 'pool-a',
      poolSequence: 1,
      variants: ['llm/chat'],
    });
    // saved before sending: the next evaluation continues the sequence
    expect((await w.state.loadPolicy('pool-a')).poolSequence).toBe(1);
    // nothing acted on yet
    expect(w.log.lines).toEqual([]);

    await w.drain();
    expect(w.queue.depth).toBe(0);
    expect(w.outcomes.map((o) => o.status)).toEqual(['applied']);
    // the variant had applied its decision when the intent came: removal would be allowed too
    expect(w.capacityOutcomes.map((o) => [o.status, o.removalAllowed])).toEqual([['applied', true]]);
    expect(w.log.lines).toEqual(['scale llm/chat 4', 'capacity pool-a#1 L4=4']);
    expect(w.capacity.devices('L4')).toBe(4);
    expect(w.cluster.replicas('llm', 'chat')).toBe(4);
  });

  it('asks the adapters for what the config names', async () => {
    const two = poolConfig({
      variants: [
        { ...CHAT, accelerator: undefined, accelerators: ['H100', 'L4'] },
        { ...CHAT, name: 'other', metrics: { modelName: 'llama', podPattern: '^other-', gateway: true } },
      ],
    });
    const w = world(two);
    await evaluatePool(w.deps, two, 'pool-a');
    expect(w.log.metricsQueries).toEqual([
      [
        { variant: 'llm/chat', namespace: 'llm', modelName: 'm8b', podPattern: undefined, gateway: false },
        { variant: 'llm/other', namespace: 'llm', modelName: 'llama', podPattern: '^other-', gateway: true },
      ],
    ]);
    expect(w.log.deploymentReads).toEqual([
      [
        { variant: 'llm/chat', namespace: 'llm', accelerator: 'H100', deployment: 'chat-h100' },
        { variant: 'llm/chat', namespace: 'llm', accelerator: 'L4', deployment: 'chat-l4' },
        { variant: 'llm/other', namespace: 'llm', accelerator: 'L4', deployment: 'other' },
      ],
    ]);
  });

  it('reports the variants it held on stale or missing metrics', async () => {
    const w = world(config);
    w.metrics.observations.set('llm/chat', (now) =>
      blindObservation(now, { stale: ['vllm:request_success_total'] }),
    );
    const result = await evaluatePool(w.deps, config, 'pool-a');
    expect(result.held).toEqual(['llm/chat']);
    expect(result.decisions[0]).toMatchObject({ action: 'hold', targetReplicas: 2 });
    await w.drain();
    // the hold is applied as what it is: the same size
    expect(w.cluster.replicas('llm', 'chat')).toBe(2);
  });

  it('numbers successive evaluations, and an older decision delivered late changes nothing', async () => {
    const w = world(config);
    w.metrics.observations.set('llm/chat', (now) => observation(3.5 * r, now));
    const first = await evaluatePool(w.deps, config, 'pool-a');
    w.clock.set(START + 30);
    w.metrics.observations.set('llm/chat', (now) => observation(5.5 * r, now));
    const second = await evaluatePool(w.deps, config, 'pool-a');
    expect([first.poolSequence, second.poolSequence]).toEqual([1, 2]);
    expect([first.decisions[0]!.sequence, second.decisions[0]!.sequence]).toEqual([1, 2]);
    // delivered out of order: the newer first
    const [older, newer] = [first.decisions[0]!, second.decisions[0]!];
    const apply = (body: unknown) =>
      applyDecision(w.deps, JSON.stringify(body), {
        config,
        pool: 'pool-a',
        maxAgeSeconds: config.policy.maxDecisionAgeSeconds,
      });
    expect((await apply(newer)).status).toBe('applied');
    const replicas = w.cluster.replicas('llm', 'chat');
    expect((await apply(older)).status).toBe('superseded');
    expect(w.cluster.replicas('llm', 'chat')).toBe(replicas);
  });

  it('a failing telemetry sink does not fail the evaluation: decisions queued, telemetryError set', async () => {
    const w = world(config, new MemoryTelemetrySink(() => new Error('remote write refused: 503')));
    w.metrics.observations.set('llm/chat', (now) => observation(3.5 * r, now));
    const result = await evaluatePool(w.deps, config, 'pool-a');
    expect(result.telemetryError).toBe('remote write refused: 503');
    expect(result.decisions).toHaveLength(1);
    expect(w.queue.depth).toBe(2);
    expect((await w.state.loadPolicy('pool-a')).poolSequence).toBe(1);
    await w.drain();
    expect(w.outcomes[0]).toMatchObject({ status: 'applied', telemetryError: 'remote write refused: 503' });
    expect(w.cluster.replicas('llm', 'chat')).toBe(4);
  });

  it('publishes exactly the gauges inferno_desired_replicas, inferno_current_replicas, inferno_desired_ratio', async () => {
    const sink = new MemoryTelemetrySink();
    const two = poolConfig({ variants: [CHAT, { ...CHAT, name: 'other' }] });
    const w = world(two, sink);
    w.metrics.observations.set('llm/chat', (now) => observation(3.5 * r, now));
    w.metrics.observations.set('llm/other', (now) => observation(0.5 * r, now, { variant: 'llm/other' }));
    await evaluatePool(w.deps, two, 'pool-a');
    const desired = sink.points.filter((p) => p.name === 'inferno_desired_replicas');
    const ratio = sink.points.filter((p) => p.name === 'inferno_desired_ratio');
    expect(desired.map((p) => [p.labels.variant_name, p.value])).toEqual([
      ['chat', 4],
      ['other', 1],
    ]);
    // desired / current
    expect(ratio.map((p) => [p.labels.variant_name, p.value])).toEqual([
      ['chat', 2],
      ['other', 1],
    ]);
    expect(desired[0]!.timestamp).toBe(START * 1000);
    await w.drain();
    // The replica gauges of the original autoscaler (the operations series are tested on their own).
    const gauges = sink.points.filter((p) =>
      ['inferno_desired_replicas', 'inferno_current_replicas', 'inferno_desired_ratio'].includes(p.name),
    );
    expect(new Set(gauges.map((p) => p.name))).toEqual(
      new Set(['inferno_desired_replicas', 'inferno_current_replicas', 'inferno_desired_ratio']),
    );
    for (const p of gauges) {
      expect(Object.keys(p.labels).sort()).toEqual(['accelerator_type', 'namespace', 'variant_name']);
      expect(p.labels.namespace).toBe('llm');
      expect(p.labels.accelerator_type).toBe('L4');
    }
    const counters = sink.points.filter((p) => p.name === 'inferno_replica_scaling_total');
    expect(counters.map((p) => [p.labels.variant_name, p.value, p.labels.direction])).toEqual([
      ['chat', 1, 'up'],
    ]);
    // and nothing else than the operations series (next test)
    expect(new Set(sink.points.map((p) => p.name))).toEqual(
      new Set([...gauges.map((p) => p.name), 'inferno_replica_scaling_total', ...Object.values(SVA_OPS)]),
    );
  });

  it('publishes per decision its time, staleness, predicted and target latencies, and replica price', async () => {
    const sink = new MemoryTelemetrySink();
    const w = world(config, sink);
    w.metrics.observations.set('llm/chat', (now) => observation(3.5 * r, now));
    const result = await evaluatePool(w.deps, config, 'pool-a');
    const d = result.decisions[0]!;
    const byName = new Map(sink.points.map((p) => [p.name, p]));
    expect(byName.get(SVA_OPS.lastDecision)).toMatchObject({
      labels: { variant_name: 'chat', namespace: 'llm' },
      value: START,
      timestamp: START * 1000,
    });
    expect(byName.get(SVA_OPS.metricsStale)?.value).toBe(0);
    const perAccelerator = { variant_name: 'chat', namespace: 'llm', accelerator_type: 'L4' };
    expect(byName.get(SVA_OPS.predictedTtft)).toMatchObject({
      labels: perAccelerator,
      value: d.prediction!.ttftMs / 1000,
    });
    expect(byName.get(SVA_OPS.predictedItl)?.value).toBeCloseTo(d.prediction!.itlMs / 1000, 12);
    expect(byName.get(SVA_OPS.targetTtft)).toMatchObject({
      labels: { variant_name: 'chat', namespace: 'llm' },
      value: 3,
    });
    expect(byName.get(SVA_OPS.targetItl)?.value).toBeCloseTo(0.06, 12);
    // L4 costs 1 per hour in the test config, one unit per replica
    expect(byName.get(SVA_OPS.replicaCost)).toMatchObject({ labels: perAccelerator, value: 1 });
  });

  it('marks a decision held on stale metrics with inferno_metrics_stale 1', async () => {
    const sink = new MemoryTelemetrySink();
    const w = world(config, sink);
    w.metrics.observations.set('llm/chat', (now) =>
      blindObservation(now, { stale: ['vllm:request_success_total'] }),
    );
    await evaluatePool(w.deps, config, 'pool-a');
    expect(sink.points.find((p) => p.name === SVA_OPS.metricsStale)?.value).toBe(1);
  });

  it('the desired ratio is the desired count when nothing runs', async () => {
    const sink = new MemoryTelemetrySink();
    const w = world(config, sink);
    await w.cluster.scale('llm', 'chat', 0);
    w.metrics.observations.set('llm/chat', (now) => observation(1.5 * r, now));
    await evaluatePool(w.deps, config, 'pool-a');
    const ratio = sink.points.find((p) => p.name === 'inferno_desired_ratio')!;
    expect(ratio.value).toBe(2);
  });

  it('the scaling counter keeps counting across evaluations (1, 2, ...)', async () => {
    const sink = new MemoryTelemetrySink();
    const w = world(config, sink);
    for (const [i, k] of [3, 5, 7].entries()) {
      w.clock.set(START + 30 * i);
      w.metrics.observations.set('llm/chat', (now) => observation((k - 0.5) * r, now));
      await evaluatePool(w.deps, config, 'pool-a');
      await w.drain();
    }
    expect(w.outcomes.map((o) => [o.status, o.decision.targetReplicas])).toEqual([
      ['applied', 3],
      ['applied', 5],
      ['applied', 7],
    ]);
    const counters = sink.points.filter((p) => p.name === 'inferno_replica_scaling_total');
    expect(counters.map((p) => p.value)).toEqual([1, 2, 3]);
  });

  it('queues messages that parse as decisions and the capacity intent', async () => {
    const w = world(config);
    w.metrics.observations.set('llm/chat', (now) => observation(3.5 * r, now));
    const result = await evaluatePool(w.deps, config, 'pool-a');
    const bodies: string[] = [];
    await w.queue.drain(async (body) => {
      bodies.push(body);
    });
    expect(bodies.map((b) => parsePoolMessage(b))).toEqual([...result.decisions, result.capacity]);
  });
});
