/**
 * The example disaggregated config end to end on the simulator: the scenario builds both roles
 * (prefill handing its KV to decode), and the autoscaler's own evaluate → queue → apply decides
 * and applies both roles, its own messages all admitted.
 */
import { loadConfig } from '../../lib/config/load.js';
import { buildScenario } from '../../lib/closedLoop/scenario.js';
import { runClosedLoop } from '../../lib/closedLoop/closedLoop.js';

const CONFIG = 'config/disaggregated.yaml';

describe('config/disaggregated.yaml in the closed loop', () => {
  const config = loadConfig(CONFIG);

  it('builds a prefill and a decode fleet variant for the disaggregated one', async () => {
    const s = await buildScenario(config, { configPath: CONFIG, durationSeconds: 600, warmupSeconds: 0 });
    const names = s.fleet.variants.map((v) => v.name);
    expect(names).toEqual(['code-70b', 'code-70b-pd', 'code-70b-pd:decode']);
    const prefill = s.fleet.variants[1]!;
    expect(prefill.handoff).toEqual({
      decodeVariant: 'code-70b-pd:decode',
      kvBytesPerToken: 327680,
      bandwidthBytesPerSecond: 25e9,
      latencySeconds: 0.005,
    });
    expect(Object.values(prefill.profileByAccelerator).every((p) => p.role === 'prefill')).toBe(true);
    expect([...s.traces.keys()].sort()).toEqual(['code-70b', 'code-70b-pd']);
  });

  it('runs the autoscaler on both variants, and reports the disaggregated one', async () => {
    const s = await buildScenario(config, { configPath: CONFIG, durationSeconds: 900, warmupSeconds: 300 });
    const run = await runClosedLoop(config, s);
    const pd = run.summary.variants.find((v) => v.name === 'code-70b-pd')!;
    expect(pd.requests).toBeGreaterThan(0);
    // the decode pods alone decode: no prompt interleaves with the tokens
    expect(pd.itlAttainment).toBeGreaterThan(0.95);
    expect(pd.cost).toBeGreaterThan(0);
    expect(run.summary.variants.map((v) => v.name)).toEqual(['code-70b', 'code-70b-pd']);
  }, 60_000);
});
