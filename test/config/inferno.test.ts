/**
 * The Inferno SystemSpec importer: Go's case-insensitive keys, the conformance fixture's
 * wrapper, the reference's defaults, and errors that name the field.
 */
import { readFileSync } from 'node:fs';
import {
  InputError,
  infernoToSystem,
  isInfernoDocument,
  loadSystem,
  parseInfernoSystem,
} from '../../lib/config/index.js';

const importDoc = (doc: unknown, source = 'doc.json') =>
  infernoToSystem(parseInfernoSystem(doc, source), source);

/** A small SystemSpec, every key spelt as the sample files or Go's decoder would accept it. */
function oddlyCasedSystem() {
  return {
    System: {
      AcceleratorData: {
        Accelerators: [
          { Name: 'A100', Type: 'A100', Multiplicity: 1, Cost: 40, MemSize: 80 },
          { name: '2xA100', TYPE: 'A100', multiplicity: 2, cost: 80 },
        ],
      },
      capacitydata: { COUNT: [{ type: 'A100', count: 6 }] },
      ModelData: {
        Models: [
          {
            Name: 'llama',
            Acc: 'A100',
            AccCount: 1,
            MaxBatchSize: 32,
            AtTokens: 512,
            DecodeParms: { Alpha: 20, Beta: 0.4 },
            PrefillParms: { Gamma: 160, Delta: 0.01 },
          },
          {
            name: 'llama',
            acc: '2xA100',
            maxBatchSize: 32,
            atTokens: 512,
            decodeParms: { alpha: 14, beta: 0.3 },
          },
        ],
      },
      ServiceClassData: {
        ServiceClasses: [
          {
            Name: 'Premium',
            Priority: 1,
            ModelTargets: [{ Model: 'llama', 'SLO-ITL': 40, 'Slo-Ttft': 500 }],
          },
        ],
      },
      ServerData: {
        Servers: [
          {
            Name: 'premium-llama',
            Class: 'Premium',
            Model: 'llama',
            KeepAccelerator: true,
            MinNumReplicas: 1,
            CurrentAlloc: {
              Accelerator: 'A100',
              NumReplicas: 2,
              Cost: 80,
              Load: { ArrivalRate: 60, AvgInTokens: 128, AvgOutTokens: 1024 },
            },
          },
        ],
      },
      OptimizerData: {
        Optimizer: { Unlimited: false, SaturationPolicy: 'RoundRobin', DelayedBestEffort: true },
      },
    },
  };
}

describe('Inferno importer', () => {
  it('accepts keys in any case, as Go does', () => {
    const system = importDoc(oddlyCasedSystem());
    expect(system.accelerators).toEqual([
      { name: 'A100', type: 'A100', multiplicity: 1, cost: 40 },
      { name: '2xA100', type: 'A100', multiplicity: 2, cost: 80 },
    ]);
    expect(system.capacity).toEqual(new Map([['A100', 6]]));
    expect(system.models.get('llama')!.profiles.get('A100')).toEqual({
      alpha: 20,
      beta: 0.4,
      gamma: 160,
      delta: 0.01,
      maxBatchSize: 32,
      atTokens: 512,
      accCount: 1,
    });
    expect(system.serviceClasses.get('Premium')).toEqual({
      name: 'Premium',
      priority: 1,
      targets: new Map([['llama', { ttft: 500, itl: 40, tps: 0 }]]),
    });
    expect(system.servers).toEqual([
      expect.objectContaining({
        name: 'premium-llama',
        model: 'llama',
        serviceClass: 'Premium',
        load: { arrivalRate: 60, avgInTokens: 128, avgOutTokens: 1024 },
        current: { accelerator: 'A100', numReplicas: 2, cost: 80 },
        minReplicas: 1,
        keepAccelerator: true,
      }),
    ]);
    expect(system.optimizer).toMatchObject({
      unlimited: false,
      saturationPolicy: 'RoundRobin',
      delayedBestEffort: true,
      flatTargetRule: 'reference',
    });
  });

  it('fills in the reference defaults', () => {
    const system = importDoc(oddlyCasedSystem());
    // No prefillParms: no prefill time; no accCount: one unit.
    expect(system.models.get('llama')!.profiles.get('2xA100')).toMatchObject({
      gamma: 0,
      delta: 0,
      accCount: 1,
    });

    const doc = oddlyCasedSystem();
    const sys = doc.System as Record<string, unknown>;
    delete sys.OptimizerData;
    delete sys.capacitydata;
    (sys.AcceleratorData as { Accelerators: Record<string, unknown>[] }).Accelerators[1]!.multiplicity =
      undefined;
    const server = (sys.ServerData as { Servers: Record<string, unknown>[] }).Servers[0]!;
    server.Class = '';
    delete server.CurrentAlloc;
    delete server.MinNumReplicas;
    const defaults = importDoc(doc);
    expect(defaults.optimizer).toMatchObject({
      unlimited: false,
      saturationPolicy: 'None',
      delayedBestEffort: false,
    });
    expect(defaults.capacity).toEqual(new Map());
    expect(defaults.accelerators[1]!.multiplicity).toBe(1);
    expect(defaults.servers[0]).toMatchObject({
      serviceClass: 'Free',
      minReplicas: 0,
      load: { arrivalRate: 0, avgInTokens: 0, avgOutTokens: 0 },
      current: { accelerator: '', numReplicas: 0, cost: 0 },
    });
  });

  it('treats a non-positive accCount as one unit, as the reference does', () => {
    const doc = oddlyCasedSystem();
    const models = (doc.System.ModelData as { Models: Record<string, unknown>[] }).Models;
    models[0]!.AccCount = 0;
    expect(importDoc(doc).models.get('llama')!.profiles.get('A100')!.accCount).toBe(1);
  });

  it('reads the sample files\' "AvgInTokens" and "AvgOutTokens"', () => {
    const raw = readFileSync('test/fixtures/inferno/small.json', 'utf8');
    expect(raw).toContain('"AvgInTokens"');
    const system = importDoc(JSON.parse(raw));
    const server = system.servers.find((s) => s.name === 'Premium-granite_13b')!;
    expect(server.load).toEqual({ arrivalRate: 60, avgInTokens: 128, avgOutTokens: 1024 });
  });

  it('unwraps the conformance fixture wrapper', () => {
    const fixture = JSON.parse(readFileSync('test/fixtures/inferno/small.json', 'utf8')) as {
      system: { system: unknown };
      solution: unknown;
    };
    expect(isInfernoDocument(fixture)).toBe(true);
    const wrapped = importDoc(fixture);
    const bare = importDoc(fixture.system);
    expect(wrapped).toEqual(bare);
    expect(bare.servers).toHaveLength(15);
    expect(bare.accelerators).toHaveLength(6);
  });

  it('tells Inferno documents from our config', () => {
    expect(isInfernoDocument({ system: {} })).toBe(true);
    expect(isInfernoDocument({ SYSTEM: {} })).toBe(true);
    expect(isInfernoDocument({ accelerators: [] })).toBe(false);
    expect(isInfernoDocument(null)).toBe(false);
    expect(loadSystem('test/fixtures/inferno/small.json').kind).toBe('inferno');
  });

  it('rejects an unknown accelerator in modelData with the field path', () => {
    const doc = oddlyCasedSystem();
    (doc.System.ModelData.Models[1] as Record<string, unknown>).acc = 'TPU';
    expect(() => importDoc(doc, 'sys.json')).toThrow(
      new InputError('sys.json: system.modelData.models[1].acc: unknown accelerator TPU'),
    );
  });

  it('rejects a duplicate server with the field path', () => {
    const doc = oddlyCasedSystem();
    const servers = doc.System.ServerData.Servers;
    servers.push({ ...servers[0]! });
    expect(() => importDoc(doc, 'sys.json')).toThrow(
      new InputError('sys.json: system.serverData.servers[1].name: duplicate server premium-llama'),
    );
  });

  it('names the field of a bad value by its canonical path', () => {
    const doc = oddlyCasedSystem();
    doc.System.ServerData.Servers[0]!.CurrentAlloc.Load.ArrivalRate = -5;
    expect(() => importDoc(doc, 'sys.json')).toThrow(
      /^sys\.json: system\.serverData\.servers\[0\]\.currentAlloc\.load\.arrivalRate: Too small/,
    );
    const policy = oddlyCasedSystem();
    policy.System.OptimizerData.Optimizer.SaturationPolicy = 'Fair';
    expect(() => importDoc(policy, 'sys.json')).toThrow(
      /^sys\.json: system\.optimizerData\.optimizer\.saturationPolicy: /,
    );
  });

  it('rejects a document without the system sections', () => {
    expect(() => importDoc({ system: { acceleratorData: { accelerators: [] } } }, 'sys.json')).toThrow(
      /^sys\.json: system\.modelData: /,
    );
  });
});
