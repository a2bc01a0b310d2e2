/**
 * Held-out workloads (issue 14's "other days, other services, reasoning models, multi-day runs"):
 * traces DERIVED from the three recorded ones in data/traces by documented, seeded transformations,
 * to find where the policies break on load the suite does not contain. They are not real traces:
 * each one keeps a recorded arrival process and token mix and changes one thing on purpose.
 *
 * The choice is fixed before any result is seen and not tuned afterwards (see bench/RESULTS.md,
 * "Held-out workloads"). Slices keep each run (sva, oracle, keda-epp, the oracle's search
 * included) within minutes on a small machine.
 */
import type { Random } from '../../lib/fleetSimulator/random.js';
import type { Trace, TraceRequest } from '../../lib/fleetSimulator/traces.js';
import type { ModelProfile } from './reasoning.js';
import { reasoningOutputs, workRatio } from './reasoning.js';

export const DAY = 'data/traces/servegen-mlarge-day6-24h.csv';
export const AZURE = 'data/traces/azure-llm-2023-code.csv';
const HOUR = 3600;

export interface Derivation {
  /** the requests of the derived trace, arrivals from 0 */
  readonly requests: TraceRequest[];
  /** what was done, in figures (printed and written next to the CSV) */
  readonly note: string;
}

export interface Workload {
  readonly name: string;
  /** the recorded trace it is derived from (path from the repository root) */
  readonly source: string;
  readonly fleet: 'chat' | 'code';
  /** why this workload is a fair question to ask of an autoscaler */
  readonly why: string;
  /** builds the derived trace; absent: the bench runs the source itself at `rateScale` */
  readonly derive?: (source: Trace, random: Random, profile: ModelProfile) => Derivation;
  /** passed to the bench as --rate-scale (its amplify: shifted copies overlaid) */
  readonly rateScale?: number;
  /** the policies run on it when none are named (the oracle's search of two days is long) */
  readonly policies?: readonly string[];
}

/** The requests of [start, start + length), shifted to start at 0. */
export function slice(requests: readonly TraceRequest[], start: number, length: number): TraceRequest[] {
  return requests
    .filter((r) => r.arrival >= start && r.arrival < start + length)
    .map((r) => ({ ...r, arrival: r.arrival - start }));
}

/** The trace rotated to start at `start` (what came before it follows at the end). */
export function rotate(requests: readonly TraceRequest[], start: number, period: number): TraceRequest[] {
  return requests
    .map((r) => ({ ...r, arrival: (r.arrival - start + period) % period }))
    .sort((a, b) => a.arrival - b.arrival);
}

/**
 * The same day with `factor` times its users and the same diurnal shape: the whole part as copies
 * each shifted by its own uniform offset in [-jitter, jitter] (round the period), so that bursts
 * do not coincide to the second, and the fractional part as a seeded thinning of one more copy.
 * (The bench's --rate-scale shifts its copies by period / copies, 12 h for x2: it would flatten
 * the day, which is why these are built here.)
 */
export function scaleDay(
  requests: readonly TraceRequest[],
  factor: number,
  period: number,
  jitterSeconds: number,
  random: Random,
): TraceRequest[] {
  const out: TraceRequest[] = [];
  const copies = Math.ceil(factor);
  for (let i = 0; i < copies; i++) {
    const keep = Math.min(1, factor - i);
    const shift = i === 0 ? 0 : (2 * random() - 1) * jitterSeconds;
    for (const r of requests) {
      if (keep < 1 && random() >= keep) continue;
      out.push({ ...r, arrival: (r.arrival + shift + period) % period });
    }
  }
  return out.sort((a, b) => a.arrival - b.arrival);
}

const dayPeriod = (t: Trace) => Math.ceil((t.requests.at(-1)?.arrival ?? 0) / HOUR) * HOUR;

/** Mean requests per second in each whole hour. */
export function hourlyRates(requests: readonly TraceRequest[], hours: number): number[] {
  const counts = new Array<number>(hours).fill(0);
  for (const r of requests) {
    const h = Math.floor(r.arrival / HOUR);
    if (h < hours) counts[h]! += 1;
  }
  return counts.map((n) => n / HOUR);
}

export const WORKLOADS: readonly Workload[] = [
  {
    name: 'day-reasoning',
    source: DAY,
    fleet: 'chat',
    why:
      'a reasoning model: hours 7-12 of the day (flat morning, the ramp, the peak hour) with half the ' +
      'outputs long (log-normal, median 2,000 tokens) and the rate thinned to the same GPU work',
    derive: (t, random, profile) => {
      const span = slice(t.requests, 7 * HOUR, 5 * HOUR);
      const long = reasoningOutputs(span, random, profile);
      const ratio = workRatio(span, long, profile);
      const kept = long.filter(() => random() < ratio);
      const mean = (rs: readonly TraceRequest[]) => rs.reduce((a, r) => a + r.outputTokens, 0) / rs.length;
      return {
        requests: kept,
        note:
          `day hours 7-12; outputs: half as recorded, half log-normal (median 2000, sigma 1, at most ` +
          `${profile.maxOutputTokens} and the context); mean output ${mean(span).toFixed(0)} -> ${mean(long).toFixed(0)} tokens; ` +
          `rate x${ratio.toFixed(3)} (the same GPU work on ${profile.accelerator} at full batch): ${span.length} -> ${kept.length} requests`,
      };
    },
  },
  {
    name: 'day-from-peak',
    source: DAY,
    fleet: 'chat',
    why:
      'another start: the day rotated to begin at its busiest hour (12:00), first 4 h: the fleet must ' +
      'hold the peak from the start and then follow the afternoon down and up',
    derive: (t) => {
      const period = dayPeriod(t);
      const rates = hourlyRates(t.requests, period / HOUR);
      const busiest = rates.indexOf(Math.max(...rates));
      const requests = slice(rotate(t.requests, busiest * HOUR, period), 0, 4 * HOUR);
      return {
        requests,
        note: `day rotated to start at hour ${busiest} (${rates[busiest]!.toFixed(2)} req/s, the busiest), first 4 h: ${requests.length} requests`,
      };
    },
  },
  {
    name: 'day-x0.5',
    source: DAY,
    fleet: 'chat',
    why: 'a smaller service of the same shape: the day at half its users, hours 6-14 (trough, ramp, peak)',
    derive: (t, random) => {
      const requests = slice(scaleDay(t.requests, 0.5, dayPeriod(t), 600, random), 6 * HOUR, 8 * HOUR);
      return { requests, note: `day thinned to x0.5 (seeded), hours 6-14: ${requests.length} requests` };
    },
  },
  {
    name: 'day-x2',
    source: DAY,
    fleet: 'chat',
    why: 'a bigger service of the same shape: the day at twice its users, hours 6-14 (trough, ramp, peak)',
    derive: (t, random) => {
      const requests = slice(scaleDay(t.requests, 2, dayPeriod(t), 600, random), 6 * HOUR, 8 * HOUR);
      return {
        requests,
        note: `day x2 (a second copy shifted by a seeded offset within 10 min), hours 6-14: ${requests.length} requests`,
      };
    },
  },
  {
    name: 'two-days',
    source: DAY,
    fleet: 'chat',
    policies: ['sva', 'keda-epp'],
    why:
      'a multi-day run: the day, then the day again with its arrivals shifted by one seeded offset ' +
      'within 10 min; whether sva holds the second day as the first (no yardstick: the search of ' +
      '48 h is too long here; compare the days hour by hour)',
    derive: (t, random) => {
      const period = dayPeriod(t);
      const shift = (2 * random() - 1) * 600;
      const second = t.requests.map((r) => ({
        ...r,
        arrival: period + ((r.arrival + shift + period) % period),
      }));
      const requests = [...t.requests, ...second.sort((a, b) => a.arrival - b.arrival)];
      return {
        requests,
        note: `the day, then again shifted by ${shift.toFixed(0)} s (round the day): ${requests.length} requests over 48 h`,
      };
    },
  },
  {
    name: 'azure-x2',
    source: AZURE,
    fleet: 'code',
    rateScale: 2,
    why: 'the coding service at half the suite scale (x2 instead of x4): fewer replicas, coarser steps',
  },
  {
    name: 'azure-x8',
    source: AZURE,
    fleet: 'code',
    rateScale: 8,
    why: 'the coding service at twice the suite scale (x8): bursts of up to 80 req/s against the node group',
  },
];
