/**
 * applyDecision: validate, drop what is expired, duplicate or superseded, then act in a safe
 * order (nodes before pods when growing, pods before nodes when shrinking), and report.
 */
import {
  CallLog,
  ManualClock,
  MemoryCluster,
  MemoryDecisionState,
  MemoryNodeGroups,
  MemoryTelemetrySink,
} from '../../lib/adapters/memory/index.js';
import { applyDecision, type ApplyDeps } from '../../lib/loop/apply.js';
import { InvalidDecisionError, type DecisionRecord } from '../../lib/policy/decisionRecord.js';
import type { TelemetrySink } from '../../lib/policy/ports.js';
import { deployment } from '../policy/helpers.js';
import { fixtureDecision, ISSUED_AT } from './decisionFixture.js';

const OPTIONS = {
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
  const nodeGroups = new MemoryNodeGroups({
    log,
    groups: [
      {
        name: 'gpu-l4',
        acceleratorType: 'L4',
        gpusPerNode: 1,
        minSize: 0,
        maxSize: 20,
        desiredSize: 3,
        readyNodes: 3,
      },
      {
        name: 'gpu-h100',
        acceleratorType: 'H100',
        gpusPerNode: 8,
        minSize: 0,
        maxSize: 4,
        desiredSize: 1,
        readyNodes: 1,
      },
    ],
  });
  const state = new MemoryDecisionState();
  const clock = new ManualClock(ISSUED_AT + 5);
  const deps: ApplyDeps = { cluster, nodeGroups, state, telemetry, clock };
  const apply = (d: DecisionRecord | string) =>
    applyDecision(deps, typeof d === 'string' ? d : JSON.stringify(d), OPTIONS);
  return { log, cluster, nodeGroups, state, clock, telemetry, apply };
}

describe('applyDecision', () => {
  it('applies a decision: node groups and Deployments set, the decision marked applied', async () => {
    const w = world();
    const out = await w.apply(fixtureDecision());
    expect(out.status).toBe('applied');
    expect(out.detail).toBe('scale-up to 4 on L4');
    expect(out.nodeGroupsChanged).toEqual(['gpu-l4']);
    expect(out.telemetryError).toBeUndefined();
    expect(w.cluster.replicas('llm', 'chat')).toBe(4);
    expect(w.nodeGroups.size('gpu-l4')).toBe(4);
    expect(await w.state.lastApplied('llm/chat')).toEqual({ sequence: 1, applied: true });
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
    const badGroup = fixtureDecision();
    await expect(
      w.apply(JSON.stringify({ ...badGroup, nodeGroups: [{ ...badGroup.nodeGroups[0], desiredSize: 'x' }] })),
    ).rejects.toThrow(/^decision\.nodeGroups\[0\]\.desiredSize: /);
    await expect(w.apply('not json')).rejects.toThrow('decision is not JSON');
    expect(w.log.lines).toEqual([]);
    expect(await w.state.lastApplied('llm/chat')).toEqual({ sequence: 0, applied: false });
  });

  it('when growing, sets node groups before Deployments', async () => {
    const w = world();
    await w.apply(fixtureDecision());
    expect(w.log.lines).toEqual(['nodes gpu-l4 4', 'scale llm/chat 4']);
  });

  it('when shrinking, scales Deployments before node groups', async () => {
    const w = world();
    await w.apply(
      fixtureDecision({
        action: 'scale-down',
        currentReplicas: 2,
        targetReplicas: 1,
        deployments: [dep(1)],
        nodeGroups: [{ name: 'gpu-l4', acceleratorType: 'L4', desiredSize: 1, poolSequence: 1 }],
      }),
    );
    expect(w.log.lines).toEqual(['scale llm/chat 1', 'nodes gpu-l4 1']);
  });

  it('in a decision that grows one node group and shrinks another, grows first and shrinks last', async () => {
    // The end of a move from H100 to L4: L4 grows, the H100 Deployment goes to 0 and its node
    // group shrinks. The H100 node must not be taken away before its pod is.
    const w = world();
    await w.apply(
      fixtureDecision({
        action: 'migrate',
        reason: 'migration',
        currentReplicas: 1,
        targetReplicas: 1,
        deployments: [
          { accelerator: 'H100', deployment: 'chat-h100', replicas: 0 },
          { accelerator: 'L4', deployment: 'chat', replicas: 1 },
        ],
        nodeGroups: [
          { name: 'gpu-h100', acceleratorType: 'H100', desiredSize: 0, poolSequence: 1 },
          { name: 'gpu-l4', acceleratorType: 'L4', desiredSize: 4, poolSequence: 1 },
        ],
      }),
    );
    const lines = w.log.lines;
    expect(lines.indexOf('nodes gpu-l4 4')).toBeLessThan(lines.indexOf('scale llm/chat 1'));
    expect(lines.indexOf('scale llm/chat-h100 0')).toBeLessThan(lines.indexOf('nodes gpu-h100 0'));
  });

  it('does not let a node-group size from an older pool evaluation override a newer one', async () => {
    const w = world();
    const newer = await w.apply(
      fixtureDecision({
        poolSequence: 8,
        nodeGroups: [{ name: 'gpu-l4', acceleratorType: 'L4', desiredSize: 6, poolSequence: 8 }],
      }),
    );
    expect(newer.nodeGroupsChanged).toEqual(['gpu-l4']);
    // another variant's message from evaluation 7 arrives late
    const late = await w.apply(
      fixtureDecision({
        variant: 'other',
        poolSequence: 7,
        deployments: [{ accelerator: 'L4', deployment: 'other', replicas: 3 }],
        nodeGroups: [{ name: 'gpu-l4', acceleratorType: 'L4', desiredSize: 2, poolSequence: 7 }],
      }),
    );
    expect(late.status).toBe('applied');
    expect(late.nodeGroupsChanged).toEqual([]);
    expect(w.nodeGroups.size('gpu-l4')).toBe(6);
    expect(w.cluster.replicas('llm', 'other')).toBe(3);
    expect(w.log.lines).not.toContain('nodes gpu-l4 2');
    // the same evaluation's size, from another variant's message, needs no change: the group has it
    const same = await w.apply(
      fixtureDecision({
        variant: 'other',
        sequence: 2,
        poolSequence: 8,
        deployments: [{ accelerator: 'L4', deployment: 'other', replicas: 3 }],
        nodeGroups: [{ name: 'gpu-l4', acceleratorType: 'L4', desiredSize: 6, poolSequence: 8 }],
      }),
    );
    expect(same.status).toBe('applied');
    expect(same.nodeGroupsChanged).toEqual([]);
    expect(w.nodeGroups.size('gpu-l4')).toBe(6);
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
        nodeGroups: [],
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

function dep(replicas: number) {
  return { accelerator: 'L4', deployment: 'chat', replicas };
}
