/**
 * What an HPA or a ScaledObject scales on, from the spec each version serves
 * (lib/adapters/kubernetes/scalesOn.ts), an External metric's selector and a prometheus query's
 * series among it, and the shipped deploy/advise/ examples read as acting on chat's advice, and on
 * no other variant's (lib/loop/adviceConsumers.ts). The same objects on the real kube-apiserver:
 * test/integration/kubernetes/adoption.test.ts.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { hpaScalesOn, scaledObjectScalesOn } from '../../../lib/adapters/kubernetes/index.js';
import { ADVICE_EXTERNAL_METRICS, adviceOf } from '../../../lib/loop/adviceConsumers.js';

const metric = (type: string, name: string) => ({ source: 'metric', type, name });
const external = (name: string, selector: unknown[] = []) => ({ ...metric('External', name), selector });
const CPU = [metric('Resource', 'cpu')];

/** An HPA on the advice with this selector. */
const selected = (selector: unknown) => ({
  metrics: [{ type: 'External', external: { metric: { name: 'inferno_desired_replicas', selector } } }],
});

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
        external('inferno_desired_replicas', [{ label: 'variant_name', op: '=', values: ['chat'] }]),
        metric('Object', 'requests_per_second'),
        metric('Pods', 'vllm_queue'),
        metric('Resource', 'memory'),
        metric('ContainerResource', 'cpu'),
      ],
    });
  });

  it.each(['v2', 'v2beta2'])(
    "%s: the External metric's selector, matchLabels and matchExpressions",
    (version) => {
      const selector = {
        matchLabels: { variant_name: 'chat', namespace: 'llm' },
        matchExpressions: [
          { key: 'accelerator_type', operator: 'In', values: ['L4', 'H100'] },
          { key: 'variant_name', operator: 'NotIn', values: ['chat-70b'] },
          { key: 'namespace', operator: 'Exists' },
          { key: 'stale', operator: 'DoesNotExist', values: [] },
        ],
      };
      const spec = {
        metrics: [{ type: 'External', external: { metric: { name: 'inferno_desired_replicas', selector } } }],
      };
      expect(hpaScalesOn(version, spec)).toEqual({
        scalesOn: [
          external('inferno_desired_replicas', [
            { label: 'variant_name', op: '=', values: ['chat'] },
            { label: 'namespace', op: '=', values: ['llm'] },
            { label: 'accelerator_type', op: 'In', values: ['L4', 'H100'] },
            { label: 'variant_name', op: 'NotIn', values: ['chat-70b'] },
            { label: 'namespace', op: 'Exists', values: [] },
            { label: 'stale', op: 'DoesNotExist', values: [] },
          ]),
        ],
      });
    },
  );

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
    [
      'a selector whose matchLabels are not strings',
      selected({ matchLabels: { variant_name: 8 } }),
      /^spec\.metrics\[0\]\.external\.metric\.selector\.matchLabels\.variant_name: /,
    ],
    [
      'a selector with an unknown operator',
      selected({ matchExpressions: [{ key: 'variant_name', operator: 'Equals', values: ['chat'] }] }),
      /^spec\.metrics\[0\]\.external\.metric\.selector\.matchExpressions\[0\]\.operator: /,
    ],
    [
      'an In without values',
      selected({ matchExpressions: [{ key: 'variant_name', operator: 'In' }] }),
      /^spec\.metrics\[0\]\.external\.metric\.selector\.matchExpressions\[0\]\.values: In and NotIn need values$/,
    ],
    [
      'a selector that is a string',
      selected('variant_name=chat'),
      /^spec\.metrics\[0\]\.external\.metric\.selector: /,
    ],
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
        external('inferno_desired_replicas'),
        metric('Object', 'rps'),
        metric('Pods', 'vllm_queue'),
        metric('Resource', 'cpu'),
      ],
    });
  });

  it("the External metric's metricSelector", () => {
    const spec = {
      metrics: [
        {
          type: 'External',
          external: {
            metricName: 'inferno_desired_replicas',
            metricSelector: {
              matchLabels: { variant_name: 'chat-70b' },
              matchExpressions: [{ key: 'namespace', operator: 'In', values: ['llm'] }],
            },
            targetAverageValue: '1',
          },
        },
      ],
    };
    expect(hpaScalesOn('v2beta1', spec)).toEqual({
      scalesOn: [
        external('inferno_desired_replicas', [
          { label: 'variant_name', op: '=', values: ['chat-70b'] },
          { label: 'namespace', op: 'In', values: ['llm'] },
        ]),
      ],
    });
    const bad = {
      metrics: [{ type: 'External', external: { metricName: 'x', metricSelector: { matchLabels: [] } } }],
    };
    expect(hpaScalesOn('v2beta1', bad)).toEqual({
      unread: expect.stringMatching(/^spec\.metrics\[0\]\.external\.metricSelector\.matchLabels: /),
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
        { source: 'trigger', type: 'prometheus', query: 'sum(x)', series: [{ name: 'x', matchers: [] }] },
        { source: 'trigger', type: 'cpu' },
        { source: 'trigger', type: 'kafka' },
      ],
    });
  });

  it("a prometheus query's series and their matchers; a query that does not parse is kept, its series said unread", () => {
    const query = 'max(inferno_desired_replicas{namespace="llm", variant_name=~"chat-70b"}) or vector(0)';
    const spec = {
      triggers: [
        { type: 'prometheus', metadata: { query } },
        { type: 'prometheus', metadata: { query: 'sum(inferno_desired_replicas{' } },
      ],
    };
    expect(scaledObjectScalesOn(spec)).toEqual({
      scalesOn: [
        {
          source: 'trigger',
          type: 'prometheus',
          query,
          series: [
            {
              name: 'inferno_desired_replicas',
              matchers: [
                { label: 'namespace', op: '=', values: ['llm'] },
                { label: 'variant_name', op: '=~', values: ['chat-70b'] },
              ],
            },
          ],
        },
        {
          source: 'trigger',
          type: 'prometheus',
          query: 'sum(inferno_desired_replicas{',
          queryUnread: expect.stringMatching(/^PromQL syntax error at character \d+$/),
        },
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
  const chat = { namespace: 'llm', variant: 'chat' };
  const copied = { namespace: 'llm', variant: 'chat-8b' };

  it("the HPA's External metric, and the name prometheus-adapter's rule serves it as, are accepted names; its selector picks chat's series", () => {
    const [hpa, adapter] = docs('deploy/advise/hpa-external.yaml');
    const read = hpaScalesOn('v2', hpa!.spec);
    expect('scalesOn' in read && read.scalesOn.map((s) => adviceOf(s, chat))).toEqual([{ is: 'this' }]);
    // copied onto another variant's Deployment unchanged, it reads chat's advice
    expect('scalesOn' in read && read.scalesOn.map((s) => adviceOf(s, copied))).toEqual([
      { is: 'another', matcher: { label: 'variant_name', op: '=', values: ['chat'] }, value: 'chat-8b' },
    ]);
    const rules = parseAllDocuments(adapter!.data!['config.yaml']!)[0]!.toJSON() as {
      externalRules: { name: { as: string }; resources: { overrides: Record<string, unknown> } }[];
    };
    for (const rule of rules.externalRules) {
      expect(ADVICE_EXTERNAL_METRICS).toContain(rule.name.as);
      // what lets an HPA's selector leave the namespace out: the adapter adds the HPA's own
      expect(rule.resources.overrides).toHaveProperty('namespace', { resource: 'namespace' });
    }
  });

  it("the ScaledObject's prometheus query reads inferno_desired_replicas of chat in llm", () => {
    const [so] = docs('deploy/advise/keda-scaledobject.yaml');
    const read = scaledObjectScalesOn(so!.spec);
    expect('scalesOn' in read && read.scalesOn.map((s) => adviceOf(s, chat))).toEqual([{ is: 'this' }]);
    expect('scalesOn' in read && read.scalesOn.map((s) => adviceOf(s, copied)?.is)).toEqual(['another']);
  });
});
