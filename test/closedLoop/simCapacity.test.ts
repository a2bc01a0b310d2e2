/**
 * The simulated node groups behind the capacity port: what they report, growth at once, and
 * removal only when allowed, of empty nodes, never below the replicas that exist or are coming.
 */
import { createFleetSim } from '../../lib/fleetSimulator/index.js';
import { SimCapacityProvider } from '../../lib/closedLoop/simCapacity.js';
import { capacityIntent } from '../../lib/policy/capacityPlan.js';
import { oneVariantConfig } from '../fleetSimulator/helpers.js';

// one replica per node: 8-GPU nodes, 8 GPUs a replica; a Karpenter NodePool's consolidateAfter
const sim = (consolidateAfterSeconds?: number) =>
  createFleetSim(
    oneVariantConfig({
      profile: { gpusPerReplica: 8 },
      initialReplicas: 1,
      initialNodes: 1,
      maxNodes: 4,
      consolidateAfterSeconds,
    }),
  );
const provider = (s: ReturnType<typeof sim>) =>
  new SimCapacityProvider(s, {
    provisioningSeconds: new Map([['h100', 60]]),
    pricePerNodeHour: new Map([['h100', 80]]),
    devicesPerReplica: () => 8,
  });
const intent = (replicas: number) =>
  capacityIntent({
    pool: 'sim',
    poolSequence: 1,
    now: 0,
    variants: [],
    acceleratorTypes: ['H100'],
    replicas: [{ acceleratorType: 'H100', devicesPerReplica: 8, replicas }],
  });

describe('SimCapacityProvider', () => {
  it('reports ready, starting and addable devices, the time and the price', async () => {
    const s = sim();
    s.runUntil(1);
    expect(await provider(s).observe(['H100', 'L4'])).toEqual([
      {
        acceleratorType: 'H100',
        devicesPerNode: 8,
        readyDevices: 8,
        startingDevices: 0,
        addableDevices: 24,
        provisioningSeconds: 60,
        pricePerDeviceHour: 10,
      },
    ]);
  });

  it('grows at once; beyond the maximum is insufficient', async () => {
    const s = sim();
    const p = provider(s);
    expect((await p.provide(intent(3), { now: 0, allowRemoval: false })).changes[0]).toMatchObject({
      status: 'grown',
      devicesBefore: 8,
      devicesAfter: 24,
    });
    expect((await p.observe(['H100']))[0]).toMatchObject({ readyDevices: 8, startingDevices: 16 });
    const over = await p.provide(intent(6), { now: 0, allowRemoval: false });
    expect(over.changes[0]).toMatchObject({ status: 'insufficient', insufficient: { reason: 'at-limit' } });
  });

  it('removes only when allowed, and never below the replicas that exist', async () => {
    const s = sim();
    const p = provider(s);
    await p.provide(intent(3), { now: 0, allowRemoval: false });
    s.runUntil(120);
    const skipped = await p.provide(intent(0), { now: 120, allowRemoval: false });
    expect(skipped.changes[0]).toMatchObject({ status: 'removal-skipped', devicesAfter: 24 });
    // the one replica keeps its node; the two empty ones go
    const shrunk = await p.provide(intent(0), { now: 120, allowRemoval: true });
    expect(shrunk.changes[0]).toMatchObject({ status: 'shrunk', devicesBefore: 24, devicesAfter: 8 });
    expect(s.state().nodeGroups[0]).toMatchObject({ ready: 1, provisioning: 0 });
  });

  describe("with a Karpenter NodePool's consolidateAfter (300 s)", () => {
    const live = (s: ReturnType<typeof sim>) => {
      const g = s.state().nodeGroups[0]!;
      return g.ready + g.provisioning;
    };

    it('keeps an empty node until it has been empty that long, then removes it', async () => {
      const s = sim(300);
      const p = provider(s);
      await p.provide(intent(2), { now: 0, allowRemoval: true });
      s.setReplicas('chat', 'H100', 2);
      s.runUntil(500);
      expect(s.state().nodeGroups[0]).toMatchObject({ ready: 2, provisioning: 0 });
      s.setReplicas('chat', 'H100', 1); // the newest replica (idle) goes at 500: its node is empty
      for (const now of [510, 790]) {
        s.runUntil(now);
        const kept = await p.provide(intent(1), { now, allowRemoval: true });
        expect(kept.changes[0]).toMatchObject({ status: 'removal-skipped', devicesAfter: 16 });
      }
      s.runUntil(800); // Karpenter removes it at 800 on its own: the plan has nothing left to shrink
      const after = await p.provide(intent(1), { now: 800, allowRemoval: true });
      expect(after.changes[0]).toMatchObject({ status: 'unchanged', devicesBefore: 8, devicesAfter: 8 });
      expect(live(s)).toBe(1);
    });

    it('removes a node empty that long even when the plan holds it or no plan comes', async () => {
      const s = sim(300);
      const p = provider(s);
      await p.provide(intent(3), { now: 0, allowRemoval: false });
      s.setReplicas('chat', 'H100', 3);
      s.runUntil(500);
      s.setReplicas('chat', 'H100', 1); // two nodes empty from 500
      // the plan still asks for three nodes (as when missing metrics hold the replicas' plan)
      const held = await p.provide(intent(3), { now: 510, allowRemoval: false });
      expect(held.changes[0]).toMatchObject({ status: 'unchanged', devicesAfter: 24 });
      s.runUntil(799);
      expect(live(s)).toBe(3);
      s.runUntil(800); // no evaluation in between: consolidation is Karpenter's, not the plan's
      expect(s.state().nodeGroups[0]).toMatchObject({ ready: 1, provisioning: 0 });
      expect(s.state().nodeGroups[0]!.nodes.map((n) => n.replicas.length)).toEqual([1]);
    });

    it('removes a node that got Ready with nothing to place once the delay has run from then', () => {
      const s = sim(300);
      s.setNodeGroupSize('h100', 2); // Ready about 60 s later, no replica for it
      s.runUntil(200);
      expect(live(s)).toBe(2);
      s.runUntil(400);
      expect(live(s)).toBe(1);
    });

    it('keeps a node that gets a replica again before the delay, and restarts its clock after', async () => {
      const s = sim(300);
      const p = provider(s);
      await p.provide(intent(2), { now: 0, allowRemoval: true });
      s.setReplicas('chat', 'H100', 2);
      s.runUntil(500);
      s.setReplicas('chat', 'H100', 1); // empty from 500
      s.runUntil(700);
      s.setReplicas('chat', 'H100', 2); // a replica lands on it again at 700
      s.runUntil(900);
      await p.provide(intent(1), { now: 900, allowRemoval: true });
      expect(live(s)).toBe(2); // not empty: kept whatever its earlier empty spell
      s.setReplicas('chat', 'H100', 1); // empty again from 900
      s.runUntil(1150);
      await p.provide(intent(1), { now: 1150, allowRemoval: true });
      expect(live(s)).toBe(2); // 250 s empty, not 300
      s.runUntil(1200);
      await p.provide(intent(1), { now: 1200, allowRemoval: true });
      expect(live(s)).toBe(1);
    });

    it('never cancels a launch: a node no longer needed waits until Ready and empty for the delay', async () => {
      const s = sim(300);
      const p = provider(s);
      await p.provide(intent(2), { now: 0, allowRemoval: true }); // one node launched, Ready at 60
      s.runUntil(10);
      await p.provide(intent(1), { now: 10, allowRemoval: true });
      expect(s.state().nodeGroups[0]).toMatchObject({ ready: 1, provisioning: 1 });
      s.runUntil(359);
      await p.provide(intent(1), { now: 359, allowRemoval: true });
      expect(live(s)).toBe(2);
      s.runUntil(361);
      await p.provide(intent(1), { now: 361, allowRemoval: true });
      expect(live(s)).toBe(1);
    });
  });

  it('a node group (no consolidateAfter) keeps an empty node while the plan holds it', async () => {
    const s = sim();
    const p = provider(s);
    await p.provide(intent(2), { now: 0, allowRemoval: true });
    s.setReplicas('chat', 'H100', 2);
    s.runUntil(500);
    s.setReplicas('chat', 'H100', 1);
    await p.provide(intent(2), { now: 510, allowRemoval: true });
    s.runUntil(5000); // the provider alone removes a node group's instance
    expect(s.state().nodeGroups[0]).toMatchObject({ ready: 2, provisioning: 0 });
  });

  it('a node group (no consolidateAfter) still removes an empty node at once, launches first', async () => {
    const s = sim();
    const p = provider(s);
    await p.provide(intent(2), { now: 0, allowRemoval: true });
    s.setReplicas('chat', 'H100', 2);
    s.runUntil(500);
    s.setReplicas('chat', 'H100', 1);
    const shrunk = await p.provide(intent(1), { now: 500, allowRemoval: true });
    expect(shrunk.changes[0]).toMatchObject({ status: 'shrunk', devicesAfter: 8 });
    await p.provide(intent(2), { now: 500, allowRemoval: true });
    await p.provide(intent(1), { now: 500, allowRemoval: true }); // the launch is cancelled
    expect(s.state().nodeGroups[0]).toMatchObject({ ready: 1, provisioning: 0 });
  });
});
