/**
 * The trial of policy.learntWindow on the disaggregated variant (lib/policy/roleWindow.ts): sva on
 * each workload with the window off (the config's), one learnt window per role, and one per role
 * and replica level, each from the arrivals' levels and from the plan's (levels: recommendation); each against the per-role planner at the same attainment (its headroom
 * searched as in `npm run bench:disaggregated`, runs cached in bench/disaggregated/.cache/).
 *
 *   node bin/run-ts.js bench/disaggregated/learntWindow.ts [--workload NAME] [--no-cache]
 */
import { parseArgs } from 'node:util';
import { CACHE_DIR, PLANNER_HEADROOM, searchKnob } from './equalAttainment.js';
import { LEARNT_WINDOW_TRIALS, runPolicy, WORKLOADS } from './workloads.js';

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { workload: { type: 'string' }, 'no-cache': { type: 'boolean', default: false } },
  });
  const cacheDir = values['no-cache'] ? undefined : CACHE_DIR;
  console.log(
    '| workload | learnt window | SLO attainment | TTFT met | ITL met | cost ($) | pod cost ($) | planner at that attainment ($, headroom) | sva / planner |',
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |');
  for (const w of WORKLOADS.filter((x) => !values.workload || x.name === values.workload)) {
    for (const trial of [undefined, ...LEARNT_WINDOW_TRIALS]) {
      const { row } = await runPolicy(w, 'disaggregated', 'sva', trial ? { learntWindow: trial } : {});
      const planner = await searchKnob(
        w,
        'disaggregated',
        'dynamo-planner',
        PLANNER_HEADROOM,
        row.attainment,
        {
          cacheDir,
        },
      );
      const p = planner;
      const at = p.cheapest
        ? `${p.cheapest.row.cost.toFixed(2)} (${PLANNER_HEADROOM.show(p.cheapest.knobs)})`
        : `never (best ${pct(p.best.row.attainment)})`;
      console.log(
        `| ${w.name} | ${trial ?? 'off'} | ${pct(row.attainment)} | ${pct(row.ttft)} | ${pct(row.itl)} | ${row.cost.toFixed(2)} | ${row.podCost.toFixed(2)} | ${at} | ${p.cheapest ? (row.cost / p.cheapest.row.cost).toFixed(2) : '-'} |`,
      );
    }
  }
}

await main();
