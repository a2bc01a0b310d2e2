/**
 * Request traces: readers for the three supported formats and time transformations.
 *
 * Formats, detected from the content (the file extension only sharpens error messages):
 * - `azure`: Azure LLM inference trace CSV, header `TIMESTAMP,ContextTokens,GeneratedTokens`,
 *   wall-clock timestamps such as `2023-11-16 18:15:46.6805900` (read as UTC). Arrivals are
 *   seconds from the earliest timestamp, keeping every fractional digit.
 * - `mooncake`: JSON lines `{"timestamp": ms, "input_length": n, "output_length": n, ...}`;
 *   timestamps are already offsets from the trace start, so arrival = timestamp / 1000.
 * - `csv`: header `timestamp_s,input_tokens,output_tokens`, arrival = timestamp_s.
 * Columns are found by header name, so extra columns are ignored. Blank lines are skipped. Rows
 * out of time order are sorted (stably), not rejected. A bad field fails the whole read with
 * `FILE:LINE: FIELD is not ...: "VALUE"`.
 *
 * Timestamps recorded on a coarse grid (the Mooncake conversation trace: about 10 requests at the
 * same millisecond every 3 s) replay as simultaneous arrivals. `dequantise` is the explicit
 * option that spreads each tick's requests over the tick (detectGrid finds the grid); the readers
 * never do it on their own.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';

import { mulberry32, randomStream } from './random.js';

export interface TraceRequest {
  /** seconds from the trace start */
  readonly arrival: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface Trace {
  readonly name: string;
  /** sorted by arrival */
  readonly requests: readonly TraceRequest[];
  /**
   * Length of the observation window when known (synthetic traces, cuts); otherwise the window
   * is taken to end one mean inter-arrival gap after the last request (see traceDuration).
   */
  readonly duration?: number;
}

export type TraceFormat = 'azure' | 'mooncake' | 'csv';

export class TraceError extends Error {
  override name = 'TraceError';
}

const AZURE_COLUMNS = ['TIMESTAMP', 'ContextTokens', 'GeneratedTokens'] as const;
const PLAIN_COLUMNS = ['timestamp_s', 'input_tokens', 'output_tokens'] as const;

/** Reads a trace file; `format` overrides detection. */
export async function readTrace(path: string, format?: TraceFormat): Promise<Trace> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new TraceError(`${path}: cannot read trace: ${(error as Error).message}`);
  }
  return parseTrace(text, path, format);
}

/** Parses trace text; `fileName` names the trace and prefixes error messages. */
export function parseTrace(text: string, fileName: string, format?: TraceFormat): Trace {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const chosen = format ?? detectTraceFormat(lines, fileName);
  const requests =
    chosen === 'mooncake'
      ? parseMooncake(lines, fileName)
      : chosen === 'azure'
        ? parseAzure(lines, fileName)
        : parsePlainCsv(lines, fileName);
  if (requests.length === 0) throw new TraceError(`${fileName}: trace has no requests`);
  // Array.prototype.sort is stable, so requests with equal arrivals keep their file order.
  requests.sort((a, b) => a.arrival - b.arrival);
  return { name: basename(fileName, extname(fileName)), requests };
}

function detectTraceFormat(lines: readonly string[], fileName: string): TraceFormat {
  const first = lines.find((line) => line.trim() !== '');
  if (first === undefined) throw new TraceError(`${fileName}: trace has no requests`);
  const firstLine = lines.indexOf(first) + 1;
  if (first.trimStart().startsWith('{')) return 'mooncake';
  const header = splitCsv(first);
  if (AZURE_COLUMNS.every((c) => header.includes(c))) return 'azure';
  if (PLAIN_COLUMNS.every((c) => header.includes(c))) return 'csv';
  const extension = extname(fileName).toLowerCase();
  const expected =
    extension === '.jsonl' || extension === '.json'
      ? 'JSON lines with timestamp, input_length, output_length'
      : `a CSV header "${AZURE_COLUMNS.join(',')}" or "${PLAIN_COLUMNS.join(',')}"`;
  throw new TraceError(
    `${fileName}:${firstLine}: unrecognised trace format: expected ${expected}, got "${first}"`,
  );
}

function splitCsv(line: string): string[] {
  return line.split(',').map((field) => field.trim().replace(/^"(.*)"$/, '$1'));
}

const INTEGER = /^\d+$/;
const DECIMAL = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function fail(fileName: string, line: number, message: string): never {
  throw new TraceError(`${fileName}:${line}: ${message}`);
}

function tokenCount(value: unknown, fileName: string, line: number, field: string): number {
  if (value === undefined) return fail(fileName, line, `${field} is missing`);
  if (
    typeof value === 'number'
      ? Number.isSafeInteger(value) && value >= 0
      : typeof value === 'string' && INTEGER.test(value)
  ) {
    const count = Number(value);
    if (Number.isSafeInteger(count)) return count;
  }
  return fail(fileName, line, `${field} is not a non-negative integer: ${JSON.stringify(value)}`);
}

function seconds(value: unknown, fileName: string, line: number, field: string, scale: number): number {
  if (value === undefined) return fail(fileName, line, `${field} is missing`);
  const parsed =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && DECIMAL.test(value)
        ? Number(value)
        : NaN;
  if (Number.isFinite(parsed) && parsed >= 0) return parsed / scale;
  return fail(fileName, line, `${field} is not a non-negative number: ${JSON.stringify(value)}`);
}

/** Yields the data rows of a CSV with the given required columns, as field arrays. */
function* csvRows(
  lines: readonly string[],
  fileName: string,
  columns: readonly string[],
): Generator<{ line: number; fields: Record<string, string> }> {
  let headerLine = 0;
  while (headerLine < lines.length && lines[headerLine]!.trim() === '') headerLine++;
  const header = splitCsv(lines[headerLine] ?? '');
  const indices = columns.map((column) => {
    const index = header.indexOf(column);
    if (index < 0)
      fail(fileName, headerLine + 1, `header lacks column ${column}: "${lines[headerLine] ?? ''}"`);
    return index;
  });
  for (let i = headerLine + 1; i < lines.length; i++) {
    const text = lines[i]!;
    if (text.trim() === '') continue;
    const values = splitCsv(text);
    if (values.length !== header.length) {
      fail(fileName, i + 1, `expected ${header.length} fields, got ${values.length}: "${text}"`);
    }
    const fields: Record<string, string> = {};
    columns.forEach((column, k) => (fields[column] = values[indices[k]!]!));
    yield { line: i + 1, fields };
  }
}

function parsePlainCsv(lines: readonly string[], fileName: string): TraceRequest[] {
  const requests: TraceRequest[] = [];
  for (const { line, fields } of csvRows(lines, fileName, PLAIN_COLUMNS)) {
    requests.push({
      arrival: seconds(fields.timestamp_s, fileName, line, 'timestamp_s', 1),
      inputTokens: tokenCount(fields.input_tokens, fileName, line, 'input_tokens'),
      outputTokens: tokenCount(fields.output_tokens, fileName, line, 'output_tokens'),
    });
  }
  return requests;
}

type Six = [number, number, number, number, number, number];
const AZURE_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?$/;

/** Whole seconds since the epoch and the fraction apart, so no fractional digit is rounded away. */
function azureTimestamp(value: string, fileName: string, line: number): { whole: number; fraction: number } {
  const match = AZURE_TIMESTAMP.exec(value);
  if (match !== null) {
    const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as Six;
    const ms = Date.UTC(year, month - 1, day, hour, minute, second);
    const date = new Date(ms);
    // Date.UTC rolls over out-of-range parts (Feb 30 -> Mar 2); a round trip catches them.
    if (
      date.getUTCMonth() === month - 1 &&
      date.getUTCDate() === day &&
      hour < 24 &&
      minute < 60 &&
      second < 60
    ) {
      return { whole: ms / 1000, fraction: match[7] === undefined ? 0 : Number(`0${match[7]}`) };
    }
  }
  return fail(
    fileName,
    line,
    `TIMESTAMP is not a date-time like "2023-11-16 18:15:46.6805900": ${JSON.stringify(value)}`,
  );
}

function parseAzure(lines: readonly string[], fileName: string): TraceRequest[] {
  const rows: { whole: number; fraction: number; inputTokens: number; outputTokens: number }[] = [];
  for (const { line, fields } of csvRows(lines, fileName, AZURE_COLUMNS)) {
    rows.push({
      ...azureTimestamp(fields.TIMESTAMP!, fileName, line),
      inputTokens: tokenCount(fields.ContextTokens, fileName, line, 'ContextTokens'),
      outputTokens: tokenCount(fields.GeneratedTokens, fileName, line, 'GeneratedTokens'),
    });
  }
  if (rows.length === 0) return [];
  let origin = rows[0]!;
  for (const row of rows) {
    if (row.whole < origin.whole || (row.whole === origin.whole && row.fraction < origin.fraction))
      origin = row;
  }
  return rows.map((row) => ({
    arrival: row.whole - origin.whole + (row.fraction - origin.fraction),
    inputTokens: row.inputTokens,
    outputTokens: row.outputTokens,
  }));
}

function parseMooncake(lines: readonly string[], fileName: string): TraceRequest[] {
  const requests: TraceRequest[] = [];
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    if (text.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (error) {
      fail(fileName, i + 1, `not valid JSON: ${(error as Error).message}`);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row))
      fail(fileName, i + 1, 'not a JSON object');
    const record = row as Record<string, unknown>;
    requests.push({
      arrival: seconds(record.timestamp, fileName, i + 1, 'timestamp', 1000),
      inputTokens: tokenCount(record.input_length, fileName, i + 1, 'input_length'),
      outputTokens: tokenCount(record.output_length, fileName, i + 1, 'output_length'),
    });
  }
  return requests;
}

// ---- transformations ----

/**
 * The observation window of a trace: its `duration` when set, else the last arrival plus the
 * mean inter-arrival gap, so that a looped trace keeps its average rate at the seam.
 */
export function traceDuration(trace: Trace): number {
  if (trace.duration !== undefined) return trace.duration;
  const { requests } = trace;
  if (requests.length === 0) return 0;
  const first = requests[0]!.arrival;
  const last = requests[requests.length - 1]!.arrival;
  return requests.length > 1 ? last + (last - first) / (requests.length - 1) : last;
}

/** Plays the trace `factor` times faster (factor 2 doubles the request rate). */
export function scaleRate(trace: Trace, factor: number): Trace {
  if (!(factor > 0) || !Number.isFinite(factor))
    throw new TraceError(`rate factor must be > 0, got ${factor}`);
  return {
    name: `${trace.name}@${factor}x`,
    requests: trace.requests.map((r) => ({ ...r, arrival: r.arrival / factor })),
    duration: trace.duration === undefined ? undefined : trace.duration / factor,
  };
}

/**
 * Multiplies the request rate by `factor` and keeps the trace's length and time scale: as many
 * independent users more, rather than the same users going faster (scaleRate). The result is
 * the trace overlaid with copies of itself shifted round its period by equal steps, the last one
 * thinned to the fraction left over (factor 2.5: two whole copies and half of a third); a factor
 * below 1 thins the trace itself. Thinning is seeded, so the same call gives the same trace.
 */
export function amplify(trace: Trace, factor: number, seed = 1): Trace {
  if (!(factor > 0) || !Number.isFinite(factor))
    throw new TraceError(`rate factor must be > 0, got ${factor}`);
  const period = traceDuration(trace);
  const copies = Math.ceil(factor);
  const keepLast = factor - (copies - 1);
  const random = mulberry32(seed);
  const requests: TraceRequest[] = [];
  for (let i = 0; i < copies; i++) {
    const shift = (i * period) / copies;
    for (const r of trace.requests) {
      if (i === copies - 1 && keepLast < 1 && random() >= keepLast) continue;
      const arrival = period > 0 ? (r.arrival + shift) % period : r.arrival;
      requests.push({ ...r, arrival });
    }
  }
  requests.sort((a, b) => a.arrival - b.arrival);
  return { name: `${trace.name}x${factor}`, requests, duration: trace.duration };
}

/** The requests in [start, start + duration), shifted to start at 0. */
export function cut(trace: Trace, window: { start?: number; duration?: number }): Trace {
  const start = window.start ?? 0;
  const duration = window.duration ?? Math.max(traceDuration(trace) - start, 0);
  if (!(start >= 0) || !(duration >= 0)) {
    throw new TraceError(`cut window must have start >= 0 and duration >= 0, got ${start}, ${duration}`);
  }
  const end = start + duration;
  return {
    name: `${trace.name}[${start}+${duration}]`,
    requests: trace.requests
      .filter((r) => r.arrival >= start && r.arrival < end)
      .map((r) => ({ ...r, arrival: r.arrival - start })),
    duration,
  };
}

/** Repeats the trace back to back (period traceDuration) until `duration` seconds are covered. */
export function loop(trace: Trace, duration: number): Trace {
  if (!(duration >= 0) || !Number.isFinite(duration))
    throw new TraceError(`loop duration must be >= 0, got ${duration}`);
  const period = traceDuration(trace);
  if (!(period > 0)) throw new TraceError(`cannot loop trace ${trace.name}: its duration is ${period}`);
  const requests: TraceRequest[] = [];
  for (let offset = 0; offset < duration; offset += period) {
    for (const r of trace.requests) {
      const arrival = r.arrival + offset;
      if (arrival >= duration) break;
      requests.push({ ...r, arrival });
    }
  }
  return { name: `${trace.name}~${duration}s`, requests, duration };
}

// ---- timestamps recorded on a grid ----

/** A grid the trace's timestamps were recorded on (detectGrid). */
export interface TimestampGrid {
  /** seconds between ticks */
  readonly step: number;
  /** distinct timestamps: the ticks that hold requests */
  readonly ticks: number;
  /** share of the requests whose timestamp another request shares */
  readonly tiedShare: number;
}

/** At least this share of the requests must share their timestamp for a grid to be detected. */
export const GRID_MIN_TIED_SHARE = 0.5;
/** How far (as a share of the step) a gap may sit from a whole number of steps: clock jitter. */
export const GRID_TOLERANCE = 0.02;

/**
 * The grid the timestamps sit on, or undefined when they do not look quantised. Detected only
 * when ties are common (GRID_MIN_TIED_SHARE of the requests share a timestamp: one request
 * per tick says nothing about rounding, and a millisecond trace has a few chance ties): the step
 * is the greatest common divisor of the gaps between distinct timestamps, found with a tolerance
 * because a recorder's ticks jitter by a few ms (Mooncake's sit 1 ms before to 3 ms after each
 * multiple of 3000 ms, so the exact gcd is 1 ms). The smallest gap is the candidate; every gap
 * must be within GRID_TOLERANCE of a whole number of it; the step is then the sum of the gaps
 * over the sum of their whole numbers (the mean tick length, free of one gap's jitter).
 */
export function detectGrid(trace: Trace): TimestampGrid | undefined {
  const { ticks, tiedShare } = tickStats(trace.requests);
  if (ticks.length < 2 || tiedShare < GRID_MIN_TIED_SHARE) return undefined;
  const gaps = ticks.slice(1).map((t, i) => t - ticks[i]!);
  const smallest = Math.min(...gaps);
  if (!(smallest > 0)) return undefined;
  let steps = 0;
  for (const gap of gaps) {
    const k = Math.round(gap / smallest);
    if (Math.abs(gap - k * smallest) > GRID_TOLERANCE * smallest) return undefined;
    steps += k;
  }
  const step = (ticks.at(-1)! - ticks[0]!) / steps;
  return { step, ticks: ticks.length, tiedShare };
}

/** The distinct arrivals (ascending) and the share of requests sharing theirs. */
function tickStats(requests: readonly TraceRequest[]): { ticks: number[]; tiedShare: number } {
  const ticks: number[] = [];
  let tied = 0;
  let run = 0;
  for (const [i, r] of requests.entries()) {
    if (i === 0 || r.arrival !== requests[i - 1]!.arrival) {
      if (run > 1) tied += run;
      ticks.push(r.arrival);
      run = 1;
    } else run++;
  }
  if (run > 1) tied += run;
  return { ticks, tiedShare: requests.length > 0 ? tied / requests.length : 0 };
}

export interface DequantiseOptions {
  /** seconds between ticks; absent: detectGrid's (no grid detected: the trace is returned as is) */
  readonly step?: number;
  /** seeds the offsets (default 1) */
  readonly seed?: number;
}

/** The random stream of the offsets, apart from the other uses of the same seed (amplify's thinning). */
const DEQUANTISE_STREAM = 0x9e47;

/**
 * The trace with each tick's requests spread over the tick: the requests sharing a timestamp t
 * get t plus seeded uniform offsets in [0, width), width the step, cut short by the next tick
 * (jittered ticks may come a few ms early) and by the trace's duration. Forward from t, since a
 * recorder stamps what it collected since the tick (and so arrivals stay at or after the trace's
 * start). The offsets are sorted before they are given out, so the requests keep their order and
 * the trace stays sorted; counts and tokens are unchanged; the same seed gives the same trace.
 * Without a step and with no grid detected the trace is returned unchanged.
 */
export function dequantise(trace: Trace, options: DequantiseOptions = {}): Trace {
  const step = options.step ?? detectGrid(trace)?.step;
  if (step === undefined) return trace;
  if (!(step > 0) || !Number.isFinite(step))
    throw new TraceError(`dequantise step must be > 0 seconds, got ${step}`);
  const random = randomStream(options.seed ?? 1, DEQUANTISE_STREAM);
  const { requests } = trace;
  const spread: TraceRequest[] = [];
  for (let start = 0; start < requests.length;) {
    const t = requests[start]!.arrival;
    let end = start + 1;
    while (end < requests.length && requests[end]!.arrival === t) end++;
    const next = end < requests.length ? requests[end]!.arrival : Infinity;
    const width = Math.min(step, next - t, (trace.duration ?? Infinity) - t);
    const offsets = Array.from({ length: end - start }, () => random() * Math.max(width, 0)).sort(
      (a, b) => a - b,
    );
    for (let i = start; i < end; i++) spread.push({ ...requests[i]!, arrival: t + offsets[i - start]! });
    start = end;
  }
  return { ...trace, name: `${trace.name}~spread`, requests: spread };
}

/** What dequantise does to the trace with these options, in words (the benchmarks' notes). */
export function describeDequantise(trace: Trace, options: DequantiseOptions): string {
  const grid = detectGrid(trace);
  const found = grid
    ? `timestamps on a ${grid.step.toFixed(3)} s grid (${grid.ticks} ticks, ${(100 * grid.tiedShare).toFixed(0)}% of the requests sharing one)`
    : 'no timestamp grid detected';
  const action =
    options.step !== undefined
      ? `each tick's requests spread over up to ${options.step} s (step given)`
      : grid
        ? "each tick's requests spread uniformly over it"
        : 'replayed as given';
  return `${found}; ${action}`;
}
