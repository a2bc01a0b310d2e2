/** The policies the benchmark compares, by name, in the order it runs and prints them. */
import type { Config } from '../../lib/config/schema.js';
import { svaController, type Controller } from '../../lib/closedLoop/controller.js';
import { withClusterAutoscaler } from './clusterAutoscaler.js';
import { hpaKvController } from './hpaKv.js';
import { kedaQueueController } from './kedaQueue.js';
import { oracleController } from './oracle.js';
import { staticPeakController } from './staticPeak.js';
import { wvaController } from './wva.js';

export const POLICY_NAMES = ['sva', 'oracle', 'keda-queue', 'hpa-kv', 'wva', 'static-peak'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export const isPolicyName = (name: string): name is PolicyName =>
  (POLICY_NAMES as readonly string[]).includes(name);

/**
 * A fresh controller (they keep state across steps). `sva` is the autoscaler itself, unchanged;
 * `oracle` manages its own nodes; the others scale Deployments only, with the cluster-autoscaler.
 */
export function createController(name: PolicyName, config: Config): Controller {
  switch (name) {
    case 'sva':
      return svaController(config);
    case 'oracle':
      return oracleController(config);
    case 'keda-queue':
      return withClusterAutoscaler(kedaQueueController());
    case 'hpa-kv':
      return withClusterAutoscaler(hpaKvController());
    case 'wva':
      return withClusterAutoscaler(wvaController());
    case 'static-peak':
      return withClusterAutoscaler(staticPeakController());
  }
}
