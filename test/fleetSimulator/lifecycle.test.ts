import { createFleetSim, SimError, type FleetSim } from '../../lib/fleetSimulator/index.js';
import { ms, oneVariantConfig, requests, sampleSum, recordsOf } from './helpers.js';

function lifecycleOf(sim: FleetSim, id: string) {
  return sim.state().variants[0]!.replicas.find((r) => r.id === id)?.lifecycle ?? 'gone';
}

describe('replica and node lifecycles', () => {
  test('a scale-up with no free GPU waits for node provisioning, then model load, then serves', () => {
    // One 1-GPU node, already taken by the initial replica.
    const sim = createFleetSim(oneVariantConfig({ gpusPerNode: 1, provisionSeconds: 60 }));
    sim.setReplicas('chat', 'H100', 2);
    expect(lifecycleOf(sim, 'chat-1')).toBe('pending-node');
    expect(sim.setNodeGroupSize('h100', 2)).toBe(2);
    expect(sim.state().nodeGroups[0]).toMatchObject({ ready: 1, provisioning: 1, freeGpus: 0 });
    sim.runUntil(59.9);
    expect(lifecycleOf(sim, 'chat-1')).toBe('pending-node');
    sim.runUntil(60);
    expect(lifecycleOf(sim, 'chat-1')).toBe('loading');
    expect(sim.state().nodeGroups[0]).toMatchObject({ ready: 2, provisioning: 0, freeGpus: 0 });
    // The old replica is busy with a long request; the new one is not yet ready, so a request
    // at 89 s still goes to the old one and one at 91 s to the new one (fewer outstanding).
    sim.addArrivals('chat', requests([80, 100, 5000], [89, 100, 5], [91, 100, 5]));
    sim.runUntil(89.99);
    expect(lifecycleOf(sim, 'chat-1')).toBe('loading');
    expect(sim.scrape().some((s) => s.labels.pod === 'chat-1')).toBe(false); // not serving /metrics yet
    sim.runUntil(200);
    expect(lifecycleOf(sim, 'chat-1')).toBe('ready');
    const [, second, third] = recordsOf(sim);
    expect(second!.replica).toBe('chat-0');
    expect(third!.replica).toBe('chat-1');
    expect(third!.ttft).toBeCloseTo(ms(30), 9);
  });

  test('start-up phases: node provisioning + initialisation, then image pull only where the model never ran', () => {
    // 2 one-GPU nodes: node-0 runs the initial replica (its image is there), node-1 is new.
    const config = oneVariantConfig({ gpusPerNode: 1, provisionSeconds: 284, maxNodes: 3 });
    const group = { ...config.nodeGroups[0]!, initSeconds: 126 };
    const profile = {
      ...config.variants[0]!.profileByAccelerator.H100!,
      imagePullSeconds: 101,
      loadSeconds: 331,
    };
    const sim = createFleetSim({
      ...config,
      nodeGroups: [group],
      variants: [{ ...config.variants[0]!, profileByAccelerator: { H100: profile } }],
    });
    sim.setNodeGroupSize('h100', 2);
    sim.setReplicas('chat', 'H100', 2);
    sim.runUntil(409.9);
    expect(lifecycleOf(sim, 'chat-1')).toBe('pending-node');
    sim.runUntil(410); // 284 + 126
    expect(lifecycleOf(sim, 'chat-1')).toBe('loading');
    sim.runUntil(410 + 101 + 331 - 0.01);
    expect(lifecycleOf(sim, 'chat-1')).toBe('loading');
    sim.runUntil(410 + 101 + 331);
    expect(lifecycleOf(sim, 'chat-1')).toBe('ready');
    // chat-1 drains; chat-2 takes its node, which pulled the image for chat-1: no pull.
    sim.setReplicas('chat', 'H100', 1); // drains chat-1, the newest ready one
    sim.runUntil(900);
    sim.setReplicas('chat', 'H100', 2);
    expect(lifecycleOf(sim, 'chat-2')).toBe('loading');
    expect(sim.state().variants[0]!.replicas.find((r) => r.id === 'chat-2')!.node).toBe('h100-1');
    sim.runUntil(900 + 331);
    expect(lifecycleOf(sim, 'chat-2')).toBe('ready'); // node-1 had pulled the image for chat-1
  });

  test('requests wait in the variant queue until the first replica is ready', () => {
    const sim = createFleetSim(oneVariantConfig({ initialReplicas: 0, provisionSeconds: 60 }));
    sim.addArrivals('chat', requests([1, 100, 5], [2, 100, 5]));
    sim.runUntil(5);
    expect(sim.state().variants[0]!.queued).toBe(2);
    sim.setReplicas('chat', 'H100', 1); // a node with free GPUs exists: loads 30 s from t = 5
    sim.runUntil(100);
    const [a, b] = recordsOf(sim);
    expect(a!.dispatched).toBe(35);
    // Both were dispatched at 35 and share the prefill iteration.
    expect(a!.ttft).toBeCloseTo(34 + ms(40), 9);
    expect(b!.ttft).toBeCloseTo(33 + ms(40), 9);
    // vLLM's TTFT counts from the moment the replica received the request.
    const samples = sim.scrape();
    expect(sampleSum(samples, 'vllm:time_to_first_token_seconds_sum')).toBeCloseTo(2 * ms(40), 9);
  });

  test('the variant queue is bounded: arrivals beyond maxQueuedRequests are dropped', () => {
    const sim = createFleetSim(oneVariantConfig({ initialReplicas: 0, maxQueuedRequests: 2 }));
    sim.addArrivals('chat', requests([1, 10, 5], [1, 10, 5], [1, 10, 5], [2, 10, 5], [3, 10, 5]));
    sim.runUntil(4);
    const { overall } = sim.results();
    const records = recordsOf(sim);
    expect(overall).toMatchObject({ arrived: 5, queued: 2, dropped: 3 });
    expect(records.map((r) => r.status)).toEqual(['queued', 'queued', 'dropped', 'dropped', 'dropped']);
    expect(sim.state().variants[0]).toMatchObject({ queued: 2, dropped: 3 });
  });

  test('a draining replica finishes what it accepted, takes nothing new, then frees its GPUs', () => {
    const sim = createFleetSim(oneVariantConfig({ initialReplicas: 2 }));
    // Each replica gets one long request (about 2 s of decoding).
    sim.addArrivals('chat', requests([1, 100, 200], [1, 100, 200]));
    sim.runUntil(1.5);
    sim.setReplicas('chat', 'H100', 1); // the newest ready replica, chat-1, drains
    expect(lifecycleOf(sim, 'chat-1')).toBe('draining');
    sim.addArrivals('chat', requests([1.6, 100, 5], [1.7, 100, 5], [1.8, 100, 5]));
    sim.runUntil(2);
    // still serving its running request, and still scraped
    expect(sim.scrape().some((s) => s.labels.pod === 'chat-1')).toBe(true);
    sim.runUntil(10);
    const records = recordsOf(sim);
    expect(records[1]!).toMatchObject({ replica: 'chat-1', status: 'completed' });
    expect(records.slice(2).every((r) => r.replica === 'chat-0' && r.status === 'completed')).toBe(true);
    expect(lifecycleOf(sim, 'chat-1')).toBe('gone');
    expect(sim.state().nodeGroups[0]!.freeGpus).toBe(7);
    const drained = sim.usage().replicaSeconds[0]!.seconds;
    expect(drained.draining).toBeCloseTo(records[1]!.finished! - 1.5, 9);
  });

  test("removalOrder 'least-busy' drains the replica with the fewest outstanding requests, as pod-deletion-cost orders them", () => {
    // chat-0 gets a short request (done by 1.5 s), chat-1 a long one (still running then).
    const scenario = (removalOrder?: 'least-busy') => {
      const sim = createFleetSim({ ...oneVariantConfig({ initialReplicas: 2 }), removalOrder });
      sim.addArrivals('chat', requests([1, 10, 1], [1.001, 100, 200]));
      sim.runUntil(1.5);
      sim.setReplicas('chat', 'H100', 1);
      return sim;
    };
    const newest = scenario();
    expect([lifecycleOf(newest, 'chat-0'), lifecycleOf(newest, 'chat-1')]).toEqual(['ready', 'draining']);
    const leastBusy = scenario('least-busy');
    expect([lifecycleOf(leastBusy, 'chat-0'), lifecycleOf(leastBusy, 'chat-1')]).toEqual(['gone', 'ready']);
  });

  test('an idle replica asked to drain is gone at once', () => {
    const sim = createFleetSim(oneVariantConfig({ initialReplicas: 2 }));
    sim.setReplicas('chat', 'H100', 0);
    expect(sim.state().variants[0]!.replicas).toHaveLength(0);
    expect(sim.state().nodeGroups[0]!.freeGpus).toBe(8);
  });

  test('scale-down removes the newest non-ready replicas before ready ones', () => {
    const sim = createFleetSim(oneVariantConfig({ initialReplicas: 1 }));
    sim.setReplicas('chat', 'H100', 3);
    sim.runUntil(10);
    expect(sim.state().variants[0]!.replicas.map((r) => r.lifecycle)).toEqual([
      'ready',
      'loading',
      'loading',
    ]);
    sim.setReplicas('chat', 'H100', 2);
    expect(sim.state().variants[0]!.replicas.map((r) => r.id)).toEqual(['chat-0', 'chat-1']);
    sim.setReplicas('chat', 'H100', 1);
    sim.runUntil(100); // a cancelled load never completes
    expect(sim.state().variants[0]!.replicas.map((r) => `${r.id}:${r.lifecycle}`)).toEqual(['chat-0:ready']);
    expect(sim.state().variants[0]!.byAccelerator.H100).toEqual({
      'pending-node': 0,
      loading: 0,
      ready: 1,
      draining: 0,
    });
  });

  test('node groups clamp to [min, max] and only remove empty nodes', () => {
    const sim = createFleetSim(oneVariantConfig({ gpusPerNode: 1, initialNodes: 1, maxNodes: 3 }));
    expect(sim.setNodeGroupSize('h100', 10)).toBe(3);
    sim.runUntil(60);
    expect(sim.state().nodeGroups[0]).toMatchObject({ ready: 3, provisioning: 0, freeGpus: 2 });
    // the node holding chat-0 stays
    expect(sim.setNodeGroupSize('h100', 0)).toBe(1);
    expect(sim.state().nodeGroups[0]!.nodes[0]!.replicas).toEqual(['chat-0']);
    // provisioning nodes are cancelled before ready ones are touched
    sim.setNodeGroupSize('h100', 3);
    sim.runUntil(70);
    expect(sim.setNodeGroupSize('h100', 2)).toBe(2);
    sim.runUntil(200);
    expect(sim.state().nodeGroups[0]).toMatchObject({ ready: 2, provisioning: 0 });
  });

  test('usage accounts node-seconds from launch to removal and replica-seconds per state', () => {
    const sim = createFleetSim(oneVariantConfig({ gpusPerNode: 1, initialNodes: 1, provisionSeconds: 60 }));
    sim.runUntil(100);
    sim.setReplicas('chat', 'H100', 2);
    sim.setNodeGroupSize('h100', 2); // ready at 160, replica loads until 190
    sim.runUntil(300);
    sim.setReplicas('chat', 'H100', 1); // chat-1 is idle: gone at once
    sim.setNodeGroupSize('h100', 1); // its node is empty now: removed at 300
    sim.runUntil(400);
    const usage = sim.usage();
    expect(usage.nodeSeconds.h100).toBeCloseTo(400 + 200, 9);
    expect(usage.gpuSeconds.H100).toBeCloseTo(600, 9);
    expect(usage.replicaSeconds).toEqual([
      {
        variant: 'chat',
        accelerator: 'H100',
        seconds: { 'pending-node': 60, loading: 30, ready: 400 + 110, draining: 0 },
      },
    ]);
  });

  test('configuration and control errors are explicit', () => {
    expect(() => createFleetSim({ ...oneVariantConfig({}), nodeGroups: [] })).toThrow(
      /no node group of accelerator type "H100"/,
    );
    expect(() => createFleetSim({ ...oneVariantConfig({}), variants: [] })).toThrow(SimError);
    const sim = createFleetSim(oneVariantConfig({}));
    expect(() => sim.setReplicas('chat', 'A100', 1)).toThrow(/no profile for accelerator "A100"/);
    expect(() => sim.setReplicas('nope', 'H100', 1)).toThrow(/unknown variant/);
    sim.runUntil(10);
    expect(() => sim.runUntil(5)).toThrow(/cannot run back/);
    expect(() => sim.addArrivals('chat', requests([5, 1, 1]))).toThrow(/before now/);
    expect(() => sim.addArrivals('chat', requests([15, 1.5, 1]))).toThrow(
      /inputTokens is not a non-negative integer/,
    );
  });
});
