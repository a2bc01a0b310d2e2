/**
 * The yardsticks found by searching the simulator itself (issue 13): for every interval of the
 * trace (5 min by default), the cheapest fleet of whole nodes under which the requests ARRIVING
 * in that interval meet both TTFT and ITL at >= the target share, with perfect foresight of those
 * requests; and the cheapest constant fleet that does so over the whole trace.
 *
 * How an interval is searched. The simulation's state at the interval's start (the chosen
 * fleet's run carried from the interval before) is forked once per trial; a trial sets the
 * fleet (one accelerator, n replicas, on as many whole nodes as they and the replicas still
 * draining need), runs to the interval's end while holding that fleet (steps of the scrape
 * interval, as the closed loop replays it), then runs a copy of that on until every request that
 * arrived in the interval has a verdict (see sloCheck.ts), and stops early when the verdict is
 * certain. Capacity is ready the moment it is asked for (no node provisioning, no model load, no
 * jitter): that is what `oracle` is; `oracle-lead` asks for the same schedule a startup ahead.
 * Per accelerator the replica count is found by galloping from the model's sizing
 * (sizeWithOptimizer) then bisecting, assuming more replicas never do worse; an accelerator is
 * only tried at counts cheaper than the best found so far. "Cheapest" is as billed over the
 * interval: its node-seconds at their prices, the nodes still draining the previous fleet included,
 * so a change of accelerator pays for the overlap. The cheapest passing fleet's run is carried
 * into the next interval.
 *
 * These are the cheapest fleets FOUND, not proven lower bounds: the search is greedy interval by
 * interval (a fleet that costs more now but leaves less backlog is never preferred), it keeps one
 * accelerator per interval, it assumes attainment rises with replicas, and it holds a fleet for a
 * whole interval (a policy that changes size within an interval could spend less).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config, VariantConfig } from '../../lib/config/schema.js';
import { acceleratorType, allowedAccelerators, targetsOf } from '../../lib/config/resolved.js';
import type { Scenario } from '../../lib/closedLoop/scenario.js';
import { nodePricePerHour } from '../../lib/config/nodePrice.js';
import {
  createFleetSim,
  type FleetSim,
  type FleetUsage,
  type FleetSimConfig,
  type TraceRequest,
} from '../../lib/fleetSimulator/index.js';
import { firstAtOrAfter, loadOf, sizeWithOptimizer, type Load } from './common.js';
import {
  fleetCostPerHour,
  fleetsNodes,
  heldVariant,
  holdFleets,
  maxReplicasOn,
  type Fleet,
  type Fleets,
  type HeldVariant,
} from './fleetHold.js';
import { countWindow, windowVerdict, type WindowCount, type WindowTargets } from './sloCheck.js';

export const DEFAULT_ORACLE_INTERVAL_SECONDS = 300;
export const DEFAULT_ORACLE_TARGET = 0.99;
/** How often a trial checks whether its verdict is already certain (simulated seconds). */
const CHECK_EVERY_SECONDS = 60;
/** Past the window's end, a trial runs on in these steps until every request has a verdict... */
const SETTLE_STEP_SECONDS = 30;
/** ...but not beyond this: a request still open then counts as missed. */
const SETTLE_LIMIT_SECONDS = 1800;
/** Bumped whenever the search's rules change, so that cached schedules are not reused. */
const SEARCH_VERSION = 2;

export interface SearchOptions {
  /** length of the intervals searched one by one (s); default 300 */
  readonly intervalSeconds?: number;
  /** share of an interval's requests that must meet both targets; default 0.99 */
  readonly target?: number;
  /** where searches are cached (by a hash of trace, config and options); none when undefined */
  readonly cacheDir?: string;
  readonly log?: (line: string) => void;
}

export interface IntervalChoice {
  readonly start: number;
  readonly end: number;
  readonly accelerator: string;
  readonly replicas: number;
  readonly costPerHour: number;
  /** requests arriving in the interval, and how many of them met both targets in the search */
  readonly requests: number;
  readonly met: number;
  /** false when no fleet within the bounds met the target (the largest was taken) */
  readonly feasible: boolean;
}

export interface OracleSchedule {
  readonly intervalSeconds: number;
  readonly target: number;
  readonly stepSeconds: number;
  readonly choices: readonly IntervalChoice[];
  /** simulated trials the search ran (0 when read from the cache) */
  readonly trials: number;
  readonly fromCache: boolean;
}

/** What a static search found, whatever the fleet: its cost, and how the span's requests fared. */
export interface StaticOutcome {
  readonly costPerHour: number;
  readonly requests: number;
  readonly met: number;
  /** false when no constant fleet within the bounds met the target (the closest was taken) */
  readonly feasible: boolean;
  /** simulated trials the search ran (0 when read from the cache) */
  readonly trials: number;
  readonly fromCache: boolean;
}

export interface StaticChoice extends StaticOutcome {
  readonly accelerator: string;
  readonly replicas: number;
}

/**
 * What a search holds and judges: the simulated variants whose fleets it sets (one variant, or
 * the two roles of a disaggregated one) and the variant the requests arrive at, judged against
 * its targets.
 */
export interface SearchSubject {
  readonly held: readonly HeldVariant[];
  /** the simulated variant the requests arrive at (their outcomes are recorded there) */
  readonly arrivals: string;
  readonly targets: WindowTargets;
}

/** A single-Deployment variant as a search's subject. */
export function variantSubject(config: Config, v: VariantConfig): SearchSubject {
  return { held: [heldVariant(config, v)], arrivals: v.name, targets: targetsOf(config, v) };
}

/** The first accelerator a fleet holds replicas on (else the held variant's first) and how many. */
function startOf(h: HeldVariant, fleet: Fleet | undefined): [string, number] {
  return [...(fleet ?? [])].find(([, n]) => n > 0) ?? [h.accelerators[0]!, 0];
}

/**
 * The scenario's fleet with capacity that is ready the moment it is asked for, starting at
 * `fleets` (per held variant, its first accelerator holding replicas) on as many whole nodes as
 * they need.
 */
export function instantFleetsConfig(
  config: Config,
  scenario: Scenario,
  held: readonly HeldVariant[],
  fleets: Fleets,
): FleetSimConfig {
  const base = scenario.fleet;
  const starts = new Map(held.map((h) => [h.name, startOf(h, fleets.get(h.name))]));
  const nodes = fleetsNodes(
    config,
    held,
    new Map([...starts].map(([name, [acc, n]]) => [name, new Map([[acc, n]])])),
  );
  return {
    ...base,
    delayJitter: 0,
    variants: base.variants.map((f) => {
      const start = starts.get(f.name);
      if (!start) return f;
      return {
        ...f,
        accelerator: acceleratorType(config, start[0])!,
        initialReplicas: start[1],
        profileByAccelerator: Object.fromEntries(
          Object.entries(f.profileByAccelerator).map(([type, p]) => [
            type,
            { ...p, loadSeconds: 0, imagePullSeconds: 0 },
          ]),
        ),
      };
    }),
    nodeGroups: base.nodeGroups.map((g) => ({
      ...g,
      provisionSeconds: 0,
      initSeconds: 0,
      initialNodes: Math.max(nodes.get(g.name) ?? 0, g.minNodes ?? 0),
    })),
  };
}

/** instantFleetsConfig for one variant. */
export function instantFleetConfig(
  config: Config,
  scenario: Scenario,
  v: VariantConfig,
  fleet: Fleet,
): FleetSimConfig {
  return instantFleetsConfig(config, scenario, [heldVariant(config, v)], new Map([[v.name, fleet]]));
}

/** A fresh simulation of the scenario's traces on `fleetConfig`. */
export function startSimulation(fleetConfig: FleetSimConfig, scenario: Scenario): FleetSim {
  const sim = createFleetSim(fleetConfig);
  for (const [name, trace] of scenario.traces) sim.addArrivals(name, trace.requests);
  return sim;
}

export function stepSecondsOf(config: Config): number {
  return config.simulation?.scrapeIntervalSeconds ?? 15;
}

export function countArrivals(requests: readonly TraceRequest[], from: number, to: number): number {
  return firstAtOrAfter(requests, to) - firstAtOrAfter(requests, from);
}

/** A trial of fleets over a window: its verdict and, when it passed, its run and bill. */
export interface FleetTrial {
  readonly fleets: Fleets;
  readonly pass: boolean;
  readonly count: WindowCount;
  /** the run at the window's end (only kept for passing trials) */
  readonly atEnd: FleetSim | null;
  /** $ the nodes cost over the window as billed (draining ones included); Infinity when it failed */
  readonly billed: number;
}

/** $ of the node-seconds between two usage readings, at each node group's price. */
function billedBetween(config: Config, before: FleetUsage | null, after: FleetUsage): number {
  let cost = 0;
  for (const g of config.nodeGroups) {
    const seconds = (after.nodeSeconds[g.name] ?? 0) - (before?.nodeSeconds[g.name] ?? 0);
    cost += (seconds / 3600) * nodePricePerHour(config, g);
  }
  return cost;
}

interface TrialSetup {
  readonly config: Config;
  readonly subject: SearchSubject;
  readonly target: number;
  readonly step: number;
}

type Window = { readonly from: number; readonly to: number; readonly requests: number };

/** Holds `fleets` on `sim` from now to `to`, one step of the scrape interval at a time. */
function holdThrough(sim: FleetSim, fleets: Fleets, setup: TrialSetup, to: number): void {
  for (let t = sim.now + setup.step; t <= to + 1e-9; t += setup.step) {
    sim.runUntil(t);
    if (t + 1e-9 < to) holdFleets(sim, setup.config, setup.subject.held, fleets, true);
  }
  if (sim.now < to) sim.runUntil(to);
}

/**
 * Runs `sim` (already holding `fleets`) from `from` to `to`, holding the fleets every step, and
 * then a copy of it until the window's verdict is certain. Stops at the first certain failure.
 */
function runTrial(
  sim: FleetSim,
  fleets: Fleets,
  window: Window,
  setup: TrialSetup,
  holdUntil: number,
  checkEvery = CHECK_EVERY_SECONDS,
): { pass: boolean; count: WindowCount; atEnd: FleetSim } {
  const { config, subject, target, step } = setup;
  sim.watchArrivals(window.from, window.to);
  const countOn = (s: FleetSim) =>
    countWindow(s, subject.arrivals, window.from, window.to, window.requests, subject.targets);
  let nextCheck = sim.now + checkEvery;
  for (let t = sim.now + step; t <= holdUntil + 1e-9; t += step) {
    sim.runUntil(t);
    if (t + 1e-9 < holdUntil) holdFleets(sim, config, subject.held, fleets, true);
    if (t + 1e-9 >= nextCheck) {
      nextCheck += checkEvery;
      const c = countOn(sim);
      if (windowVerdict(c, target) === 'fail') return { pass: false, count: c, atEnd: sim };
    }
  }
  if (sim.now < holdUntil) sim.runUntil(holdUntil);
  const atEnd = sim;
  const probe = sim.fork();
  let c = countOn(probe);
  while (windowVerdict(c, target) === 'open' && probe.now < holdUntil + SETTLE_LIMIT_SECONDS) {
    probe.runUntil(probe.now + SETTLE_STEP_SECONDS);
    c = countOn(probe);
  }
  const verdict = windowVerdict(c, target);
  return { pass: verdict === 'pass', count: { ...c, missed: c.missed + c.open, open: 0 }, atEnd };
}

/** One searched interval: the fleets chosen, and how the interval's requests fared under them. */
export interface SearchedInterval {
  readonly start: number;
  readonly end: number;
  readonly fleets: Fleets;
  readonly requests: number;
  readonly met: number;
  /** false when no fleet within the bounds met the target (the closest was taken) */
  readonly feasible: boolean;
}

/** What choosing one interval's fleets has to go on. */
export interface IntervalSearch {
  readonly window: Window;
  /** the arrivals of the interval (rate and mean tokens) */
  readonly load: Load;
  /** the interval before, as chosen */
  readonly previous: SearchedInterval | undefined;
  /** the interval run (forked from its start) holding `fleets`; counted in the search's trials */
  readonly trial: (fleets: Fleets) => FleetTrial;
}

/** An interval's pick: the cheapest passing trial found, or, when none passed, the closest. */
export type IntervalPick = { readonly best: FleetTrial } | { readonly closest: FleetTrial };

/**
 * The interval-by-interval search of the file's comment, over any subject: `pick` chooses each
 * interval's fleets from trials forked from the carried run, and the chosen fleets' run is
 * carried into the next interval (a closest fleet that did not pass is run again to carry it).
 */
export function searchIntervals(
  config: Config,
  scenario: Scenario,
  subject: SearchSubject,
  options: { intervalSeconds: number; target: number; log?: (line: string) => void },
  pick: (search: IntervalSearch) => IntervalPick,
  describe: (fleets: Fleets) => string,
): { intervals: SearchedInterval[]; trials: number } {
  const { intervalSeconds: interval, target } = options;
  const setup: TrialSetup = { config, subject, target, step: stepSecondsOf(config) };
  const requests = scenario.traces.get(subject.arrivals)?.requests ?? [];
  const duration = scenario.durationSeconds;
  const count = Math.ceil(duration / interval - 1e-9);
  const intervals: SearchedInterval[] = [];
  let carried: FleetSim | null = null;
  let trials = 0;
  const started = performance.now();
  // The carried run forked and set to `fleets` (a fresh instant fleet at the trace's start).
  const startFrom = (fleets: Fleets): { sim: FleetSim; before: FleetUsage | null } => {
    if (carried === null)
      return {
        sim: startSimulation(instantFleetsConfig(config, scenario, subject.held, fleets), scenario),
        before: null,
      };
    const sim = carried.fork();
    const before = sim.usage();
    holdFleets(sim, config, subject.held, fleets, true);
    return { sim, before };
  };
  for (let k = 0; k < count; k++) {
    const from = k * interval;
    const to = Math.min(from + interval, duration);
    const window = { from, to, requests: countArrivals(requests, from, to) };
    const trial = (fleets: Fleets): FleetTrial => {
      trials++;
      const { sim, before } = startFrom(fleets);
      const r = runTrial(sim, fleets, window, setup, to);
      return {
        fleets,
        pass: r.pass,
        count: r.count,
        atEnd: r.pass ? r.atEnd : null,
        billed: r.pass ? billedBetween(config, before, r.atEnd.usage()) : Infinity,
      };
    };
    const chosen = pick({ window, load: loadOf(requests, from, to), previous: intervals.at(-1), trial });
    if ('best' in chosen) carried = chosen.best.atEnd!;
    else {
      // Nothing within the bounds meets the target: the fleet that came closest, run again to carry it.
      const { sim } = startFrom(chosen.closest.fleets);
      holdThrough(sim, chosen.closest.fleets, setup, to);
      carried = sim;
    }
    const t = 'best' in chosen ? chosen.best : chosen.closest;
    intervals.push({
      start: from,
      end: to,
      fleets: t.fleets,
      requests: window.requests,
      met: t.count.met,
      feasible: t.pass,
    });
    if (options.log && (k === count - 1 || k % Math.max(1, Math.round(count / 20)) === 0)) {
      options.log(
        `oracle search: interval ${k + 1}/${count} (${describe(t.fleets)}, ${trials} trials, ${((performance.now() - started) / 1000).toFixed(0)} s)`,
      );
    }
  }
  return { intervals, trials };
}

/**
 * Trials of constant fleets over the scenario's measured span ([measuredFrom, end], its last
 * instant included, as the run's summary counts it), each on a fresh instant fleet.
 */
export function spanTrials(
  config: Config,
  scenario: Scenario,
  subject: SearchSubject,
  target: number,
): {
  window: Window;
  trial: (fleets: Fleets) => { pass: boolean; count: WindowCount };
  trials: () => number;
} {
  const requests = scenario.traces.get(subject.arrivals)?.requests ?? [];
  const from = scenario.measuredFrom;
  const end = scenario.durationSeconds;
  const window = { from, to: end + 1e-9, requests: countArrivals(requests, from, end + 1e-9) };
  const setup: TrialSetup = { config, subject, target, step: stepSecondsOf(config) };
  // A check costs O(window): over a long span, a few dozen of them.
  const checkEvery = Math.max(CHECK_EVERY_SECONDS, (end - from) / 48);
  let trials = 0;
  return {
    window,
    trials: () => trials,
    trial: (fleets) => {
      trials++;
      const sim = startSimulation(instantFleetsConfig(config, scenario, subject.held, fleets), scenario);
      const r = runTrial(sim, fleets, window, setup, end, checkEvery);
      return { pass: r.pass, count: r.count };
    },
  };
}

/**
 * The fewest replicas on `accelerator` (within [min, max]) whose trial passes, galloping from
 * `start` and bisecting; null when even `max` fails. `trial` must be monotone in n for this to
 * find the least.
 */
export function fewestPassing<T extends { pass: boolean }>(
  min: number,
  max: number,
  start: number,
  trial: (n: number) => T,
): { replicas: number; result: T } | null {
  if (max < min) return null;
  const results = new Map<number, T>();
  const passes = (n: number) => {
    let r = results.get(n);
    if (!r) {
      r = trial(n);
      results.set(n, r);
    }
    return r.pass;
  };
  const n0 = Math.min(Math.max(start, min), max);
  let lo: number; // known to fail (or below min)
  let hi: number; // known to pass
  if (passes(n0)) {
    hi = n0;
    lo = min - 1;
    for (let d = 1; hi - d >= min; d *= 2) {
      if (passes(hi - d)) hi -= d;
      else {
        lo = hi - d;
        break;
      }
    }
  } else {
    lo = n0;
    hi = Infinity;
    for (let d = 1; lo < max; d *= 2) {
      const m = Math.min(lo + d, max);
      if (passes(m)) {
        hi = m;
        break;
      }
      lo = m;
    }
    if (!Number.isFinite(hi)) return null;
  }
  while (hi - lo > 1) {
    const m = (lo + hi) >>> 1;
    if (passes(m)) hi = m;
    else lo = m;
  }
  return { replicas: hi, result: results.get(hi)! };
}

/**
 * fewestPassing for an accelerator that must beat a fleet already found: it can only do so below
 * `cap`, so `cap` is tried first and, when even that fails, the accelerator is done in one trial.
 */
export function fewestPassingBelow<T extends { pass: boolean }>(
  min: number,
  cap: number,
  start: number,
  trial: (n: number) => T,
): { replicas: number; result: T } | null {
  if (cap < min) return null;
  const atCap = trial(cap);
  if (!atCap.pass) return null;
  return fewestPassing(min, cap, Math.min(start, cap), (n) => (n === cap ? atCap : trial(n)));
}

/**
 * A search's cache key: its kind and options, the scenario's fleet and traces, and what it is
 * about (`v`: the variant, or whatever else decides the search's result) and the config's parts
 * every search reads.
 */
export function cacheKey(
  kind: string,
  config: Config,
  scenario: Scenario,
  v: object,
  options: object,
): string {
  const hash = createHash('sha256');
  // which histograms the servers expose changes nothing they serve: not part of the key
  const { requestTimePerOutputToken: _exposed, ...fleet } = scenario.fleet;
  hash.update(JSON.stringify({ kind, version: SEARCH_VERSION, options, fleet }));
  hash.update(
    JSON.stringify({
      variant: v,
      accelerators: config.accelerators,
      models: config.models,
      serviceClasses: config.serviceClasses,
      nodeGroups: config.nodeGroups,
      duration: scenario.durationSeconds,
      from: scenario.measuredFrom,
    }),
  );
  for (const [name, trace] of scenario.traces) {
    hash.update(name);
    const flat = new Float64Array(trace.requests.length * 3);
    trace.requests.forEach((r, i) => flat.set([r.arrival, r.inputTokens, r.outputTokens], i * 3));
    hash.update(new Uint8Array(flat.buffer));
  }
  return hash.digest('hex').slice(0, 24);
}

function readCache<T>(dir: string | undefined, key: string): T | undefined {
  if (!dir) return undefined;
  const file = join(dir, `${key}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;
}

function writeCache(dir: string | undefined, key: string, value: unknown): void {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${key}.json`), `${JSON.stringify(value)}\n`);
}

/** A search's result from the cache when it holds it, else `search`'s (then cached, its trials as 0). */
export function cachedSearch<T extends { trials: number; fromCache: boolean }>(
  dir: string | undefined,
  key: string,
  search: () => T,
): T {
  const cached = readCache<T>(dir, key);
  if (cached) return { ...cached, trials: 0, fromCache: true };
  const result = search();
  writeCache(dir, key, { ...result, trials: 0 });
  return result;
}

/** Allowed accelerators, cheapest first at the model's sizing for `load` (the likeliest winner first). */
function byModelCost(
  config: Config,
  v: VariantConfig,
  load: ReturnType<typeof loadOf>,
): { acc: string; start: number }[] {
  return allowedAccelerators(config, v)
    .map((acc) => {
      const start = sizeWithOptimizer(config, v, load, { accelerators: [acc] }).replicas;
      return { acc, start, cost: fleetCostPerHour(config, v, acc, Math.max(start, 1)) };
    })
    .sort((a, b) => a.cost - b.cost)
    .map(({ acc, start }) => ({ acc, start }));
}

/**
 * The accelerators in the order to search them, each with the count to start from: the previous
 * interval's accelerator first, from its count scaled by the change in arrivals (the likeliest
 * winner, and a close start), then the others cheapest first at the model's sizing.
 */
function searchOrder(
  config: Config,
  v: VariantConfig,
  load: ReturnType<typeof loadOf>,
  previous: Pick<IntervalChoice, 'start' | 'end' | 'accelerator' | 'replicas' | 'requests'> | undefined,
): { acc: string; start: number }[] {
  const order = byModelCost(config, v, load);
  if (!previous || previous.requests === 0) return order;
  const rate = previous.requests / Math.max(previous.end - previous.start, 1e-9);
  const start = Math.max(1, Math.round((previous.replicas * load.rate) / rate));
  return [{ acc: previous.accelerator, start }, ...order.filter((o) => o.acc !== previous.accelerator)];
}

/** Largest n whose fleet on `acc` costs strictly less than `cost` per hour. */
function cheaperThan(config: Config, v: VariantConfig, acc: string, cost: number, max: number): number {
  let n = max;
  while (n > 0 && fleetCostPerHour(config, v, acc, n) >= cost - 1e-9) n--;
  return n;
}

/** The per-interval schedule of `oracle` (see the file's comment); one variant per config. */
export function searchOracle(
  config: Config,
  scenario: Scenario,
  options: SearchOptions = {},
): OracleSchedule {
  if (config.variants.length !== 1) throw new Error('the oracle search handles one variant per fleet');
  const v = config.variants[0]!;
  const interval = options.intervalSeconds ?? DEFAULT_ORACLE_INTERVAL_SECONDS;
  const target = options.target ?? DEFAULT_ORACLE_TARGET;
  const step = stepSecondsOf(config);
  const key = cacheKey('oracle', config, scenario, v, { interval, target, step });
  return cachedSearch(options.cacheDir, key, () => {
    const single = (acc: string, n: number): Fleets => new Map([[v.name, new Map([[acc, n]])]]);
    // Cheapest as billed: the interval's node-seconds at their prices, the nodes still draining
    // the previous fleet included (so a change of accelerator pays for the overlap). A fleet's
    // own nodes cost at least its nominal price, so only counts nominally cheaper than the best
    // billed so far can beat it.
    const pick = ({ window, load, previous, trial }: IntervalSearch): IntervalPick => {
      const min = Math.max(v.minReplicas, window.requests > 0 ? 1 : 0);
      const hours = (window.to - window.from) / 3600;
      const trialOf = (acc: string) => (n: number) => trial(single(acc, n));
      let best: FleetTrial | null = null;
      let closest: FleetTrial | null = null;
      const last = previous && { ...previous, ...choiceOf(previous.fleets) };
      for (const { acc, start } of searchOrder(config, v, load, last)) {
        const max = maxReplicasOn(config, v, acc);
        const cap: number = best ? cheaperThan(config, v, acc, best.billed / hours, max) : max;
        if (cap < min) continue;
        const found: { replicas: number; result: FleetTrial } | null = best
          ? fewestPassingBelow(min, cap, start, trialOf(acc))
          : fewestPassing(min, cap, start, trialOf(acc));
        if (found) {
          if (!best || found.result.billed < best.billed - 1e-9) best = found.result;
        } else if (!best && cap === max) {
          const top = trialOf(acc)(max);
          if (!closest || top.count.met > closest.count.met) closest = top;
        }
      }
      return best ? { best } : { closest: closest! };
    };
    function choiceOf(fleets: Fleets): { accelerator: string; replicas: number } {
      const [acc, n] = [...fleets.get(v.name)!][0]!;
      return { accelerator: acc, replicas: n };
    }
    const { intervals, trials } = searchIntervals(
      config,
      scenario,
      variantSubject(config, v),
      { intervalSeconds: interval, target, log: options.log },
      pick,
      (fleets) => {
        const c = choiceOf(fleets);
        return `${c.replicas} ${c.accelerator}`;
      },
    );
    const choices: IntervalChoice[] = intervals.map(({ fleets, ...rest }) => {
      const c = choiceOf(fleets);
      return {
        start: rest.start,
        end: rest.end,
        accelerator: c.accelerator,
        replicas: c.replicas,
        costPerHour: fleetCostPerHour(config, v, c.accelerator, c.replicas),
        requests: rest.requests,
        met: rest.met,
        feasible: rest.feasible,
      };
    });
    const schedule: OracleSchedule = {
      intervalSeconds: interval,
      target,
      stepSeconds: step,
      choices,
      trials,
      fromCache: false,
    };
    return schedule;
  });
}

/** The busiest minute's load of the requests up to `end` (what a constant fleet must carry). */
export function busiestMinute(requests: readonly TraceRequest[], end: number): Load {
  let busiest = { rate: 0, inputTokens: 0, outputTokens: 0 };
  for (let t = 0; t < end; t += 60) {
    const load = loadOf(requests, t, t + 60);
    if (load.rate > busiest.rate) busiest = load;
  }
  return busiest;
}

/**
 * `static-best`: the cheapest constant fleet (one accelerator, n replicas, ready from the start)
 * under which the requests of the measured span meet both targets at >= the target share.
 */
export function searchStatic(config: Config, scenario: Scenario, options: SearchOptions = {}): StaticChoice {
  if (config.variants.length !== 1) throw new Error('the static search handles one variant per fleet');
  const v = config.variants[0]!;
  const target = options.target ?? DEFAULT_ORACLE_TARGET;
  const step = stepSecondsOf(config);
  const key = cacheKey('static', config, scenario, v, { target, step });
  return cachedSearch(options.cacheDir, key, () => {
    const requests = scenario.traces.get(v.name)?.requests ?? [];
    const span = spanTrials(config, scenario, variantSubject(config, v), target);
    const min = Math.max(v.minReplicas, span.window.requests > 0 ? 1 : 0);
    const trialOf = (acc: string) => (n: number) => {
      const r = span.trial(new Map([[v.name, new Map([[acc, n]])]]));
      options.log?.(`static search: ${n} ${acc}: ${r.pass ? 'meets' : 'misses'} the target`);
      return r;
    };
    // Sized by the model for the busiest minute: a constant fleet must carry the peak.
    const busiest = busiestMinute(requests, scenario.durationSeconds);
    let best: StaticChoice | null = null;
    let closest: StaticChoice | null = null;
    for (const { acc, start } of byModelCost(config, v, busiest)) {
      const max = maxReplicasOn(config, v, acc);
      const cap: number = best ? cheaperThan(config, v, acc, best.costPerHour, max) : max;
      if (cap < min) continue;
      const found: { replicas: number; result: { pass: boolean; count: WindowCount } } | null = best
        ? fewestPassingBelow(min, cap, start, trialOf(acc))
        : fewestPassing(min, cap, start, trialOf(acc));
      const choice = (replicas: number, count: WindowCount, feasible: boolean): StaticChoice => ({
        accelerator: acc,
        replicas,
        costPerHour: fleetCostPerHour(config, v, acc, replicas),
        requests: count.requests,
        met: count.met,
        feasible,
        trials: 0,
        fromCache: false,
      });
      if (found) {
        const c = choice(found.replicas, found.result.count, true);
        if (!best || c.costPerHour < best.costPerHour - 1e-9) best = c;
      } else if (!best && cap === max) {
        const top = trialOf(acc)(max);
        const c = choice(max, top.count, false);
        if (!closest || c.met > closest.met) closest = c;
      }
    }
    return { ...(best ?? closest!), trials: span.trials() };
  });
}
