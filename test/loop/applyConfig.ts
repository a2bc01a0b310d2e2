/** The config apply judges the loop tests' decisions by. */
import { parseConfig } from '../../lib/config/load.js';
import { CHAT, NODE_GROUPS, PROFILES } from '../policy/helpers.js';

/** chat on L4 or 4xH100 (Deployments chat and chat-h100), other on L4; both 1..10 replicas. */
export const APPLY_CONFIG = parseConfig(
  {
    accelerators: [
      { name: 'L4', costPerHour: 1 },
      { name: 'H100', costPerHour: 5 },
      { name: '4xH100', type: 'H100', multiplicity: 4, costPerHour: 20 },
    ],
    models: [{ name: 'm8b', profiles: PROFILES }],
    serviceClasses: [{ name: 'interactive', priority: 1, targets: { m8b: { ttftMs: 3000, itlMs: 60 } } }],
    variants: [
      {
        ...CHAT,
        accelerator: undefined,
        accelerators: ['L4', '4xH100'],
        deployments: { L4: 'chat', '4xH100': 'chat-h100' },
      },
      { ...CHAT, name: 'other' },
    ],
    nodeGroups: NODE_GROUPS,
  },
  'apply test config',
);
