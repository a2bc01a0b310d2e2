/**
 * Configs that parse but name nothing Kubernetes, EKS or SQS would accept, or describe nothing
 * the optimizer can size, or try to exhaust the parser: each is one InputError naming the file
 * and the field. Each case is the realistic fixture with one thing broken.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { InputError, loadConfig, loadSystem } from '../../lib/config/index.js';
import { configWarnings } from '../../lib/config/plausible.js';
import { deploymentName } from '../../lib/config/resolved.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

const realistic = (): Doc => parse(readFileSync('test/fixtures/config/realistic.yaml', 'utf8'));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sva-hostile-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeDoc(name: string, mutate: (doc: Doc) => void): string {
  const doc = realistic();
  mutate(doc);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

/** The message after the file name, of the one-line InputError loading the broken config gives. */
function errorFor(name: string, mutate: (doc: Doc) => void, load: (f: string) => unknown = loadConfig) {
  const file = writeDoc(name, mutate);
  try {
    load(file);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    const message = (err as Error).message;
    expect(message.startsWith(`${file}: `)).toBe(true);
    expect(message).not.toContain('\n');
    return message.slice(file.length + 2);
  }
  throw new Error(`${name}: loaded without error`);
}

describe('Kubernetes names are checked as Kubernetes checks them', () => {
  it.each([
    ['upper case', 'LLM'],
    ['a dot (a subdomain, not a label)', 'llm.prod'],
    ['a leading dash', '-llm'],
    ['64 characters', 'n'.repeat(64)],
    ['a path', '../kube-system'],
  ])('namespace with %s', (_, namespace) => {
    expect(
      errorFor(`ns-${namespace.length}`, (d) => {
        d.variants[0].namespace = namespace;
      }),
    ).toMatch(/^variants\[0\]\.namespace: must be (a DNS-1123 label|at most 63 characters)/);
  });

  it.each([
    ['upper case', 'Chat-8B'],
    ['an underscore', 'chat_8b'],
    ['a slash', 'chat/8b'],
    ['an empty dot-separated part', 'chat..8b'],
  ])('variant name with %s', (_, name) => {
    expect(
      errorFor(`variant-${name.length}`, (d) => {
        d.variants[0].name = name;
      }),
    ).toMatch(/^variants\[0\]\.name: must be a DNS-1123 subdomain/);
  });

  it('a dotted variant name is a valid Deployment name', () => {
    const file = writeDoc('dotted', (d) => {
      d.variants[0].name = 'chat-8b.v2';
    });
    expect(loadConfig(file).variants[0]!.name).toBe('chat-8b.v2');
  });

  it('explicit Deployment names', () => {
    expect(
      errorFor('deployment', (d) => {
        d.variants[1].deployments = { L4: 'Batch_L4' };
      }),
    ).toMatch(/^variants\[1\]\.deployments\.L4: must be a DNS-1123 subdomain/);
  });

  it('a Deployment name derived from the variant and the accelerator', () => {
    // An accelerator named only with punctuation leaves "batch-8b-", which apply would send to a 422.
    const detail = errorFor('derived', (d) => {
      d.accelerators.push({ name: '++', costPerHour: 1 });
      d.models[0].profiles['++'] = { alpha: 5, beta: 0.1, maxBatchSize: 8, atTokens: 512 };
      d.variants[0].accelerator = 'L40S'; // so only variant 1 may run on it
      d.variants[1].accelerators = ['L4', '++'];
    });
    expect(detail).toMatch(
      /^variants\[1\]\.name: the Deployment name derived for accelerator \+\+, "batch-8b-", must be a DNS-1123 subdomain.*; give it in deployments\.\+\+$/,
    );
  });

  it('an explicit Deployment name spares the derivation', () => {
    const file = writeDoc('derived-explicit', (d) => {
      d.accelerators.push({ name: '++', costPerHour: 1 });
      d.models[0].profiles['++'] = { alpha: 5, beta: 0.1, maxBatchSize: 8, atTokens: 512 };
      d.variants[0].accelerator = 'L40S'; // so only variant 1 may run on it
      d.variants[1].accelerators = ['L4', '++'];
      d.variants[1].deployments = { '++': 'batch-8b-plus' };
    });
    expect(loadConfig(file).variants[1]!.deployments).toEqual({ '++': 'batch-8b-plus' });
  });

  it('the derived names checked are the ones the policy derives', () => {
    const config = loadConfig('test/fixtures/config/realistic.yaml');
    const v = config.variants[2]!;
    expect(deploymentName(config, v, '4xA100')).toBe(`${v.name}-4xa100`);
  });

  it('namespace and name too long together for an SQS message group', () => {
    expect(
      errorFor('key', (d) => {
        d.variants[0].namespace = 'n'.repeat(63);
        d.variants[0].name = 'v'.repeat(60);
      }),
    ).toMatch(/^variants\[0\]\.name: namespace and name take 123 characters together, more than 110/);
  });

  it('node group names are EKS node group names', () => {
    expect(
      errorFor('nodegroup', (d) => {
        d.nodeGroups = [{ name: 'gpu nodes', acceleratorType: 'L4', gpusPerNode: 1, maxNodes: 4 }];
      }),
    ).toMatch(/^nodeGroups\[0\]\.name: must be an EKS node group name/);
  });
});

describe('values nothing can be sized from', () => {
  it('a profile whose times are all zero', () => {
    expect(
      errorFor('zero-profile', (d) => {
        Object.assign(d.models[0].profiles.L4, { alpha: 0, beta: 0, gamma: 0, delta: 0 });
      }),
    ).toMatch(/^models\[0\]\.profiles\.L4\.alpha: alpha and beta are both 0/);
  });

  it('a profile with prefill time but none for decoding', () => {
    expect(
      errorFor('zero-decode', (d) => {
        Object.assign(d.models[0].profiles.L4, { alpha: 0, beta: 0 });
      }),
    ).toMatch(/^models\[0\]\.profiles\.L4\.alpha: /);
  });

  it('an arrival rate of 1e308', () => {
    expect(
      errorFor(
        'huge-rate',
        (d) => {
          d.variants[2].load.arrivalRate = 1e308;
        },
        loadSystem,
      ),
    ).toBe(
      'variants[2].load.arrivalRate: must be at most 1000000 requests per second: larger values are beyond any real fleet',
    );
  });

  it('an infinite arrival rate (YAML .inf)', () => {
    const file = join(dir, 'inf.yaml');
    writeFileSync(
      file,
      readFileSync('test/fixtures/config/realistic.yaml', 'utf8').replace(
        'arrivalRate: 2,',
        'arrivalRate: .inf,',
      ),
    );
    expect(() => loadConfig(file)).toThrow(/variants\[2\]\.load\.arrivalRate: .*Infinity/);
  });

  it('absurd token counts and times', () => {
    expect(
      errorFor('tokens', (d) => {
        d.variants[0].load.avgInputTokens = 1e200;
      }),
    ).toMatch(/^variants\[0\]\.load\.avgInputTokens: must be at most/);
    expect(
      errorFor('alpha', (d) => {
        d.models[0].profiles.L4.alpha = 1e300;
      }),
    ).toMatch(/^models\[0\]\.profiles\.L4\.alpha: must be at most/);
  });

  it('no variants', () => {
    expect(
      errorFor('no-variants', (d) => {
        d.variants = [];
      }),
    ).toBe('variants: at least one variant: there is nothing to size without one');
  });

  it('costs of zero are legitimate, and warned about', () => {
    const file = writeDoc('free', (d) => {
      d.accelerators[0].costPerHour = 0;
    });
    expect(configWarnings(loadConfig(file))).toEqual([
      {
        field: 'accelerators[0].costPerHour',
        message: 'L4 costs 0: the optimizer cannot weigh its allocations by cost',
      },
    ]);
    expect(configWarnings(loadConfig('test/fixtures/config/realistic.yaml'))).toEqual([]);
  });
});

describe('hostile YAML', () => {
  it('a billion-laughs alias bomb is the one-line error', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    const names = 'abcdefghi';
    for (let i = 1; i < names.length; i++) {
      const prev = `*${names[i - 1]}`;
      lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(prev).join(',')}]`);
    }
    const file = join(dir, 'bomb.yaml');
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect(() => loadConfig(file)).toThrow(InputError);
    expect(() => loadConfig(file)).toThrow(
      new RegExp(`^${file}: invalid YAML: Excessive alias count indicates a resource exhaustion attack$`),
    );
  });
});
