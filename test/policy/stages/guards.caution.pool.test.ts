/**
 * Caution learnt: once a lead time of rises has been seen, the window is one lead time and a
 * scale-down keeps the replicas the rise of demand within a lead time would need.
 */
import { leadSeconds } from '../../../lib/policy/window.js';
import { deployment, poolConfig, ratePerReplica, Session, T0 } from '../helpers.js';

const at = (i: number) => T0 + 30 * i;
const config = poolConfig({ policy: { caution: { enabled: true } } });
const lead = leadSeconds(config, config.variants[0]!, 'L4');
const r = ratePerReplica(config);

describe('caution learnt from rises', () => {
  it('says it has no rises yet, and lets the configured window rule meanwhile', () => {
    const quick = poolConfig({ policy: { caution: { enabled: true }, stabilizationWindowSeconds: 0 } });
    const s = new Session(quick, [deployment('L4', 6)]);
    s.run(at(0), 1.5 * r);
    const d = s.run(at(1), 1.5 * r);
    expect(d.targetReplicas).toBeLessThan(6);
    expect(d.message).toMatch(/no lead time of rises seen yet: the configured window rules/);
  });

  it('on steady demand, learns no rise and keeps nothing beyond the recommendation', () => {
    const s = new Session(config, [deployment('L4', 6)]);
    for (let i = 0; i < Math.ceil((3 * lead) / 30); i++) s.run(at(i), 1.5 * r);
    expect(s.deployments[0]!.desired).toBe(2);
    expect(s.steps.some((x) => /keeps \d+ for/.test(x.decision.message))).toBe(false);
  });

  it('on demand that keeps spiking, keeps the replicas the spikes need, and says why', () => {
    const s = new Session(config, [deployment('L4', 6)]);
    let i = 0;
    // a spike to 5.5 r every 4 minutes over 1.5 r, for three lead times
    const n = Math.ceil((3 * lead) / 30);
    for (; i < n; i++) s.run(at(i), i % 8 === 0 ? 5.5 * r : 1.5 * r);
    // then a quiet stretch twice the configured window (300 s): the rise learnt keeps more than
    // the recommendation, where the window alone would have let it go
    const quiet: number[] = [];
    for (let k = 0; k < 20; k++) quiet.push(s.run(at(i++), 1.5 * r).targetReplicas);
    expect(Math.min(...quiet)).toBeGreaterThanOrEqual(5);
    const kept = s.steps.map((x) => x.decision.message).find((m) => /keeps \d+ for .* a rise of x/.test(m));
    expect(kept).toBeDefined();
  });
});
