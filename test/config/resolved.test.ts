/** The resolved config: the questions asked of a config, answered from its maps by name. */
import {
  acceleratorNamed,
  arrivalStepsAsked,
  acceleratorsOfType,
  acceleratorType,
  allowedAccelerators,
  deploymentName,
  devicesPerReplica,
  nodeGroupsOfType,
  profileOf,
  provisioningSeconds,
  resolveConfig,
  targetsOf,
  variantByKey,
} from '../../lib/config/resolved.js';
import { BIG, CHAT, poolConfig } from '../policy/helpers.js';

const config = poolConfig({
  variants: [
    { ...CHAT, accelerator: undefined },
    BIG,
    { ...CHAT, name: 'pinned', deployments: { L4: 'custom' } },
  ],
  nodeGroups: [
    { name: 'gpu-h100-a', acceleratorType: 'H100', gpusPerNode: 8, maxNodes: 2, provisioningSeconds: 120 },
    { name: 'gpu-l4', acceleratorType: 'L4', gpusPerNode: 1, maxNodes: 20, provisioningSeconds: 60 },
    { name: 'gpu-h100-b', acceleratorType: 'H100', gpusPerNode: 8, maxNodes: 2, provisioningSeconds: 300 },
  ],
});
const [chat, big, pinned] = config.variants as [
  (typeof config.variants)[number],
  (typeof config.variants)[number],
  (typeof config.variants)[number],
];

describe('resolved config', () => {
  it('is built once per config object', () => {
    expect(resolveConfig(config)).toBe(resolveConfig(config));
    expect(resolveConfig(poolConfig())).not.toBe(resolveConfig(config));
  });

  it('finds variants by key and accelerators, profiles and targets by name', () => {
    expect(variantByKey(config, 'llm/big')).toBe(big);
    expect(variantByKey(config, 'other/big')).toBeUndefined();
    expect(acceleratorNamed(config, '4xH100')).toMatchObject({ type: 'H100', multiplicity: 4 });
    expect(profileOf(config, big, '4xH100')).toMatchObject({ alpha: 28.3 });
    expect(profileOf(config, big, 'L4')).toBeUndefined();
    expect(targetsOf(config, chat)).toMatchObject({ ttftMs: 3000, itlMs: 60 });
    // a class the config does not define: no targets
    expect(targetsOf(config, { ...pinned, serviceClass: 'none' })).toEqual({ ttftMs: 0, itlMs: 0, tps: 0 });
  });

  it('answers the questions about accelerators and deployments', () => {
    expect(allowedAccelerators(config, chat)).toEqual(['H100', 'L4']);
    expect(allowedAccelerators(config, pinned)).toEqual(['L4']);
    expect(acceleratorType(config, '4xH100')).toBe('H100');
    expect(acceleratorType(config, 'L4')).toBe('L4');
    expect(acceleratorType(config, 'TPU')).toBeUndefined();
    expect(devicesPerReplica(config, big, '4xH100')).toBe(4);
    expect(acceleratorsOfType(config, 'H100').map((a) => a.name)).toEqual(['H100', '4xH100']);
    expect(deploymentName(config, chat, 'H100')).toBe('chat-h100');
    expect(deploymentName(config, big, '4xH100')).toBe('big');
    expect(deploymentName(config, pinned, 'L4')).toBe('custom');
  });

  it('gives node groups by type in config order, and the slowest provisioning of a type', () => {
    expect(nodeGroupsOfType(config, 'H100').map((g) => g.name)).toEqual(['gpu-h100-a', 'gpu-h100-b']);
    expect(nodeGroupsOfType(config, undefined)).toEqual([]);
    expect(provisioningSeconds(config, '4xH100')).toBe(300);
    expect(provisioningSeconds(config, 'TPU')).toBe(0);
  });
});

describe('arrivalStepsAsked', () => {
  test('the per-step counts are asked for when the burst sizing is on for TTFT, for ITL, or both; not otherwise', () => {
    const asked = { arrivalSteps: { stepSeconds: 15, lookbackSeconds: 900 } };
    expect(arrivalStepsAsked(poolConfig())).toEqual({});
    expect(arrivalStepsAsked(poolConfig({ policy: { burstSizing: { enabled: true } } }))).toEqual(asked);
    expect(arrivalStepsAsked(poolConfig({ policy: { burstSizing: { itl: true } } }))).toEqual(asked);
    expect(
      arrivalStepsAsked(
        poolConfig({ policy: { burstSizing: { enabled: true, itl: true, stepSeconds: 30 } } }),
      ),
    ).toEqual({ arrivalSteps: { stepSeconds: 30, lookbackSeconds: 900 } });
  });
});
