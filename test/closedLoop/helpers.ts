/** What the closed-loop tests share. */
import type { Config } from '../../lib/config/schema.js';
import type { FleetSim } from '../../lib/fleetSimulator/index.js';
import { runClosedLoop } from '../../lib/closedLoop/closedLoop.js';
import { observeSteps, svaController } from '../../lib/closedLoop/controller.js';
import type { Scenario } from '../../lib/closedLoop/scenario.js';
import type { DecisionRecord } from '../../lib/policy/decisionRecord.js';

/** sva's decisions over a run, each with the time it was taken, and the fleet it ran on. */
export interface Outcome {
  decisions: { t: number; d: DecisionRecord }[];
  fleet: FleetSim;
}

/** Runs sva on the scenario in the closed loop, recording every decision. */
export async function runRecordingDecisions(config: Config, scenario: Scenario): Promise<Outcome> {
  const decisions: Outcome['decisions'] = [];
  let fleet: FleetSim | undefined;
  const controller = observeSteps(svaController(config), (ctx, out) => {
    fleet = ctx.sim;
    for (const d of out.decisions ?? []) decisions.push({ t: ctx.t, d });
  });
  await runClosedLoop(config, scenario, { controller });
  return { decisions, fleet: fleet! };
}
