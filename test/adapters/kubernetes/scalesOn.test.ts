/**
 * What an HPA or a ScaledObject scales on, from the spec each version serves
 * (lib/adapters/kubernetes/scalesOn.ts), and the shipped deploy/advise/ examples read as acting on
 * the advice (lib/loop/adviceConsumers.ts). The same objects on the real kube-apiserver:
 * test/integration/kubernetes/adoption.test.ts.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { hpaScalesOn, scaledObjectScalesOn } from '../../../lib/adapters/kubernetes/index.js';
import { ADVICE_EXTERNAL_METRICS, onAdvice } from '../../../lib/loop/adviceConsumers.js';

const metric = (type: string, name: string) => ({ source: 'metric', type, name });
const CPU = [metric('Resource', 'cpu')];

describe('HPA, autoscaling/v2 and v2beta2: spec.metrics[] with metric.name', () => {
  const spec = {
    scaleTargetRef: { kind: 'Deployment', name: 'chat' },
    metrics: [
      {
        type: 'External',
        external: {
          metric: { name: 'inferno_desired_replicas', selector: { matchLabels: { variant_name: 'chat' } } },
          target: { type: 'AverageValue', averageValue: '1' },
        },
      },
      {
        type: 'Object',
        object: {
          metric: { name: 'requests_per_second' },
          describedObject: { kind: 'Service', name: 'chat' },
          target: { type: 'Value', value: '10' },
        },
      },
      { type: 'Pods', pods: { metric: { name: 'vllm_queue' }, target: { type: 'AverageValue' } } },
      { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization' } } },
      { type: 'ContainerResource', containerResource: { name: 'cpu', container: 'vllm', target: {} } },
    ],
  };

  it.each(['v2', 'v2beta2'])('%s: each type its name', (version) => {
    expect(hpaScalesOn(version, spec)).toEqual({
      scalesOn: [
        metric('External', 'inferno_desired_replicas'),
        metric('Object', 'requests_per_second'),
        metric('Pods', 'vllm_queue'),
        metric('Resource', 'memory'),
        metric('ContainerResource', 'cpu'),
      ],
    });
  });

  it('no metrics, or none listed: the controller scales on CPU', () => {
    expect(hpaScalesOn('v2', { scaleTargetRef: { name: 'chat' } })).toEqual({ scalesOn: CPU });
    expect(hpaScalesOn('v2beta2', { metrics: [] })).toEqual({ scalesOn: CPU });
  });

  it.each([
    [
      'an External metric without its name',
      { metrics: [{ type: 'External', external: { metric: {} } }] },
      /^spec\.metrics\[0\]\.external\.metric\.name: /,
    ],
    [
      'v2beta1 fields read as v2',
      { metrics: [{ type: 'External', external: { metricName: 'inferno_desired_replicas' } }] },
      /^spec\.metrics\[0\]\.external\.metric: /,
    ],
    ['an unknown type', { metrics: [{ type: 'Sideways' }] }, /^spec\.metrics\[0\]\.type: /],
    ['metrics not a list', { metrics: 'cpu' }, /^spec\.metrics: /],
    ['the spec not an object', 'cpu', /^spec: /],
  ])('malformed, %s: not read, the field named, no throw', (_, bad, field) => {
    const read = hpaScalesOn('v2', bad);
    expect(read).toEqual({ unread: expect.stringMatching(field) });
  });
});

describe('HPA, autoscaling/v2beta1: metricName', () => {
  it('each type its name', () => {
    const spec = {
      metrics: [
        { type: 'External', external: { metricName: 'inferno_desired_replicas', targetAverageValue: '1' } },
        { type: 'Object', object: { metricName: 'rps', target: { kind: 'Service', name: 'chat' } } },
        { type: 'Pods', pods: { metricName: 'vllm_queue', targetAverageValue: '5' } },
        { type: 'Resource', resource: { name: 'cpu', targetAverageUtilization: 80 } },
      ],
    };
    expect(hpaScalesOn('v2beta1', spec)).toEqual({
      scalesOn: [
        metric('External', 'inferno_desired_replicas'),
        metric('Object', 'rps'),
        metric('Pods', 'vllm_queue'),
        metric('Resource', 'cpu'),
      ],
    });
  });

  it('v2 fields read as v2beta1: not read', () => {
    const spec = {
      metrics: [{ type: 'External', external: { metric: { name: 'inferno_desired_replicas' } } }],
    };
    expect(hpaScalesOn('v2beta1', spec)).toEqual({
      unread: expect.stringMatching(/^spec\.metrics\[0\]\.external\.metricName: /),
    });
  });
});

describe('HPA, autoscaling/v1: CPU only', () => {
  it('with or without a target utilisation', () => {
    expect(hpaScalesOn('v1', { targetCPUUtilizationPercentage: 60 })).toEqual({ scalesOn: CPU });
    expect(hpaScalesOn('v1', { scaleTargetRef: { name: 'chat' } })).toEqual({ scalesOn: CPU });
  });

  it('a target that is not a percentage: not read', () => {
    expect(hpaScalesOn('v1', { targetCPUUtilizationPercentage: '60%' })).toEqual({
      unread: expect.stringMatching(/^spec\.targetCPUUtilizationPercentage: /),
    });
  });

  it('a version sva does not read: said so', () => {
    expect(hpaScalesOn('v3', {})).toEqual({ unread: 'autoscaling/v3 is not a version sva reads' });
  });
});

describe('ScaledObject: spec.triggers[]', () => {
  it('each trigger its type; a prometheus trigger its query', () => {
    const spec = {
      triggers: [
        { type: 'prometheus', metadata: { serverAddress: 'http://p:9090', query: 'sum(x)', threshold: '1' } },
        { type: 'cpu', metricType: 'Utilization', metadata: { value: '60' } },
        { type: 'kafka', metadata: { topic: 'jobs' } },
      ],
    };
    expect(scaledObjectScalesOn(spec)).toEqual({
      scalesOn: [
        { source: 'trigger', type: 'prometheus', query: 'sum(x)' },
        { source: 'trigger', type: 'cpu' },
        { source: 'trigger', type: 'kafka' },
      ],
    });
  });

  it.each([
    [
      'a prometheus trigger without a query',
      { triggers: [{ type: 'prometheus', metadata: {} }] },
      /^spec\.triggers\[0\]\.metadata\.query: a prometheus trigger needs a query$/,
    ],
    ['no triggers', { triggers: [] }, /^spec\.triggers: /],
    ['triggers missing', {}, /^spec\.triggers: /],
    ['a trigger without a type', { triggers: [{ metadata: {} }] }, /^spec\.triggers\[0\]\.type: /],
  ])('malformed, %s: not read, the field named', (_, bad, field) => {
    expect(scaledObjectScalesOn(bad)).toEqual({ unread: expect.stringMatching(field) });
  });
});

describe('the shipped deploy/advise/ examples act on the advice', () => {
  const docs = (path: string) =>
    parseAllDocuments(readFileSync(resolve(path), 'utf8')).map(
      (d) => d.toJSON() as { kind: string; spec: unknown; data?: Record<string, string> },
    );

  it("the HPA's External metric, and the name prometheus-adapter's rule serves it as, are accepted names", () => {
    const [hpa, adapter] = docs('deploy/advise/hpa-external.yaml');
    const read = hpaScalesOn('v2', hpa!.spec);
    expect('scalesOn' in read && read.scalesOn.map(onAdvice)).toEqual([true]);
    const rules = parseAllDocuments(adapter!.data!['config.yaml']!)[0]!.toJSON() as {
      externalRules: { name: { as: string } }[];
    };
    for (const rule of rules.externalRules) expect(ADVICE_EXTERNAL_METRICS).toContain(rule.name.as);
  });

  it("the ScaledObject's prometheus query reads inferno_desired_replicas", () => {
    const [so] = docs('deploy/advise/keda-scaledobject.yaml');
    const read = scaledObjectScalesOn(so!.spec);
    expect('scalesOn' in read && read.scalesOn.map(onAdvice)).toEqual([true]);
  });
});
