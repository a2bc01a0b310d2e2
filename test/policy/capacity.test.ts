/** The capacity port's pure parts: intents (versioned, validated), node counts, sizing capacity, the removal gate. */
import {
  acceleratorNeed,
  CAPACITY_VERSION,
  InvalidCapacityIntentError,
  nodesFor,
  parseCapacityIntent,
  type AcceleratorCapacity,
} from '../../lib/policy/capacity.js';
import {
  capacityDeduplicationId,
  capacityIntent,
  capacityMessageGroupId,
  removalAllowed,
  sizingCapacity,
} from '../../lib/policy/capacityPlan.js';

const intent = capacityIntent({
  pool: 'default',
  poolSequence: 7,
  now: 1_700_000_000,
  variants: ['llm/chat', 'llm/code'],
  acceleratorTypes: ['H100', 'L40S'],
  replicas: [
    { acceleratorType: 'H100', devicesPerReplica: 2, replicas: 3 },
    { acceleratorType: 'H100', devicesPerReplica: 1, replicas: 1 },
    { acceleratorType: 'H100', devicesPerReplica: 2, replicas: 1 },
  ],
});

describe('capacity intent', () => {
  it('asks per accelerator type in replicas by size and devices; types without replicas need zero', () => {
    expect(intent).toEqual({
      version: CAPACITY_VERSION,
      kind: 'capacity',
      id: 'default#7',
      pool: 'default',
      poolSequence: 7,
      issuedAt: '2023-11-14T22:13:20.000Z',
      variants: ['llm/chat', 'llm/code'],
      accelerators: [
        {
          acceleratorType: 'H100',
          replicas: [
            { devicesPerReplica: 2, replicas: 4 },
            { devicesPerReplica: 1, replicas: 1 },
          ],
          devices: 9,
        },
        { acceleratorType: 'L40S', replicas: [], devices: 0 },
      ],
    });
  });

  it('round-trips through JSON, and a bad field is named', () => {
    expect(parseCapacityIntent(JSON.stringify(intent))).toEqual(intent);
    const bad = { ...intent, accelerators: [{ ...intent.accelerators[0], devices: -1 }] };
    expect(() => parseCapacityIntent(bad)).toThrow(
      new InvalidCapacityIntentError(
        'capacity.accelerators[0].devices: Too small: expected number to be >=0',
      ),
    );
    expect(() => parseCapacityIntent({ ...intent, version: 2 })).toThrow(/capacity\.version/);
    expect(() => parseCapacityIntent('{')).toThrow('capacity intent is not JSON');
  });

  it('travels on its own message group, one per pool evaluation', () => {
    expect(capacityMessageGroupId(intent)).toBe('capacity/default');
    expect(capacityDeduplicationId(intent)).toBe('capacity.default.7');
  });
});

describe('nodesFor', () => {
  it('counts whole nodes per replica size, never fewer than the replicas need', () => {
    expect(nodesFor([{ devicesPerReplica: 2, replicas: 3 }], 4)).toBe(2);
    expect(
      nodesFor(
        [
          { devicesPerReplica: 2, replicas: 3 },
          { devicesPerReplica: 1, replicas: 1 },
        ],
        4,
      ),
    ).toBe(3);
    expect(nodesFor([{ devicesPerReplica: 3, replicas: 2 }], 4)).toBe(2);
    expect(nodesFor([], 8)).toBe(0);
    expect(nodesFor([{ devicesPerReplica: 8, replicas: 1 }], 4)).toBe(Infinity);
  });

  it('acceleratorNeed merges sizes and drops zeros', () => {
    expect(acceleratorNeed('A', [{ devicesPerReplica: 1, replicas: 0 }])).toEqual({
      acceleratorType: 'A',
      replicas: [],
      devices: 0,
    });
  });
});

describe('sizingCapacity', () => {
  const cap = (type: string, over: Partial<AcceleratorCapacity> = {}): AcceleratorCapacity => ({
    acceleratorType: type,
    devicesPerNode: 8,
    readyDevices: 16,
    startingDevices: 8,
    addableDevices: 40,
    provisioningSeconds: 300,
    ...over,
  });

  it('is unlimited with neither a configured capacity nor a provider', () => {
    expect(sizingCapacity(undefined, [])).toBeUndefined();
  });

  it('counts what the provider can reach, within the configured capacity', () => {
    expect(
      sizingCapacity(
        new Map([
          ['H100', 32],
          ['A100', 8],
        ]),
        [cap('H100'), cap('L40S')],
      ),
    ).toEqual(
      new Map([
        ['H100', 32],
        ['A100', 8],
        ['L40S', 64],
      ]),
    );
  });

  it('counts only ready devices of a type whose capacity did not arrive, so the sizing moves elsewhere', () => {
    const short = cap('H100', {
      insufficient: {
        kind: 'insufficient-capacity',
        acceleratorType: 'H100',
        reason: 'not-arrived',
        askedDevices: 24,
        availableDevices: 16,
        detail: 'out of stock',
      },
    });
    expect(sizingCapacity(undefined, [short])).toEqual(new Map([['H100', 16]]));
  });
});

describe('removalAllowed', () => {
  it('only when every variant reached the intent’s pool sequence', () => {
    expect(
      removalAllowed(
        intent,
        new Map([
          ['llm/chat', 7],
          ['llm/code', 8],
        ]),
      ),
    ).toBe(true);
    expect(
      removalAllowed(
        intent,
        new Map([
          ['llm/chat', 7],
          ['llm/code', 6],
        ]),
      ),
    ).toBe(false);
    expect(removalAllowed(intent, new Map([['llm/chat', 7]]))).toBe(false);
  });
});
