import { allocationCost } from '../../lib/optimizer/candidates.js';
import { configToSystem } from '../../lib/config/toSystem.js';
import { loadConfig } from '../../lib/config/load.js';

describe('cost of whole nodes', () => {
  const h100 = { name: 'H100', type: 'H100', multiplicity: 1, cost: 6.88, node: { devices: 8, cost: 55.04 } };

  it('charges the nodes the replicas need, not their devices', () => {
    expect(allocationCost(h100, { accCount: 1 }, 1)).toBeCloseTo(55.04, 9);
    expect(allocationCost(h100, { accCount: 1 }, 8)).toBeCloseTo(55.04, 9);
    expect(allocationCost(h100, { accCount: 1 }, 9)).toBeCloseTo(110.08, 9);
    expect(allocationCost({ ...h100, multiplicity: 4 }, { accCount: 1 }, 3)).toBeCloseTo(110.08, 9);
    expect(allocationCost(h100, { accCount: 1 }, 0)).toBe(0);
  });

  it('charges devices when they are not bought in nodes', () => {
    const { node: _node, ...linear } = h100;
    expect(allocationCost(linear, { accCount: 2 }, 3)).toBeCloseTo(6 * 6.88, 9);
  });

  it("takes each accelerator's nodes from the node group of its type with the cheapest device", () => {
    const system = configToSystem(loadConfig('config/default.yaml'));
    const byName = new Map(system.accelerators.map((a) => [a.name, a]));
    expect(byName.get('H100')!.node).toEqual({ devices: 8, cost: 8 * 6.88 });
    expect(byName.get('4xH100')!.node).toEqual({ devices: 8, cost: 8 * 6.88 });
    expect(byName.get('L4')!.node).toEqual({ devices: 1, cost: 0.805 });
  });
});
