/**
 * A disaggregated variant in the config: parsed into `disaggregated` (never among the
 * single-Deployment variants), its roles' Deployments named, and every mistake an error naming
 * the field.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { InputError, parseConfig } from '../../lib/config/index.js';
import { roleAccelerators, roleDeployment, roleStartup } from '../../lib/config/roles.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;
const example = (): Doc => parse(readFileSync('config/disaggregated.yaml', 'utf8'));

function errorOf(mutate: (doc: Doc) => void): string {
  const doc = example();
  mutate(doc);
  try {
    parseConfig(doc, 'x.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('parsed');
}

describe('disaggregated variants in the config', () => {
  it('parses the example: the aggregated variant stays among variants, the one with roles moves to disaggregated', () => {
    const config = parseConfig(example(), 'config/disaggregated.yaml');
    expect(config.variants.map((v) => v.name)).toEqual(['code-70b']);
    const v = config.disaggregated![0]!;
    expect(v.name).toBe('code-70b-pd');
    expect(v.roles.ratio).toEqual({ max: 8 });
    expect(roleAccelerators(config, v, 'decode')).toEqual(['4xA100', '4xH100']);
    expect(roleDeployment(config, v, 'prefill', '4xH100')).toBe('code-70b-pd-prefill-4xh100');
    expect(config.kvTransfer).toEqual({ bandwidthGBps: 25, latencyMs: 5 });
    expect(roleStartup(config, v, 'decode').weightsLoadSeconds).toBeCloseTo(131 / (52 / 62), 6);
  });

  it('a config without roles has no disaggregated list', () => {
    const doc = example();
    doc.variants = [doc.variants[0]];
    expect(parseConfig(doc, 'x.yaml').disaggregated).toBeUndefined();
  });

  it('names a single-accelerator role Deployment name-role, and honours an explicit one', () => {
    const doc = example();
    doc.variants[1].roles.decode.accelerators = ['4xH100'];
    doc.variants[1].roles.prefill.deployments = { '4xA100': 'pf-a100' };
    const config = parseConfig(doc, 'x.yaml');
    const v = config.disaggregated![0]!;
    expect(roleDeployment(config, v, 'decode', '4xH100')).toBe('code-70b-pd-decode');
    expect(roleDeployment(config, v, 'prefill', '4xA100')).toBe('pf-a100');
  });

  it.each([
    [
      'the model has no kvBytesPerToken',
      (d: Doc) => delete d.models[0].kvBytesPerToken,
      'variants[1].roles',
      'kvBytesPerToken',
    ],
    ['no kvTransfer', (d: Doc) => delete d.kvTransfer, 'kvTransfer', 'required by the disaggregated variant'],
    [
      'accelerators beside roles',
      (d: Doc) => (d.variants[1].accelerators = ['4xH100']),
      'variants[1].accelerators',
      'per role',
    ],
    [
      'maxReplicas beside roles',
      (d: Doc) => (d.variants[1].maxReplicas = 3),
      'variants[1].maxReplicas',
      'per role',
    ],
    [
      'an unknown role accelerator',
      (d: Doc) => (d.variants[1].roles.decode.accelerators = ['L4']),
      'variants[1].roles.decode.accelerators',
      'unknown accelerator L4',
    ],
    [
      'a role max below its min',
      (d: Doc) => (d.variants[1].roles.prefill.minReplicas = 20),
      'variants[1].roles.prefill.maxReplicas',
      'must be >= minReplicas (20)',
    ],
    [
      'a ratio max below its min',
      (d: Doc) => (d.variants[1].roles.ratio = { min: 2, max: 1 }),
      'variants[1].roles.ratio.max',
      'must be >= min (2)',
    ],
    [
      'a negative ratio',
      (d: Doc) => (d.variants[1].roles.ratio = { min: -1 }),
      'variants[1].roles.ratio.min',
      '',
    ],
    [
      'an unknown role field',
      (d: Doc) => (d.variants[1].roles.decode.replicas = 3),
      'variants[1].roles.decode',
      'replicas',
    ],
    ['a zero bandwidth', (d: Doc) => (d.kvTransfer.bandwidthGBps = 0), 'kvTransfer.bandwidthGBps', ''],
    [
      'both roles on one Deployment',
      (d: Doc) => {
        d.variants[1].roles.prefill.deployments = { '4xH100': 'shared' };
        d.variants[1].roles.decode.deployments = { '4xH100': 'shared' };
      },
      'variants[1].roles.decode.deployments.4xH100',
      "also the prefill role's",
    ],
    [
      'a Deployment for an accelerator the role may not use',
      (d: Doc) => {
        d.variants[1].roles.decode.accelerators = ['4xH100'];
        d.variants[1].roles.decode.deployments = { '4xA100': 'dec' };
      },
      'variants[1].roles.decode.deployments.4xA100',
      'not an accelerator the decode role may use',
    ],
  ])('rejects %s, naming the field', (_what, mutate, field, message) => {
    const error = errorOf(mutate);
    expect(error).toContain(field);
    expect(error).toContain(message);
  });
});
