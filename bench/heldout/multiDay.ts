/**
 * A held-out multi-day workload DERIVED from the recorded day (not a recorded trace): the 24-hour
 * ServeGen day repeated over several days, no two alike, to measure what a policy learns across a
 * day boundary (the daily season of policy.forecast.seasonal, issue 14). Each day d:
 *
 * - a weekday-like rate scale s_d drawn uniformly within ±20% (seeded), eased in over the first
 *   hour of the day from the previous day's so midnight has no step: below 1 each arrival is kept
 *   with probability s, above 1 each is kept and copied once with probability s - 1, the copy
 *   moved by up to ±30 s (the bursts keep their shape);
 * - a time warp t + A_d sin(pi t / day) with A_d drawn within ±30 minutes: zero at midnight, the
 *   morning ramp and the afternoon moved by up to half an hour (a season learnt on one day is not
 *   exactly the next one's);
 * - every request's (input, output) pair drawn afresh from the requests of the same hour of the
 *   recorded day (the hour's token mix kept, the pairing to arrivals not).
 *
 * Seeded: the same seed and source give the same file byte for byte.
 *
 *   node bin/run-ts.js bench/heldout/multiDay.ts [--seed N] [--days N] [--out DIR] [--run]
 *       [--policy NAME ...] [--duration S]
 *
 * writes DIR/multi-day-<days>d.csv (timestamp_s,input_tokens,output_tokens) with a .txt note, and
 * DIR/fleet-chat-seasonal.yaml (bench/policies/fleet-chat.yaml with policy.forecast.seasonal on).
 * With --run it runs the policy bench (bench/policies/run.ts; default policies sva and oracle) on
 * the trace with the bench's fleet (sva's defaults), then the policies that are not yardsticks
 * again with the seasonal copy, and prints attainment and cost (against the oracle's) day by day
 * from the bench's hour-by-hour rows. DIR defaults to bench/heldout/traces/ (git-ignored).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml, stringify } from 'yaml';
import type { HourRow } from '../../lib/closedLoop/hourly.js';
import { randomStream, type Random } from '../../lib/fleetSimulator/random.js';
import { readTrace, type Trace, type TraceRequest } from '../../lib/fleetSimulator/traces.js';
import { YARDSTICKS } from '../policies/policies.js';
import { CHAT_FLEET } from '../policies/traces.js';
import { runBenchCli } from './benchCli.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_DIR = fileURLToPath(new URL('./traces/', import.meta.url));
export const DAY_SOURCE = 'data/traces/servegen-mlarge-day6-24h.csv';
export const DAY_SECONDS = 86_400;
const HOUR = 3600;
/** the most a day's rate differs from the recorded day's */
export const MAX_DAY_SCALE = 0.2;
/** the most the time warp moves the middle of a day, seconds */
export const MAX_WARP_SECONDS = 1800;
const COPY_JITTER_SECONDS = 30;

export interface DayShape {
  readonly scale: number;
  readonly warpSeconds: number;
}

/** Each day's rate scale and warp, from one seeded stream. */
export function dayShapes(days: number, random: Random): DayShape[] {
  return Array.from({ length: days }, () => ({
    scale: 1 + MAX_DAY_SCALE * (2 * random() - 1),
    warpSeconds: MAX_WARP_SECONDS * (2 * random() - 1),
  }));
}

/** The scale at second t of day d: the day's own, eased in from the previous day's over an hour. */
function scaleAt(shapes: readonly DayShape[], d: number, t: number): number {
  const s = shapes[d]!.scale;
  if (d === 0 || t >= HOUR) return s;
  const before = shapes[d - 1]!.scale;
  return before + (s - before) * (t / HOUR);
}

/** The derived requests over `shapes.length` days, sorted by arrival. */
export function deriveDays(
  day: Trace,
  shapes: readonly DayShape[],
  seed: number,
): { requests: TraceRequest[]; note: string } {
  const source = day.requests.filter((r) => r.arrival >= 0 && r.arrival < DAY_SECONDS);
  const byHour: TraceRequest[][] = Array.from({ length: 24 }, () => []);
  for (const r of source) byHour[Math.floor(r.arrival / HOUR)]!.push(r);
  const requests: TraceRequest[] = [];
  for (const [d, shape] of shapes.entries()) {
    // One stream per day: a longer run keeps the earlier days' requests.
    const random = randomStream(seed, 100 + d);
    const warp = (t: number) => t + shape.warpSeconds * Math.sin((Math.PI * t) / DAY_SECONDS);
    const emit = (t: number, hour: number) => {
      const pool = byHour[hour]!;
      const pair = pool[Math.floor(random() * pool.length)]!;
      const within = Math.min(Math.max(t, 0), DAY_SECONDS - 1e-3);
      requests.push({
        arrival: d * DAY_SECONDS + within,
        inputTokens: pair.inputTokens,
        outputTokens: pair.outputTokens,
      });
    };
    for (const r of source) {
      const t = warp(r.arrival);
      const s = scaleAt(shapes, d, t);
      const hour = Math.floor(r.arrival / HOUR);
      const u = random();
      if (s < 1 && u >= s) continue;
      emit(t, hour);
      if (s > 1 && u < s - 1) emit(t + COPY_JITTER_SECONDS * (2 * random() - 1), hour);
    }
  }
  requests.sort((a, b) => a.arrival - b.arrival);
  const note = shapes
    .map(
      (s, d) =>
        `day ${d + 1}: rate x${s.scale.toFixed(3)}, warp ${(s.warpSeconds / 60).toFixed(1)} min at midday`,
    )
    .join('; ');
  return { requests, note: `${requests.length} requests; ${note}` };
}

/** The bench's chat fleet with the seasonal forecast switched on (and nothing else changed). */
export function seasonalFleet(fleetYaml: string): string {
  const doc = parseYaml(fleetYaml) as Record<string, unknown>;
  const policy = (doc.policy ?? {}) as Record<string, unknown>;
  const forecast = (policy.forecast ?? {}) as Record<string, unknown>;
  const seasonal = (forecast.seasonal ?? {}) as Record<string, unknown>;
  doc.policy = { ...policy, forecast: { ...forecast, seasonal: { ...seasonal, enabled: true } } };
  return `# ${CHAT_FLEET_NOTE}\n${stringify(doc)}`;
}
const CHAT_FLEET_NOTE =
  'written by bench/heldout/multiDay.ts: bench/policies/fleet-chat.yaml with policy.forecast.seasonal on';

/** Attainment and cost of the hours of each day (the bench's hour rows, hour 0 the trace's start). */
export function byDay(
  rows: readonly HourRow[],
): { day: number; requests: number; met: number; cost: number }[] {
  const days = new Map<number, { requests: number; met: number; cost: number }>();
  for (const r of rows) {
    const d = Math.floor((r.hour * HOUR) / DAY_SECONDS);
    const a = days.get(d) ?? { requests: 0, met: 0, cost: 0 };
    a.requests += r.requests;
    a.met += r.requests * (r.sloAttainment ?? 0);
    a.cost += r.cost;
    days.set(d, a);
  }
  return [...days.entries()].map(([day, a]) => ({ day, ...a }));
}

interface BenchOut {
  readonly policies: Record<string, { sloAttainment: number; cost: number }>;
  readonly hourly?: Record<string, HourRow[]>;
}

async function bench(args: readonly string[]): Promise<BenchOut> {
  process.stderr.write(`multi-day: npm run bench -- ${args.join(' ')}\n`);
  const { json, rest } = await runBenchCli(args);
  if (json === null) throw new Error(`the bench printed no JSON:\n${rest}`);
  return json as BenchOut;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      seed: { type: 'string', default: '17' },
      days: { type: 'string', default: '3' },
      out: { type: 'string' },
      run: { type: 'boolean', default: false },
      policy: { type: 'string', multiple: true },
      duration: { type: 'string' },
    },
  });
  const seed = Number(values.seed);
  const days = Number(values.days);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
  if (!Number.isInteger(days) || days < 1)
    throw new Error(`--days must be a positive integer, got ${values.days}`);
  const dir = resolve(values.out ?? DEFAULT_DIR);
  mkdirSync(dir, { recursive: true });
  const shapes = dayShapes(days, randomStream(seed, 0));
  const { requests, note } = deriveDays(await readTrace(`${REPO_ROOT}${DAY_SOURCE}`), shapes, seed);
  const tracePath = join(dir, `multi-day-${days}d.csv`);
  const lines = requests.map((r) => `${r.arrival.toFixed(3)},${r.inputTokens},${r.outputTokens}`);
  writeFileSync(tracePath, `timestamp_s,input_tokens,output_tokens\n${lines.join('\n')}\n`);
  writeFileSync(
    join(dir, `multi-day-${days}d.txt`),
    `multi-day-${days}d: derived from ${DAY_SOURCE}, seed ${seed} (not a recorded trace)\n${note}\n`,
  );
  const seasonalPath = join(dir, 'fleet-chat-seasonal.yaml');
  writeFileSync(seasonalPath, seasonalFleet(readFileSync(CHAT_FLEET, 'utf8')));
  process.stderr.write(`multi-day: ${tracePath}: ${note}\n`);
  if (!values.run) return;

  const policies = values.policy ?? ['sva', 'oracle'];
  const common = [
    '--trace',
    tracePath,
    ...(values.duration ? ['--duration', values.duration] : []),
    '--json',
  ];
  const runs: [string, BenchOut][] = [];
  // The yardsticks do not read the policy's settings: they run once, with the bench's fleet.
  for (const [label, fleet, names] of [
    ['defaults', CHAT_FLEET, policies],
    ['seasonal', seasonalPath, policies.filter((p) => !(YARDSTICKS as readonly string[]).includes(p))],
  ] as const) {
    if (names.length === 0) continue;
    const args = [...common, ...names.flatMap((p) => ['--policy', p])];
    runs.push([label, await bench([...args, '--fleet', fleet, '--out', join(dir, `out-${label}`)])]);
  }
  const oracleByDay = byDay(runs[0]?.[1].hourly?.oracle ?? []);
  const oracleCost = runs[0]?.[1].policies.oracle?.cost;
  const ratio = (cost: number, of: number | undefined) => (of ? ` (${(cost / of).toFixed(3)}x)` : '');
  const table = ['| fleet config | policy | day | requests | attainment | cost (vs oracle) |'];
  table.push('| --- | --- | --- | --- | --- | --- |');
  for (const [label, out] of runs) {
    for (const [policy, rows] of Object.entries(out.hourly ?? {})) {
      for (const d of byDay(rows)) {
        table.push(
          `| ${label} | ${policy} | ${d.day + 1} | ${d.requests} | ${((100 * d.met) / Math.max(d.requests, 1)).toFixed(2)}% | $${d.cost.toFixed(2)}${ratio(d.cost, oracleByDay[d.day]?.cost)} |`,
        );
      }
      const whole = out.policies[policy];
      if (whole) {
        table.push(
          `| ${label} | ${policy} | all | | ${(100 * whole.sloAttainment).toFixed(2)}% | $${whole.cost.toFixed(2)}${ratio(whole.cost, oracleCost)} |`,
        );
      }
    }
  }
  process.stdout.write(`${table.join('\n')}\n`);
  writeFileSync(join(dir, 'multi-day.json'), JSON.stringify(Object.fromEntries(runs), null, 2));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main();
