/**
 * The searched yardsticks of bench/policies/oracleSearch.ts for a disaggregated variant, "the
 * oracle per role" of issue 15, on the same machinery (searchIntervals, spanTrials, holdFleets):
 *
 * - `oracle`: per 300-s interval, the cheapest (prefill replicas, decode replicas) fleet of whole
 *   nodes under which >= 99% of the requests ARRIVING in the interval meet both TTFT and ITL,
 *   capacity ready the moment it is asked for, the run carried from interval to interval. Prefill
 *   and decode pods of one accelerator type share that type's nodes (config/disaggregated.yaml: 8
 *   GPUs a node, 4 a pod), so a fleet costs its node groups' whole nodes (fleetsCostPerHour).
 * - `static-best`: the cheapest constant (prefill, decode) fleet, ready from the start, under
 *   which >= 99% of the measured span's requests meet both targets (the best found when none does).
 * - `oracle-lead`: the oracle's schedule in the benchmark's world (field startup and jitter), each
 *   role's replicas asked for a cold start ahead (node, image, weights, engine, at the slowest
 *   jitter, plus one step), paid for meanwhile (bench/policies/oracle.ts, scheduledFleet per role).
 *
 * The 2-D search (cheapestPair): first the fewest decode replicas with which the most prefill
 * replicas pass, then, walking decode up from there, the fewest prefill replicas for each decode
 * count (galloping from the last and bisecting, fewestPassing), each tried only at counts that
 * would cost less than the best found (one trial, at the most such prefill replicas, when even
 * they fail). The walk stops when more decode no longer lowers the prefill needed, or when even
 * the fewest prefill replicas with that much decode cost no less than the best.
 *
 * Every pair of accelerators the roles allow is searched (a role on one accelerator at a time),
 * the pair of the interval before first (the roles' warm start for the first interval), each
 * pair's walk bounded by the cheapest found on the pairs before it; a fleet whose whole nodes
 * exceed a node group's maxNodes (both roles counted) fails unrun. Per replica H100 beats A100 per
 * dollar for both roles on config/disaggregated.yaml's profiles, yet under whole-node billing an
 * A100 node of two decode pods ($27.45/h) can beat a new H100 node ($55.04/h) once the H100 nodes
 * are full of prefill pods: the search finds that in several intervals, so A100 stays in it.
 * Cheapest is by the fleet's nominal whole-node price over the interval (the nodes still draining
 * the previous interval's fleet are billed in the run, not compared). In an interval where no fleet
 * within the bounds meets the target, the largest fleet of the pair whose trial met the most
 * requests before it stopped is held.
 *
 * Found, not proven lower bounds, as in the single-variant search: greedy interval by interval,
 * one accelerator per role at a time, attainment assumed to rise with either role's replicas, the
 * decode walk stopped by the rule above, a fleet held for a whole interval. And the oracle's target
 * holds in every interval, stricter than the span's 99% the benchmark counts: static-best (the
 * span's) can cost less, and a policy letting some intervals fall below 99% can too.
 */
import type { Config, DisaggregatedVariantConfig } from '../../lib/config/schema.js';
import { devicesPerReplica, targetsOf } from '../../lib/config/resolved.js';
import { roleAccelerators, ROLES, roleStartup, simRoleVariant, type Role } from '../../lib/config/roles.js';
import { newNodeSeconds } from '../../lib/config/startup.js';
import { disaggregatedInput, type DisaggregatedLoad } from '../../lib/config/toDisaggregated.js';
import type { Scenario } from '../../lib/closedLoop/scenario.js';
import { sizeDisaggregated } from '../../lib/optimizer/disaggregated.js';
import {
  fleetsCostPerHour,
  fleetsNodes,
  maxHeldOn,
  type Fleets,
  type HeldVariant,
} from '../policies/fleetHold.js';
import {
  busiestMinute,
  cacheKey,
  cachedSearch,
  DEFAULT_ORACLE_INTERVAL_SECONDS,
  DEFAULT_ORACLE_TARGET,
  fewestPassing,
  fewestPassingBelow,
  instantFleetsConfig,
  searchIntervals,
  spanTrials,
  stepSecondsOf,
  type FleetTrial,
  type IntervalPick,
  type IntervalSearch,
  type OracleSchedule,
  type SearchOptions,
  type SearchSubject,
  type StaticOutcome,
} from '../policies/oracleSearch.js';
import type { WindowCount } from '../policies/sloCheck.js';
import { holdingFleetsController, scheduledFleet, startingAs } from '../policies/oracle.js';

/** Bumped whenever the role search's rules change, so that cached schedules are not reused. */
const ROLE_SEARCH_VERSION = 2;

/** Replicas per role. */
export type RoleCounts = Readonly<Record<Role, number>>;

/**
 * The cheapest (prefill, decode) counts whose trial passes, by the walk of the file's comment,
 * costing less than `below` (a fleet found already); null when none is found. `trial` is assumed
 * to pass no less with more of either role, and `cost` to grow with each.
 */
export function cheapestPair<T extends { pass: boolean }>(
  bounds: { readonly min: RoleCounts; readonly max: RoleCounts },
  start: RoleCounts,
  cost: (c: RoleCounts) => number,
  trial: (c: RoleCounts) => T,
  below = Infinity,
): { counts: RoleCounts; result: T } | null {
  const { min, max } = bounds;
  if (cost(min) >= below - 1e-9) return null;
  const tried = new Map<string, T>();
  const run = (prefill: number, decode: number): T => {
    const key = `${prefill}/${decode}`;
    let r = tried.get(key);
    if (!r) {
      r = trial({ prefill, decode });
      tried.set(key, r);
    }
    return r;
  };
  const fewestDecode = fewestPassing(min.decode, max.decode, start.decode, (d) => run(max.prefill, d));
  if (!fewestDecode) return null;
  let best: { counts: RoleCounts; result: T | null; cost: number } | null =
    below < Infinity ? { counts: max, result: null, cost: below } : null;
  let prefillStart = start.prefill;
  let lastPrefill = Infinity;
  for (let decode = fewestDecode.replicas; decode <= max.decode; decode++) {
    let cap = max.prefill;
    while (best && cap >= min.prefill && cost({ prefill: cap, decode }) >= best.cost - 1e-9) cap--;
    // the cost grows with decode: past here nothing can beat the best
    if (cap < min.prefill) break;
    const byPrefill = (p: number) => run(p, decode);
    const found: { replicas: number; result: T } | null = best
      ? fewestPassingBelow(min.prefill, cap, prefillStart, byPrefill)
      : fewestPassing(min.prefill, cap, prefillStart, byPrefill);
    // more than `cap` needed here: more decode may still need fewer (one trial per decode count)
    if (!found) continue;
    const counts: RoleCounts = { prefill: found.replicas, decode };
    const c = cost(counts);
    if (!best || c < best.cost - 1e-9) best = { counts, result: found.result, cost: c };
    // more decode no longer lowers the prefill needed
    if (found.replicas >= lastPrefill) break;
    lastPrefill = found.replicas;
    prefillStart = found.replicas;
  }
  return best?.result ? { counts: best.counts, result: best.result } : null;
}

/** The accelerator (by the config's name) a role's simulated variant starts on. */
export function startingAcceleratorOf(
  config: Config,
  scenario: Scenario,
  v: DisaggregatedVariantConfig,
  role: Role,
): string {
  const fleet = scenario.fleet.variants.find((f) => f.name === simRoleVariant(v, role))!;
  return config.accelerators.find((a) => (a.type ?? a.name) === fleet.accelerator)!.name;
}

/** Seconds from asking for a role's replica on a new node to it serving (every phase of a cold start). */
export function roleColdStartSeconds(
  config: Config,
  v: DisaggregatedVariantConfig,
  role: Role,
  accelerator: string,
): number {
  const s = roleStartup(config, v, role);
  return (
    newNodeSeconds(config, accelerator) +
    s.imagePullSeconds +
    s.frameworkStartSeconds +
    s.weightsLoadSeconds +
    s.engineInitSeconds
  );
}

/** An accelerator per role. */
export type RoleAccelerators = Readonly<Record<Role, string>>;

/** The variant's roles as a search's subject, each on any of `accelerators[role]`. */
export function roleSubject(
  config: Config,
  v: DisaggregatedVariantConfig,
  accelerators: Readonly<Record<Role, readonly string[]>>,
): SearchSubject & { readonly byRole: Readonly<Record<Role, HeldVariant>> } {
  const held = (role: Role): HeldVariant => ({
    name: simRoleVariant(v, role),
    accelerators: accelerators[role],
    devices: (acc) => devicesPerReplica(config, v, acc),
    minReplicas: v.roles[role].minReplicas,
    maxReplicas: v.roles[role].maxReplicas ?? Infinity,
  });
  const byRole = { prefill: held('prefill'), decode: held('decode') };
  return {
    held: ROLES.map((role) => byRole[role]),
    byRole,
    arrivals: simRoleVariant(v, 'prefill'),
    targets: targetsOf(config, v),
  };
}

type RoleSearchSubject = ReturnType<typeof roleSubject>;

/** The fleets holding `counts` of each role on its accelerator of `on` (none on its others). */
export function roleFleets(subject: RoleSearchSubject, on: RoleAccelerators, counts: RoleCounts): Fleets {
  return new Map(
    ROLES.map((role) => {
      const h = subject.byRole[role];
      return [h.name, new Map(h.accelerators.map((acc) => [acc, acc === on[role] ? counts[role] : 0]))];
    }),
  );
}

/** The accelerators and counts the fleets hold (each role on one accelerator). */
function choiceOf(subject: RoleSearchSubject, fleets: Fleets): { on: RoleAccelerators; counts: RoleCounts } {
  const of = (role: Role): [string, number] => {
    const fleet = [...fleets.get(subject.byRole[role].name)!];
    return fleet.find(([, n]) => n > 0) ?? fleet[0]!;
  };
  const [p, d] = [of('prefill'), of('decode')];
  return { on: { prefill: p[0], decode: d[0] }, counts: { prefill: p[1], decode: d[1] } };
}

/** The one disaggregated variant of a config, and what its searches are about. */
function setupOf(config: Config, v: DisaggregatedVariantConfig) {
  const accelerators = {
    prefill: roleAccelerators(config, v, 'prefill'),
    decode: roleAccelerators(config, v, 'decode'),
  };
  const subject = roleSubject(config, v, accelerators);
  const combos: RoleAccelerators[] = accelerators.prefill.flatMap((prefill) =>
    accelerators.decode.map((decode) => ({ prefill, decode })),
  );
  const max = (on: RoleAccelerators): RoleCounts => ({
    prefill: maxHeldOn(config, subject.byRole.prefill, on.prefill),
    decode: maxHeldOn(config, subject.byRole.decode, on.decode),
  });
  const cost = (on: RoleAccelerators, c: RoleCounts) =>
    fleetsCostPerHour(config, subject.held, roleFleets(subject, on, c));
  // whether the fleet's whole nodes fit every node group (both roles may share one)
  const fits = (on: RoleAccelerators, c: RoleCounts) => {
    const nodes = fleetsNodes(config, subject.held, roleFleets(subject, on, c));
    return config.nodeGroups.every((g) => (nodes.get(g.name) ?? 0) <= g.maxNodes);
  };
  // what a cached result depends on besides the scenario: the variant, the transfer, the rules
  const about = { v, kvTransfer: config.kvTransfer, version: ROLE_SEARCH_VERSION };
  return { v, subject, combos, max, cost, fits, about };
}

type RoleSetup = ReturnType<typeof setupOf>;

function theVariant(config: Config): DisaggregatedVariantConfig {
  const vs = config.disaggregated ?? [];
  if (vs.length !== 1 || config.variants.length !== 0)
    throw new Error('the role search handles one disaggregated variant per fleet, alone');
  return vs[0]!;
}

/** Each role's least count: its minReplicas, and 1 when requests arrive, within its bound. */
function leastCounts(setup: RoleSetup, on: RoleAccelerators, requests: number): RoleCounts {
  const least = requests > 0 ? 1 : 0;
  const max = setup.max(on);
  const of = (role: Role) => Math.min(Math.max(setup.v.roles[role].minReplicas, least), max[role]);
  return { prefill: of('prefill'), decode: of('decode') };
}

/** The model's sizing of both roles on `on` for a load (targets as they are), within the bounds; at least 1 each. */
function modelStart(
  config: Config,
  setup: RoleSetup,
  on: RoleAccelerators,
  load: DisaggregatedLoad,
): RoleCounts {
  const fallback = { prefill: 1, decode: 1 };
  if (!(load.rate > 0)) return fallback;
  const sizing = sizeDisaggregated(
    disaggregatedInput(config, setup.v, load, {
      accelerators: { prefill: [on.prefill], decode: [on.decode] },
    }),
  );
  const plan = sizing.feasible ? sizing.plan : sizing.needed;
  if (!plan) return fallback;
  const max = setup.max(on);
  const clamp = (role: Role) => Math.min(Math.max(plan[role].replicas, 1), max[role]);
  return { prefill: clamp('prefill'), decode: clamp('decode') };
}

const sameCombo = (a: RoleAccelerators, b: RoleAccelerators) =>
  a.prefill === b.prefill && a.decode === b.decode;

/**
 * The cheapest passing fleet over every pair of accelerators (`first` searched first: the
 * likeliest winner), each pair's search bounded by the best found so far; null when none passes.
 */
function cheapestOverCombos<T extends { pass: boolean }>(
  setup: RoleSetup,
  first: RoleAccelerators | undefined,
  least: (on: RoleAccelerators) => RoleCounts,
  start: (on: RoleAccelerators) => RoleCounts,
  trial: (on: RoleAccelerators, c: RoleCounts) => T,
): { on: RoleAccelerators; counts: RoleCounts; result: T } | null {
  const order = first ? [first, ...setup.combos.filter((c) => !sameCombo(c, first))] : [...setup.combos];
  let best: { on: RoleAccelerators; counts: RoleCounts; result: T } | null = null;
  let bestCost = Infinity;
  for (const on of order) {
    const found: { counts: RoleCounts; result: T } | null = cheapestPair(
      { min: least(on), max: setup.max(on) },
      start(on),
      (c) => setup.cost(on, c),
      (c) => trial(on, c),
      bestCost,
    );
    if (found) {
      best = { on, ...found };
      bestCost = setup.cost(on, found.counts);
    }
  }
  return best;
}

/** Of every pair's largest fleet, the one whose trial met the most requests (counted where it stopped). */
function closestOverCombos<T extends { count: { met: number } }>(
  setup: RoleSetup,
  trial: (on: RoleAccelerators, c: RoleCounts) => T,
): { on: RoleAccelerators; counts: RoleCounts; result: T } {
  let closest: { on: RoleAccelerators; counts: RoleCounts; result: T } | null = null;
  for (const on of setup.combos) {
    const counts = setup.max(on);
    const result = trial(on, counts);
    if (!closest || result.count.met > closest.result.count.met) closest = { on, counts, result };
  }
  return closest!;
}

/** The count of a window whose fleet could not be held: every request missed. */
const unheld = (requests: number): WindowCount => ({ requests, met: 0, missed: requests, open: 0 });

const describeChoice = (on: RoleAccelerators, c: RoleCounts) =>
  `${c.prefill} ${on.prefill} prefill + ${c.decode} ${on.decode} decode`;

export interface RoleChoice {
  readonly start: number;
  readonly end: number;
  readonly accelerators: RoleAccelerators;
  readonly replicas: RoleCounts;
  readonly costPerHour: number;
  readonly requests: number;
  readonly met: number;
  /** false when no fleet within the bounds met the target (the closest was taken) */
  readonly feasible: boolean;
}

export interface RoleSchedule {
  readonly intervalSeconds: number;
  readonly target: number;
  readonly stepSeconds: number;
  readonly choices: readonly RoleChoice[];
  readonly trials: number;
  readonly fromCache: boolean;
}

export interface RoleStaticChoice extends StaticOutcome {
  readonly accelerators: RoleAccelerators;
  readonly replicas: RoleCounts;
}

/** The per-interval schedule of the role oracle (see the file's comment). */
export function searchRoleOracle(
  config: Config,
  scenario: Scenario,
  options: SearchOptions = {},
): RoleSchedule {
  const setup = setupOf(config, theVariant(config));
  const { subject } = setup;
  const interval = options.intervalSeconds ?? DEFAULT_ORACLE_INTERVAL_SECONDS;
  const target = options.target ?? DEFAULT_ORACLE_TARGET;
  const step = stepSecondsOf(config);
  const key = cacheKey('role-oracle', config, scenario, setup.about, { interval, target, step });
  return cachedSearch(options.cacheDir, key, (): RoleSchedule => {
    const pick = ({ window, load, previous, trial }: IntervalSearch): IntervalPick => {
      const last = previous && choiceOf(subject, previous.fleets);
      // on the interval before's pair, its counts scaled by the change in arrivals (a close start);
      // else the model's sizing
      const start = (on: RoleAccelerators): RoleCounts => {
        if (!last || !previous || previous.requests === 0 || !sameCombo(on, last.on))
          return modelStart(config, setup, on, load);
        const ratio = load.rate / (previous.requests / Math.max(previous.end - previous.start, 1e-9));
        const max = setup.max(on);
        const scaled = (role: Role) =>
          Math.min(Math.max(1, Math.round(last.counts[role] * ratio)), max[role]);
        return { prefill: scaled('prefill'), decode: scaled('decode') };
      };
      // a fleet whose nodes do not fit the node groups cannot be held: it fails unrun
      const trialOn = (on: RoleAccelerators, c: RoleCounts): FleetTrial =>
        setup.fits(on, c)
          ? trial(roleFleets(subject, on, c))
          : {
              fleets: roleFleets(subject, on, c),
              pass: false,
              count: unheld(window.requests),
              atEnd: null,
              billed: Infinity,
            };
      const found = cheapestOverCombos(
        setup,
        last?.on ?? startingAccelerators(config, scenario, setup.v),
        (on) => leastCounts(setup, on, window.requests),
        start,
        trialOn,
      );
      return found ? { best: found.result } : { closest: closestOverCombos(setup, trialOn).result };
    };
    const { intervals, trials } = searchIntervals(
      config,
      scenario,
      subject,
      { intervalSeconds: interval, target, log: options.log },
      pick,
      (fleets) => {
        const c = choiceOf(subject, fleets);
        return describeChoice(c.on, c.counts);
      },
    );
    const schedule: RoleSchedule = {
      intervalSeconds: interval,
      target,
      stepSeconds: step,
      choices: intervals.map(({ fleets, ...rest }) => {
        const c = choiceOf(subject, fleets);
        return { ...rest, accelerators: c.on, replicas: c.counts, costPerHour: setup.cost(c.on, c.counts) };
      }),
      trials,
      fromCache: false,
    };
    return schedule;
  });
}

/** The accelerators the roles start on in the scenario (its warm start). */
function startingAccelerators(config: Config, scenario: Scenario, v: DisaggregatedVariantConfig) {
  return {
    prefill: startingAcceleratorOf(config, scenario, v, 'prefill'),
    decode: startingAcceleratorOf(config, scenario, v, 'decode'),
  };
}

/** The role static-best (see the file's comment). */
export function searchRoleStatic(
  config: Config,
  scenario: Scenario,
  options: SearchOptions = {},
): RoleStaticChoice {
  const setup = setupOf(config, theVariant(config));
  const { subject } = setup;
  const target = options.target ?? DEFAULT_ORACLE_TARGET;
  const step = stepSecondsOf(config);
  const key = cacheKey('role-static', config, scenario, setup.about, { target, step });
  return cachedSearch(options.cacheDir, key, (): RoleStaticChoice => {
    const span = spanTrials(config, scenario, subject, target);
    const trial = (on: RoleAccelerators, c: RoleCounts) => {
      if (!setup.fits(on, c)) return { pass: false, count: unheld(span.window.requests) };
      const r = span.trial(roleFleets(subject, on, c));
      options.log?.(`static search: ${describeChoice(on, c)}: ${r.pass ? 'meets' : 'misses'} the target`);
      return r;
    };
    // Sized by the model for the busiest minute: a constant fleet must carry the peak.
    const requests = scenario.traces.get(subject.arrivals)?.requests ?? [];
    const busiest = busiestMinute(requests, scenario.durationSeconds);
    const found =
      cheapestOverCombos(
        setup,
        startingAccelerators(config, scenario, setup.v),
        (on) => leastCounts(setup, on, span.window.requests),
        (on) => modelStart(config, setup, on, busiest),
        trial,
      ) ?? closestOverCombos(setup, trial);
    const result: RoleStaticChoice = {
      accelerators: found.on,
      replicas: found.counts,
      costPerHour: setup.cost(found.on, found.counts),
      requests: found.result.count.requests,
      met: found.result.count.met,
      feasible: found.result.pass,
      trials: span.trials(),
      fromCache: false,
    };
    return result;
  });
}

/** One role's part of the schedule, in the single-variant schedule's shape (for scheduledFleet). */
function roleProjection(schedule: RoleSchedule, role: Role): OracleSchedule {
  return {
    ...schedule,
    choices: schedule.choices.map((c) => ({
      ...c,
      accelerator: c.accelerators[role],
      replicas: c.replicas[role],
    })),
  };
}

function intervalRate(schedule: RoleSchedule, t: number): number | null {
  const c = schedule.choices[Math.floor(t / schedule.intervalSeconds + 1e-9)];
  return c ? c.requests / Math.max(c.end - c.start, 1e-9) : null;
}

/** What the replays of a schedule hold: each role's part of it, on every accelerator it may use. */
function replayOf(config: Config, schedule: RoleSchedule) {
  const v = theVariant(config);
  const { subject } = setupOf(config, v);
  const projections = {
    prefill: roleProjection(schedule, 'prefill'),
    decode: roleProjection(schedule, 'decode'),
  };
  // The fleets at t (with a lead per role and accelerator: asked for that far ahead), every
  // accelerator a role may use named (0 where the schedule holds none), so that a change of
  // accelerator scales the old one down.
  const fleetsAt = (t: number, lead?: (role: Role, accelerator: string) => number): Fleets =>
    new Map(
      ROLES.map((role) => {
        const h = subject.byRole[role];
        const held = scheduledFleet(projections[role], t, lead && ((acc) => lead(role, acc)));
        return [h.name, new Map(h.accelerators.map((acc) => [acc, held.get(acc) ?? 0]))];
      }),
    );
  return { v, subject, fleetsAt };
}

/** `oracle` per role: the schedule on the instant fleet, each interval's fleets from its first instant. */
export function roleOracleRun(config: Config, scenario: Scenario, schedule: RoleSchedule) {
  const { v, subject, fleetsAt } = replayOf(config, schedule);
  return {
    scenario: { ...scenario, fleet: instantFleetsConfig(config, scenario, subject.held, fleetsAt(0)) },
    controller: holdingFleetsController(
      'oracle',
      config,
      subject.held,
      v.name,
      (t) => fleetsAt(t),
      (t) => intervalRate(schedule, t),
      'foresight',
    ),
  };
}

/** `oracle-lead` per role: the schedule in the benchmark's world, each role asked a cold start ahead. */
export function roleOracleLeadRun(config: Config, scenario: Scenario, schedule: RoleSchedule) {
  const { v, subject, fleetsAt } = replayOf(config, schedule);
  const jitter = scenario.fleet.delayJitter ?? 0;
  const lead = (role: Role, acc: string) => roleColdStartSeconds(config, v, role, acc) * (1 + jitter);
  // The fleet the trace starts on held what the first intervals need (as if it ran before).
  return {
    scenario: startingAs(scenario, instantFleetsConfig(config, scenario, subject.held, fleetsAt(0, lead))),
    controller: holdingFleetsController(
      'oracle-lead',
      config,
      subject.held,
      v.name,
      (t) => fleetsAt(t, lead),
      (t) => intervalRate(schedule, t),
      'foresight-lead',
    ),
  };
}

/** `static-best` per role: the constant fleets, ready from the start on the instant fleet. */
export function roleStaticRun(config: Config, scenario: Scenario, choice: RoleStaticChoice) {
  const v = theVariant(config);
  const { subject } = setupOf(config, v);
  const fleets = roleFleets(subject, choice.accelerators, choice.replicas);
  return {
    scenario: { ...scenario, fleet: instantFleetsConfig(config, scenario, subject.held, fleets) },
    controller: holdingFleetsController(
      'static-best',
      config,
      subject.held,
      v.name,
      () => fleets,
      () => null,
      'static',
    ),
  };
}
