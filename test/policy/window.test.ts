/**
 * The stabilisation window's length (lib/policy/window.ts, roleWindow in lib/policy/disaggregated.ts):
 * one lead time, not adapted, where the burst sizing covers the bursts; policy.windowPerStartup lead
 * times, adapted to regrets, where it does not.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseConfig } from '../../lib/config/index.js';
import type { Config } from '../../lib/config/schema.js';
import { roleWindow } from '../../lib/policy/disaggregated.js';
import { emptyMemory, variantMemory } from '../../lib/policy/memory.js';
import { adaptWindow, leadSeconds, longestWindow, stabilizationWindow } from '../../lib/policy/window.js';

const withPolicy = (config: Config, burstSizing: Partial<Config['policy']['burstSizing']>): Config => ({
  ...config,
  policy: { ...config.policy, burstSizing: { ...config.policy.burstSizing, ...burstSizing } },
});
const load = (file: string) => parseConfig(parse(readFileSync(file, 'utf8')), file);

describe('the window of a single-Deployment variant', () => {
  const config = load('config/default.yaml');
  const v = config.variants[0]!;
  const accelerator = v.accelerators![0]!;
  const lead = leadSeconds(config, v, accelerator);

  test('by default the burst sizing covers it: one lead time, not adapted', () => {
    expect(config.policy.burstSizing.enabled && config.policy.burstSizing.itl).toBe(true);
    expect(stabilizationWindow(config, v, accelerator)).toBeCloseTo(lead, 6);
    expect(longestWindow(config, v, accelerator)).toBeCloseTo(lead, 6);
    const memory = { ...variantMemory(emptyMemory(), 'llm/chat-8b'), lastScaleDown: { t: 0, from: 6 } };
    // a regret that would double an adaptive window changes nothing
    expect(
      adaptWindow(config, v, accelerator, memory, { now: 60, window: lead, current: 2, target: 6 }),
    ).toEqual({
      memory: {},
    });
  });

  test('either burst sizing alone covers it', () => {
    for (const flags of [
      { enabled: true, itl: false },
      { enabled: false, itl: true },
    ])
      expect(stabilizationWindow(withPolicy(config, flags), v, accelerator)).toBeCloseTo(lead, 6);
  });

  test('without the burst sizing: windowPerStartup lead times, adapted to regrets', () => {
    const off = withPolicy(config, { enabled: false, itl: false });
    expect(stabilizationWindow(off, v, accelerator)).toBeCloseTo(off.policy.windowPerStartup * lead, 6);
    expect(longestWindow(off, v, accelerator)).toBeGreaterThanOrEqual(off.policy.adaptiveWindow.maxSeconds);
    const memory = { ...variantMemory(emptyMemory(), 'llm/chat-8b'), lastScaleDown: { t: 0, from: 6 } };
    const window = 2 * lead;
    const adapted = adaptWindow(off, v, accelerator, memory, { now: 60, window, current: 2, target: 6 });
    expect(adapted.memory.window).toBeGreaterThan(window);
  });
});

describe('the window of a disaggregated variant', () => {
  const config = load('config/disaggregated.yaml');
  const v = config.disaggregated![0]!;

  test('without burst sizing at the roles neither is covered: both keep windowPerStartup', () => {
    const off = withPolicy(config, { prefill: false, decode: false });
    const prefill = roleWindow(off, v, 'prefill');
    expect(roleWindow(off, v, 'decode')).toBe(prefill);
    expect(roleWindow(off, v)).toBe(prefill);
  });

  test('by default both roles are sized for bursts (burstSizing.prefill, and .decode since w21t): both covered', () => {
    expect(config.policy.burstSizing.prefill).toBe(true);
    expect(config.policy.burstSizing.decode).toBe(true);
    expect(roleWindow(config, v, 'prefill')).toBe(roleWindow(config, v, 'decode'));
    const off = withPolicy(config, { prefill: false, decode: false });
    expect(roleWindow(config, v, 'prefill')).toBeLessThan(roleWindow(off, v, 'prefill'));
  });

  test('with burstSizing.prefill alone the prefill role gets the covered window; decode and the history keep the longer', () => {
    const on = withPolicy(config, { prefill: true, decode: false });
    const decode = roleWindow(on, v, 'decode');
    expect(roleWindow(on, v, 'prefill')).toBeCloseTo(
      decode * (on.policy.burstSizing.windowPerStartup / on.policy.windowPerStartup),
      6,
    );
    expect(roleWindow(on, v)).toBe(decode);
  });
});
