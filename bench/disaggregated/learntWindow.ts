/**
 * The trial of policy.learntWindow on the disaggregated variant (lib/policy/roleWindow.ts): sva on
 * each workload with the window off (the config's), one learnt window per role, and one per role
 * and replica level, each from the arrivals' levels and from the plan's (levels: recommendation);
 * each against the per-role planner, and against sva with the window off, at the same attainment
 * (their knobs searched as in `npm run bench:disaggregated`: the planner's headroom, sva's target
 * margins; runs cached in bench/disaggregated/.cache/).
 *
 *   node bin/run-ts.js bench/disaggregated/learntWindow.ts [--workload NAME] [--min-releases N] [--no-cache]
 */
import { parseArgs } from 'node:util';
import { CACHE_DIR, PLANNER_HEADROOM, searchKnob, SVA_MARGIN, type SearchResult } from './equalAttainment.js';
import { LEARNT_WINDOW_TRIALS, runPolicy, WORKLOADS, type Knobs } from './workloads.js';

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** The cheapest run reaching the target, as "$cost (knob)", or that none did. */
const cheapest = (r: SearchResult) =>
  r.cheapest
    ? `${r.cheapest.row.cost.toFixed(2)} (${r.knob.show(r.cheapest.knobs)})`
    : `never (best ${pct(r.best.row.attainment)})`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workload: { type: 'string' },
      'min-releases': { type: 'string' },
      'no-cache': { type: 'boolean', default: false },
    },
  });
  const opts = { cacheDir: values['no-cache'] ? undefined : CACHE_DIR };
  const minReleases = values['min-releases'] ? Number(values['min-releases']) : undefined;
  console.log(
    '| workload | learnt window | SLO attainment | TTFT met | ITL met | cost ($) | pod cost ($) | planner at that attainment ($, headroom) | sva / planner | sva, window off, at that attainment ($, margins x) |',
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |');
  for (const w of WORKLOADS.filter((x) => !values.workload || x.name === values.workload)) {
    for (const trial of [undefined, ...LEARNT_WINDOW_TRIALS]) {
      const knobs: Knobs = trial
        ? {
            learntWindow: trial,
            ...(minReleases !== undefined ? { learntWindowMinReleases: minReleases } : {}),
          }
        : {};
      const { row } = await runPolicy(w, 'disaggregated', 'sva', knobs);
      const planner = await searchKnob(
        w,
        'disaggregated',
        'dynamo-planner',
        PLANNER_HEADROOM,
        row.attainment,
        opts,
      );
      const off = trial
        ? await searchKnob(w, 'disaggregated', 'sva', SVA_MARGIN, row.attainment, opts)
        : undefined;
      console.log(
        `| ${w.name} | ${trial ?? 'off'} | ${pct(row.attainment)} | ${pct(row.ttft)} | ${pct(row.itl)} | ${row.cost.toFixed(2)} | ${row.podCost.toFixed(2)} | ${cheapest(planner)} | ${planner.cheapest ? (row.cost / planner.cheapest.row.cost).toFixed(2) : '-'} | ${off ? cheapest(off) : '-'} |`,
      );
    }
  }
}

await main();
