/**
 * The window yields to a neighbour's need (policy.windowYields, lib/policy/windowYields.ts): on an
 * accelerator type at its limit, replicas a variant holds only by its stabilisation window are
 * released for another variant whose recommendation does not fit, lowest priority first, never
 * below the holder's recommendation, and never on missing data.
 */
import type { Config } from '../../../lib/config/schema.js';
import {
  BIG,
  blindObservation,
  deployment,
  lastDevicesAsked,
  observation,
  poolConfig,
  ratePerReplica,
  Session,
  T0,
} from '../helpers.js';

const at = (i: number) => T0 + 30 * i;
const WINDOW = 600;
const CHAT_ON_H100 = {
  name: 'chat',
  namespace: 'llm',
  model: 'm8b',
  serviceClass: 'interactive',
  accelerator: 'H100',
  minReplicas: 1,
  maxReplicas: 16,
  startupSeconds: 60,
};

/** chat (1 H100 a replica) and the 70B variants (4 H100 a replica) on `h100Nodes` 8-GPU nodes. */
function sharedH100(bigs: readonly Record<string, unknown>[], windowYields = true, h100Nodes = 2): Config {
  const c = poolConfig({
    variants: [...bigs, CHAT_ON_H100],
    nodeGroups: [
      {
        name: 'gpu-h100',
        acceleratorType: 'H100',
        gpusPerNode: 8,
        maxNodes: h100Nodes,
        provisioningSeconds: 120,
      },
    ],
    policy: {
      windowYields: { enabled: windowYields },
      stabilizationWindowSeconds: WINDOW,
      // chat grows to what it asks in one step
      scaleUpMaxStep: { replicas: 16, percent: 100 },
    },
  });
  // a second, lower-priority service class for the 70B model
  return {
    ...c,
    serviceClasses: [
      ...c.serviceClasses,
      { name: 'batch', priority: 50, targets: { m70b: { ttftMs: 4000, itlMs: 80, tps: 0 } } },
    ],
  };
}

const big = (name = 'big', serviceClass = 'interactive') => ({ ...BIG, name, serviceClass, maxReplicas: 4 });

/** How a 70B variant is measured at step 1: its demand in replicas, or missing or partial metrics. */
interface Low {
  readonly low: number;
  readonly blind?: boolean;
  /** metrics from one of its ready replicas only */
  readonly partial?: boolean;
}

/**
 * Step 0: each 70B variant at `peak` replicas' worth of demand, chat at 2; applied. Step 1: the
 * 70B variants' demand falls (their window holds the peak), chat's rises to `chatNeed`.
 */
function holdAndNeed(
  config: Config,
  lows: Readonly<Record<string, Low>>,
  d: { peak: number; chatNeed: number },
): Session {
  const names = Object.keys(lows);
  const rBig = ratePerReplica(config, `llm/${names[0]}`, '4xH100');
  const rChat = ratePerReplica(config, 'llm/chat', 'H100');
  const s = new Session(config, [
    ...names.map((n) => deployment('4xH100', 1, 1, `llm/${n}`)),
    deployment('H100', 2, 2, 'llm/chat'),
  ]);
  s.decide(at(0), [
    ...names.map((n) => observation((d.peak - 0.5) * rBig, at(0), { variant: `llm/${n}`, model: 'm70b' })),
    observation(1.5 * rChat, at(0)),
  ]);
  s.apply();
  s.decide(at(1), [
    ...names.map((n) => {
      const l = lows[n]!;
      return l.blind
        ? blindObservation(at(1), { missing: ['vllm:request_success_total'] }, `llm/${n}`)
        : observation((l.low - 0.5) * rBig, at(1), {
            variant: `llm/${n}`,
            model: 'm70b',
            ...(l.partial ? { ready: 1 } : {}),
          });
    }),
    observation((d.chatNeed - 0.5) * rChat, at(1)),
  ]);
  return s;
}

const decisionOf = (s: Session, name: string) =>
  s.steps.at(-1)!.out.decisions.find((d) => d.variant === name)!;

describe('the window yields to a neighbour', () => {
  it("releases a held replica of the full node group for the other variant's recommendation", () => {
    // 16 H100: big holds 3 x 4 by its window (recommends 1), chat asks 6: 12 + 6 > 16
    const s = holdAndNeed(sharedH100([big()]), { big: { low: 1 } }, { peak: 3, chatNeed: 6 });
    const b = decisionOf(s, 'big');
    const chat = decisionOf(s, 'chat');
    expect(chat.targetReplicas).toBe(6);
    expect(b.targetReplicas).toBe(2);
    expect(b.message).toContain('window yields 1 replica of 4xH100 to chat, which needs them');
    expect(b.deployments.find((x) => x.accelerator === '4xH100')?.replicas).toBe(2);
    expect(lastDevicesAsked(s).H100).toBe(2 * 4 + 6);
  });

  it('changes nothing with the flag off', () => {
    const s = holdAndNeed(sharedH100([big()], false), { big: { low: 1 } }, { peak: 3, chatNeed: 6 });
    const b = decisionOf(s, 'big');
    expect(b.targetReplicas).toBe(3);
    expect(b.reason).toBe('stabilization');
    expect(b.message).not.toContain('yields');
  });

  it('changes nothing where the recommendation fits', () => {
    // 12 + 4 = 16: the node group holds both
    const s = holdAndNeed(sharedH100([big()]), { big: { low: 1 } }, { peak: 3, chatNeed: 4 });
    expect(decisionOf(s, 'big').targetReplicas).toBe(3);
  });

  it("never goes below the holder's own recommendation, and a variant on partial metrics keeps what runs", () => {
    // 24 H100: big and other hold 2 x 4 each by their windows (recommend 1); other's metrics are
    // partial. chat asks 14: 6 devices short, and big holds only 1 replica (4) above its own
    const config = sharedH100([big(), big('other')], true, 3);
    const s = holdAndNeed(
      config,
      { big: { low: 1 }, other: { low: 1, partial: true } },
      { peak: 2, chatNeed: 14 },
    );
    expect(decisionOf(s, 'chat').targetReplicas).toBe(14);
    const b = decisionOf(s, 'big');
    expect(b.targetReplicas).toBe(1);
    expect(b.message).toContain('window yields 1 replica of 4xH100 to chat');
    expect(decisionOf(s, 'other').targetReplicas).toBe(2);
    expect(decisionOf(s, 'other').message).not.toContain('yields');
  });

  it('takes from the lowest priority first', () => {
    // 24 H100: two 70B variants hold 2 x 4 each (recommend 1), chat asks 10: 16 + 10 > 24 by 2
    const config = sharedH100([big('first'), big('second')], true, 3);
    const s = holdAndNeed(
      {
        ...config,
        variants: config.variants.map((v) => (v.name === 'second' ? { ...v, serviceClass: 'batch' } : v)),
      },
      { first: { low: 1 }, second: { low: 1 } },
      { peak: 2, chatNeed: 10 },
    );
    expect(decisionOf(s, 'first').targetReplicas).toBe(2);
    expect(decisionOf(s, 'second').targetReplicas).toBe(1);
    expect(decisionOf(s, 'second').message).toContain('window yields 1 replica of 4xH100 to chat');
  });

  it('holds on missing data', () => {
    // big's metrics are missing: it holds what runs (3), whatever chat asks
    const s = holdAndNeed(sharedH100([big()]), { big: { low: 1, blind: true } }, { peak: 3, chatNeed: 6 });
    const b = decisionOf(s, 'big');
    expect(b.targetReplicas).toBe(3);
    expect(b.message).not.toContain('yields');
  });

  it('takes nothing from a variant whose decision apply does not act on (shadow mode)', () => {
    const config = sharedH100([{ ...big(), mode: 'shadow' }]);
    const s = holdAndNeed(config, { big: { low: 1 } }, { peak: 3, chatNeed: 6 });
    expect(decisionOf(s, 'big').targetReplicas).toBe(3);
    expect(decisionOf(s, 'big').message).not.toContain('yields');
  });
});
