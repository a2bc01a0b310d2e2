/** The pool's capacity provider in the config: chosen by kind, each mistake named by its field. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import {
  capacityProviderOf,
  consolidateAfterSecondsOf,
  karpenterDurationSeconds,
} from '../../lib/config/capacityProvider.js';
import { allowedAccelerators, provisioningSeconds } from '../../lib/config/resolved.js';
import { expectedStartupSeconds } from '../../lib/config/startup.js';
import { leadSeconds } from '../../lib/policy/window.js';
import { InputError, loadConfig } from '../../lib/config/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sva-capacity-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function load(mutate: (doc: Doc) => void) {
  const doc = parse(readFileSync('test/fixtures/config/realistic.yaml', 'utf8'));
  mutate(doc);
  const file = join(dir, `c${++files}.yaml`);
  writeFileSync(file, stringify(doc));
  return loadConfig(file);
}
function detail(mutate: (doc: Doc) => void): string {
  try {
    load(mutate);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    const m = (err as Error).message;
    return m.slice(m.indexOf(': ') + 2);
  }
  throw new Error('loaded without error');
}

const karpenter = {
  kind: 'karpenter',
  nodePools: [{ name: 'gpu-h100', acceleratorType: 'H100', devicesPerNode: 8, maxDevicesLimit: 64 }],
};

describe('capacityProvider', () => {
  it('defaults to managed node groups when there are node groups, none otherwise', () => {
    const withGroups = load(
      (d) => (d.nodeGroups = [{ name: 'h100', acceleratorType: 'H100', gpusPerNode: 8, maxNodes: 4 }]),
    );
    expect(capacityProviderOf(withGroups)).toEqual({
      kind: 'managed-node-groups',
      deviceResource: 'nvidia.com/gpu',
    });
    expect(capacityProviderOf(load((d) => (d.nodeGroups = [])))).toEqual({
      kind: 'none',
      deviceResource: 'nvidia.com/gpu',
    });
  });

  it('a Karpenter pool with its NodePools, defaults filled in', () => {
    const config = load((d) => (d.capacityProvider = karpenter));
    expect(capacityProviderOf(config)).toEqual({
      kind: 'karpenter',
      deviceResource: 'nvidia.com/gpu',
      nodePools: [
        {
          name: 'gpu-h100',
          acceleratorType: 'H100',
          devicesPerNode: 8,
          provisioningSeconds: 120,
          maxDevicesLimit: 64,
          consolidateAfter: '0s',
        },
      ],
    });
  });

  it("takes a NodePool's consolidateAfter in Karpenter's format, for the node group of its name or type", () => {
    expect([karpenterDurationSeconds('0s'), karpenterDurationSeconds('5m')]).toEqual([0, 300]);
    expect(karpenterDurationSeconds('1h30m15s')).toBe(5415);
    expect(karpenterDurationSeconds('Never')).toBe(Infinity);
    const pool = (consolidateAfter: string) => ({ ...karpenter.nodePools[0], consolidateAfter });
    expect(detail((d) => (d.capacityProvider = { ...karpenter, nodePools: [pool('5 minutes')] }))).toBe(
      'capacityProvider.nodePools[0].consolidateAfter: must be a duration like 30s, 5m, 1h30m, or Never',
    );
    const config = load((d) => (d.capacityProvider = { ...karpenter, nodePools: [pool('5m')] }));
    const provider = capacityProviderOf(config);
    expect(consolidateAfterSecondsOf(provider, { name: 'gpu-h100', acceleratorType: 'A100' })).toBe(300);
    expect(consolidateAfterSecondsOf(provider, { name: 'other', acceleratorType: 'H100' })).toBe(300);
    expect(consolidateAfterSecondsOf(provider, { name: 'other', acceleratorType: 'L4' })).toBeNull();
    // node groups resized through their API: removed when asked, no delay
    expect(
      consolidateAfterSecondsOf(capacityProviderOf({ nodeGroups: [{}] }), {
        name: 'gpu-h100',
        acceleratorType: 'H100',
      }),
    ).toBeNull();
  });

  it('names the field at fault', () => {
    expect(detail((d) => (d.capacityProvider = { kind: 'gke' }))).toMatch(/^capacityProvider\.kind: /);
    expect(detail((d) => (d.capacityProvider = { kind: 'karpenter' }))).toBe(
      'capacityProvider.nodePools: karpenter needs at least one NodePool',
    );
    expect(
      detail(
        (d) =>
          (d.capacityProvider = {
            ...karpenter,
            nodePools: [{ ...karpenter.nodePools[0], acceleratorType: 'TPU' }],
          }),
      ),
    ).toBe('capacityProvider.nodePools[0].acceleratorType: unknown accelerator type TPU');
    expect(
      detail(
        (d) =>
          (d.capacityProvider = {
            ...karpenter,
            nodePools: [karpenter.nodePools[0], karpenter.nodePools[0]],
          }),
      ),
    ).toBe('capacityProvider.nodePools[1].name: duplicate NodePool gpu-h100');
    expect(
      detail((d) => {
        d.nodeGroups = [{ name: 'h100', acceleratorType: 'H100', gpusPerNode: 8, maxNodes: 4 }];
        d.capacityProvider = { kind: 'managed-node-groups', nodePools: [] };
      }),
    ).toBe('capacityProvider.nodePools: not used by managed-node-groups');
    expect(
      detail((d) => {
        d.nodeGroups = [];
        d.capacityProvider = { kind: 'managed-node-groups' };
      }),
    ).toBe('capacityProvider.kind: managed-node-groups needs at least one entry in nodeGroups');
    expect(
      detail(
        (d) =>
          (d.capacityProvider = {
            ...karpenter,
            nodePools: [{ ...karpenter.nodePools[0], devicesPerNode: 0 }],
          }),
      ),
    ).toMatch(/^capacityProvider\.nodePools\[0\]\.devicesPerNode: /);
  });
});

describe('provisioning time of a Karpenter pool', () => {
  it('counts the NodePools’ provisioningSeconds for the lead time', () => {
    const config = load((d) => {
      d.nodeGroups = [];
      d.capacityProvider = {
        kind: 'karpenter',
        nodePools: [
          { name: 'gpu-h100', acceleratorType: 'H100', devicesPerNode: 8, provisioningSeconds: 420 },
        ],
      };
    });
    expect(provisioningSeconds(config, 'H100')).toBe(420);
    expect(provisioningSeconds(config, 'L4')).toBe(0);
    // and the policy's lead time is that node plus the replica's own start
    const v = config.variants.find((x) => allowedAccelerators(config, x).includes('H100'))!;
    const replica = expectedStartupSeconds(config, v, 'H100', { newNode: false, imageCached: false });
    expect(leadSeconds(config, v, 'H100')).toBe(420 + replica);
  });
});
