/**
 * Time to new capacity, phase by phase (lib/config/startup.ts): the defaults are the published
 * field figures, the old one-phase fields still load, and a bad phase names its field.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { InputError, loadConfig, type Config } from '../../lib/config/index.js';
import {
  expectedStartupSeconds,
  nodeStartup,
  replicaStartup,
  FIELD_STARTUP,
} from '../../lib/config/startup.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sva-startup-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The realistic fixture with every start-up field removed, then `mutate`d. */
function load(mutate: (doc: Doc) => void = () => {}): Config {
  const doc = parse(readFileSync('test/fixtures/config/realistic.yaml', 'utf8'));
  for (const v of doc.variants) delete v.startupSeconds;
  doc.nodeGroups = [{ name: 'gpu-h100', acceleratorType: 'H100', gpusPerNode: 8, maxNodes: 4 }];
  mutate(doc);
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(doc));
  return loadConfig(file);
}

describe('start-up phases', () => {
  test('defaults are the phases of the cold start measured in kaito issue 2325 (842 of its 966 s)', () => {
    const config = load();
    const v = config.variants[0]!;
    const group = config.nodeGroups[0]!;
    expect(nodeStartup(group)).toEqual({ provisioningSeconds: 284, nodeInitSeconds: 126 });
    const r = replicaStartup(config, v);
    expect(r.imagePullSeconds).toBe(101);
    expect(r.frameworkStartSeconds).toBe(74);
    expect(r.weightsLoadSeconds).toBe(62); // no weight size given: the measured load
    expect(r.engineInitSeconds).toBe(195);
    expect(expectedStartupSeconds(config, v, 'H100', { newNode: true, imageCached: false })).toBe(842);
    expect(FIELD_STARTUP.provisioningSeconds + FIELD_STARTUP.nodeInitSeconds).toBe(410);
  });

  test('a ready node: no provisioning; an image already there: no pull', () => {
    const config = load();
    const v = config.variants[0]!;
    const acc = 'H100';
    expect(expectedStartupSeconds(config, v, acc, { newNode: false, imageCached: false })).toBe(
      101 + 74 + 62 + 195,
    );
    expect(expectedStartupSeconds(config, v, acc, { newNode: false, imageCached: true })).toBe(74 + 62 + 195);
    // a new node never has the image
    expect(expectedStartupSeconds(config, v, acc, { newNode: true, imageCached: true })).toBe(842);
  });

  test("weights load = the model's weightsGiB over the variant's bandwidth", () => {
    const config = load((d) => {
      d.models[0].weightsGiB = 16;
      d.variants[0].startup = { weightsLoadGiBPerSecond: 2, imagePullSeconds: 30 };
    });
    const r = replicaStartup(config, config.variants[0]!);
    expect(r.weightsLoadSeconds).toBe(8);
    expect(r.imagePullSeconds).toBe(30);
    expect(r.engineInitSeconds).toBe(195); // unspecified phases keep their defaults
  });

  test('the one-phase shorthands still load and mean the whole time', () => {
    const config = load((d) => {
      d.variants[0].startupSeconds = 60;
      d.nodeGroups[0].provisioningSeconds = 90;
    });
    const v = config.variants[0]!;
    expect(nodeStartup(config.nodeGroups[0]!)).toEqual({ provisioningSeconds: 90, nodeInitSeconds: 0 });
    const acc = 'H100';
    expect(expectedStartupSeconds(config, v, acc, { newNode: false, imageCached: true })).toBe(60);
    expect(expectedStartupSeconds(config, v, acc, { newNode: true, imageCached: false })).toBe(90 + 60);
  });

  test('errors name the field', () => {
    const message = (mutate: (doc: Doc) => void) => {
      try {
        load(mutate);
      } catch (err) {
        expect(err).toBeInstanceOf(InputError);
        return (err as Error).message;
      }
      throw new Error('loaded without error');
    };
    expect(message((d) => (d.variants[0].startup = { engineInitSeconds: -1 }))).toMatch(
      /variants\[0\]\.startup\.engineInitSeconds/,
    );
    expect(message((d) => (d.nodeGroups[0].startup = { provisionSeconds: 10 }))).toMatch(
      /nodeGroups\[0\]\.startup/,
    );
    expect(
      message((d) => {
        d.variants[0].startupSeconds = 60;
        d.variants[0].startup = {};
      }),
    ).toMatch(/variants\[0\]\.startupSeconds: give either startupSeconds \(one phase\) or startup/);
    expect(
      message((d) => {
        d.nodeGroups[0].provisioningSeconds = 60;
        d.nodeGroups[0].startup = { nodeInitSeconds: 10 };
      }),
    ).toMatch(/nodeGroups\[0\]\.provisioningSeconds: give either/);
    expect(message((d) => (d.models[0].weightsGiB = 0))).toMatch(/models\[0\]\.weightsGiB/);
  });
});
