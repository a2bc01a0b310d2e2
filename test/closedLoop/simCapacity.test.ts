/**
 * The simulated node groups behind the capacity port: what they report, growth at once, and
 * removal only when allowed, of empty nodes, never below the replicas that exist or are coming.
 */
import { createFleetSim } from '../../lib/fleetSimulator/index.js';
import { SimCapacityProvider } from '../../lib/closedLoop/simCapacity.js';
import { capacityIntent } from '../../lib/policy/capacityPlan.js';
import { oneVariantConfig } from '../fleetSimulator/helpers.js';

// one replica per node: 8-GPU nodes, 8 GPUs a replica
const sim = () =>
  createFleetSim(
    oneVariantConfig({ profile: { gpusPerReplica: 8 }, initialReplicas: 1, initialNodes: 1, maxNodes: 4 }),
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
});
