import { describe, expect, it } from '@jest/globals';
import { createFleetSim } from '../../lib/fleetSimulator/index.js';
import { eppSamples, isSaturated, pickEndpoint } from '../../lib/fleetSimulator/gateway.js';
import { oneVariantConfig, requests } from './helpers.js';

const EPP = { queueDepthThreshold: 5, kvCacheUtilThreshold: 0.8 };

describe('the gateway (endpoint picker with flow control)', () => {
  it('counts a replica saturated at 5 waiting or 80% KV cache used, the EPP defaults', () => {
    expect(isSaturated({ waiting: 4, running: 8, kvCacheUsage: 0.79 }, EPP)).toBe(false);
    expect(isSaturated({ waiting: 5, running: 0, kvCacheUsage: 0 }, EPP)).toBe(true);
    expect(isSaturated({ waiting: 0, running: 1, kvCacheUsage: 0.8 }, EPP)).toBe(true);
  });

  it('picks the least loaded unsaturated replica: fewest waiting, then least KV, then fewest running', () => {
    const a = { waiting: 2, running: 3, kvCacheUsage: 0.1 };
    const b = { waiting: 1, running: 9, kvCacheUsage: 0.5 };
    const c = { waiting: 1, running: 2, kvCacheUsage: 0.5 };
    const saturated = { waiting: 0, running: 0, kvCacheUsage: 0.9 };
    expect(pickEndpoint([a, b, saturated], EPP)).toBe(1);
    expect(pickEndpoint([a, b, c], EPP)).toBe(2);
    expect(pickEndpoint([saturated, { waiting: 7, running: 1, kvCacheUsage: 0 }], EPP)).toBe(-1);
    expect(pickEndpoint([], EPP)).toBe(-1);
  });

  it('holds requests in its queue while every replica is saturated and releases them as engines step', () => {
    // 14 requests at t = 0 on one replica (max 8 running): 5 reach the engine (then it is
    // saturated), 9 wait at the gateway. The engine's first step at t = 0 admits those 5, which
    // frees it: 5 more come from the gateway's queue, 4 stay.
    const arrivals = requests(...Array.from({ length: 14 }, (): [number, number, number] => [0, 100, 10]));
    const sim = createFleetSim({ ...oneVariantConfig({}), gateway: {}, results: { keepRecords: true } });
    sim.addArrivals('chat', arrivals);
    sim.runUntil(0);
    const v = sim.state().variants[0]!;
    expect(v.queued).toBe(4);
    expect(v.replicas[0]).toMatchObject({ running: 5, waiting: 5 });
    // Its scrape carries the gateway's series: 4 held, 10 dispatched and not finished.
    const epp = sim.scrape().filter((x) => x.name.startsWith('llm_d_epp_'));
    expect(epp.map((x) => [x.name, x.labels.model_name, x.value])).toEqual([
      ['llm_d_epp_flow_control_queue_size', 'llama-8b', 4],
      ['llm_d_epp_request_running', 'llama-8b', 10],
    ]);
    // Every request is served in the end, in arrival order.
    sim.runUntil(60);
    const records = sim.results().records!;
    expect(records.every((r) => r.status === 'completed')).toBe(true);
    expect(sim.state().variants[0]!.queued).toBe(0);
    const dispatched = records.map((r) => r.dispatched!);
    expect([...dispatched].sort((x, y) => x - y)).toEqual(dispatched);
  });

  it('without a gateway, sends every arrival to a ready replica at once', () => {
    const arrivals = requests(...Array.from({ length: 14 }, (): [number, number, number] => [0, 100, 10]));
    const sim = createFleetSim(oneVariantConfig({}));
    sim.addArrivals('chat', arrivals);
    sim.runUntil(0);
    const v = sim.state().variants[0]!;
    expect(v.queued).toBe(0);
    expect(v.replicas[0]).toMatchObject({ running: 8, waiting: 6 });
  });

  it('holds arrivals while no replica is ready, and later ones queue behind them', () => {
    const sim = createFleetSim({
      ...oneVariantConfig({ initialReplicas: 0 }),
      gateway: {},
      results: { keepRecords: true },
    });
    sim.addArrivals('chat', requests([1, 100, 10], [2, 100, 10]));
    sim.runUntil(2);
    expect(sim.state().variants[0]!.queued).toBe(2);
    sim.setReplicas('chat', 'H100', 1);
    sim.runUntil(40); // loads in 30 s
    expect(sim.results().records!.map((r) => r.dispatched)).toEqual([32, 32]);
  });

  it('exports its queue and in-flight requests as llm-d names them', () => {
    const labels = { model_name: 'm', namespace: 'ns' };
    expect(eppSamples(labels, 3, 12).map((s) => [s.name, s.value])).toEqual([
      ['llm_d_epp_flow_control_queue_size', 3],
      ['llm_d_epp_request_running', 12],
    ]);
  });
});
