/**
 * The stabilisation window of a variant: never shorter than a few times the time new capacity
 * takes, and adapted to how bursty its demand has proven (adaptWindow).
 */
import type { Config, VariantConfig } from '../config/schema.js';
import type { VariantMemory } from './memory.js';
import { expectedStartupSeconds } from '../config/startup.js';

/** Time from a decision to grow to a serving replica: a new node, then the replica's cold start. */
export function leadSeconds(config: Config, v: VariantConfig, accelerator: string): number {
  return expectedStartupSeconds(config, v, accelerator, { newNode: true, imageCached: false });
}

/**
 * Whether a single-Deployment variant's sizing holds capacity for the bursts of its recent past
 * (policy.burstSizing, for TTFT or ITL): then the window need only cover the time released
 * capacity takes to come back, not the bursts themselves, and it does not adapt to regrets.
 */
export const coversBursts = (config: Config): boolean =>
  config.policy.burstSizing.enabled || config.policy.burstSizing.itl;

/** The window in lead times: the burst sizing's where it covers the bursts, the policy's elsewhere. */
export const windowLeadTimes = (config: Config, covered: boolean): number =>
  covered ? config.policy.burstSizing.windowPerStartup : config.policy.windowPerStartup;

/**
 * Capacity released now must be recoverable in time for the next burst, so the window is never
 * shorter than a few times the time new capacity takes to serve (once, where the sizing itself
 * holds capacity for the look-back's bursts).
 */
export function stabilizationWindow(config: Config, v: VariantConfig, accelerator: string): number {
  return Math.max(
    config.policy.stabilizationWindowSeconds,
    windowLeadTimes(config, coversBursts(config)) * leadSeconds(config, v, accelerator),
  );
}

/** The longest the window of a variant can grow to, for keeping its recommendations. */
export function longestWindow(config: Config, v: VariantConfig, accelerator: string): number {
  const base = stabilizationWindow(config, v, accelerator);
  return config.policy.adaptiveWindow.enabled && !coversBursts(config)
    ? Math.max(base, config.policy.adaptiveWindow.maxSeconds)
    : base;
}

/**
 * Bursty demand punishes a fixed window: capacity released between bursts is missing when the
 * next one comes, for a whole startup delay. So a scale-up that re-buys replicas released
 * within the window (plus the startup delay) doubles the variant's window, up to a maximum;
 * two windows without such a regret halve it back towards the configured one.
 */
export function adaptWindow(
  config: Config,
  v: VariantConfig,
  accelerator: string,
  mem: VariantMemory,
  /** asked: the replicas demand asks for, when a regret counts only those (default: the target) */
  step: { now: number; window: number; current: number; target: number; asked?: number },
): { memory: Partial<VariantMemory>; note?: string } {
  const settings = config.policy.adaptiveWindow;
  const base = stabilizationWindow(config, v, accelerator);
  const { now, window, current, target } = step;
  if (!settings.enabled || coversBursts(config)) return { memory: {} };
  if (target < current) return { memory: { lastScaleDown: { t: now, from: current } } };
  const lastDown = mem.lastScaleDown;
  const regret =
    target > current &&
    (step.asked ?? target) > current &&
    lastDown !== undefined &&
    now - lastDown.t <= window + leadSeconds(config, v, accelerator);
  if (regret) {
    const grown = Math.min(window * 2, Math.max(settings.maxSeconds, base));
    return {
      memory: { window: grown, calmSince: now, lastScaleDown: undefined },
      note:
        grown > window
          ? `replicas released ${Math.round(now - lastDown.t)} s ago are needed again: window ${Math.round(window)} s -> ${Math.round(grown)} s`
          : undefined,
    };
  }
  const calmSince = mem.calmSince ?? mem.observedSince ?? now;
  if (window > base && now - calmSince >= 2 * window) {
    return { memory: { window: Math.max(base, window / 2), calmSince: now } };
  }
  return { memory: {} };
}
