/** The policies the benchmark compares, by name, in the order it runs and prints them. */
import type { Config } from '../../lib/config/schema.js';
import { svaController, type Controller } from '../../lib/closedLoop/controller.js';
import type { Scenario } from '../../lib/closedLoop/scenario.js';
import { withClusterAutoscaler } from './clusterAutoscaler.js';
import { dynamoPlannerController } from './dynamoPlanner.js';
import { hpaKvController } from './hpaKv.js';
import { baselineAccelerator, kedaEppController, kedaEppScenario, startingOn } from './kedaEpp.js';
import { kedaQueueController } from './kedaQueue.js';
import { oracleLeadRun, oracleRun, staticBestRun } from './oracle.js';
import type { OracleSchedule, StaticChoice } from './oracleSearch.js';
import { staticPeakController } from './staticPeak.js';
import { wvaController } from './wva.js';

export const POLICY_NAMES = [
  'sva',
  'oracle',
  'oracle-lead',
  'static-best',
  'keda-epp',
  'dynamo-planner',
  'keda-queue',
  'hpa-kv',
  'wva',
  'static-peak',
] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** The yardsticks found by searching the simulator: they must meet the target themselves. */
export const YARDSTICKS: readonly PolicyName[] = ['oracle', 'oracle-lead', 'static-best'];

export const isPolicyName = (name: string): name is PolicyName =>
  (POLICY_NAMES as readonly string[]).includes(name);

/** What the searched yardsticks replay (see oracleSearch.ts). */
export interface Searches {
  readonly schedule?: OracleSchedule;
  readonly staticChoice?: StaticChoice;
}

/**
 * A fresh controller (they keep state across steps) and the scenario it runs on. `sva` is the
 * autoscaler itself, unchanged; the yardsticks and sva manage their own nodes; the baselines
 * scale Deployments only, with the cluster-autoscaler. keda-epp runs behind the gateway.
 */
export function createPolicyRun(
  name: PolicyName,
  config: Config,
  scenario: Scenario,
  searches: Searches = {},
): { controller: Controller; scenario: Scenario } {
  const searched = (what: string) => new Error(`${name} needs the ${what} search`);
  const accelerator = baselineAccelerator(config, config.variants[0]!, searches.staticChoice?.accelerator);
  switch (name) {
    case 'sva':
      return { controller: svaController(config), scenario };
    case 'oracle':
      if (!searches.schedule) throw searched('oracle');
      return oracleRun(config, scenario, searches.schedule);
    case 'oracle-lead':
      if (!searches.schedule) throw searched('oracle');
      return oracleLeadRun(config, scenario, searches.schedule);
    case 'static-best':
      if (!searches.staticChoice) throw searched('static');
      return staticBestRun(config, scenario, searches.staticChoice);
    case 'keda-epp':
      return {
        controller: withClusterAutoscaler(kedaEppController(config, accelerator)),
        scenario: kedaEppScenario(config, scenario, accelerator),
      };
    case 'dynamo-planner':
      return {
        controller: withClusterAutoscaler(dynamoPlannerController(config, accelerator)),
        scenario: startingOn(config, scenario, accelerator),
      };
    case 'keda-queue':
      return { controller: withClusterAutoscaler(kedaQueueController()), scenario };
    case 'hpa-kv':
      return { controller: withClusterAutoscaler(hpaKvController()), scenario };
    case 'wva':
      return { controller: withClusterAutoscaler(wvaController()), scenario };
    case 'static-peak':
      return { controller: withClusterAutoscaler(staticPeakController()), scenario };
  }
}
