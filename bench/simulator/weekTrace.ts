/**
 * Writes a week-long trace for the simulator's speed check (bench/RESULTS.md, "Simulator speed"):
 * the 24-hour day trace (data/traces/servegen-mlarge-day6-24h.csv, 5 req/s mean) repeated seven
 * times, one day apart, as plain CSV.
 *
 *   node bin/run-ts.js bench/simulator/weekTrace.ts OUT.csv [DAYS]
 */
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readTrace } from '../../lib/fleetSimulator/index.js';

const DAY = fileURLToPath(new URL('../../data/traces/servegen-mlarge-day6-24h.csv', import.meta.url));
const [out, daysArg] = process.argv.slice(2);
if (out === undefined) {
  console.error('usage: weekTrace.ts OUT.csv [DAYS]');
  process.exit(2);
}
const days = Number(daysArg ?? 7);
const day = await readTrace(DAY);
const file = createWriteStream(out);
const write = (line: string) =>
  file.write(line) ? Promise.resolve() : new Promise<void>((done) => file.once('drain', () => done()));
await write('timestamp_s,input_tokens,output_tokens\n');
for (let d = 0; d < days; d++) {
  let chunk = '';
  for (const r of day.requests) {
    // three decimals, as the day trace has: no arrival moves
    chunk += `${(r.arrival + d * 86_400).toFixed(3)},${r.inputTokens},${r.outputTokens}\n`;
    if (chunk.length > 1 << 16) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
}
await new Promise<void>((done) => file.end(() => done()));
console.error(`${out}: ${days} x ${day.requests.length} requests`);
