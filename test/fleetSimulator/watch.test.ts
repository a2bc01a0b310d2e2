import { describe, expect, it } from '@jest/globals';
import { createFleetSim } from '../../lib/fleetSimulator/index.js';
import { oneVariantConfig, requests } from './helpers.js';

describe('watching a window of arrivals', () => {
  it('keeps the requests arriving in [from, to) from the call on, each fork its own', () => {
    const sim = createFleetSim(oneVariantConfig({}));
    sim.addArrivals('chat', requests([1, 100, 10], [5, 100, 10], [10, 100, 10], [12, 100, 10]));
    sim.watchArrivals(5, 12);
    sim.runUntil(6);
    const fork = sim.fork();
    sim.runUntil(30);
    expect(sim.watched().map((r) => r.arrival)).toEqual([5, 10]);
    expect(sim.watched().every((r) => r.status === 'completed')).toBe(true);
    // The fork has not run on: its copy of the window holds what had arrived at 6, unfinished.
    expect(fork.watched().map((r) => [r.arrival, r.status])).toEqual([[5, 'completed']]);
    fork.watchArrivals(0, 100);
    fork.runUntil(30);
    expect(fork.watched().map((r) => r.arrival)).toEqual([10, 12]);
  });
});
