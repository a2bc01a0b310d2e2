/**
 * The admission checks apply runs on every message before acting, case by case: each hostile
 * or impossible field is refused by name; what the config allows passes.
 */
import {
  admitCapacityIntent,
  admitDecision,
  checkBodySize,
  deploymentsToCompare,
  MAX_BODY_BYTES,
} from '../../lib/loop/admission.js';
import { providerDeviceBound, variantDeviceBound } from '../../lib/config/capacityBounds.js';
import { capacityIntent } from '../../lib/policy/capacityPlan.js';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';
import { poolConfig } from '../policy/helpers.js';
import { APPLY_CONFIG } from './applyConfig.js';
import { fixtureDecision, ISSUED_AT } from './decisionFixture.js';

const ctx = { config: APPLY_CONFIG, pool: 'default', now: ISSUED_AT + 5 };
const fieldOf = (d: DecisionRecord, live?: ReadonlyMap<string, number>) => admitDecision(d, ctx, live)?.field;
const chat = (over: Partial<DecisionRecord> = {}) => fixtureDecision(over);

describe('admitDecision', () => {
  it('admits a decision the config allows: chat on L4 from 2 to 4', () => {
    expect(admitDecision(chat(), ctx)).toBeUndefined();
  });

  it.each([
    ['another pool', { pool: 'other-pool' }, 'decision.pool'],
    ['an unknown variant', { variant: 'ghost' }, 'decision.variant'],
    [
      'kube-system/coredns as the variant',
      { namespace: 'kube-system', variant: 'coredns' },
      'decision.variant',
    ],
    ['a sequence of 2^53-1', { sequence: Number.MAX_SAFE_INTEGER }, 'decision.sequence'],
    ['a sequence above 2^31', { sequence: 2 ** 31 }, 'decision.sequence'],
    ['a pool sequence above 2^31', { poolSequence: 2 ** 40 }, 'decision.poolSequence'],
    ['an issuedAt in 2099', { issuedAt: '2099-01-01T00:00:00.000Z' }, 'decision.issuedAt'],
  ] as const)('rejects %s', (_, over, field) => {
    expect(fieldOf(chat(over as Partial<DecisionRecord>))).toBe(field);
  });

  it('allows an issuedAt a little ahead (clock skew), not more', () => {
    const at = (s: number) => new Date((ctx.now + s) * 1000).toISOString();
    expect(fieldOf(chat({ issuedAt: at(59) }))).toBeUndefined();
    expect(fieldOf(chat({ issuedAt: at(61) }))).toBe('decision.issuedAt');
  });

  it('rejects a Deployment the config does not give the variant (coredns in chat, another variant’s)', () => {
    for (const deployment of ['coredns', 'other', 'chat-l4']) {
      const d = chat({ deployments: [{ accelerator: 'L4', deployment, replicas: 4 }] });
      expect(fieldOf(d)).toBe('decision.deployments[0].deployment');
    }
  });

  it('rejects replicas outside [min, max] (500 with maxReplicas 10), above int32, and a disagreeing target', () => {
    const to = (n: number, target = n) =>
      chat({ targetReplicas: target, deployments: [{ accelerator: 'L4', deployment: 'chat', replicas: n }] });
    expect(fieldOf(to(500))).toBe('decision.deployments[0].replicas');
    expect(fieldOf(to(4294967297))).toBe('decision.deployments[0].replicas');
    expect(fieldOf(to(0))).toBe('decision.deployments[0].replicas'); // minReplicas 1
    expect(fieldOf(to(10))).toBeUndefined();
    expect(fieldOf(to(5, 3))).toBe('decision.targetReplicas');
    expect(fieldOf(chat({ targetReplicas: 11, deployments: [] }))).toBe('decision.targetReplicas');
    expect(fieldOf(chat({ targetReplicas: 3, deployments: [] }))).toBe('decision.deployments');
  });

  it('an accelerator the variant may not use may only keep or lower what runs; an unknown one is rejected', () => {
    // chat may run on L4 and 4xH100, not on H100 (whose default Deployment name is chat-h100 too)
    const h100 = chat({
      accelerator: 'H100',
      deployments: [{ accelerator: 'H100', deployment: 'chat-h100', replicas: 4 }],
    });
    expect(deploymentsToCompare(h100, APPLY_CONFIG)).toHaveLength(1);
    expect(fieldOf(h100, new Map([['chat-h100', 2]]))).toBe('decision.deployments[0].replicas');
    expect(fieldOf(h100, new Map([['chat-h100', 4]]))).toBeUndefined(); // a hold there: kept
    expect(fieldOf(chat({ accelerator: 'TPU', deployments: [] }))).toBe('decision.accelerator');
    const tpu = chat({ deployments: [{ accelerator: 'TPU', deployment: 'chat', replicas: 4 }] });
    expect(fieldOf(tpu)).toBe('decision.deployments[0].accelerator');
  });

  it('rejects an accelerator or a Deployment named twice', () => {
    const twice = chat({
      deployments: [
        { accelerator: 'L4', deployment: 'chat', replicas: 4 },
        { accelerator: 'L4', deployment: 'chat', replicas: 9 },
      ],
    });
    expect(fieldOf(twice)).toBe('decision.deployments[1].accelerator');
  });

  describe('a move between accelerators: only the chosen one grows', () => {
    const move = (h100: number) =>
      chat({
        action: 'migrate',
        deployments: [
          { accelerator: '4xH100', deployment: 'chat-h100', replicas: h100 },
          { accelerator: 'L4', deployment: 'chat', replicas: 4 },
        ],
      });
    const live = new Map([['chat-h100', 2]]);

    it('compares only the other Deployments that keep replicas with the live cluster', () => {
      expect(deploymentsToCompare(move(0), APPLY_CONFIG)).toEqual([]);
      expect(deploymentsToCompare(move(2), APPLY_CONFIG).map((t) => t.deployment)).toEqual(['chat-h100']);
    });

    it('admits keeping or lowering the other accelerator’s replicas', () => {
      expect(fieldOf(move(0), live)).toBeUndefined();
      expect(fieldOf(move(1), live)).toBeUndefined();
      expect(fieldOf(move(2), live)).toBeUndefined();
    });

    it('rejects raising it, or keeping replicas on a Deployment that does not exist', () => {
      expect(fieldOf(move(3), live)).toBe('decision.deployments[0].replicas');
      expect(fieldOf(move(1), new Map())).toBe('decision.deployments[0].replicas');
    });

    it('a spill may grow the Deployment it names up to its replicas, no further, and no other', () => {
      const spill = (h100: number, replicas = 3, accelerator = '4xH100') =>
        chat({ ...move(h100), action: 'scale-up', reason: 'spill', spill: { accelerator, replicas } });
      const on = {
        ...ctx,
        config: { ...APPLY_CONFIG, policy: { ...APPLY_CONFIG.policy, spill: { enabled: true } } },
      };
      const spillField = (d: DecisionRecord, l: ReadonlyMap<string, number>) =>
        admitDecision(d, on, l)?.field;
      expect(spillField(spill(3), live)).toBeUndefined();
      expect(spillField(spill(3), new Map())).toBeUndefined();
      expect(spillField(spill(4), live)).toBe('decision.deployments[0].replicas');
      // on the chosen accelerator, one the variant may not use, or beyond maxReplicas: refused
      expect(spillField(spill(3, 3, 'L4'), live)).toBe('decision.spill.accelerator');
      expect(spillField(spill(3, 3, 'H100'), live)).toBe('decision.spill.accelerator');
      expect(spillField(spill(3, 500), live)).toBe('decision.spill.replicas');
      // with the spill off in apply's own config, no message may ask for one
      expect(fieldOf(spill(3), live)).toBe('decision.spill');
    });

    it('an accelerator no longer allowed may only be scaled down', () => {
      // H100 is not allowed for chat: its Deployment (named chat-h100 by default) may only lower
      const leaving = (n: number) =>
        chat({
          deployments: [
            { accelerator: 'H100', deployment: 'chat-h100', replicas: n },
            { accelerator: 'L4', deployment: 'chat', replicas: 4 },
          ],
        });
      expect(fieldOf(leaving(1), live)).toBeUndefined();
      expect(fieldOf(leaving(5), live)).toBe('decision.deployments[0].replicas');
    });
  });

  it('with no accelerator chosen (a hold while nothing runs), nothing may grow; the target stays in bounds', () => {
    const hold = (target: number, deployments: DecisionRecord['deployments'] = []) =>
      chat({ accelerator: '', targetReplicas: target, deployments });
    expect(fieldOf(hold(1))).toBeUndefined();
    expect(fieldOf(hold(11))).toBe('decision.targetReplicas');
    const grows = hold(1, [{ accelerator: 'L4', deployment: 'chat', replicas: 3 }]);
    expect(deploymentsToCompare(grows, APPLY_CONFIG)).toHaveLength(1);
    expect(fieldOf(grows, new Map([['chat', 2]]))).toBe('decision.deployments[0].replicas');
    expect(fieldOf(grows, new Map([['chat', 3]]))).toBeUndefined();
  });
});

describe('checkBodySize', () => {
  it('refuses a body over 64 KiB before parsing, counting bytes', () => {
    expect(checkBodySize('x'.repeat(MAX_BODY_BYTES))).toBeUndefined();
    expect(checkBodySize('x'.repeat(MAX_BODY_BYTES + 1))?.field).toBe('body');
    expect(checkBodySize('é'.repeat(MAX_BODY_BYTES / 2 + 1))?.field).toBe('body');
    expect(checkBodySize('{'.repeat(1 << 20))?.reason).toMatch(/^1048576 bytes, more than the 65536/);
  });
});

describe('admitCapacityIntent', () => {
  const intent = (
    over: {
      types?: string[];
      replicas?: { acceleratorType: string; devicesPerReplica: number; replicas: number }[];
      variants?: string[];
    } = {},
  ) =>
    capacityIntent({
      pool: 'default',
      poolSequence: 3,
      now: ISSUED_AT,
      variants: over.variants ?? ['llm/chat', 'llm/other'],
      acceleratorTypes: over.types ?? ['L4', 'H100'],
      replicas: over.replicas ?? [{ acceleratorType: 'L4', devicesPerReplica: 1, replicas: 6 }],
    });

  it('admits what the node groups and the variants could hold', () => {
    expect(admitCapacityIntent(intent(), ctx)).toBeUndefined();
    const h100 = intent({ replicas: [{ acceleratorType: 'H100', devicesPerReplica: 4, replicas: 8 }] });
    expect(admitCapacityIntent(h100, ctx)).toBeUndefined(); // 32 of 4 nodes × 8
  });

  it('knows the bounds: node groups × GPUs, and the variants’ maxReplicas × devices per replica', () => {
    expect(providerDeviceBound(APPLY_CONFIG, 'H100')).toBe(32);
    expect(providerDeviceBound(APPLY_CONFIG, 'L4')).toBe(20);
    expect(variantDeviceBound(APPLY_CONFIG, 'H100')).toBe(40); // chat: 10 × 4xH100
    expect(variantDeviceBound(APPLY_CONFIG, 'L4')).toBe(20); // chat and other: 10 each
    expect(variantDeviceBound(poolConfig(), 'H100')).toBe(0); // chat on L4 only
  });

  it('rejects more devices than the node groups could ever hold', () => {
    const out = admitCapacityIntent(
      intent({ replicas: [{ acceleratorType: 'H100', devicesPerReplica: 4, replicas: 9 }] }),
      ctx,
    );
    expect(out).toEqual({
      field: 'capacity.accelerators[0].devices',
      reason: '36 H100 devices, more than the 32 the capacity provider could ever hold',
    });
  });

  it('rejects H100 capacity for a pool whose variants run on L4 only', () => {
    const l4Only = { ...ctx, config: poolConfig() };
    const out = admitCapacityIntent(
      intent({
        variants: ['llm/chat'],
        replicas: [{ acceleratorType: 'H100', devicesPerReplica: 8, replicas: 1 }],
      }),
      l4Only,
    );
    expect(out?.field).toBe('capacity.accelerators[0].devices');
    expect(out?.reason).toMatch(/more than the 0 the pool's variants could ever ask for/);
  });

  it('rejects an unknown type, devices that disagree with the replicas, unknown variants, another pool, the future', () => {
    const tpu = intent({ types: ['TPU'], replicas: [] });
    expect(admitCapacityIntent(tpu, ctx)?.field).toBe('capacity.accelerators[0].acceleratorType');
    const i = intent();
    const lying = { ...i, accelerators: i.accelerators.map((a) => ({ ...a, devices: 1 })) };
    expect(admitCapacityIntent(lying, ctx)?.field).toMatch(/^capacity\.accelerators\[\d\]\.devices$/);
    expect(admitCapacityIntent(intent({ variants: ['kube-system/coredns'] }), ctx)?.field).toBe(
      'capacity.variants[0]',
    );
    expect(admitCapacityIntent({ ...i, pool: 'x' }, ctx)?.field).toBe('capacity.pool');
    expect(admitCapacityIntent({ ...i, issuedAt: '2099-01-01T00:00:00.000Z' }, ctx)?.field).toBe(
      'capacity.issuedAt',
    );
  });
});
