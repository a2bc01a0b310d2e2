/** Which traces a scenario uses, and the warm-up replayed before the measured span. */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../lib/config/load.js';
import { buildScenario } from '../../lib/closedLoop/scenario.js';
import { leadSeconds } from '../../lib/policy/window.js';
import { servingWarmupSeconds } from '../../lib/closedLoop/warmup.js';
import { allowedAccelerators } from '../../lib/config/resolved.js';

const CONFIG = 'config/default.yaml';

function tinyTrace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sva-scenario-'));
  const file = join(dir, 'tiny.csv');
  writeFileSync(
    file,
    'timestamp_s,input_tokens,output_tokens\n0,100,20\n0.5,200,10\n1.2,50,5\n3,1000,100\n8,40,4\n9.5,10,1\n',
  );
  return file;
}

describe('buildScenario', () => {
  const config = loadConfig(CONFIG);

  it("uses the config's traces when none is given on the command line", async () => {
    const s = await buildScenario(config, { configPath: CONFIG, durationSeconds: 1200, warmupSeconds: 0 });
    expect([...s.traces.keys()].sort()).toEqual(['chat-8b', 'code-70b']);
  });

  it('with --trace, drives only the variants given one, and keeps every request of the span', async () => {
    const s = await buildScenario(config, { configPath: CONFIG, traceFiles: [tinyTrace()] });
    expect([...s.traces.keys()]).toEqual(['chat-8b']);
    // 9.5 s of trace: at most half of it replayed first as warm-up, then every request measured
    expect(s.measuredFrom).toBeCloseTo(4.75, 9);
    expect(s.durationSeconds).toBeCloseTo(14.25, 9);
    const measured = s.traces.get('chat-8b')!.requests.filter((r) => r.arrival >= s.measuredFrom);
    expect(measured.map((r) => r.arrival)).toEqual([0, 0.5, 1.2, 3, 8, 9.5].map((t) => t + 4.75));
  });

  it('warms up by default for the longest lead time plus the burst look-back, at most half the span', async () => {
    const leads = config.variants.flatMap((v) =>
      allowedAccelerators(config, v).map((a) => leadSeconds(config, v, a)),
    );
    const expected = Math.max(...leads) + config.policy.burstSizing.lookbackSeconds;
    expect(servingWarmupSeconds(config)).toBeCloseTo(expected, 9);
    // longer than the ten minutes a node and a replica outlast on this fleet
    expect(Math.max(...leads)).toBeGreaterThan(600);
    const hour = await buildScenario(config, { configPath: CONFIG, durationSeconds: 3 * 3600 });
    expect(hour.measuredFrom).toBeCloseTo(expected, 9);
    const short = await buildScenario(config, { configPath: CONFIG, durationSeconds: 1200 });
    expect(short.measuredFrom).toBe(600);
    const given = await buildScenario(config, {
      configPath: CONFIG,
      durationSeconds: 3 * 3600,
      warmupSeconds: 120,
    });
    expect(given.measuredFrom).toBe(120);
  });

  it('with dequantise, spreads a gridded trace over its ticks before the rate scaling; default as given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sva-scenario-'));
    const file = join(dir, 'grid.csv');
    const rows = [0, 0, 0, 3, 3, 6, 6, 6].map((t, i) => `${t},${100 + i},1`);
    writeFileSync(file, `timestamp_s,input_tokens,output_tokens\n${rows.join('\n')}\n`);
    const options = { configPath: CONFIG, traceFiles: [file], durationSeconds: 9, warmupSeconds: 0 };
    const asGiven = await buildScenario(config, options);
    expect(asGiven.traces.get('chat-8b')!.requests.map((r) => r.arrival)).toEqual([0, 0, 0, 3, 3, 6, 6, 6]);
    const spread = (await buildScenario(config, { ...options, dequantise: {} })).traces.get('chat-8b')!;
    expect(spread.requests.map((r) => r.inputTokens)).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
    expect(new Set(spread.requests.map((r) => r.arrival)).size).toBe(8);
    expect(spread.requests.map((r) => Math.floor(r.arrival / 3))).toEqual([0, 0, 0, 1, 1, 2, 2, 2]);
    const doubled = await buildScenario(config, { ...options, rateScale: 2, dequantise: {} });
    expect(new Set(doubled.traces.get('chat-8b')!.requests.map((r) => r.arrival)).size).toBe(16);
    await expect(buildScenario(config, { ...options, dequantise: { step: -1 } })).rejects.toThrow(/step/);
  });

  it('replays the last minutes of the span before it, unmeasured', async () => {
    const s = await buildScenario(config, {
      configPath: CONFIG,
      traceFiles: [tinyTrace()],
      warmupSeconds: 4,
    });
    // the warm-up replays [5.5, 9.5) of the trace: the request at 8 s, 2.5 s into the run
    const warm = s.traces.get('chat-8b')!.requests.filter((r) => r.arrival < s.measuredFrom);
    expect(warm).toEqual([{ arrival: 2.5, inputTokens: 40, outputTokens: 4 }]);
    expect(s.measuredFrom).toBe(4);
  });

  it("starts capacity in the config's phases: nodes provision then initialise, replicas pull then load", async () => {
    const s = await buildScenario(config, { configPath: CONFIG, durationSeconds: 1200, warmupSeconds: 0 });
    // config/default.yaml: the field phases (kaito issue 2325), weights 15 GiB (8B) and 131 GiB (70B)
    const chat = s.fleet.variants.find((v) => v.name === 'chat-8b')!;
    for (const profile of Object.values(chat.profileByAccelerator)) {
      expect(profile.imagePullSeconds).toBe(101);
      expect(profile.loadSeconds).toBeCloseTo(74 + 15 / 0.84 + 195, 9);
    }
    const code = s.fleet.variants.find((v) => v.name === 'code-70b')!;
    expect(Object.values(code.profileByAccelerator)[0]!.loadSeconds).toBeCloseTo(74 + 131 / 0.84 + 195, 9);
    for (const group of s.fleet.nodeGroups) {
      expect(group).toMatchObject({ provisionSeconds: 284, initSeconds: 126 });
    }
    // and the policy's lead time is the same arithmetic: a new node, then a cold replica
    const v = config.variants.find((x) => x.name === 'chat-8b')!;
    expect(leadSeconds(config, v, 'L4')).toBeCloseTo(284 + 126 + 101 + 74 + 15 / 0.84 + 195, 9);
  });

  it("keeps empty nodes for the Karpenter NodePool's consolidateAfter; node groups remove them at once", async () => {
    const opts = { durationSeconds: 1200, warmupSeconds: 0 };
    const groups = await buildScenario(config, { configPath: CONFIG, ...opts });
    expect(groups.fleet.nodeGroups.map((g) => g.consolidateAfterSeconds)).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
    const karpenter = loadConfig('config/karpenter.yaml');
    const pools = await buildScenario(karpenter, { configPath: 'config/karpenter.yaml', ...opts });
    expect(pools.fleet.nodeGroups.map((g) => g.consolidateAfterSeconds)).toEqual([300, 300, 300, 300, 300]);
  });

  it('keeps the one-phase shorthands: startupSeconds loads in one go, with no image pull', async () => {
    const shorthand = loadConfig('test/fixtures/config/realistic.yaml');
    const v = shorthand.variants[0]!;
    const s = await buildScenario(
      { ...shorthand, variants: [{ ...v, startupSeconds: 60, startup: undefined }] },
      { configPath: CONFIG, traceFiles: [tinyTrace()] },
    );
    for (const profile of Object.values(s.fleet.variants[0]!.profileByAccelerator)) {
      expect(profile.imagePullSeconds).toBe(0);
      expect(profile.loadSeconds).toBe(60);
    }
  });
});
