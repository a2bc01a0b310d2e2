/**
 * applyDecision and applyCapacity: validate, drop what is expired, duplicate or superseded, act,
 * and report. A variant's decision scales its Deployments and records the pool sequence it
 * reached; the pool's capacity intent grows at once and removes only once every variant of the
 * pool has reached its pool sequence, whatever order the messages came in.
 */
import {
  CallLog,
  ManualClock,
  MemoryCapacityProvider,
  MemoryCluster,
  MemoryDecisionState,
  MemoryTelemetrySink,
} from '../../lib/adapters/memory/index.js';
import {
  applyCapacity,
  applyDecision,
  applyMessage,
  type ApplyDeps,
  type ApplyOutcome,
  type CapacityOutcome,
} from '../../lib/loop/apply.js';
import type { CapacityIntent } from '../../lib/policy/capacity.js';
import { capacityIntent } from '../../lib/policy/capacityPlan.js';
import { InvalidDecisionError, type DecisionRecord } from '../../lib/policy/decisionRecord.js';
import type { TelemetrySink } from '../../lib/policy/ports.js';
import { deployment } from '../policy/helpers.js';
import { APPLY_CONFIG } from './applyConfig.js';
import { configHash } from '../../lib/config/hash.js';
import { KubernetesError } from '../../lib/adapters/kubernetes/index.js';
import { fixtureDecision, ISSUED_AT } from './decisionFixture.js';

const OPTIONS = {
  config: APPLY_CONFIG,
  maxAgeSeconds: 300,
  acceleratorTypes: new Map([
    ['L4', 'L4'],
    ['4xH100', 'H100'],
  ]),
};

function world(telemetry: TelemetrySink = new MemoryTelemetrySink()) {
  const log = new CallLog();
  const cluster = new MemoryCluster({
    log,
    deployments: [
      deployment('L4', 2),
      deployment('L4', 1, 1, 'llm/other'),
      deployment('H100', 1, 1, 'llm/chat', 'chat-h100'),
    ],
  });
  const capacity = new MemoryCapacityProvider({
    log,
    accelerators: [
      {
        acceleratorType: 'L4',
        devicesPerNode: 1,
        readyDevices: 3,
        startingDevices: 0,
        addableDevices: 17,
        provisioningSeconds: 60,
      },
    ],
  });
  const state = new MemoryDecisionState();
  const clock = new ManualClock(ISSUED_AT + 5);
  const deps: ApplyDeps = { cluster, capacity, state, telemetry, clock };
  // A rejection comes back as it is (status 'rejected'), typed as an outcome for the assertions.
  const apply = async (d: DecisionRecord | string) =>
    (await applyDecision(deps, typeof d === 'string' ? d : JSON.stringify(d), OPTIONS)) as ApplyOutcome;
  return { log, cluster, capacity, state, clock, telemetry, deps, apply };
}

/** applyCapacity for intents the config admits: a rejection fails the test. */
async function capacityOf(
  deps: ApplyDeps,
  i: CapacityIntent,
  opts: typeof OPTIONS,
): Promise<CapacityOutcome> {
  const out = await applyCapacity(deps, i, opts);
  if (out.kind === 'rejected') throw new Error(`intent rejected: ${out.detail}`);
  return out;
}

/** A decision of the other variant: its own Deployment. */
const otherDecision = (over: Partial<DecisionRecord>) =>
  fixtureDecision({
    variant: 'other',
    deployments: [{ accelerator: 'L4', deployment: 'other', replicas: 4 }],
    ...over,
  });

/** The pool's capacity intent of an evaluation: L4 devices for chat and other. */
const intent = (poolSequence: number, devices: number) =>
  capacityIntent({
    pool: 'default',
    poolSequence,
    now: ISSUED_AT,
    variants: ['llm/chat', 'llm/other'],
    acceleratorTypes: ['L4'],
    replicas: [{ acceleratorType: 'L4', devicesPerReplica: 1, replicas: devices }],
  });

describe('applyDecision', () => {
  it('applies a decision: Deployments set, marked applied, its pool sequence reached; no capacity asked', async () => {
    const w = world();
    const out = await w.apply(fixtureDecision());
    expect(out.status).toBe('applied');
    expect(out.detail).toBe('scale-up to 4 on L4');
    expect(out.telemetryError).toBeUndefined();
    expect(w.cluster.replicas('llm', 'chat')).toBe(4);
    expect(w.log.lines).toEqual(['scale llm/chat 4']);
    expect(await w.state.lastApplied('llm/chat')).toEqual({ sequence: 1, applied: true });
    expect((await w.state.poolsReached(['llm/chat'])).get('llm/chat')).toBe(fixtureDecision().poolSequence);
  });

  it('is idempotent: the same message twice applies once, the second is a duplicate', async () => {
    const w = world();
    const body = JSON.stringify(fixtureDecision());
    expect((await w.apply(body)).status).toBe('applied');
    const calls = w.log.lines.length;
    const again = await w.apply(body);
    expect(again.status).toBe('duplicate');
    expect(again.detail).toContain('already applied');
    expect(w.log.lines).toHaveLength(calls);
  });

  it('drops an older decision that arrives after a newer one (superseded) and changes nothing', async () => {
    const w = world();
    await w.apply(fixtureDecision({ sequence: 5, targetReplicas: 6, deployments: [dep(6)] }));
    const before = [...w.log.lines];
    const old = await w.apply(fixtureDecision({ sequence: 4, targetReplicas: 3, deployments: [dep(3)] }));
    expect(old.status).toBe('superseded');
    expect(old.detail).toContain('sequence 4 is older than 5');
    expect(w.log.lines).toEqual(before);
    expect(w.cluster.replicas('llm', 'chat')).toBe(6);
    expect(await w.state.lastApplied('llm/chat')).toEqual({ sequence: 5, applied: true });
  });

  it('keeps sequences per variant: another variant with a lower sequence still applies', async () => {
    const w = world();
    await w.apply(fixtureDecision({ sequence: 9 }));
    const other = await w.apply(
      fixtureDecision({
        variant: 'other',
        sequence: 2,
        targetReplicas: 2,
        deployments: [{ accelerator: 'L4', deployment: 'other', replicas: 2 }],
      }),
    );
    expect(other.status).toBe('applied');
    expect(w.cluster.replicas('llm', 'other')).toBe(2);
  });

  it('does not apply an expired decision (older than maxAgeSeconds), nor mark it', async () => {
    const w = world();
    w.clock.set(ISSUED_AT + 301);
    const out = await w.apply(fixtureDecision());
    expect(out.status).toBe('expired');
    expect(out.detail).toContain('issued 301 s ago');
    expect(w.log.lines).toEqual([]);
    expect(await w.state.lastApplied('llm/chat')).toEqual({ sequence: 0, applied: false });
    // at exactly the limit it still applies
    w.clock.set(ISSUED_AT + 300);
    expect((await w.apply(fixtureDecision())).status).toBe('applied');
  });

  it('throws InvalidDecisionError naming the field of a malformed body, and touches nothing', async () => {
    const w = world();
    const bad = { ...fixtureDecision(), targetReplicas: -1 };
    await expect(w.apply(JSON.stringify(bad))).rejects.toThrow(InvalidDecisionError);
    await expect(w.apply(JSON.stringify(bad))).rejects.toThrow(/^decision\.targetReplicas: /);
    const noSeq: Record<string, unknown> = { ...fixtureDecision() };
    delete noSeq.sequence;
    await expect(w.apply(JSON.stringify(noSeq))).rejects.toThrow(/^decision\.sequence: /);
    const bad2 = fixtureDecision();
    await expect(
      w.apply(JSON.stringify({ ...bad2, deployments: [{ ...bad2.deployments[0], replicas: 'x' }] })),
    ).rejects.toThrow(/^decision\.deployments\[0\]\.replicas: /);
    // a version 1 decision carried node-group sizes: refused, naming the version
    await expect(w.apply(JSON.stringify({ ...bad2, version: 1 }))).rejects.toThrow(/^decision\.version: /);
    await expect(w.apply('not json')).rejects.toThrow('decision is not JSON');
    expect(w.log.lines).toEqual([]);
    expect(await w.state.lastApplied('llm/chat')).toEqual({ sequence: 0, applied: false });
  });

  it('a failing telemetry sink does not fail the apply: status applied, telemetryError set', async () => {
    const sink = new MemoryTelemetrySink(() => new Error('remote write refused: 503'));
    const w = world(sink);
    const out = await w.apply(fixtureDecision());
    expect(out.status).toBe('applied');
    expect(out.telemetryError).toBe('remote write refused: 503');
    expect(sink.publishes).toBe(1);
    expect(w.cluster.replicas('llm', 'chat')).toBe(4);
    expect(await w.state.lastApplied('llm/chat')).toEqual({ sequence: 1, applied: true });
    // and a redelivery is a duplicate, not a second scaling
    expect((await w.apply(fixtureDecision())).status).toBe('duplicate');
  });

  it('counts scaling actions across applies with the documented labels', async () => {
    const sink = new MemoryTelemetrySink();
    const w = world(sink);
    await w.apply(
      fixtureDecision({ sequence: 1, currentReplicas: 2, targetReplicas: 4, deployments: [dep(4)] }),
    );
    await w.apply(
      fixtureDecision({ sequence: 2, currentReplicas: 4, targetReplicas: 6, deployments: [dep(6)] }),
    );
    // no change, no count
    await w.apply(
      fixtureDecision({
        sequence: 3,
        action: 'none',
        currentReplicas: 6,
        targetReplicas: 6,
        deployments: [dep(6)],
      }),
    );
    await w.apply(
      fixtureDecision({
        sequence: 4,
        action: 'scale-down',
        reason: 'stabilization',
        currentReplicas: 6,
        targetReplicas: 3,
        deployments: [dep(3)],
      }),
    );
    const counters = sink.points.filter((p) => p.name === 'inferno_replica_scaling_total');
    expect(counters.map((p) => [p.value, p.labels.direction, p.labels.reason])).toEqual([
      [1, 'up', 'load'],
      [2, 'up', 'load'],
      [1, 'down', 'stabilization'],
    ]);
    expect(counters[0]!.labels).toEqual({
      variant_name: 'chat',
      namespace: 'llm',
      accelerator_type: 'L4',
      direction: 'up',
      reason: 'load',
    });
    expect(counters[0]!.timestamp).toBe((ISSUED_AT + 5) * 1000);
  });

  it('labels by device type: a 4xH100 decision is accelerator_type H100', async () => {
    const sink = new MemoryTelemetrySink();
    const w = world(sink);
    await w.apply(
      fixtureDecision({
        accelerator: '4xH100',
        deployments: [{ accelerator: '4xH100', deployment: 'chat-h100', replicas: 4 }],
      }),
    );
    expect(new Set(sink.points.map((p) => p.labels.accelerator_type))).toEqual(new Set(['H100']));
  });

  it('publishes the current replicas as inferno_current_replicas with exactly the gauge labels', async () => {
    const sink = new MemoryTelemetrySink();
    const w = world(sink);
    await w.apply(fixtureDecision());
    const current = sink.points.filter((p) => p.name === 'inferno_current_replicas');
    expect(current).toEqual([
      {
        name: 'inferno_current_replicas',
        labels: { variant_name: 'chat', namespace: 'llm', accelerator_type: 'L4' },
        value: 4,
        timestamp: (ISSUED_AT + 5) * 1000,
      },
    ]);
    expect(new Set(sink.points.map((p) => p.name))).toEqual(
      new Set(['inferno_current_replicas', 'inferno_replica_scaling_total']),
    );
  });
});

describe('admission and failures: nothing outside the config, no message held by a permanent error', () => {
  const forbidden = () =>
    new KubernetesError('deployment llm/chat: scale to 4: forbidden', 403, 'llm/chat', false);

  it.each([
    [
      'replicas 500 with maxReplicas 10',
      { targetReplicas: 500, deployments: [{ accelerator: 'L4', deployment: 'chat', replicas: 500 }] },
      'decision.deployments[0].replicas',
    ],
    ['an unknown variant', { variant: 'ghost' }, 'decision.variant'],
    [
      'kube-system/coredns',
      {
        namespace: 'kube-system',
        variant: 'coredns',
        deployments: [{ accelerator: 'L4', deployment: 'coredns', replicas: 0 }],
      },
      'decision.variant',
    ],
    ['an issuedAt in 2099', { issuedAt: '2099-01-01T00:00:00.000Z' }, 'decision.issuedAt'],
    ['a poisoned sequence 2^53-1', { sequence: Number.MAX_SAFE_INTEGER }, 'decision.sequence'],
  ] as const)(
    'rejects %s: nothing scaled, nothing claimed, the next valid decision applies',
    async (_, over, field) => {
      const w = world();
      const out = await applyMessage(
        w.deps,
        JSON.stringify(fixtureDecision(over as Partial<DecisionRecord>)),
        OPTIONS,
      );
      expect(out).toMatchObject({ kind: 'rejected', status: 'rejected', field });
      expect(w.log.lines).toEqual([]);
      expect(await w.state.lastApplied('llm/chat')).toEqual({ sequence: 0, applied: false });
      expect((await w.apply(fixtureDecision({ sequence: 2 }))).status).toBe('applied');
      expect(w.cluster.replicas('llm', 'chat')).toBe(4);
    },
  );

  it('rejects a 1 MB body before parsing it', async () => {
    const w = world();
    const out = await applyMessage(
      w.deps,
      JSON.stringify({ ...fixtureDecision(), message: 'x'.repeat(1 << 20) }),
      OPTIONS,
    );
    expect(out).toMatchObject({ kind: 'rejected', field: 'body' });
    expect(w.log.lines).toEqual([]);
  });

  it('reads the live cluster for a move: raising the other accelerator is rejected, lowering it applies', async () => {
    const w = world(); // chat-h100 runs 1 replica
    const move = (h100: number, sequence: number) =>
      fixtureDecision({
        sequence,
        action: 'migrate',
        deployments: [
          { accelerator: '4xH100', deployment: 'chat-h100', replicas: h100 },
          { accelerator: 'L4', deployment: 'chat', replicas: 4 },
        ],
      });
    expect((await w.apply(move(3, 1))).status).toBe('rejected');
    expect(w.cluster.replicas('llm', 'chat-h100')).toBe(1);
    expect((await w.apply(move(0, 2))).status).toBe('applied');
    expect(w.cluster.replicas('llm', 'chat-h100')).toBe(0);
    expect(w.cluster.replicas('llm', 'chat')).toBe(4);
  });

  it('a permanent error (403) after another Deployment was set ends the decision as partial, both named', async () => {
    const w = world();
    w.cluster.failScaling('llm/chat', forbidden);
    const out = await w.apply(
      fixtureDecision({
        deployments: [
          { accelerator: '4xH100', deployment: 'chat-h100', replicas: 0 },
          { accelerator: 'L4', deployment: 'chat', replicas: 4 },
        ],
      }),
    );
    expect(out).toMatchObject({
      status: 'partial',
      detail: 'chat-h100 to 0 set; chat to 4 refused',
      error: 'deployment llm/chat: scale to 4: forbidden',
      set: ['chat-h100 to 0'],
      refused: 'chat',
    });
    expect(w.cluster.replicas('llm', 'chat-h100')).toBe(0);
    expect(w.cluster.replicas('llm', 'chat')).toBe(2);
    expect((await w.state.poolsReached(['llm/chat'])).get('llm/chat')).toBe(1);
  });

  it('a transient error (5xx, 409, throttling) is thrown: the message is retried', async () => {
    const w = world();
    w.cluster.failScaling('llm/chat', () => new KubernetesError('scale: 503', 503, 'llm/chat', true));
    await expect(w.apply(fixtureDecision())).rejects.toThrow('scale: 503');
    expect(await w.state.lastApplied('llm/chat')).toEqual({ sequence: 1, applied: false });
  });

  it('judges by its own config and reports a decision made with another one', async () => {
    const w = world();
    const out = await w.apply(fixtureDecision({ configHash: 'a'.repeat(64) }));
    expect(out.status).toBe('applied');
    expect(out.configMismatch).toMatch(/^decided with config aaaaaaaaaaaa, judged by apply's [0-9a-f]{12}$/);
    const same = await w.apply(fixtureDecision({ sequence: 2, configHash: configHash(APPLY_CONFIG) }));
    expect(same.configMismatch).toBeUndefined();
  });

  it('rejects a capacity intent beyond what the node groups hold: nothing provided', async () => {
    const w = world();
    const big = capacityIntent({
      pool: 'default',
      poolSequence: 1,
      now: ISSUED_AT,
      variants: ['llm/chat', 'llm/other'],
      acceleratorTypes: ['L4'],
      replicas: [{ acceleratorType: 'L4', devicesPerReplica: 1, replicas: 500 }],
    });
    expect(await applyMessage(w.deps, JSON.stringify(big), OPTIONS)).toMatchObject({
      kind: 'rejected',
      field: 'capacity.accelerators[0].devices',
    });
    expect(w.log.lines).toEqual([]);
  });
});

describe('removal waits for every variant of apply’s config', () => {
  it('an intent that leaves a variant out does not remove capacity that variant may need', async () => {
    const w = world();
    await w.apply(fixtureDecision({ poolSequence: 5, sequence: 1 }));
    const partial = capacityIntent({
      pool: 'default',
      poolSequence: 5,
      now: ISSUED_AT,
      variants: ['llm/chat'], // llm/other left out
      acceleratorTypes: ['L4'],
      replicas: [{ acceleratorType: 'L4', devicesPerReplica: 1, replicas: 1 }],
    });
    const out = await capacityOf(w.deps, partial, OPTIONS);
    expect(out.removalAllowed).toBe(false);
    expect(out.detail).toMatch(/removal skipped: llm\/other not yet at pool sequence 5/);
    expect(w.capacity.devices('L4')).toBe(3);
  });
});

describe('generations of the policy memory: no state wedges the consumer', () => {
  it('a newer generation (a fresh memory) resets the comparison: sequence 1 applies after sequence 900', async () => {
    const w = world();
    await w.apply(
      fixtureDecision({
        generation: 1000,
        sequence: 900,
        targetReplicas: 6,
        deployments: [{ accelerator: 'L4', deployment: 'chat', replicas: 6 }],
      }),
    );
    const fresh = await w.apply(fixtureDecision({ generation: 2000, sequence: 1 }));
    expect(fresh.status).toBe('applied');
    expect(w.cluster.replicas('llm', 'chat')).toBe(4);
    expect(await w.state.lastApplied('llm/chat')).toEqual({ sequence: 1, applied: true, generation: 2000 });
  });

  it('an older generation (a restored memory) is dropped with its reason and counted', async () => {
    const w = world();
    await w.apply(fixtureDecision({ generation: 2000, sequence: 3 }));
    const out = await applyMessage(
      w.deps,
      JSON.stringify(
        fixtureDecision({
          generation: 1000,
          sequence: 50,
          targetReplicas: 9,
          deployments: [{ accelerator: 'L4', deployment: 'chat', replicas: 9 }],
        }),
      ),
      OPTIONS,
    );
    expect(out.status).toBe('stale-generation');
    expect(out.detail).toMatch(/^generation 1000 is older than generation 2000 .*restored policy memory/);
    expect(w.cluster.replicas('llm', 'chat')).toBe(4);
    expect(
      (w.telemetry as MemoryTelemetrySink).points.filter((p) => p.name === 'inferno_decisions_dropped_total'),
    ).toEqual([expect.objectContaining({ labels: { reason: 'stale-generation' }, value: 1 })]);
  });

  it('counts every drop by reason: expired, superseded, rejected', async () => {
    const w = world();
    const sink = w.telemetry as MemoryTelemetrySink;
    await applyMessage(w.deps, JSON.stringify(fixtureDecision({ sequence: 5 })), OPTIONS);
    await applyMessage(w.deps, JSON.stringify(fixtureDecision({ sequence: 4 })), OPTIONS);
    await applyMessage(w.deps, JSON.stringify(fixtureDecision({ sequence: 3 })), OPTIONS);
    await applyMessage(w.deps, JSON.stringify(fixtureDecision({ sequence: 6, variant: 'ghost' })), OPTIONS);
    w.clock.set(ISSUED_AT + 3600);
    await applyMessage(w.deps, JSON.stringify(fixtureDecision({ sequence: 7 })), OPTIONS);
    const dropped = sink.points.filter((p) => p.name === 'inferno_decisions_dropped_total');
    expect(dropped.map((p) => [p.labels.reason, p.value])).toEqual([
      ['superseded', 1],
      ['superseded', 2],
      ['rejected', 1],
      ['expired', 1],
    ]);
  });
});

describe('applyCapacity', () => {
  it('grows at once, before any variant has applied its decision', async () => {
    const w = world();
    const out = await applyMessage(w.deps, JSON.stringify(intent(5, 6)), OPTIONS);
    expect(out).toMatchObject({ kind: 'capacity', status: 'applied', removalAllowed: false });
    expect(w.capacity.devices('L4')).toBe(6);
    expect(w.log.lines).toEqual(['capacity default#5 L4=6 (no removal)']);
  });

  it('removes only when every variant has reached the pool sequence; until then it skips, never fails', async () => {
    const w = world();
    const early = await capacityOf(w.deps, intent(5, 1), OPTIONS);
    expect(early.removalAllowed).toBe(false);
    expect(early.report!.changes[0]).toMatchObject({ status: 'removal-skipped', devicesAfter: 3 });
    expect(early.detail).toMatch(/removal skipped: llm\/chat, llm\/other not yet at pool sequence 5/);
    // chat applies its decision of evaluation 5; other's expired (dropped): both reached it
    await w.apply(fixtureDecision({ poolSequence: 5, sequence: 1 }));
    const expired = otherDecision({
      poolSequence: 5,
      issuedAt: new Date((ISSUED_AT - 3600) * 1000).toISOString(),
    });
    expect((await w.apply(expired)).status).toBe('expired');
    const next = await capacityOf(w.deps, intent(6, 1), OPTIONS);
    expect(next.removalAllowed).toBe(false);
    const same = await capacityOf(w.deps, intent(5, 1), OPTIONS);
    expect(same.status).toBe('superseded');
    await w.apply(fixtureDecision({ poolSequence: 6, sequence: 2 }));
    await w.apply(otherDecision({ poolSequence: 6, sequence: 2 }));
    // the redelivered intent of evaluation 6, now that both reached it: removal happens
    const caught = await capacityOf(w.deps, intent(6, 1), OPTIONS);
    expect(caught.removalAllowed).toBe(true);
    expect(w.capacity.devices('L4')).toBe(1);
  });

  it('a variant that has reached a newer evaluation counts as having reached older ones', async () => {
    const w = world();
    await w.apply(fixtureDecision({ poolSequence: 9, sequence: 3 }));
    await w.apply(otherDecision({ poolSequence: 9, sequence: 3 }));
    // a late, older decision does not move the mark back
    await w.apply(fixtureDecision({ poolSequence: 4, sequence: 2 }));
    expect((await w.state.poolsReached(['llm/chat'])).get('llm/chat')).toBe(9);
    const out = await capacityOf(w.deps, intent(8, 2), OPTIONS);
    expect(out.removalAllowed).toBe(true);
    expect(w.capacity.devices('L4')).toBe(2);
  });

  it('drops an intent older than one taken on, and an expired one', async () => {
    const w = world();
    await capacityOf(w.deps, intent(7, 8), OPTIONS);
    const late = await capacityOf(w.deps, intent(6, 12), OPTIONS);
    expect(late.status).toBe('superseded');
    expect(w.capacity.devices('L4')).toBe(8);
    w.clock.set(ISSUED_AT + 301);
    expect((await capacityOf(w.deps, intent(9, 12), OPTIONS)).status).toBe('expired');
    expect(w.capacity.devices('L4')).toBe(8);
  });

  it('a malformed intent is rejected naming its field, nothing done', async () => {
    const w = world();
    const bad = { ...intent(1, 1), poolSequence: -1 };
    const out = await applyMessage(w.deps, JSON.stringify(bad), OPTIONS);
    expect(out).toMatchObject({ kind: 'rejected', field: 'capacity.poolSequence' });
    expect(w.log.lines).toEqual([]);
  });
});

function dep(replicas: number) {
  return { accelerator: 'L4', deployment: 'chat', replicas };
}
