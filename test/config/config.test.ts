/**
 * Our config file (YAML or JSON): a realistic fleet loads, converts to the optimizer's system
 * with the documented units and defaults, and solves as reasoned.
 */
import { configToSystem, loadConfig, loadSystem } from '../../lib/config/index.js';
import { solve, type SystemSpec } from '../../lib/optimizer/index.js';

const YAML_FILE = 'test/fixtures/config/realistic.yaml';
const JSON_FILE = 'test/fixtures/config/realistic.json';

const placements = (system: SystemSpec) =>
  Object.fromEntries(
    [...solve(system).allocations].map(([name, a]) => [name, `${a.accelerator}*${a.numReplicas}`]),
  );

describe('realistic config', () => {
  const config = loadConfig(YAML_FILE);
  const system = configToSystem(config);

  it('reads the same from YAML and JSON', () => {
    expect(loadConfig(JSON_FILE)).toEqual(config);
    expect(configToSystem(loadConfig(JSON_FILE))).toEqual(system);
  });

  it('converts accelerators: type defaults to the name, multiplicity to 1', () => {
    expect(system.accelerators).toEqual([
      { name: 'L4', type: 'L4', multiplicity: 1, cost: 0.805 },
      { name: 'A10G', type: 'A10G', multiplicity: 1, cost: 1.006 },
      { name: 'L40S', type: 'L40S', multiplicity: 1, cost: 1.861 },
      { name: 'H100', type: 'H100', multiplicity: 1, cost: 6.88 },
      { name: '4xA100', type: 'A100', multiplicity: 4, cost: 13.725 },
      { name: '4xH100', type: 'H100', multiplicity: 4, cost: 27.52 },
    ]);
  });

  it('converts profiles: acceleratorCount becomes accCount (default 1)', () => {
    expect([...system.models.keys()]).toEqual(['llama-3.1-8b', 'llama-3.1-70b']);
    const small = system.models.get('llama-3.1-8b')!;
    expect([...small.profiles.keys()]).toEqual(['L4', 'A10G', 'L40S', 'H100']);
    expect(small.profiles.get('H100')).toEqual({
      alpha: 7,
      beta: 0.06,
      gamma: 8,
      delta: 0.015,
      maxBatchSize: 220,
      atTokens: 2048,
      accCount: 1,
    });
    expect([...system.models.get('llama-3.1-70b')!.profiles.keys()]).toEqual(['4xA100', '4xH100']);
  });

  it('converts service classes: targets per model in ms and tokens/s', () => {
    const interactive = system.serviceClasses.get('interactive')!;
    expect(interactive.priority).toBe(1);
    expect(interactive.targets.get('llama-3.1-70b')).toEqual({ ttft: 1500, itl: 60, tps: 0 });
    expect(system.serviceClasses.get('batch')!.priority).toBe(10);
  });

  it('converts variants: namespace/name, req/s to req/min, current cost, allowed accelerators', () => {
    const [chat8b, batch8b, chat70b] = system.servers;
    expect(chat8b).toMatchObject({
      name: 'llm/chat-8b',
      model: 'llama-3.1-8b',
      serviceClass: 'interactive',
      load: { arrivalRate: 720, avgInTokens: 1024, avgOutTokens: 256 },
      // 2 replicas of L40S at 1.861/h.
      current: { accelerator: 'L40S', numReplicas: 2, cost: 3.722 },
      minReplicas: 1,
      maxReplicas: 20,
      maxBatchSize: 0,
      keepAccelerator: false,
      allowedAccelerators: undefined,
    });
    expect(batch8b).toMatchObject({
      name: 'llm/batch-8b',
      load: { arrivalRate: 180, avgInTokens: 2048, avgOutTokens: 512 },
      current: { accelerator: '', numReplicas: 0, cost: 0 },
      minReplicas: 0,
      maxReplicas: undefined,
      allowedAccelerators: ['L4', 'A10G'],
    });
    // minReplicas defaults to 1.
    expect(chat70b).toMatchObject({
      current: { accelerator: '4xA100', numReplicas: 1, cost: 13.725 },
      minReplicas: 1,
      maxReplicas: 8,
      allowedAccelerators: ['4xA100', '4xH100'],
    });
  });

  it('converts capacity per device type and the optimizer settings', () => {
    expect(system.capacity).toEqual(
      new Map([
        ['L4', 16],
        ['A10G', 8],
        ['L40S', 8],
        ['H100', 16],
        ['A100', 8],
      ]),
    );
    expect(system.optimizer).toMatchObject({
      unlimited: false,
      saturationPolicy: 'PriorityExhaustive',
      delayedBestEffort: false,
      flatTargetRule: 'strict',
    });
  });

  it('a pinned accelerator becomes the only allowed one', () => {
    const pinned = configToSystem({
      ...config,
      variants: config.variants.map((v, i) => (i === 0 ? { ...v, accelerator: 'H100' } : v)),
    });
    expect(pinned.servers[0]!.allowedAccelerators).toEqual(['H100']);
  });

  it('solves: the 70B moves to 4xH100 because 4 replicas of 4xA100 need 16 A100s and there are 8', () => {
    expect(placements(system)).toEqual({
      'llm/batch-8b': 'A10G*3',
      'llm/chat-70b': '4xH100*2',
      'llm/chat-8b': 'H100*2',
    });
    // With unlimited capacity it takes 4xA100: 4 x 13.725 = 54.9 less the current 13.725 = 41.2,
    // against 0.1 * (13.725 + 55.04) + 55.04 - 13.725 = 48.2 for 4xH100.
    expect(placements(configToSystem({ ...config, capacity: 'unlimited' }))).toMatchObject({
      'llm/chat-70b': '4xA100*4',
    });
    const notes = solve(system).notes.get('llm/chat-8b');
    // L4 misses the 40 ms ITL target even alone (alpha + beta = 50.5 ms); A10G would need 24 > 20 replicas.
    expect(notes).toEqual([
      'A10G: needs 24 replicas, above the maximum 20',
      'L4: targets missed even at the lowest load: ITL 50.50 > 40 ms',
    ]);
  });

  it('loadSystem reads a config as kind "config" with the same system', () => {
    const loaded = loadSystem(YAML_FILE);
    expect(loaded.kind).toBe('config');
    expect(loaded.system).toEqual(system);
  });
});
